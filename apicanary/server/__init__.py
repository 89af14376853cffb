"""The HTTP faces of the local engine: two servers in one event loop (``runner``, ``app``).

The data port serves the gateway's hot path in raw ASGI (``data``). The control port
(``control``) serves the AWS-compatible APIs for boto3 and the AWS CLI (``lambda_api``,
``apigateway_api``, ``cloudwatch/``, with ``awshttp`` and ``auth``), apicanary's own
``/_apicanary`` JSON API (``rollouts_api``, ``deploy_api``), the dashboard and Prometheus.
``process`` starts a server as a child process (demo, tests). Rules live in the engine;
these modules translate HTTP.
"""
