"""CloudWatch Logs on the control port: the ``Logs_20140328`` awsJson1.1 protocol."""
