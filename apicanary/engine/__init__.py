"""The local embedded AWS: what ``apicanary serve`` runs in-process, sans HTTP.

``engine.Engine`` composes one state directory's services: ``functions/`` (Lambda),
``apigateway/`` (API Gateway's control plane), ``gateway/`` (the request path through a
stage to a function), ``cloudwatch/`` (metrics, metric math, alarms), plus ``telemetry``
(the per-request log the rollout controller reads) and ``provision`` (make the engine match
a SAM project). The HTTP faces of all this are in ``apicanary.server``.
"""
