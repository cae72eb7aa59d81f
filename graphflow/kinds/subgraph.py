"""The ``subgraph`` kind: a node whose reply comes from running an inner graph.

The inner run is a run of its own in the same store, with the id
``PARENT.NODE.VISIT`` — so when the parent is resumed after a crash, the re-executed
node resumes the inner run instead of starting it again; a human checkpoint inside the
inner graph pauses the parent too, and the parent's resume answers it. The inner run
records its parent run, node and visit (readers use those, never the id).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from graphflow.conditions import compile_expression
from graphflow.errors import DefinitionError, NodeError, Problem, RunNotFound
from graphflow.kinds.base import BuildContext, KindConfig, NodeContext, NodeKind, Services
from graphflow.messages import Interrupt, Message, Update

__all__ = ["SubgraphKind"]


class SubgraphConfig(KindConfig):
    graph: Any = Field(description="a graph file path, an inline graph mapping, or a graph")
    input: str | None = Field(default="last.content",
                              description="expression for the inner run's first message")
    variables: dict[str, str] = Field(default_factory=dict,
                                      description="inner variable → expression on the outer state")
    output: Literal["last", "all", "none"] = Field(
        default="last", description="which inner messages come back as this node's reply")
    outputs: dict[str, str] = Field(default_factory=dict,
                                    description="outer variable ← inner variable")
    name: str | None = Field(default=None,
                             description="speaker name of the reply (default: the inner one)")


class SubgraphKind(NodeKind):
    kind = "subgraph"
    Config = SubgraphConfig
    shape = "component"

    def __init__(self, node_id: str, config: SubgraphConfig, build: BuildContext) -> None:
        super().__init__(node_id, config, build)
        if build.compile_subgraph is None:
            raise DefinitionError([Problem(f"node {node_id!r}", "subgraphs cannot be compiled here")])
        try:
            self.inner = build.compile_subgraph(config.graph)
        except DefinitionError as exc:
            raise DefinitionError([Problem(f"node {node_id!r}: inner graph", str(p))
                                   for p in exc.problems]) from None  # fmt: skip
        self.input_expr = compile_expression(config.input) if config.input else None
        self.var_exprs = {k: compile_expression(v) for k, v in config.variables.items()}

    def subgraph(self) -> Any:
        return self.inner

    def serializable(self) -> bool:
        return isinstance(self.config.graph, (str, dict))  # type: ignore[attr-defined]

    async def run(self, ctx: NodeContext) -> Update | Interrupt:
        from graphflow.scheduler import RESUMABLE, execute

        config: SubgraphConfig = self.config  # type: ignore[assignment]
        store = ctx.services.store
        visit = ctx.state.visits.get(self.node_id, 0)
        child_id = f"{ctx.run_id}.{self.node_id}.{visit}"
        services = Services(store=store, emit=ctx.services.emit, work_dir=ctx.services.work_dir,
                            options=ctx.services.options, shared=ctx.services.shared,
                            closers=ctx.services.closers, close_at_end=False)  # fmt: skip
        try:
            record = store.get_run(child_id)
        except RunNotFound:
            record = None
        if record is None:
            first = self.input_expr(ctx.state) if self.input_expr else None
            variables = {k: e(ctx.state) for k, e in self.var_exprs.items()}
            result = await execute(self.inner, store=store, run_id=child_id,
                                   input=None if first is None else str(first),
                                   variables=variables, services=services,
                                   parent_run=ctx.run_id, parent_node=self.node_id,
                                   parent_visit=visit)  # fmt: skip
        elif record.status in RESUMABLE:
            answer = ctx.input if record.status == "waiting" else None
            result = await execute(self.inner, store=store, run_id=child_id, resume=True,
                                   answers=answer, services=services)  # fmt: skip
        else:
            from graphflow.scheduler import RunResult

            variables, _ = store.load_variables(child_id, record.last_step)
            result = RunResult(child_id, record.status, record.reason,
                               store.load_messages(child_id), variables)  # fmt: skip
        if result.status == "waiting":
            return Interrupt(question=result.question or "", payload={"subrun": child_id})
        if result.status not in ("completed",):
            raise NodeError(f"inner run {child_id!r} of node {self.node_id!r} ended with status "
                            f"{result.status}: {result.error or result.reason}; see "
                            f"`graphflow show {child_id}`")  # fmt: skip
        produced = [m for m in result.messages if m.node is not None]
        if config.output == "none" or not produced:
            messages: list[Message] = []
        elif config.output == "last":
            messages = [produced[-1]]
        else:
            messages = produced
        messages = [m.model_copy(update={"node": self.node_id,
                                         "name": config.name or m.name or self.node_id})
                    for m in messages]  # fmt: skip
        variables = {outer: result.variables.get(inner) for outer, inner in config.outputs.items()}
        return Update(messages=messages, variables=variables, usage=result.usage or None)
