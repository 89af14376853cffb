"""Lambda: functions, versions, aliases, invoke, and the execution environments that run them."""
