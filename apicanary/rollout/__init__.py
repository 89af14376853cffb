"""The rollout: shifting traffic to a new version step by step, judging it as it goes, and
promoting or rolling it back, on any :class:`~apicanary.platform.base.Platform`.

``state`` (typed rollout state and its transition table) · ``controller`` (the tick, as a
checklist) · ``steps`` (one runner per step kind) · ``intents`` (what humans ask for) ·
``actions`` (promote/roll back: traffic first) · ``hooks`` (lifecycle hooks, notifications)
· ``preflight`` (checks before a start) · ``routers`` (absolute, read-back traffic writes) ·
``journal`` (SQLite state and events) · ``lease`` (alias markers) · ``scheduler`` (ticks
from the server's loop) · ``service`` (starting from a request) · ``views`` (the one
view-model the CLI and the dashboard draw) · ``strategy/`` · ``analysis/``.
"""
