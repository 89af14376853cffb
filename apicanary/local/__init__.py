"""Local-only features built on the engine and the rollout controller: rehearse, injected faults,
deploy.
"""
