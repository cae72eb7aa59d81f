"""Tool functions that graphs reference by import path, e.g. ``nodes.tools.text:word_count``."""
