"""graphflow: multi-agent LLM conversations compiled from directed graphs.

Nodes are agents, tools, code executors and human checkpoints; edges carry conditions.
The scheduler checkpoints every step to SQLite, so a run can be resumed after a crash or
a human's answer days later, forked from any step, and drawn as a diagram.
"""

from typing import TYPE_CHECKING, Any

from graphflow.builder import Graph
from graphflow.context import RunContext
from graphflow.errors import (
    BudgetExceeded,
    ConditionError,
    ConditionSyntaxError,
    DefinitionError,
    ExecutionError,
    ExecutorUnavailable,
    GraphflowError,
    IncompatibleGraph,
    InvalidUpdate,
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
    StaleAnswer,
    StoreCorrupt,
    StoreError,
    StoreFull,
    ToolError,
)
from graphflow.graph import CompiledGraph
from graphflow.import_policy import ImportRefused, safe_imports
from graphflow.kinds import NodeContext, NodeKind, register_kind
from graphflow.loader import load
from graphflow.messages import Interrupt, Message, State, Update
from graphflow.results import RunResult
from graphflow.secrets import redact
from graphflow.spec import GraphSpec, dump_spec, load_spec
from graphflow.store import (
    ArtifactRow,
    MemoryStore,
    RunReader,
    RunStatus,
    RunStore,
    RunWriter,
    Store,
)

if TYPE_CHECKING:  # the real types of the names below, imported on first use at run time
    from graphflow.distributed import enqueue_resume, submit
    from graphflow.knowledge import KnowledgeError, KnowledgeIndex, OpenAIEmbeddings
    from graphflow.memory import Memo, MemoStore
    from graphflow.models import ModelClient, ModelConfig, ScriptedModel, resolve_models
    from graphflow.patterns import (
        Agent,
        AssistantAgent,
        Chat,
        ChatResult,
        RetrieveChatResult,
        UserProxyAgent,
        group_chat,
        initiate_chat,
        initiate_chat_sync,
        initiate_chats,
        initiate_chats_sync,
        initiate_group_chat,
        initiate_group_chat_sync,
        initiate_retrieve_chat,
        initiate_retrieve_chat_sync,
        nested_chat,
        retrieve_chat,
        sequential_chats,
        two_agent_chat,
    )
    from graphflow.render import RunOverlay, render_run
    from graphflow.report import write_report
    from graphflow.store.postgres import PostgresStore
    from graphflow.testing import ModelServer
    from graphflow.tools import Tool, ToolContext, from_langchain, library_tool, tool
    from graphflow.tuning import TuneResult, TuningError, tune


__version__ = "0.1.0"

# Layers above the engine are imported on first use, so `import graphflow` stays light.
_LAZY = {
    "Agent": "graphflow.patterns",
    "AssistantAgent": "graphflow.patterns",
    "Chat": "graphflow.patterns",
    "ChatResult": "graphflow.patterns",
    "KnowledgeError": "graphflow.knowledge",
    "KnowledgeIndex": "graphflow.knowledge",
    "Memo": "graphflow.memory",
    "MemoStore": "graphflow.memory",
    "ModelClient": "graphflow.models",
    "ModelConfig": "graphflow.models",
    "ModelServer": "graphflow.testing",
    "OpenAIEmbeddings": "graphflow.knowledge",
    "PostgresStore": "graphflow.store.postgres",
    "RetrieveChatResult": "graphflow.patterns",
    "RunOverlay": "graphflow.render",
    "ScriptedModel": "graphflow.models",
    "Tool": "graphflow.tools",
    "ToolContext": "graphflow.tools",
    "TuneResult": "graphflow.tuning",
    "TuningError": "graphflow.tuning",
    "UserProxyAgent": "graphflow.patterns",
    "enqueue_resume": "graphflow.distributed",
    "from_langchain": "graphflow.tools",
    "group_chat": "graphflow.patterns",
    "initiate_chat": "graphflow.patterns",
    "initiate_chat_sync": "graphflow.patterns",
    "initiate_chats": "graphflow.patterns",
    "initiate_chats_sync": "graphflow.patterns",
    "initiate_group_chat": "graphflow.patterns",
    "initiate_group_chat_sync": "graphflow.patterns",
    "initiate_retrieve_chat": "graphflow.patterns",
    "initiate_retrieve_chat_sync": "graphflow.patterns",
    "library_tool": "graphflow.tools",
    "nested_chat": "graphflow.patterns",
    "render_run": "graphflow.render",
    "resolve_models": "graphflow.models",
    "retrieve_chat": "graphflow.patterns",
    "sequential_chats": "graphflow.patterns",
    "submit": "graphflow.distributed",
    "tool": "graphflow.tools",
    "tune": "graphflow.tuning",
    "two_agent_chat": "graphflow.patterns",
    "write_report": "graphflow.report",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'graphflow' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "Agent",
    "ArtifactRow",
    "AssistantAgent",
    "BudgetExceeded",
    "Chat",
    "ChatResult",
    "CompiledGraph",
    "ConditionError",
    "ConditionSyntaxError",
    "DefinitionError",
    "ExecutionError",
    "ExecutorUnavailable",
    "Graph",
    "GraphSpec",
    "GraphflowError",
    "ImportRefused",
    "IncompatibleGraph",
    "Interrupt",
    "InvalidUpdate",
    "KnowledgeError",
    "KnowledgeIndex",
    "Memo",
    "MemoStore",
    "MemoryStore",
    "Message",
    "ModelBadResponse",
    "ModelClient",
    "ModelConfig",
    "ModelError",
    "ModelRequestRejected",
    "ModelServer",
    "ModelTimeout",
    "NoTransitionError",
    "NodeContext",
    "NodeError",
    "NodeKind",
    "OpenAIEmbeddings",
    "PostgresStore",
    "RenderError",
    "RetrieveChatResult",
    "RunContext",
    "RunError",
    "RunInUse",
    "RunNotFound",
    "RunNotResumable",
    "RunOverlay",
    "RunReader",
    "RunResult",
    "RunStatus",
    "RunStore",
    "RunWriter",
    "ScriptedModel",
    "StaleAnswer",
    "State",
    "Store",
    "StoreCorrupt",
    "StoreError",
    "StoreFull",
    "Tool",
    "ToolContext",
    "ToolError",
    "TuneResult",
    "TuningError",
    "Update",
    "UserProxyAgent",
    "__version__",
    "dump_spec",
    "enqueue_resume",
    "from_langchain",
    "group_chat",
    "initiate_chat",
    "initiate_chat_sync",
    "initiate_chats",
    "initiate_chats_sync",
    "initiate_group_chat",
    "initiate_group_chat_sync",
    "initiate_retrieve_chat",
    "initiate_retrieve_chat_sync",
    "library_tool",
    "load",
    "load_spec",
    "nested_chat",
    "redact",
    "register_kind",
    "render_run",
    "resolve_models",
    "retrieve_chat",
    "safe_imports",
    "sequential_chats",
    "submit",
    "tool",
    "tune",
    "two_agent_chat",
    "write_report",
]
