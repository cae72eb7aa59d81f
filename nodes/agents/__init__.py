"""Agent personas: YAML node definitions that graphs use with `use: NAME`."""
