"""``python -m graphflow``: the command line."""

from graphflow.cli import main

main()
