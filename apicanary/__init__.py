"""apicanary: canary deployments for serverless APIs, locally and on AWS."""

__version__ = "0.1.0"
__all__ = ["__version__"]
