"""Running the code blocks of a message: extraction, executors, results.

Example:
    >>> import asyncio, tempfile
    >>> from pathlib import Path
    >>> from graphflow.execution import extract_code_blocks, format_result, get_executor
    >>> blocks = extract_code_blocks("```python\\nprint('hello')\\n```")
    >>> with tempfile.TemporaryDirectory() as wd:
    ...     result = asyncio.run(get_executor("local").run(blocks, Path(wd), timeout=10))
    >>> print(format_result(result))
    exitcode: 0 (execution succeeded)
    Code output: hello
    <BLANKLINE>

Executors: ``local`` (a subprocess; no isolation), ``sandbox`` (bubblewrap) and
``docker`` (a container per run). See ``docs/execution.md`` for the security model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphflow.execution.base import DEFAULT_OUTPUT_LIMIT, DEFAULT_TIMEOUT, CodeExecutor
from graphflow.execution.code_result import TIMEOUT_EXIT_CODE, CodeResult, format_result
from graphflow.execution.codeblocks import (
    RUNNABLE_LANGUAGES,
    CodeBlock,
    extract_code_blocks,
    infer_language,
    normalize_language,
)
from graphflow.execution.env import scrub_environment
from graphflow.execution.local import LocalExecutor
from graphflow.execution.registry import (
    EXECUTOR_NAMES,
    available,
    available_executors,
    get_executor,
    resolve_auto,
    unavailable_reason,
)
from graphflow.execution.sandbox import SandboxExecutor

if TYPE_CHECKING:
    from graphflow.execution.container import DockerExecutor

__all__ = [
    "DEFAULT_OUTPUT_LIMIT",
    "DEFAULT_TIMEOUT",
    "EXECUTOR_NAMES",
    "RUNNABLE_LANGUAGES",
    "TIMEOUT_EXIT_CODE",
    "CodeBlock",
    "CodeExecutor",
    "CodeResult",
    "DockerExecutor",
    "LocalExecutor",
    "SandboxExecutor",
    "available",
    "available_executors",
    "extract_code_blocks",
    "format_result",
    "get_executor",
    "infer_language",
    "normalize_language",
    "resolve_auto",
    "scrub_environment",
    "unavailable_reason",
]


def __getattr__(name: str) -> Any:
    # The docker executor's module is loaded on first use only.
    if name == "DockerExecutor":
        from graphflow.execution.container import DockerExecutor

        return DockerExecutor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
