"""RetrieveChat: a question answered from retrieved context, as a graph.

The graph (AutoGen's RetrieveUserProxyAgent + RetrieveAssistantAgent)::

    ragproxy ──▶ assistant ──▶ done                      (an answer)
        ▲            │
        └────────────┘  UPDATE CONTEXT: the next chunks, up to max_updates
                     └──▶ run_code ──▶ assistant         (with code_execution)

``ragproxy`` is a ``retrieve`` node: it searches the index for the question (the run's
first message) and sends the prompt with the labelled context. The assistant answers,
citing labels ``[n]``; when it replies ``UPDATE CONTEXT`` the proxy sends the next
chunks. With ``code_execution`` the assistant's code blocks are run and the results
sent back to it (retrieval-augmented code generation).

Example:
    >>> import tempfile, pathlib
    >>> from graphflow.models import ScriptedModel
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "faq.md").write_text("# Resume\\nResume a waiting run with `graphflow resume`.\\n")
    >>> result = initiate_retrieve_chat_sync(
    ...     "How do I resume a waiting run?", index=folder / "i.sqlite", docs_path=[folder],
    ...     models=ScriptedModel(["Run `graphflow resume` [1]."]))
    >>> result.summary, result.citations[0]["start_line"], result.citations[0]["end_line"]
    ('Run `graphflow resume` [1].', 1, 2)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any, Literal

from graphflow.builder import Graph
from graphflow.kinds.retrieve import UPDATE_CONTEXT_CONDITION, citations_variable
from graphflow.messages import Message
from graphflow.patterns.agents import ENDS_CHAT, Agent, AssistantAgent
from graphflow.patterns.chatrun import ChatSides, chat_result
from graphflow.patterns.runner import ChatResult, Runner, section_of
from graphflow.store import Store

__all__ = ["HAS_CODE", "RetrieveChatResult", "initiate_retrieve_chat",
           "initiate_retrieve_chat_sync", "retrieve_chat"]  # fmt: skip

#: The condition of a reply with a fenced code block.
HAS_CODE = 'matches(last.content, "```")'
_ASSISTANT_PROMPT = ("You are a helpful assistant that answers from the context you are "
                     "given and cites its labels.")  # fmt: skip


@dataclass
class RetrieveChatResult(ChatResult):
    """A :class:`ChatResult` with the sources of the answer.

    Attributes:
        citations: the chunks of the last context sent, ``[{label, source, start_line,
            end_line, section, score, chunk_id}]``; the answer cites them as ``[label]``.
    """

    citations: list[dict[str, Any]] = field(default_factory=list)


def retrieve_chat(
    index: str | PathLike[str],
    *,
    docs_path: Sequence[str | PathLike[str]] | str | None = None,
    assistant: Agent | None = None,
    proxy_name: str = "ragproxy",
    n_results: int = 5,
    task: Literal["qa", "code", "default"] = "default",
    max_updates: int = 3,
    search: Literal["auto", "bm25", "vector", "hybrid"] = "auto",
    search_string: str | None = None,
    embedding: Mapping[str, Any] | None = None,
    prompt: str | None = None,
    code_execution: str | Mapping[str, Any] | None = None,
    context_max_tokens: int = 4000,
    chunk_tokens: int = 300,
    name: str = "retrieve_chat",
    models: Any = None,
    max_steps: int = 200,
) -> Graph:
    """The RetrieveChat graph (see the module docs).

    Args:
        index: the index file (shared between runs; created when missing).
        docs_path: files and folders indexed (incrementally) before the first search.
        assistant: the answering agent (default: an assistant that sees only the latest
            context, as AutoGen clears the history when it updates the context).
        proxy_name: the retrieve node's id and speaker name.
        n_results, task, max_updates, search, search_string, embedding, prompt,
            context_max_tokens, chunk_tokens: the ``retrieve`` node's options (see
            :mod:`graphflow.kinds.retrieve`).
        code_execution: run the assistant's code blocks with this executor (``local``,
            ``sandbox``, ``docker``, ``auto``) and send the results back to it.
        models: the graph's ``models:`` section.
        max_steps: a safety limit on scheduler steps.

    Raises:
        DefinitionError: bad options (when the graph compiles).
    """
    code = code_execution is not None
    if assistant is None:
        assistant = AssistantAgent("assistant", system_message=_ASSISTANT_PROMPT,
                                   context=None if code else {"last": 1})  # fmt: skip
    docs = [docs_path] if isinstance(docs_path, (str, PathLike)) else list(docs_path or [])
    graph = Graph(name, description="answers a question from retrieved context (RetrieveChat)")
    options: dict[str, Any] = {
        "index": str(index), "n_results": n_results, "task": task, "max_updates": max_updates,
        "search": search, "context_max_tokens": context_max_tokens, "chunk_tokens": chunk_tokens,
    }  # fmt: skip
    if docs:
        options["docs_path"] = [str(d) if "://" in str(d) else str(Path(d).resolve())
                                for d in docs]  # URLs: the node says they are not fetched
    if embedding is not None:
        options["embedding"] = dict(embedding)
    if prompt is not None:
        options["prompt"] = prompt
    if search_string:
        options["search_string"] = search_string
    graph.add_node(proxy_name, kind="retrieve", description="retrieves context for the question",
                   **options)  # fmt: skip
    graph.add_node(assistant.name, kind=None if assistant.use else "agent", use=assistant.use,
                   description=assistant.description,
                   **{**assistant.node_options(), "is_termination_msg": None})  # fmt: skip
    graph.add_node("done", kind="end", description="the question is answered")
    graph.add_edge(proxy_name, "done", when=ENDS_CHAT, label="no context left")
    graph.add_edge(proxy_name, assistant.name, otherwise=True)
    graph.add_edge(assistant.name, proxy_name, when=UPDATE_CONTEXT_CONDITION,
                   label="UPDATE CONTEXT")  # fmt: skip
    if code:
        graph.add_node("run_code", kind="code",
                       **({"executor": code_execution} if isinstance(code_execution, str)
                          else dict(code_execution or {})))  # fmt: skip
        graph.add_edge(assistant.name, "run_code", when=HAS_CODE, label="code")
        graph.add_edge("run_code", assistant.name)
    graph.add_edge(assistant.name, "done", otherwise=True)
    graph.set_entry(proxy_name)
    graph.limits(max_steps=max_steps)
    graph.models = section_of(models)
    return graph


async def initiate_retrieve_chat(
    question: str,
    *,
    index: str | PathLike[str],
    store: Store | str | Path | None = None,
    run_id: str | None = None,
    models: Any = None,
    on_event: Callable[[Any], None] | None = None,
    work_dir: str | Path | None = None,
    **options: Any,
) -> RetrieveChatResult:
    """Ask ``question`` of the documents in ``index`` and return the answer (``summary``)
    with its :attr:`~RetrieveChatResult.citations`.

    Args:
        question: the question (or, with ``task="code"``, the coding task).
        index, options: see :func:`retrieve_chat`.
        store, run_id, models, on_event, work_dir: as for
            :func:`~graphflow.patterns.initiate_chat`.

    Raises:
        DefinitionError: bad options.
    """
    graph = retrieve_chat(index, models=models, **options).compile()
    proxy = str(options.get("proxy_name", "ragproxy"))
    assistant = options.get("assistant") or AssistantAgent("assistant")
    runner = Runner(graph, store=store, models=models, on_event=on_event, work_dir=work_dir)
    result = await runner.start([Message(role="user", name="user", content=question)],
                                run_id=run_id)  # fmt: skip
    citations = list(result.variables.get(citations_variable(proxy)) or [])
    chat = await chat_result(runner, result, ChatSides(proxy, assistant.name, [assistant.model]),
                             "last_msg", {})  # fmt: skip
    fields = {name: getattr(chat, name) for name in ChatResult.__dataclass_fields__}
    return RetrieveChatResult(**fields, citations=citations)


def initiate_retrieve_chat_sync(question: str, **options: Any) -> RetrieveChatResult:
    """Synchronous :func:`initiate_retrieve_chat`."""
    from graphflow.runs import run_sync

    return run_sync(initiate_retrieve_chat(question, **options))
