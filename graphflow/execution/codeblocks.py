"""Finding the fenced code blocks of a message.

A code block is a CommonMark fenced code block (three or more backticks or tildes, an
optional language, the code, and a closing fence at least as long), found by a CommonMark
parser (``markdown-it-py``) rather than by a pattern, so that:

- a four-backtick fence holding a three-backtick block is one block, not cut at the
  inner fence;
- a fence indented under a list item (or quoted with ``>``) loses the container's
  indentation, as a Markdown reader sees it, instead of keeping it (which would make
  Python code an ``IndentationError``);
- a fence that is never closed (an answer cut off mid-block) is not run.

Indented code (four spaces, no fence) is not a code block here, as in AutoGen.
Languages are normalised:

- ``python``, ``py``, ``python3`` → ``python``;
- ``sh``, ``shell``, ``bash``, ``console`` → ``sh`` (``bash`` keeps its name and runs
  with bash where the executor has it);
- no language → ``python`` when the code parses as Python, else ``sh``. One refinement:
  code that parses but whose statements are all bare expressions without a call
  (``pwd``, ``ls -la | wc -l`` — valid Python that would do nothing) is ``sh``;
- anything else is kept as written and later reported back as not runnable.

A first line ``# filename: NAME`` (or ``// filename: NAME``) asks for the code to be
saved under that name in the work dir instead of a generated name.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

__all__ = [
    "RUNNABLE_LANGUAGES",
    "CodeBlock",
    "extract_code_blocks",
    "infer_language",
    "normalize_language",
]

#: Languages the executors know how to run.
RUNNABLE_LANGUAGES = ("python", "sh", "bash")

_ALIASES = {
    "python": "python",
    "py": "python",
    "python3": "python",
    "sh": "sh",
    "shell": "sh",
    "console": "sh",
    "bash": "bash",
}

# A closing fence line: container marks (quotes, indentation), then the fence alone.
_CLOSING = re.compile(r"^[ \t>]*(?P<fence>`{3,}|~{3,})[ \t]*$")
_FILENAME = re.compile(r"^\s*(?:#|//)\s*filename:\s*(?P<name>\S+)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class CodeBlock:
    """One fenced block: its normalised language, its code and an optional file name.

    Example:
        >>> CodeBlock("python", "print(1)").runnable
        True
    """

    language: str
    code: str
    filename: str | None = None

    @property
    def runnable(self) -> bool:
        """Whether an executor can run a block of this language."""
        return self.language in RUNNABLE_LANGUAGES


def normalize_language(language: str) -> str:
    """The canonical name of a fence's language (unknown names are returned lower-cased).

    Example:
        >>> normalize_language("Py"), normalize_language("shell"), normalize_language("R")
        ('python', 'sh', 'r')
    """
    key = language.strip().lower()
    return _ALIASES.get(key, key)


def infer_language(code: str) -> str:
    """The language of a block that names none: ``python`` if it parses, else ``sh``.

    Code that parses but only holds call-free expressions (``pwd``, ``ls -la | wc -l``)
    is shell: as Python it would do nothing.

    Example:
        >>> infer_language("x = 1"), infer_language("ls -la | wc -l")
        ('python', 'sh')
    """
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return "sh"
    if tree.body and all(_inert(stmt) for stmt in tree.body):
        return "sh"
    return "python"


def _inert(stmt: ast.stmt) -> bool:
    """A statement that is a bare expression with no call, await or yield in it."""
    if not isinstance(stmt, ast.Expr) or isinstance(stmt.value, ast.Constant):
        return False
    active = (ast.Call, ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr)
    return not any(isinstance(node, active) for node in ast.walk(stmt))


def _filename(code: str) -> str | None:
    first = code.split("\n", 1)[0]
    match = _FILENAME.match(first)
    return match.group("name") if match else None


@cache
def _parser() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark")


def _closed(token: Any, lines: list[str]) -> bool:
    """Whether the fence ``token`` ends with a closing fence (CommonMark runs an unclosed
    fence to the end of its container)."""
    if not token.map:
        return False
    last = token.map[1] - 1
    if last <= token.map[0] or last >= len(lines):
        return False
    match = _CLOSING.match(lines[last])
    if match is None:
        return False
    fence = match.group("fence")
    return fence[0] == token.markup[0] and len(fence) >= len(token.markup)


def extract_code_blocks(text: str | None) -> list[CodeBlock]:
    """Return the fenced code blocks of ``text`` in order.

    Args:
        text: a message's content (``None`` is treated as empty).

    Returns:
        The blocks, with normalised languages; empty when there are none.

    Example:
        >>> msg = "Run this:\\n```py\\n# filename: hello.py\\nprint('hi')\\n```\\n"
        >>> extract_code_blocks(msg)
        [CodeBlock(language='python', code="# filename: hello.py\\nprint('hi')", filename='hello.py')]
        >>> outer = "````markdown\\n```python\\nprint(1)\\n```\\n````"
        >>> [b.language for b in extract_code_blocks(outer)]
        ['markdown']
    """
    source = (text or "").replace("\r\n", "\n")
    if "```" not in source and "~~~" not in source:
        return []
    lines = source.split("\n")
    blocks: list[CodeBlock] = []
    for token in _parser().parse(source):
        if token.type != "fence" or not _closed(token, lines):
            continue
        code = token.content
        if code.endswith("\n"):
            code = code[:-1]
        if not code.strip():
            continue
        words = token.info.split()
        lang = words[0] if words else ""
        language = normalize_language(lang) if lang else infer_language(code)
        blocks.append(CodeBlock(language, code, _filename(code)))
    return blocks
