"""API Gateway's control plane: REST APIs, resources, methods, integrations, deployments,
stages and stage canaries, over SQLite, and the immutable snapshot the gateway compiles.

``service`` (the API operations), ``resources`` and ``deployments`` (their write logic),
``stage`` and ``patch`` (stage shapes and PATCH semantics), ``validate`` and ``errors``
(AWS's rules and messages), ``tables`` (SQLite), ``build`` and ``snapshot`` (the data
plane's view), ``importer`` (OpenAPI import).
"""
