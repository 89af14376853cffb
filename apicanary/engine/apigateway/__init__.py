"""API Gateway's control plane: REST APIs, resources, deployments, stages and stage canaries."""
