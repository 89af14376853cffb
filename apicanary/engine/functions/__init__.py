"""Lambda: functions, ``$LATEST``, versions, weighted aliases, and invoking them.

``model`` (the frozen state), ``tables`` (SQLite rows and queries), ``rules`` (the API's
checks and messages), ``service`` (the control-plane operations), ``render`` (the API's JSON
shapes), ``invoke`` (resolve a qualifier and run it: the hot path), ``codestore`` (immutable
code snapshots), ``runtime/`` (the execution environments: worker processes, scale-out,
reaping, faults, logs).
"""
