"""``python -m rclaude.cli`` runs the ``rclaude`` command."""

from rclaude.cli.main import main

main()
