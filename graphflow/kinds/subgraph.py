"""The ``subgraph`` kind: a node whose reply comes from running an inner graph.

The inner run is a child run of its own in the same store, started through
``ctx.run_subgraph`` (the scheduler runs it) — so when the parent is resumed after a
crash, the re-executed node resumes the inner run instead of starting it again; a human
checkpoint inside the inner graph pauses the parent too, and the parent's resume
answers it. The inner run records its parent run, node and visit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from graphflow.conditions import compile_expression
from graphflow.errors import DefinitionError, NodeError, Problem
from graphflow.kinds.base import BuildContext, KindConfig, NodeContext, NodeKind
from graphflow.messages import Interrupt, Message, Update

if TYPE_CHECKING:
    from graphflow.graph import CompiledGraph

__all__ = ["SubgraphKind"]


class SubgraphConfig(KindConfig):
    graph: Any = Field(description="a graph file path, an inline graph mapping, or a graph")
    input: str | None = Field(default="last.content",
                              description="expression for the inner run's first message")
    variables: dict[str, str] = Field(default_factory=dict,
                                      description="inner variable → expression on the outer state")
    input_name: str | None = Field(default=None,
                                   description="speaker name of the inner run's first message "
                                   "(default: user)")  # fmt: skip
    output: Literal["last", "summary", "all", "transcript", "none"] = Field(
        default="last", description="which inner messages come back as this node's reply: "
        "last, summary (the last without TERMINATE, AutoGen's last_msg), all (every message "
        "the inner nodes said), transcript (all, the inner run's first messages too), none")
    outputs: dict[str, str] = Field(default_factory=dict,
                                    description="outer variable ← inner variable")
    name: str | None = Field(default=None,
                             description="speaker name of the reply (default: the inner one)")
    prepare: Any = Field(default=None, description="builder graphs: a callable of the outer "
                         "state returning more inner variables (e.g. nested-chat messages "
                         "computed by Python functions)")


class SubgraphKind(NodeKind):
    kind = "subgraph"
    Config = SubgraphConfig
    shape = "component"

    def __init__(self, node_id: str, config: SubgraphConfig, build: BuildContext) -> None:
        super().__init__(node_id, config, build)
        if build.compile_subgraph is None:
            raise DefinitionError([Problem(f"node {node_id!r}", "subgraphs cannot be compiled here")])
        try:
            self.inner: CompiledGraph = build.compile_subgraph(config.graph)
        except DefinitionError as exc:
            raise DefinitionError([Problem(f"node {node_id!r}: inner graph", str(p))
                                   for p in exc.problems]) from None  # fmt: skip
        self.input_expr = compile_expression(config.input) if config.input else None
        self.var_exprs = {k: compile_expression(v) for k, v in config.variables.items()}

    def subgraph(self) -> CompiledGraph:
        return self.inner

    def writes(self) -> frozenset[str]:
        """The outer variables this node sets (its ``outputs``), by their merge rules."""
        return frozenset(self.config.outputs)  # type: ignore[attr-defined]

    def serializable(self) -> bool:
        config: SubgraphConfig = self.config  # type: ignore[assignment]
        return isinstance(config.graph, (str, dict)) and config.prepare is None

    async def run(self, ctx: NodeContext) -> Update | Interrupt:
        config: SubgraphConfig = self.config  # type: ignore[assignment]
        first = self.input_expr(ctx.state) if self.input_expr else None
        variables = {k: e(ctx.state) for k, e in self.var_exprs.items()}
        if config.prepare is not None:
            variables.update(config.prepare(ctx.state) or {})
        opening: Message | None = None
        if first is not None:
            opening = Message(role="user", name=config.input_name or "user", content=str(first))
        result = await ctx.run_subgraph(self.inner, input=opening, variables=variables)
        child_id = result.run_id
        if result.status == "waiting":
            return Interrupt(question=result.question or "", payload={"subrun": child_id})
        if result.status not in ("completed",):
            raise NodeError(f"inner run {child_id!r} of node {self.node_id!r} ended with status "
                            f"{result.status}: {result.error or result.reason}; see "
                            f"`graphflow show {child_id}`")  # fmt: skip
        produced = [m for m in result.messages if m.node is not None]
        if config.output == "transcript":
            produced = list(result.messages)
        if config.output == "none" or not produced:
            messages: list[Message] = []
        elif config.output == "last":
            messages = [produced[-1]]
        elif config.output == "summary":
            text = (produced[-1].content or "").replace("TERMINATE", "")
            messages = [produced[-1].model_copy(update={"content": text, "tool_calls": None})]
        else:
            messages = produced
        messages = [m.model_copy(update={"node": self.node_id,
                                         "name": config.name or m.name or self.node_id})
                    for m in messages]  # fmt: skip
        variables = {outer: result.variables.get(inner) for outer, inner in config.outputs.items()}
        return Update(messages=messages, variables=variables, usage=result.usage or None)
