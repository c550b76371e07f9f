// Preloaded with `node --require` before Portkey's gateway starts: its start-server.js calls
// @hono/node-server's serve({fetch, port}) with no hostname, so server.listen(port, undefined)
// would take every interface. A listen on a bare port is made a listen on 127.0.0.1 instead.
"use strict";
const net = require("net");
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === "number" && (args[1] === undefined || typeof args[1] === "function")) {
    args.splice(1, args[1] === undefined ? 1 : 0, "127.0.0.1");
  }
  return listen.apply(this, args);
};
