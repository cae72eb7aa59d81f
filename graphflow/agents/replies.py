"""Pieces of an agent's reply chain that reach other layers: the tools it offers to its
model, and running the code blocks of the message it answers.

Both layers are imported only when an agent uses them, so a graph without tools or code
execution never imports them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphflow.errors import Problem
from graphflow.messages import Message

if TYPE_CHECKING:
    from graphflow.kinds.base import NodeContext

__all__ = ["ReplyTools", "execute_code_reply", "has_code", "load_callable"]


def load_callable(ref: Any, base_dir: Path | None = None) -> Callable[..., Any]:
    """A callable given as itself or as an import path ``module:function``.

    Raises:
        LookupError: the path cannot be imported, or names something not callable.

    Example:
        >>> load_callable("json:dumps")([1])
        '[1]'
    """
    if callable(ref):
        return ref
    if not isinstance(ref, str) or ref.startswith("<not serializable"):
        raise LookupError(f"{ref!r} is not an import path; write it as package.module:function")
    from graphflow.imports import resolve_import

    target = resolve_import(ref, base_dir)
    if not callable(target):
        raise LookupError(f"{ref} is not callable")
    return target


@dataclass(frozen=True)
class ReplyTools:
    """The tools an agent offers its model, with their OpenAI schemas.

    Attributes:
        tools: the loaded tool objects (``graphflow.tools.Tool``).
        schemas: their ``to_openai()`` descriptions, sent with every request.
    """

    tools: tuple[Any, ...] = ()
    schemas: tuple[dict[str, Any], ...] = field(default=())

    @classmethod
    def load(
        cls, specs: list[Any], base_dir: Path | None, where: str, problems: list[Problem]
    ) -> ReplyTools:
        """Load ``specs`` (import paths of tool functions); add problems instead of raising."""
        if not specs:
            return cls()
        from graphflow.errors import ToolError
        from graphflow.tools import load_tools

        try:
            tools = tuple(load_tools(specs, base_dir))
        except ToolError as exc:
            problems.extend(Problem(where, line) for line in str(exc).splitlines())
            return cls()
        return cls(tools, tuple(dict(t.to_openai()) for t in tools))


def has_code(message: Message) -> bool:
    """Whether ``message`` holds at least one fenced code block.

    Example:
        >>> has_code(Message(content="```python\\nprint(1)\\n```"))
        True
    """
    if "```" not in message.text:
        return False
    from graphflow.execution.codeblocks import extract_code_blocks

    return bool(extract_code_blocks(message.text))


def _executor_options(
    spec: str | Mapping[str, Any], ctx: NodeContext
) -> tuple[str, dict[str, Any]]:
    options = {"executor": spec} if isinstance(spec, str) else dict(spec)
    name = ctx.run.executor_for(str(options.pop("executor", options.pop("name", "auto"))),
                                node=ctx.node_id)  # fmt: skip
    options.pop("timeout", None)
    return name, options


async def execute_code_reply(
    ctx: NodeContext, spec: str | Mapping[str, Any], message: Message
) -> str:
    """Run the code blocks of ``message`` with the executor ``spec`` (a name such as
    ``local``/``sandbox``/``docker``, or a mapping with ``executor:`` and its options)
    in the run's work dir, and return AutoGen's reply text
    (``exitcode: N (execution succeeded|failed)\\nCode output: ...``).

    The execution is recorded as an effect, so a node re-executed after a crash does
    not run the code a second time. The files it produced are kept as the step's
    artifacts, as a ``code`` node keeps them.
    """
    from graphflow.execution.artifacts import keep_artifacts, scan
    from graphflow.execution.code_result import CodeResult, format_result
    from graphflow.execution.codeblocks import extract_code_blocks
    from graphflow.store.protocol import MAX_ARTIFACT_BYTES

    name, options = _executor_options(spec, ctx)
    timeout = float(spec.get("timeout", 60.0)) if isinstance(spec, Mapping) else 60.0
    executor = ctx.run.services.executor(name, run_id=ctx.run_id, **options)
    work_dir = Path(ctx.run.work_dir or Path.cwd() / "graphflow-work" / ctx.run_id)
    work_dir.mkdir(parents=True, exist_ok=True)
    blocks = extract_code_blocks(message.text)

    async def run() -> dict[str, Any]:
        before = scan(work_dir)
        result = await executor.run(blocks, work_dir, timeout)
        record = dict(result.to_record())
        record["extra"] = {**record["extra"], **keep_artifacts(
            ctx.run.store, ctx.run_id, ctx.step, ctx.node_id, work_dir, before, result.files,
            max_bytes=MAX_ARTIFACT_BYTES)}  # fmt: skip
        return record

    record = await ctx.effect("code", run)
    return format_result(CodeResult.from_record(record))
