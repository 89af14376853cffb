"""The request path (sans-I/O): an HTTP request in, the API and stage resolved, the route matched,
the canary drawn, the proxy event built, the function's answer turned into the client's.
"""
