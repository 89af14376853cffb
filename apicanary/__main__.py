"""``python -m apicanary`` runs the CLI."""

from apicanary.cli.main import main

main()
