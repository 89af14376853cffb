"""API Gateway HTTP APIs (``apigatewayv2`` 2018-11-29) of the local engine: the control plane.

APIs, routes, integrations, stages (``$default``, ``AutoDeploy``, stage variables) and
deployments, OpenAPI import, and the immutable snapshot the gateway's HTTP API path reads
(:mod:`apicanary.engine.gateway.http_api`). HTTP API stages have no canary: canary an HTTP
API by Lambda alias weights.
"""
