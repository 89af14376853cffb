"""Where the rollout commands run: a local `apicanary serve`, or an in-process controller against
AWS.
"""
