"""graphflow: multi-agent LLM conversations compiled from directed graphs.

Nodes are agents, tools, code executors and human checkpoints; edges carry conditions.
The scheduler checkpoints every step to SQLite, so a run can be resumed after a crash or
a human's answer days later, forked from any step, and drawn as a diagram.
"""

from graphflow.builder import Graph
from graphflow.errors import (
    BudgetExceeded,
    ConditionError,
    ConditionSyntaxError,
    DefinitionError,
    ExecutionError,
    ExecutorUnavailable,
    GraphflowError,
    IncompatibleGraph,
    LimitReached,
    ModelBadResponse,
    ModelError,
    ModelRequestRejected,
    ModelTimeout,
    NodeError,
    NoTransitionError,
    RenderError,
    RunError,
    RunInUse,
    RunNotFound,
    RunNotResumable,
    StoreCorrupt,
    StoreError,
    ToolError,
)
from graphflow.graph import CompiledGraph
from graphflow.kinds import NodeContext, NodeKind, register_kind
from graphflow.loader import load
from graphflow.messages import Interrupt, Message, State, Update
from graphflow.scheduler import RunResult
from graphflow.spec import GraphSpec, dump_spec, load_spec
from graphflow.store import Store

__version__ = "0.1.0"

__all__ = [
    "BudgetExceeded",
    "CompiledGraph",
    "ConditionError",
    "ConditionSyntaxError",
    "DefinitionError",
    "ExecutionError",
    "ExecutorUnavailable",
    "Graph",
    "GraphSpec",
    "GraphflowError",
    "IncompatibleGraph",
    "Interrupt",
    "LimitReached",
    "Message",
    "ModelBadResponse",
    "ModelError",
    "ModelRequestRejected",
    "ModelTimeout",
    "NoTransitionError",
    "NodeContext",
    "NodeError",
    "NodeKind",
    "RenderError",
    "RunError",
    "RunInUse",
    "RunNotFound",
    "RunNotResumable",
    "RunResult",
    "State",
    "Store",
    "StoreCorrupt",
    "StoreError",
    "ToolError",
    "Update",
    "__version__",
    "dump_spec",
    "load",
    "load_spec",
    "register_kind",
]
