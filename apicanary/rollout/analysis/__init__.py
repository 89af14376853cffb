"""Canary analysis (pure, no I/O, no clock): observation windows built from per-request
records (``windows``), the sequential always-valid tests on errors and latency
(``sequential``, ``mixture``), the promotion guard (``guard``), alarm checks (``alarms``),
verdicts with their reasons (``verdict``) and the whole detector fed one window per tick
(``canary.CanaryAnalysis``)."""
