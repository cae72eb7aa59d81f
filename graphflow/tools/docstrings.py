"""Reading a tool's description and argument descriptions from its Google-style docstring."""

from __future__ import annotations

import inspect
import re

__all__ = ["parse_docstring"]

_SECTION = re.compile(r"^(Args|Arguments|Parameters|Returns?|Raises|Yields|Examples?|Notes?|"
                      r"Attributes|See Also|Warnings?|Todo)\s*:\s*$", re.IGNORECASE)  # fmt: skip
_ARG = re.compile(r"^(?P<name>\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(?P<desc>.*)$")


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """Split a docstring into its description and its ``Args:`` descriptions.

    The description is the text before the first section header (``Args:``,
    ``Returns:`` …), with paragraphs kept and lines joined.

    Example:
        >>> parse_docstring('''Add two numbers.
        ...
        ...     Args:
        ...         a (int): the first.
        ...         b: the second,
        ...             on two lines.
        ...     ''')
        ('Add two numbers.', {'a': 'the first.', 'b': 'the second, on two lines.'})
    """
    text = inspect.cleandoc(doc or "")
    lines = text.splitlines()
    summary: list[str] = []
    args: dict[str, str] = {}
    section: str | None = None
    current: str | None = None
    base_indent: int | None = None
    for line in lines:
        header = None if line.startswith((" ", "\t")) else _SECTION.match(line.strip())
        if header:
            section = header.group(1).lower()
            current, base_indent = None, None
            continue
        if section is None:
            summary.append(line)
            continue
        if section not in ("args", "arguments", "parameters") or not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        if base_indent is None:
            base_indent = indent
        match = _ARG.match(line.strip())
        if indent <= base_indent and match:
            current = match.group("name").lstrip("*")
            args[current] = match.group("desc").strip()
        elif current is not None:
            args[current] = f"{args[current]} {line.strip()}".strip()
    paragraphs = "\n".join(summary).strip().split("\n\n")
    description = "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())
    return description, args
