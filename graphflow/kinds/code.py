"""The ``code`` kind: runs the code blocks of the last message and replies with the
result, like AutoGen's user proxy.

Options (graph file)::

    run_code:
      kind: code
      executor: auto        # auto | sandbox | docker | local
      timeout: 60           # seconds for all the blocks of one message
      output_limit: 65536   # bytes of output kept
      image: graphflow-python:local   # docker only
      memory: 1g            # per-process (sandbox) or per-container (docker) memory
      languages: [python, sh, bash]
      pass_env: [MY_SETTING]   # environment variables the code may see (opt-in)

The reply is a ``user`` message ``exitcode: N (execution succeeded|failed)\\nCode
output: …`` and the variable ``exit_code`` is set (``None`` when there was no code).
One executor is shared by all code nodes of a run and closed when the run ends. An
execution is recorded as an effect (``ctx.effect``): a node re-executed after a crash
does not run the code again.

**Artifacts.** The files the code wrote into the work dir (new or changed: a chart, a
CSV) are kept in the run store as the step's artifacts (``store.put_artifact``), at most
:data:`~graphflow.execution.artifacts.MAX_FILES` per execution and
:data:`~graphflow.store.protocol.MAX_ARTIFACT_BYTES` each; ``keep_files: false`` keeps
none. Their names are in the execution's record (``extra.artifacts``); files skipped
(too large, unreadable) are logged as warnings.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from graphflow.errors import ExecutionError
from graphflow.execution import (
    DEFAULT_OUTPUT_LIMIT,
    DEFAULT_TIMEOUT,
    RUNNABLE_LANGUAGES,
    CodeBlock,
    CodeExecutor,
    CodeResult,
    extract_code_blocks,
    format_result,
    normalize_language,
)
from graphflow.execution.artifacts import keep_artifacts, scan
from graphflow.kinds.base import KindConfig, NodeContext, NodeKind
from graphflow.messages import Interrupt, Message, Update
from graphflow.store.protocol import MAX_ARTIFACT_BYTES

__all__ = ["NO_CODE_REPLY", "CodeConfig", "CodeKind"]

NO_CODE_REPLY = (
    "No code blocks found in the last message, so nothing was run. To run code, put it in "
    "a fenced block that names its language, such as ```python ... ``` or ```sh ... ```."
)


class CodeConfig(KindConfig):
    """Options of a ``code`` node."""

    executor: Literal["auto", "local", "sandbox", "docker"] = Field(
        default="auto", description="where code runs; auto = sandbox, else docker"
    )
    timeout: float = Field(
        default=DEFAULT_TIMEOUT, gt=0, description="seconds for all the blocks of one message"
    )
    output_limit: int = Field(
        default=DEFAULT_OUTPUT_LIMIT, gt=0, description="bytes of output kept; the rest is cut"
    )
    image: str | None = Field(default=None, description="docker image (docker only)")
    memory: str | None = Field(default=None, description="memory limit, e.g. 512m")
    languages: list[str] = Field(default_factory=lambda: list(RUNNABLE_LANGUAGES),
                                 description="languages this node runs")  # fmt: skip
    pass_env: list[str] = Field(default_factory=list, description="environment variables "
                                "passed to the code (model keys are refused)")  # fmt: skip
    keep_files: bool = Field(default=True, description="keep the files the code produced "
                             "in the work dir as the run's artifacts")  # fmt: skip

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, value: list[str]) -> list[str]:
        names = [normalize_language(v) for v in value]
        bad = [v for v, n in zip(value, names, strict=True) if n not in RUNNABLE_LANGUAGES]
        if bad or not names:
            raise ValueError(f"languages {bad or value} are not runnable; choose from "
                             f"{', '.join(RUNNABLE_LANGUAGES)}")  # fmt: skip
        return sorted(set(names), key=names.index)

    @field_validator("executor")
    @classmethod
    def _not_local_in_safe_mode(cls, value: str) -> str:
        from graphflow.imports import current_import_policy

        if value == "local" and current_import_policy() is not None:
            raise ValueError("in safe mode a graph may not choose `executor: local` (it would "
                             "run model-written code unsandboxed); leave it on auto and pass "
                             "--executor local on the command line if you mean it")  # fmt: skip
        return value

    @field_validator("pass_env")
    @classmethod
    def _passable(cls, value: list[str]) -> list[str]:
        from graphflow.execution.env import check_pass_env

        try:
            return list(check_pass_env(value))
        except ExecutionError as exc:
            raise ValueError(str(exc)) from None


def _blocks_key(blocks: list[CodeBlock]) -> str:
    text = json.dumps([[b.language, b.code] for b in blocks])
    return "code:" + hashlib.sha256(text.encode()).hexdigest()[:16]


class CodeKind(NodeKind):
    """Runs the fenced code blocks of the last message (see the module docstring)."""

    kind = "code"
    Config = CodeConfig
    shape = "box3d"
    config: CodeConfig

    def executor_name(self, ctx: NodeContext) -> str:
        """The concrete executor for this run: the run's ``--executor`` override, else
        the node's choice (``auto`` resolved once per run); see
        :meth:`RunContext.executor_for <graphflow.context.RunContext.executor_for>`."""
        return ctx.run.executor_for(self.config.executor, node=self.node_id)

    def executor(self, ctx: NodeContext) -> CodeExecutor:
        """The run's shared executor with this node's options (created on first use)."""
        name = self.executor_name(ctx)
        options: dict[str, Any] = {"languages": tuple(self.config.languages),
                                   "run_id": ctx.run_id}  # fmt: skip
        if self.config.image:
            options["image"] = self.config.image
        if self.config.memory:
            options["memory"] = self.config.memory
        if self.config.pass_env:
            options["pass_env"] = tuple(self.config.pass_env)
        return ctx.run.services.executor(name, **options)

    def work_dir(self, ctx: NodeContext) -> Path:
        """The run's work dir (made if missing)."""
        work_dir = ctx.run.work_dir or Path("graphflow-work").resolve() / ctx.run_id
        work_dir.mkdir(parents=True, exist_ok=True)
        return work_dir

    async def run(self, ctx: NodeContext) -> Update | Interrupt:
        last = ctx.state.last
        blocks = extract_code_blocks(last.content if last is not None else "")
        if not blocks:
            reply = Message(role="user", name=self.node_id, content=NO_CODE_REPLY,
                            node=self.node_id)  # fmt: skip
            return Update(messages=[reply], variables={"exit_code": None})
        work_dir = self.work_dir(ctx)

        async def execute() -> dict[str, Any]:
            executor = self.executor(ctx)
            before = scan(work_dir) if self.config.keep_files else None
            result = await executor.run(blocks, work_dir, self.config.timeout,
                                        output_limit=self.config.output_limit)  # fmt: skip
            record = result.to_record()
            if before is not None:
                record["extra"] = {**record["extra"], **keep_artifacts(
                    ctx.run.store, ctx.run_id, ctx.step, ctx.node_id, work_dir, before,
                    result.files, max_bytes=MAX_ARTIFACT_BYTES)}  # fmt: skip
            return record

        result = CodeResult.from_record(await ctx.effect(_blocks_key(blocks), execute))
        reply = Message(role="user", name=self.node_id, content=format_result(result),
                        node=self.node_id)  # fmt: skip
        return Update(messages=[reply], variables={"exit_code": result.exit_code})
