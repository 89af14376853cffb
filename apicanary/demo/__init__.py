"""``apicanary demo``: the whole story on the bundled example project, on a real server."""
