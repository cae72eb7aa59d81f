"""Text made safe to print on a terminal: what a model or the run's code wrote (a
message, a file name) may hold control characters — an escape sequence that clears the
screen or retitles the window, a carriage return that overwrites a line, a character
that reverses the text after it. :func:`visible` writes them as Python escapes."""

from __future__ import annotations

import unicodedata

__all__ = ["visible"]

_KEPT_IN_LINES = frozenset("\n\t")


def visible(text: str, *, keep_lines: bool = False) -> str:
    """``text`` with its control and invisible format characters written as escapes
    (``\\x1b``, ``\\n``, ``\\u202e``); with ``keep_lines``, newlines and tabs are kept.

    Example:
        >>> visible("red\\x1b[31m.txt"), visible("a\\nb"), visible("a\\nb", keep_lines=True)
        ('red\\\\x1b[31m.txt', 'a\\\\nb', 'a\\nb')
    """
    if text.isprintable():
        return text
    kept = _KEPT_IN_LINES if keep_lines else frozenset()
    return "".join(ch if ch.isprintable() or ch in kept or unicodedata.category(ch) == "Zs"
                   else ch.encode("unicode_escape").decode("ascii") for ch in text)  # fmt: skip
