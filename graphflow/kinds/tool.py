"""The ``tool`` kind: executes the tool calls of the last message.

Options (graph file)::

    run_tools:
      kind: tool
      tools: [calculate, files, mypkg.tools:search]   # names from nodes/tools or import paths
      parallel: true          # run the calls of one message concurrently
      timeout: 60             # seconds per call (null: no limit)
      options: {allow_http: true}   # handed to tools as ToolContext.options
      on_error: reply         # reply: a raising tool's error goes back to the model;
                              # fail: it fails the run (status failed, traceback shown)

Each call produces one ``tool`` message (``tool_call_id``, ``name``, ``content``); a
failing call's error goes back as its content, never as a crash. A tool that raised is
reported with its traceback: a ``ToolFailed`` event, and the node's variable
``NODE_errors`` (a list of ``{call_id, tool, error, traceback}``, kept across visits),
which ``graphflow show`` and the HTML report display. When the last message
has no tool calls the node adds nothing. Agent nodes offer tools to the model with
:func:`load_tools` — the same resolution this kind uses.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from graphflow.errors import DefinitionError, Problem, ToolError
from graphflow.kinds.base import BuildContext, KindConfig, NodeContext, NodeKind
from graphflow.messages import Interrupt, Update
from graphflow.tools import Tool, load_tools, run_tool_calls

__all__ = ["ToolConfig", "ToolKind", "errors_variable", "load_tools"]


def errors_variable(node_id: str) -> str:
    """The variable where tool node ``node_id`` records the calls whose tool raised.

    Example:
        >>> errors_variable("assistant_tools")
        'assistant_tools_errors'
    """
    return f"{node_id}_errors"


class ToolConfig(KindConfig):
    """Options of a ``tool`` node."""

    tools: list[Any] = Field(min_length=1, description="tool names, import paths or callables")
    parallel: bool = Field(default=True, description="run the calls of a message concurrently")
    timeout: float | None = Field(default=60.0, gt=0, description="seconds per call")
    options: dict[str, Any] = Field(
        default_factory=dict, description="passed to tools as ToolContext.options"
    )
    on_error: Literal["reply", "fail"] = Field(
        default="reply", description="reply: a raising tool's error goes back to the model; "
        "fail: it fails the run")


class ToolKind(NodeKind):
    """Runs the tool calls of the last message (see the module docstring)."""

    kind = "tool"
    Config = ToolConfig
    shape = "cds"
    config: ToolConfig

    def __init__(self, node_id: str, config: ToolConfig, build: BuildContext) -> None:
        super().__init__(node_id, config, build)
        try:
            self.tools: list[Tool] = load_tools(config.tools, build.base_dir)
        except ToolError as exc:
            raise DefinitionError([Problem(f"node {node_id!r}: tools", line)
                                   for line in str(exc).splitlines()]) from None  # fmt: skip
        self.table = {t.name: t for t in self.tools}

    def serializable(self) -> bool:
        return all(isinstance(spec, str) for spec in self.config.tools)

    async def run(self, ctx: NodeContext) -> Update | Interrupt:
        last = ctx.state.last
        if last is None or not last.tool_calls:
            return Update()
        result = await run_tool_calls(last.tool_calls, self.table, ctx,
                                      parallel=self.config.parallel, timeout=self.config.timeout,
                                      options=self.config.options,
                                      fail=self.config.on_error == "fail")  # fmt: skip
        variables: dict[str, Any] = {}
        if result.failures:
            name = errors_variable(self.node_id)
            earlier = list(ctx.state.variables.get(name) or [])
            variables[name] = earlier + [f.to_dict() for f in result.failures]
        return Update(messages=result.messages, variables=variables)
