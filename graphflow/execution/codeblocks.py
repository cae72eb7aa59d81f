"""Finding the fenced code blocks of a message.

A code block is a Markdown fence: three backticks, an optional language, the code,
and three closing backticks. Languages are normalised:

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

# ```lang\n ... \n``` — the language is the first word after the fence.
_FENCE = re.compile(
    r"^[ \t]*```[ \t]*(?P<lang>[\w.+#-]*)[^\n]*\r?\n(?P<code>.*?)^[ \t]*```[ \t\r]*$",
    re.DOTALL | re.MULTILINE,
)
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
    """
    blocks: list[CodeBlock] = []
    for match in _FENCE.finditer(text or ""):
        code = match.group("code")
        if code.endswith("\n"):
            code = code[:-1]
        if code.endswith("\r"):
            code = code[:-1]
        if not code.strip():
            continue
        lang = match.group("lang")
        language = normalize_language(lang) if lang else infer_language(code)
        blocks.append(CodeBlock(language, code, _filename(code)))
    return blocks
