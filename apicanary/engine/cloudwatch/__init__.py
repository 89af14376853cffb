"""CloudWatch: the metric store, statistics and sketches, metric math, GetMetricData, alarms, and
the feed that turns requests into metrics.
"""
