"""The metric store: CloudWatch metrics in 1-second buckets, exact roll-ups, quantile sketches.

A metric is ``(namespace, name, dimensions)``. Each sample lands, at ingestion, in a 1-second
bucket, later rolled up into each coarser tier; a bucket holds SampleCount, Sum, Minimum,
Maximum and a quantile sketch (relative error ≤ 1 %; none while every sample of the bucket
has the same value, which keeps counters like ``Invocations`` small).

Retention schedule (``buckets.DEFAULT_TIERS``; finer than CloudWatch's 60 s, same idea as its
high-resolution rollups)::

    resolution   kept for     buckets per metric, at most
    1 s          3 hours      10,800
    60 s         24 hours      1,440      (an alarm spans at most 1 day: N x Period ≤ 86,400)
    3600 s       15 days         360

so memory per metric is bounded by 12,603 live buckets however long the load lasts. Once a
bucket's interval is closed its sketch is compacted to bytes (~4 bytes per sketch bucket);
measured at 1,000 req/s x 8 metrics: ~0.25 MiB per simulated minute while the 1 s tier
fills (see ``bench/metrics_memory.py``), flat once every tier is full. Because coarser tiers
are exact roll-ups (a late sample for a rolled-up second is added to every tier) and sketches
merge exactly, a query gets the same answer from any tier.

Modules: ``store`` (:class:`~.store.MetricStore`: ingestion, roll-up, queries, flush),
``buckets`` (the in-memory data and how it merges), ``tables`` (SQLite persistence).
"""
