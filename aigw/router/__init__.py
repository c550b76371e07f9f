"""Routing: candidates for a request, and the failover loop over them."""
