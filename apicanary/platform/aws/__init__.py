"""The Platform protocol over AWS (boto3): aliases, stage canaries, CloudWatch evidence, and the
pre-flight checks of ``apicanary doctor --backend aws``.

:mod:`.platform` (``AwsPlatform``), :mod:`.clients` (sessions and retrying clients),
:mod:`.cloudwatch` and :mod:`.telemetry` (reading evidence; which metrics, pure),
:mod:`.errors` (every botocore error translated), :mod:`.doctor` (read-only checks).
"""
