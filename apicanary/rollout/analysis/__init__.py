"""Canary analysis (pure): sequential tests on errors and latency, the promotion guard, verdicts."""
