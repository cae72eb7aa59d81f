"""``python -m graphflow.cli``: the command line."""

from graphflow.cli import main

main()
