"""AutoGen 0.2's ``Teachability`` capability on graphflow's teachable agents.

As in AutoGen (``autogen.agentchat.contrib.capabilities.teachability``)::

    from graphflow.autogen import AssistantAgent, UserProxyAgent
    from graphflow.autogen.teachability import Teachability

    teachable = AssistantAgent("teachable", llm_config=llm_config)
    Teachability(path_to_db_dir="./tmp/teachable_agent_db").add_to_agent(teachable)
    user.initiate_chat(teachable, message="My favourite colour is teal.")

The agent then learns memos from the messages it receives and recalls them in later
chats — in this process or another — through the ``teachability`` option of graphflow's
``agent`` kind (docs/teachable.md): memos go to ``graphflow-memory.db`` in
``path_to_db_dir``, are checkpointed with each chat's steps, and are listed and
forgotten with ``graphflow memory list|forget --db PATH``.

Differences from AutoGen: one analyzer call per message instead of several yes/no
questions; memos are ranked by BM25 (SQLite FTS5) rather than by embedding distance, so
``recall_threshold`` (a distance in AutoGen's vector database) has no equivalent and is
not used; ``verbosity`` only raises the log level of ``graphflow.agents.teaching``.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from graphflow.errors import DefinitionError, Problem
from graphflow.memory import DEFAULT_MEMORY_DB, MemoStore

__all__ = ["ANALYZER_SUFFIX", "Teachability"]

#: The model entry of an analyzer with an ``llm_config`` of its own: ``AGENT`` + this.
ANALYZER_SUFFIX = "__analyzer"
_AUTOGEN_THRESHOLD = 1.5
#: What ``add_to_agent`` appends to the agent's system message (AutoGen appends a line too).
SYSTEM_MESSAGE_NOTE = ("\nYou remember what users taught you in earlier conversations: "
                       "notes from them may follow their messages.")  # fmt: skip


class Teachability:
    """Makes an agent teachable (AutoGen's signature).

    Args:
        verbosity: 0 for quiet; 1 or more logs memory operations (INFO) on the logger
            ``graphflow.agents.teaching``.
        reset_db: forget the memos of the agent it is added to, at :meth:`add_to_agent`.
        path_to_db_dir: the folder of the memo database (``graphflow-memory.db`` in it).
        recall_threshold: AutoGen's distance threshold; not used (see the module docs).
        max_num_retrievals: at most this many memos are recalled per reply.
        llm_config: the analyzer's model (default: the agent's ``llm_config``).
    """

    def __init__(self, verbosity: int | None = 0, reset_db: bool | None = False,
                 path_to_db_dir: str | None = "./tmp/teachable_agent_db",
                 recall_threshold: float | None = _AUTOGEN_THRESHOLD,
                 max_num_retrievals: int | None = 10,
                 llm_config: Mapping[str, Any] | bool | None = None) -> None:  # fmt: skip
        self.verbosity = verbosity or 0
        self.reset_db = bool(reset_db)
        self.path_to_db_dir = path_to_db_dir or "./tmp/teachable_agent_db"
        self.recall_threshold = recall_threshold
        self.max_num_retrievals = 10 if max_num_retrievals is None else max_num_retrievals
        self.llm_config = llm_config
        self.teachable_agent: Any = None
        if recall_threshold not in (None, _AUTOGEN_THRESHOLD):
            warnings.warn("Teachability(recall_threshold=...) is a distance in AutoGen's "
                          "vector database; graphflow ranks memos with BM25 and does not use "
                          "it (max_num_retrievals caps the memos recalled)", stacklevel=2)  # fmt: skip
        if self.verbosity >= 1:
            log = logging.getLogger("graphflow.agents.teaching")
            log.setLevel(logging.INFO)
            if not log.handlers:
                log.addHandler(logging.StreamHandler())

    @property
    def db_path(self) -> Path:
        """The memo database file."""
        return Path(self.path_to_db_dir).expanduser().resolve() / DEFAULT_MEMORY_DB

    @property
    def memo_store(self) -> MemoStore:
        """The memo database, opened (and created) anew: list or forget memos with it."""
        return MemoStore(self.db_path)

    def add_to_agent(self, agent: Any) -> None:
        """Make ``agent`` (a :class:`~graphflow.autogen.ConversableAgent`) teachable: its
        chats compile with the ``teachability`` option, and its system message says it
        remembers.

        Raises:
            DefinitionError: the agent has no ``llm_config`` (graphflow's teachable agents
                learn and recall when they ask their model for a reply).
        """
        if not agent.llm_config:
            raise DefinitionError([Problem(f"agent {agent.name!r}: Teachability",
                                           "the agent has no llm_config: it never asks a "
                                           "model, so it can neither learn nor recall",
                                           "give the agent an llm_config")])  # fmt: skip
        self.teachable_agent = agent
        agent._teachability = self
        agent.update_system_message((agent.system_message or "") + SYSTEM_MESSAGE_NOTE)
        if self.reset_db:
            with self.memo_store as store:
                _forget_quietly(store, agent.name)

    def analyzer_entry(self, agent_name: str) -> tuple[str, Mapping[str, Any]] | None:
        """The model entry ``(name, llm_config)`` of an analyzer with its own
        ``llm_config``, or ``None`` when it uses the agent's."""
        if isinstance(self.llm_config, Mapping) and self.llm_config:
            return agent_name + ANALYZER_SUFFIX, self.llm_config
        return None

    def options(self, agent_name: str) -> dict[str, Any]:
        """The ``teachability`` node option of the agent ``agent_name``."""
        options: dict[str, Any] = {"db": str(self.db_path), "max_recalled":
                                   self.max_num_retrievals}  # fmt: skip
        entry = self.analyzer_entry(agent_name)
        if entry is not None:
            options["model"] = entry[0]
        return options


def _forget_quietly(store: MemoStore, agent: str) -> None:
    if agent in store.agents():
        store.forget_agent(agent)
