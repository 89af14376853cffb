"""Strategies: the steps of a rollout as data. ``types`` (frozen values, the leaf: imports
nothing from the rest) · ``spec`` (pydantic models of a user's spec) · ``checks`` (leaf value
checks) · ``parse`` (spec → Strategy, cross-field rules, error paths) · ``presets``
(CodeDeploy's and apicanary's) · ``resolve`` (names, files, SAM DeploymentPreference) ·
``durations`` · ``suggest`` (did-you-mean)."""
