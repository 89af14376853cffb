"""CloudWatch metric alarms: configuration (PutMetricAlarm's rules), the pure decision, one
evaluation over the metric store, the engine that applies and records state changes, and
their tables."""
