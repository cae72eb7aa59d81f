"""The graphflow node catalog: reusable node definitions (YAML) and tool functions."""
