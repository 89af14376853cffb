"""The Platform protocol over AWS (boto3): aliases, stage canaries, telemetry, doctor checks."""
