"""The request path (sans I/O): an HTTP request in, the API and stage resolved, the canary
drawn, the route matched, the proxy event built, the function's answer turned into the
client's.

``gateway`` (the per-request path), ``compiled`` (the view of API Gateway's state it reads),
``messages`` (request, resolved route, reply, record), ``routes`` (route matching),
``events`` (proxy events v1.0, v2.0), ``proxy_response`` (the function's answer, parsed
strictly), ``responses`` (API Gateway's fixed answers), ``media_types``, ``access_log``.
"""
