"""Per-request evidence for the AWS backend, read from CloudWatch Logs.

Live Tail pushes new log events (``tail.py``), FilterLogEvents fills the gaps and re-reads a
rollout from its start (``poll.py``); the events are parsed as Lambda log lines, Text or JSON
(``lambda_lines.py``), or API Gateway access-log lines in the stage's own format
(``access_lines.py``), folded into one :class:`~apicanary.model.Invocation` per request id
(``fold.py``), with a watermark from the measured ingestion delay (``watermark.py``).
``reader.py`` puts them together behind ``Platform.read_telemetry``.
"""
