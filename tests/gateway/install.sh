#!/usr/bin/env bash
# Installs the gateway products the `gateway` tests run on 127.0.0.1 (python -m pytest -m gateway tests/gateway):
#   * LiteLLM's proxy, litellm[proxy] 1.106.2, into the Python that runs pytest (pip);
#   * Portkey's open-source gateway, @portkey-ai/gateway 1.15.2, into tests/gateway/.products (npm;
#     gitignored), or into $PORTKEY_GATEWAY_DIR when set. It runs on node >= 18.
# Usage: bash tests/gateway/install.sh [python]   (default: the python on PATH)
# Any failure exits non-zero and says which product and what to do.
set -uo pipefail

LITELLM_SPEC='litellm[proxy]==1.106.2'    # the version tests/fakes/gateways.py was checked against
PORTKEY_SPEC='@portkey-ai/gateway@1.15.2'
here="$(cd "$(dirname "$0")" && pwd)"
python="${1:-python}"
portkey_dir="${PORTKEY_GATEWAY_DIR:-$here/.products/portkey}"

fail() { echo "gateway install: $*" >&2; exit 1; }

echo "gateway install: $LITELLM_SPEC into $("$python" -c 'import sys; print(sys.prefix)' 2>/dev/null || echo "$python")" >&2
"$python" -m pip install --quiet "$LITELLM_SPEC" \
  || fail "pip could not install $LITELLM_SPEC (needs PyPI); the LiteLLM proxy tests cannot run"
"$python" -c 'import litellm.proxy.proxy_server' >/dev/null 2>&1 \
  || fail "$LITELLM_SPEC installed but its proxy does not import; see: $python -c 'import litellm.proxy.proxy_server'"
echo "gateway install: litellm ready after ${SECONDS} s" >&2

command -v node >/dev/null 2>&1 || fail "node is not on PATH: install Node.js 18 or later for the Portkey gateway tests"
command -v npm >/dev/null 2>&1 || fail "npm is not on PATH: install it beside node for the Portkey gateway tests"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' \
  || fail "node $(node --version) is too old: the Portkey gateway needs 18 or later"
entry="$portkey_dir/node_modules/@portkey-ai/gateway/build/start-server.js"
installed="$(node -p "require('$portkey_dir/node_modules/@portkey-ai/gateway/package.json').version" 2>/dev/null || true)"
if [ "$installed" != "${PORTKEY_SPEC##*@}" ]; then
  echo "gateway install: $PORTKEY_SPEC into $portkey_dir" >&2
  mkdir -p "$portkey_dir" || fail "cannot create $portkey_dir"
  # --ignore-scripts: its postinstall (patch-package) has no patches in the published package.
  (cd "$portkey_dir" && npm install --silent --no-audit --no-fund --ignore-scripts "$PORTKEY_SPEC") \
    || fail "npm could not install $PORTKEY_SPEC into $portkey_dir (needs the npm registry)"
fi
[ -f "$entry" ] || fail "$PORTKEY_SPEC has no $entry"
echo "gateway install: done in ${SECONDS} s" >&2
