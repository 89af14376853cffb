"""CloudWatch Logs, locally: log groups, streams and events, filter patterns, Live Tail reads.

``store.py`` holds the events (bounded, in memory); ``filter.py`` compiles filter patterns;
``lambda_lines.py`` turns a worker's transcript into Lambda's Text or JSON log lines;
``feed.py`` carries the runtime's transcripts and the gateway's access-log records into the
store off the hot path; ``tail.py`` cuts Live Tail updates.
"""
