"""CloudWatch, local: the metric store (``metrics/``), metric math (``expressions/``), alarms
(``alarms/``), the API rules of PutMetricData (``put_data``) and of the reads (``queries``:
GetMetricData, GetMetricStatistics, ListMetrics), the shared values (``values``), and the feed
that turns gateway and Lambda records into metrics (``feed``). The wire protocols are in
``server/cloudwatch/``.
"""
