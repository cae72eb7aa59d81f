"""AutoGen 0.2's RetrieveChat agents: ``RetrieveUserProxyAgent`` and
``RetrieveAssistantAgent``, on graphflow's ``retrieve_chat`` pattern.

::

    assistant = RetrieveAssistantAgent("assistant", llm_config={"config_list": config_list})
    ragproxyagent = RetrieveUserProxyAgent("ragproxyagent", retrieve_config={
        "task": "qa", "docs_path": "docs/"})
    ragproxyagent.initiate_chat(assistant, message=ragproxyagent.message_generator,
                                problem="How do I resume a run?")

``retrieve_config`` keys read: ``task`` (``qa``, ``code``, ``default``), ``docs_path``
(a path or list of paths; URLs are not fetched), ``n_results`` (also an
``initiate_chat`` argument, as in AutoGen), ``chunk_token_size``,
``context_max_tokens``, ``customized_prompt``, ``update_context`` (``False``: no
context updates), ``max_updates`` (graphflow's limit), ``index`` (graphflow's index
file), ``collection_name`` (without ``index``: the index file
``graphflow-work/knowledge/NAME.sqlite``), ``overwrite`` (``True``: the index forgets
every file before the chat), ``search`` and ``embedding`` (see
:mod:`graphflow.kinds.retrieve`). ``initiate_chat`` takes ``problem``, ``n_results`` and
``search_string`` (only chunks holding that exact text). AutoGen's vector-database keys
(``vector_db``, ``client``, ``db_config``, ``get_or_create`` — graphflow always gets or
creates the index) do not apply; keys that would change what AutoGen retrieves
(``customized_answer_prefix``, ``distance_threshold``, ``embedding_model`` …) are
ignored with a warning. The chat is a graph run: the proxy never asks a person
(AutoGen's examples use ``human_input_mode="NEVER"``); with ``code_execution_config`` it
runs the assistant's code blocks.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from typing import Any

from graphflow.autogen.agent import AssistantAgent, UserProxyAgent
from graphflow.errors import DefinitionError, Problem

__all__ = ["RetrieveAssistantAgent", "RetrieveUserProxyAgent"]

DEFAULT_INDEX = "graphflow-work/knowledge/retrievechat.sqlite"
#: Where a ``collection_name`` without ``index`` keeps its chunks.
COLLECTION_INDEX = "graphflow-work/knowledge/{collection_name}.sqlite"
#: AutoGen keys that do not apply: graphflow keeps chunks in its own index, always gets or
#: creates it (AutoGen's ``get_or_create=True``), counts tokens as 4 characters and splits
#: by Markdown section or Python definition.
_IGNORED = {"vector_db", "client", "db_config", "get_or_create", "model", "chunk_mode",
            "must_break_at_empty_line", "embedding_model", "embedding_function",
            "custom_token_count_function", "custom_text_split_function", "custom_text_types",
            "recursive", "distance_threshold", "extra_docs", "new_docs",
            "customized_answer_prefix"}  # fmt: skip
#: Ignored keys that would change what AutoGen retrieves or answers: a warning names them.
_CHANGES_RESULTS = {"embedding_model", "embedding_function", "custom_text_split_function",
                    "custom_text_types", "recursive", "distance_threshold", "extra_docs",
                    "new_docs", "customized_answer_prefix"}  # fmt: skip
_READ = {"task", "docs_path", "n_results", "chunk_token_size", "context_max_tokens",
         "customized_prompt", "update_context", "max_updates", "index", "search", "embedding",
         "collection_name", "overwrite"}  # fmt: skip
_COLLECTION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class RetrieveAssistantAgent(AssistantAgent):
    """AutoGen's ``RetrieveAssistantAgent``: an assistant that answers from the context a
    :class:`RetrieveUserProxyAgent` sends and replies ``UPDATE CONTEXT`` when it lacks
    the answer."""


class RetrieveUserProxyAgent(UserProxyAgent):
    """AutoGen's ``RetrieveUserProxyAgent`` (see the module docs).

    Args:
        name: its name (AutoGen's default ``RetrieveChatAgent``).
        human_input_mode: accepted for AutoGen's signature; the proxy never asks a person.
        retrieve_config: see the module docs.

    Raises:
        DefinitionError: an unknown ``retrieve_config`` key or a bad ``task``.
    """

    def __init__(self, name: str = "RetrieveChatAgent", human_input_mode: Any = "ALWAYS",
                 is_termination_msg: Any = None,
                 retrieve_config: Mapping[str, Any] | None = None, **kwargs: Any) -> None:  # fmt: skip
        kwargs.setdefault("code_execution_config", False)
        super().__init__(name, is_termination_msg=is_termination_msg,
                         human_input_mode="NEVER", **kwargs)  # fmt: skip
        config = dict(retrieve_config or {})
        unknown = sorted(set(config) - _READ - _IGNORED)
        problems = [Problem(f"agent {name!r}: retrieve_config", f"unknown key {key!r}",
                            f"use {', '.join(sorted(_READ))}") for key in unknown]  # fmt: skip
        if config.get("task", "default") not in ("qa", "code", "default"):
            problems.append(Problem(f"agent {name!r}: retrieve_config.task",
                                    f"unknown task {config['task']!r}", "use qa, code or default"))
        name_of = config.get("collection_name")
        if name_of is not None and not _COLLECTION.match(str(name_of)):
            problems.append(Problem(f"agent {name!r}: retrieve_config.collection_name",
                                    f"{name_of!r} is not a plain name",
                                    "use letters, digits, '.', '_' and '-' (it names the index "
                                    "file), or give index: a path"))  # fmt: skip
        if problems:
            raise DefinitionError(problems)
        unused = sorted(k for k in _CHANGES_RESULTS & set(config)
                        if config[k] not in (None, "", False, -1))  # fmt: skip
        if unused:
            warnings.warn(f"RetrieveUserProxyAgent {name!r}: retrieve_config "
                          f"{', '.join(unused)} {'is' if len(unused) == 1 else 'are'} not "
                          "supported by graphflow and ignored (see docs/knowledge.md)",
                          UserWarning, stacklevel=2)  # fmt: skip
        self._retrieve_config = config
        self.problem: str | None = None

    def _clear_index(self) -> None:
        """AutoGen's ``overwrite=True``: the index forgets every file, so the chat's
        ``docs_path`` is indexed afresh."""
        from pathlib import Path

        from graphflow.knowledge import KnowledgeIndex

        path = Path(self.index_path())
        if path.is_file():
            with KnowledgeIndex(path) as index:
                index.remove([str(f["path"]) for f in index.files()])

    @staticmethod
    def message_generator(sender: Any, recipient: Any, context: Mapping[str, Any]) -> str:
        """AutoGen's message generator: the problem of the chat (``context["problem"]``);
        the context itself is retrieved by the chat's ``retrieve`` node."""
        return str(context.get("problem") or "")

    def index_path(self) -> str:
        """The index file: ``index``, else one per ``collection_name``
        (``graphflow-work/knowledge/NAME.sqlite``), else :data:`DEFAULT_INDEX`."""
        config = self._retrieve_config
        if config.get("index"):
            return str(config["index"])
        if config.get("collection_name"):
            return COLLECTION_INDEX.format(collection_name=config["collection_name"])
        return DEFAULT_INDEX

    def options(self, n_results: int | None = None, search_string: str | None = None) -> dict[str, Any]:
        """The :func:`~graphflow.patterns.retrieval.retrieve_chat` options of this proxy."""
        config = self._retrieve_config
        docs = config.get("docs_path")
        options: dict[str, Any] = {
            "index": self.index_path(), "proxy_name": self.name,
            "task": config.get("task", "default"),
            "n_results": n_results or config.get("n_results", 20),
            "max_updates": 0 if config.get("update_context") is False
            else config.get("max_updates", 3),
            "search": config.get("search", "auto"),
        }  # fmt: skip
        if docs:
            options["docs_path"] = [docs] if isinstance(docs, str) else list(docs)
        if search_string:
            options["search_string"] = search_string
        for ours, theirs in (("chunk_tokens", "chunk_token_size"),
                             ("context_max_tokens", "context_max_tokens"),
                             ("prompt", "customized_prompt"), ("embedding", "embedding")):  # fmt: skip
            if config.get(theirs) is not None:
                options[ours] = config[theirs]
        if self._code_execution_config is not False:
            from graphflow.autogen.chat import executor_of

            options["code_execution"] = executor_of(self._code_execution_config, self.name)
        return options

    def initiate_chat(self, recipient: Any, clear_history: bool = True, silent: bool | None = False,
                      cache: Any = None, max_turns: int | None = None, summary_method: Any = None,
                      summary_args: Any = None, message: Any = None, **kwargs: Any) -> Any:  # fmt: skip
        """Ask ``problem=`` (or a text ``message``) of the documents; returns a
        :class:`~graphflow.patterns.retrieval.RetrieveChatResult`."""
        from graphflow.runs import run_sync

        return run_sync(self.a_initiate_chat(recipient, message=message, **kwargs))

    async def a_initiate_chat(self, recipient: Any, clear_history: bool = True,
                              silent: bool | None = False, cache: Any = None,
                              max_turns: int | None = None, summary_method: Any = None,
                              summary_args: Any = None, message: Any = None, **kwargs: Any) -> Any:  # fmt: skip
        """Async :meth:`initiate_chat`."""
        from graphflow.autogen.chat import _models
        from graphflow.patterns.retrieval import initiate_retrieve_chat

        problem = kwargs.pop("problem", None)
        n_results = kwargs.pop("n_results", None)
        search_string = kwargs.pop("search_string", None)
        if callable(message):
            problem = message(self, recipient, {"problem": problem, "n_results": n_results,
                                                "search_string": search_string})  # fmt: skip
        elif isinstance(message, str) and not problem:
            problem = message
        if not problem:
            raise DefinitionError([Problem(f"agent {self.name!r}: initiate_chat",
                                           "there is no question",
                                           "pass problem='...' (or message='...')")])  # fmt: skip
        self.problem = problem
        if self._retrieve_config.get("overwrite"):
            self._clear_index()
        assistant = recipient.spec().with_options(is_termination_msg=None,
                                                  context={"last": 1})  # fmt: skip
        allowed = {k: kwargs[k] for k in ("store", "run_id", "on_event") if k in kwargs}
        result = await initiate_retrieve_chat(problem, assistant=assistant,
                                              models=_models([recipient]),
                                              **self.options(n_results, search_string),
                                              **allowed)  # fmt: skip
        self._finished_chats = [result]
        if result.status == "failed":  # AutoGen raises; the run stays in the store
            from graphflow.errors import RunError

            raise RunError(f"the chat failed: {result.error}", run_id=result.run_id)
        return result
