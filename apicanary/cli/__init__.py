"""The ``apicanary`` command line: thin click commands over the layers below.

Each command parses its options, calls one service (the local server's ``/_apicanary`` API
through :mod:`.client`, or an in-process backend from :mod:`.backends`), and prints through
:mod:`.output` (``--output text|json``, one error paragraph, the exit code contract of
:mod:`.main`).
"""
