"""Describing agents in Python: the :class:`Agent` spec and AutoGen's two classic agents.

An :class:`Agent` is a value, not a running object: the pattern builders
(:func:`~graphflow.patterns.two_agent_chat`, :func:`~graphflow.patterns.group_chat` …)
compile it into graph nodes. Its ``human_input_mode`` becomes a ``human`` checkpoint
node and conditional edges (:func:`add_agent`, :func:`connect`).

Example:
    >>> coder = AssistantAgent("coder")
    >>> proxy = UserProxyAgent("user_proxy", code_execution="local")
    >>> coder.human_input_mode, proxy.human_input_mode
    ('NEVER', 'ALWAYS')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from graphflow.agents.conventions import (
    AUTOGEN_TERMINATION,
    CHAT_END,
    DEFAULT_TERMINATION,
    counter_variable,
    input_variable,
    state_ref,
)
from graphflow.builder import Graph
from graphflow.errors import DefinitionError, Problem

__all__ = [
    "ASSISTANT_DESCRIPTION",
    "AUTOGEN_TERMINATION",
    "ENDS_CHAT",
    "USER_PROXY_DESCRIPTION",
    "Agent",
    "AssistantAgent",
    "HumanInputMode",
    "UserProxyAgent",
    "add_agent",
    "connect",
    "counters",
    "end_edges",
]

HumanInputMode = Literal["ALWAYS", "TERMINATE", "NEVER"]
#: A termination test: a condition (condition language, on ``last``), or a Python
#: callable of the state (builder graphs), or ``None`` (never ends).
Termination = str | Callable[..., Any] | None
#: The condition of the edge from an agent to where the chat ends.
ENDS_CHAT = f"state.{CHAT_END}"
ASSISTANT_DESCRIPTION = (
    "A general-purpose AI assistant with strong language, Python and Linux command-line "
    "skills; it writes code for others to run."
)
USER_PROXY_DESCRIPTION = (
    "Stands in for the user: runs the code others write and reports the results, and "
    "passes on the person's feedback."
)


@dataclass(frozen=True)
class Agent:
    """An agent, as AutoGen's ConversableAgent describes one.

    Attributes:
        name: node id and speaker name.
        system_message: its system prompt (``{placeholders}`` from run variables).
        model: an entry of the graph's ``models:`` (``None``: the default), an inline
            config, or ``False`` for an agent without a model (it replies with code
            results or ``default_auto_reply``).
        human_input_mode: ``ALWAYS`` (a person is asked before each reply), ``TERMINATE``
            (asked on a termination message or when the auto-reply limit is hit) or
            ``NEVER``.
        is_termination_msg: condition on the received message (``last``) that ends the
            chat, or a callable of the state; ``None`` never ends it. The default,
            ``endswith(last.content, "TERMINATE")``, differs from AutoGen's on purpose
            (see docs/patterns.md); :data:`AUTOGEN_TERMINATION` is AutoGen's.
        max_consecutive_auto_reply: auto-replies in a row without a person's answer.
        code_execution: executor that runs code blocks it receives (``local``,
            ``sandbox``, ``docker``, ``auto``, or a mapping with options), or ``None``.
        tools: the tools it offers its model (import paths; ``Tool`` objects or
            functions in builder graphs).
        description: what it does (group-chat speaker selection reads it).
        default_auto_reply: reply of an agent without a model when there is no code.
        context: which messages it sees (``{from: [...], last: N, own: bool}``).
        use: a ``nodes/`` catalog persona its options start from (``assistant`` …).
        options: further ``agent`` node options (``stream``, ``cache_seed``, ``params``,
            ``instruction``, ``postprocess`` …).
    """

    name: str
    system_message: str | None = "You are a helpful AI assistant."
    model: str | Mapping[str, Any] | bool | None = None
    human_input_mode: HumanInputMode = "TERMINATE"
    is_termination_msg: Termination = DEFAULT_TERMINATION
    max_consecutive_auto_reply: int = 100
    code_execution: str | Mapping[str, Any] | None = None
    tools: Sequence[Any] = ()
    description: str | None = None
    default_auto_reply: str = ""
    context: Mapping[str, Any] | None = None
    use: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems = []
        if not self.name or not all(ch.isalnum() or ch in "_-" for ch in self.name):
            problems.append(Problem(f"agent {self.name!r}", "a name needs letters, digits, _ or -",
                                    "rename it, e.g. 'data_analyst'"))  # fmt: skip
        if self.human_input_mode not in ("ALWAYS", "TERMINATE", "NEVER"):
            problems.append(Problem(f"agent {self.name!r}",
                                    f"unknown human_input_mode {self.human_input_mode!r}",
                                    "use ALWAYS, TERMINATE or NEVER"))  # fmt: skip
        if problems:
            raise DefinitionError(problems)

    def with_options(self, **changes: Any) -> Agent:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def node_options(self) -> dict[str, Any]:
        """The ``agent`` node options this agent compiles to."""
        options: dict[str, Any] = {}
        if self.system_message is not None and not self.use:
            options["system_message"] = self.system_message
        if self.model is not None:
            options["model"] = dict(self.model) if isinstance(self.model, Mapping) else self.model
        if self.is_termination_msg != DEFAULT_TERMINATION:
            options["is_termination_msg"] = self.is_termination_msg
        if self.max_consecutive_auto_reply != 100:
            options["max_consecutive_auto_reply"] = self.max_consecutive_auto_reply
        if self.code_execution is not None:
            options["code_execution"] = (self.code_execution if isinstance(self.code_execution, str)
                                         else dict(self.code_execution))  # fmt: skip
        if self.tools:
            options["tools"] = list(self.tools)
        if self.default_auto_reply:
            options["default_auto_reply"] = self.default_auto_reply
        if self.context is not None:
            options["context"] = dict(self.context)
        options.update(self.options)
        return options


def AssistantAgent(name: str = "assistant", **fields: Any) -> Agent:
    """AutoGen's AssistantAgent: a model that writes code, never asks a person, ends with
    TERMINATE (its prompt is the ``assistant`` persona of the nodes/ catalog).

    Example:
        >>> AssistantAgent("coder", max_consecutive_auto_reply=5).use
        'assistant'
    """
    defaults: dict[str, Any] = {"use": "assistant", "system_message": None,
                                "human_input_mode": "NEVER", "description": ASSISTANT_DESCRIPTION}  # fmt: skip
    if fields.get("system_message"):
        defaults["use"] = None
    return Agent(name, **{**defaults, **fields})


def UserProxyAgent(name: str = "user_proxy", **fields: Any) -> Agent:
    """AutoGen's UserProxyAgent: no model, asks the person before every reply, and runs
    the code it receives when ``code_execution`` names an executor.

    Example:
        >>> UserProxyAgent(code_execution="local").model
        False
    """
    defaults: dict[str, Any] = {"system_message": None, "model": False,
                                "human_input_mode": "ALWAYS", "description": USER_PROXY_DESCRIPTION}  # fmt: skip
    return Agent(name, **{**defaults, **fields})


def _termination(agent: Agent) -> Termination:
    term = agent.is_termination_msg
    if callable(term) or not term:
        return term
    return f"({term})"


def human_prompts(agent: Agent, sender: str | None = None) -> tuple[str, list[dict[str, Any]]]:
    """The questions an agent's checkpoint asks, in AutoGen's words
    (``ConversableAgent.check_termination_and_human_reply``), each telling the truth
    about what an empty answer does: after a termination message enter ends the chat,
    otherwise it lets the agent auto-reply.

    Returns:
        The default prompt, and ``[{when, prompt}]`` for a termination message.

    Example:
        >>> human_prompts(UserProxyAgent(human_input_mode="TERMINATE"), "assistant")[1][0]["prompt"]
        "Please give feedback to assistant. Press enter or type 'exit' to stop the conversation: "
    """
    who = sender or "the sender"
    if agent.human_input_mode == "ALWAYS":
        prompt = (f"Replying as {agent.name}. Provide feedback to {who}. Press enter to skip "
                  "and use auto-reply, or type 'exit' to end the conversation: ")  # fmt: skip
        ending = (f"Replying as {agent.name}. Provide feedback to {who}. Press enter or type "
                  "'exit' to end the conversation: ")  # fmt: skip
    else:
        prompt = (f"Please give feedback to {who}. Press enter to skip and use auto-reply, "
                  "or type 'exit' to stop the conversation: ")  # fmt: skip
        ending = f"Please give feedback to {who}. Press enter or type 'exit' to stop the conversation: "
    term = agent.is_termination_msg
    prompts = [{"when": term, "prompt": ending}] if term else []
    return prompt, prompts


def add_agent(graph: Graph, agent: Agent, sender: str | None = None) -> str:
    """Add ``agent``'s nodes to ``graph``: its ``agent`` node and, unless it never asks a
    person, its ``human`` checkpoint ``NAME_human`` with an edge to an ``end`` node
    ``NAME_exit`` taken when the person types ``exit``.

    Args:
        sender: who the agent answers (named in the checkpoint's question).

    Returns:
        The node that receives messages for the agent (see :func:`connect`).
    """
    options = agent.node_options()
    graph.add_node(agent.name, kind=None if agent.use else "agent", use=agent.use,
                   description=agent.description, **options)  # fmt: skip
    if agent.human_input_mode == "NEVER":
        return agent.name
    human, var = f"{agent.name}_human", input_variable(agent.name)
    prompt, prompts = human_prompts(agent, sender)
    graph.add_node(human, kind="human", prompt=prompt, prompts=prompts, variable=var,
                   message=False, name=agent.name,
                   description=f"the person behind {agent.name}")  # fmt: skip
    graph.add_node(f"{agent.name}_exit", kind="end", status=f"{agent.name}: the person typed exit")
    graph.add_edge(human, f"{agent.name}_exit",
                   when=f"lower(strip({state_ref(var)})) == \"exit\"", label="exit")  # fmt: skip
    graph.add_edge(human, agent.name, otherwise=True)
    return human


def end_edges(graph: Graph, done: str = "done") -> list[tuple[str, str]]:
    """Add the ``end`` node ``done`` and return the ``(done, condition)`` edge each agent
    needs first: an agent that ends the chat (termination message, auto-reply limit,
    ``exit``) sets ``chat_end`` and the run completes with that reason."""
    graph.add_node(done, kind="end", description="the chat is over")
    return [(done, ENDS_CHAT)]


def connect(
    graph: Graph, source: str, agent: Agent, *, before: Sequence[tuple[str, str]] = ()
) -> None:
    """Add the edges that deliver ``source``'s messages to ``agent``, by its human input
    mode: ALWAYS → its human checkpoint; TERMINATE → the checkpoint when the message is a
    termination message or the auto-reply limit is hit, else the agent; NEVER → the agent.

    Args:
        before: ``(target, condition)`` edges that take precedence (e.g. tool calls).
    """
    for target, condition in before:
        label = "ends the chat" if condition == ENDS_CHAT else None
        graph.add_edge(source, target, when=condition, label=label)
    if agent.human_input_mode == "NEVER":
        _final_edge(graph, source, agent.name, bool(before))
        return
    human = f"{agent.name}_human"
    if agent.human_input_mode == "ALWAYS":
        _final_edge(graph, source, human, bool(before))
        return
    limit = f"{state_ref(counter_variable(agent.name))} >= {agent.max_consecutive_auto_reply}"
    term = _termination(agent)
    ask: str | Callable[..., Any]
    if callable(term):
        ask = _either(term, agent.name, agent.max_consecutive_auto_reply)
    else:
        ask = f"{term} or {limit}" if term else limit
    graph.add_edge(source, human, when=ask, label="ask the person")
    graph.add_edge(source, agent.name, otherwise=True)


def _either(term: Callable[..., Any], name: str, limit: int) -> Callable[..., Any]:
    counter = counter_variable(name)

    def ask_the_person(state: Any) -> bool:
        """termination message or auto-reply limit"""
        used = state.variables.get(counter)
        return bool(term(state)) or (isinstance(used, (int, float)) and used >= limit)

    ask_the_person.__name__ = f"is_termination_msg or {counter} >= {limit}"
    return ask_the_person


def _final_edge(graph: Graph, source: str, target: str, conditional: bool) -> None:
    graph.add_edge(source, target, otherwise=conditional)


def counters(agents: Sequence[Agent]) -> dict[str, int]:
    """Initial auto-reply counters of the agents whose checkpoint edges read them (the
    ``TERMINATE`` ones)."""
    return {counter_variable(a.name): 0 for a in agents if a.human_input_mode == "TERMINATE"}
