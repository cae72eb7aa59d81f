"""AutoGen's agents on graphflow's engine: ``ConversableAgent``, ``AssistantAgent``,
``UserProxyAgent`` and ``register_function``.

An agent here is what it is in AutoGen — an object with a name, a system message, an
``llm_config``, a human input mode, tools, code execution and nested chats — but it
does not run a loop of its own: ``initiate_chat`` compiles the chat into a graph
(:mod:`graphflow.autogen.chat`), which checkpoints every step, resumes, and draws.
After a chat, ``chat_messages`` and ``last_message`` hold the conversation as AutoGen's
do, so summary functions written for AutoGen work unchanged.
"""

from __future__ import annotations

import builtins
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any, Literal

from graphflow.agents.conventions import AUTOGEN_TERMINATION
from graphflow.errors import DefinitionError, Problem
from graphflow.messages import State
from graphflow.patterns import Agent
from graphflow.patterns.summary import SUMMARY_PROMPT
from graphflow.tools import Tool

__all__ = ["AssistantAgent", "ConversableAgent", "UserProxyAgent", "message_dict",
           "register_function"]  # fmt: skip

HumanInputMode = Literal["ALWAYS", "NEVER", "TERMINATE"]


def message_dict(message: Any) -> dict[str, Any]:
    """A graphflow message as the dict AutoGen's callables receive (``content``,
    ``role``, ``name``, and ``tool_calls`` when there are some)."""
    out: dict[str, Any] = {"content": message.content, "role": message.role}
    if message.name or message.node:
        out["name"] = message.name or message.node
    if message.tool_calls:
        out["tool_calls"] = message.tool_calls
    return out


def _termination(test: Callable[[dict[str, Any]], Any]) -> Callable[[State], bool]:
    """AutoGen's ``is_termination_msg(message_dict)`` as a condition of the state."""

    def is_termination_msg(state: State) -> bool:
        last = state.last
        return last is not None and bool(test(message_dict(last)))

    is_termination_msg.__name__ = getattr(test, "__name__", "is_termination_msg")
    return is_termination_msg


class ConversableAgent:
    """AutoGen's ``ConversableAgent`` (same arguments, same defaults).

    Args:
        name: the agent's name (letters, digits, ``_`` or ``-``).
        system_message: its system prompt.
        is_termination_msg: ``fn(message: dict) -> bool``; default: the content equals
            ``"TERMINATE"`` (AutoGen's default, exactly).
        max_consecutive_auto_reply: auto-replies in a row (default 100).
        human_input_mode: ``ALWAYS``, ``TERMINATE`` (default) or ``NEVER``.
        function_map: functions it executes for tool calls (by name).
        code_execution_config: ``False`` or ``{"work_dir", "use_docker", "timeout",
            "last_n_messages"}``; see docs/migrating-from-autogen.md for how
            ``use_docker`` maps to graphflow's executors.
        llm_config: ``{"config_list": [...], ...}``, or ``False``/``None`` (no model).
        default_auto_reply: its reply when there is nothing to run and no model.
        description: what it does (group-chat selection reads it; default: the system
            message).

    Raises:
        DefinitionError: a bad name, mode or ``code_execution_config``.
    """

    DEFAULT_CONFIG: Any = False
    MAX_CONSECUTIVE_AUTO_REPLY = 100
    DEFAULT_SUMMARY_PROMPT = SUMMARY_PROMPT
    DEFAULT_SUMMARY_METHOD = "last_msg"

    def __init__(
        self,
        name: str,
        system_message: str | None = "You are a helpful AI Assistant.",
        is_termination_msg: Callable[[dict[str, Any]], bool] | None = None,
        max_consecutive_auto_reply: int | None = None,
        human_input_mode: HumanInputMode = "TERMINATE",
        function_map: Mapping[str, Callable[..., Any]] | None = None,
        code_execution_config: Mapping[str, Any] | Literal[False] = False,
        llm_config: Mapping[str, Any] | Literal[False] | None = None,
        default_auto_reply: str | Mapping[str, Any] = "",
        description: str | None = None,
        chat_messages: Mapping[Any, list[dict[str, Any]]] | None = None,
        silent: bool | None = None,
    ) -> None:
        problems = []
        if human_input_mode not in ("ALWAYS", "NEVER", "TERMINATE"):
            problems.append(Problem(f"agent {name!r}", f"unknown human_input_mode "
                                    f"{human_input_mode!r}", "use ALWAYS, TERMINATE or NEVER"))  # fmt: skip
        if code_execution_config is not False and not isinstance(code_execution_config, Mapping):
            problems.append(Problem(f"agent {name!r}: code_execution_config",
                                    "must be a dict or False"))  # fmt: skip
        if llm_config not in (None, False) and not isinstance(llm_config, Mapping):
            problems.append(Problem(f"agent {name!r}: llm_config", "must be a dict, False or None"))
        if problems:
            raise DefinitionError(problems)
        self._name = name
        self._oai_system_message = [{"content": system_message, "role": "system"}]
        self._description = description if description is not None else system_message
        self._is_termination_msg = is_termination_msg
        self._max_consecutive_auto_reply = (self.MAX_CONSECUTIVE_AUTO_REPLY
                                            if max_consecutive_auto_reply is None
                                            else max_consecutive_auto_reply)  # fmt: skip
        self.human_input_mode: HumanInputMode = human_input_mode
        self._function_map: dict[str, Callable[..., Any]] = dict(function_map or {})
        self._llm_tools: dict[str, Tool] = {}
        self._code_execution_config: dict[str, Any] | Literal[False] = (
            False if code_execution_config is False else dict(code_execution_config))
        config = self.DEFAULT_CONFIG if llm_config is None else llm_config
        self.llm_config: Any = dict(config) if isinstance(config, Mapping) else False
        self._default_auto_reply = default_auto_reply
        self._oai_messages: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        for partner, messages in (chat_messages or {}).items():
            self._oai_messages[partner] = list(messages)
        self._human_input: list[str] = []
        self._nested: list[tuple[list[dict[str, Any]], Any]] = []
        self._finished_chats: list[Any] = []
        self.silent = silent
        self._teachability: Any = None  # a Teachability added with add_to_agent
        self.spec()  # report a bad name now, not when the chat starts

    # -- AutoGen's properties --------------------------------------------------------

    @property
    def name(self) -> str:
        """The agent's name."""
        return self._name

    @property
    def description(self) -> str | None:
        """What the agent does."""
        return self._description

    @description.setter
    def description(self, description: str) -> None:
        self._description = description

    @property
    def system_message(self) -> str | None:
        """The system message."""
        return self._oai_system_message[0]["content"]

    def update_system_message(self, system_message: str) -> None:
        """Change the system message (for the next chat)."""
        self._oai_system_message[0]["content"] = system_message

    def update_max_consecutive_auto_reply(self, value: int, sender: Any = None) -> None:
        """Change the auto-reply limit (for the next chat)."""
        self._max_consecutive_auto_reply = value

    def max_consecutive_auto_reply(self, sender: Any = None) -> int:
        """The auto-reply limit."""
        return self._max_consecutive_auto_reply

    @property
    def function_map(self) -> dict[str, Callable[..., Any]]:
        """The functions this agent executes, by name."""
        return self._function_map

    @property
    def chat_messages(self) -> dict[Any, list[dict[str, Any]]]:
        """The conversations of finished chats, by partner, as this agent saw them."""
        return self._oai_messages

    def chat_messages_for_summary(self, agent: Any) -> list[dict[str, Any]]:
        """The conversation with ``agent`` to summarize."""
        return self._oai_messages[agent]

    def last_message(self, agent: Any = None) -> dict[str, Any] | None:
        """The last message exchanged with ``agent`` (AutoGen's rules when ``None``).

        Raises:
            ValueError: ``agent`` is ``None`` and there are several conversations.
            KeyError: no conversation with ``agent``.
        """
        if agent is None:
            if not self._oai_messages:
                return None
            if len(self._oai_messages) == 1:
                return next(iter(self._oai_messages.values()))[-1]
            raise ValueError("More than one conversation is found. Please specify the sender "
                             "to get the last message.")  # fmt: skip
        if agent not in self._oai_messages:
            raise KeyError(f"The agent '{agent.name}' is not present in any conversation. "
                           "No history available for this agent.")  # fmt: skip
        return self._oai_messages[agent][-1]

    def clear_history(self, recipient: Any = None, nr_messages_to_preserve: int | None = None) -> None:
        """Forget the conversation with ``recipient`` (all, when ``None``)."""
        if recipient is None:
            self._oai_messages.clear()
        else:
            self._oai_messages.pop(recipient, None)

    def reset(self) -> None:
        """Forget every conversation."""
        self.clear_history()

    # -- human input ------------------------------------------------------------------

    def get_human_input(self, prompt: str) -> str:
        """Ask the person at the terminal; override it to answer another way (a web UI,
        a queue, a test). The answer is recorded in ``ChatResult.human_input``."""
        reply = builtins.input(prompt)
        self._human_input.append(reply)
        return reply

    async def a_get_human_input(self, prompt: str) -> str:
        """Async :meth:`get_human_input` (it runs the sync one in a worker thread)."""
        import asyncio

        return await asyncio.to_thread(self.get_human_input, prompt)

    # -- tools and nested chats -------------------------------------------------------

    def register_for_llm(self, *, name: str | None = None,
                         description: str | None = None) -> Callable[[Any], Any]:  # fmt: skip
        """Decorator: offer a function to this agent's model (its schema comes from
        the type hints, ``Annotated`` descriptions included)."""

        def decorator(function: Any) -> Any:
            target = function.fn if isinstance(function, Tool) else function
            made = Tool.of(target, name=name, description=description)
            self._llm_tools[made.name] = made
            return function

        return decorator

    def register_for_execution(self, name: str | None = None) -> Callable[[Any], Any]:
        """Decorator: this agent executes the function when a model calls it."""

        def decorator(function: Any) -> Any:
            target = function.fn if isinstance(function, Tool) else function
            self._function_map[name or target.__name__] = target
            return function

        return decorator

    def register_function(self, function_map: Mapping[str, Callable[..., Any] | None]) -> None:
        """Add (or, with ``None``, remove) functions this agent executes."""
        for key, value in function_map.items():
            if value is None:
                self._function_map.pop(key, None)
            else:
                self._function_map[key] = value

    def register_nested_chats(self, chat_queue: list[dict[str, Any]], trigger: Any,
                              reply_func_from_nested_chats: Any = "summary_from_nested_chats",
                              position: int = 2, use_async: bool | None = None,
                              **kwargs: Any) -> None:  # fmt: skip
        """Reply to messages from ``trigger`` with the summary of the last of
        ``chat_queue``'s chats, run as nested chats after the termination and human
        checks (AutoGen's position 2).

        ``trigger`` is an agent, a name, an agent class, a list of them, or a callable of
        the sender; it is matched when a chat is compiled, against the partner.

        Raises:
            DefinitionError: a custom ``reply_func_from_nested_chats`` (not supported).
        """
        if reply_func_from_nested_chats != "summary_from_nested_chats":
            raise DefinitionError([Problem(f"agent {self.name!r}: register_nested_chats",
                                           "a custom reply_func_from_nested_chats is not "
                                           "supported", "use the default summary")])  # fmt: skip
        self._nested.append(([dict(c) for c in chat_queue], trigger))

    def nested_for(self, partner: Any) -> list[dict[str, Any]] | None:
        """The chat queue registered for messages from ``partner``, if any."""
        for queue, trigger in self._nested:
            if _matches(trigger, partner):
                return queue
        return None

    # -- compiling ----------------------------------------------------------------------

    def spec(self, model: str | None = None, options: Mapping[str, Any] | None = None) -> Agent:
        """This agent as a :class:`~graphflow.patterns.Agent` (the graph builders' value)."""
        test = self._is_termination_msg
        execution = None
        if self._code_execution_config is not False:
            from graphflow.autogen.chat import executor_of

            execution = executor_of(self._code_execution_config, self.name)
        default = self._default_auto_reply
        if isinstance(default, Mapping):
            default = str(default.get("content") or "")
        if self._teachability is not None and self.llm_config:
            options = {"teachability": self._teachability.options(self.name), **(options or {})}
        return Agent(self.name, system_message=self.system_message if self.llm_config else None,
                     model=(model or self.name) if self.llm_config else False,
                     human_input_mode=self.human_input_mode,
                     is_termination_msg=_termination(test) if test else AUTOGEN_TERMINATION,
                     max_consecutive_auto_reply=self._max_consecutive_auto_reply,
                     code_execution=execution, tools=list(self._llm_tools.values()),
                     description=self.description, default_auto_reply=str(default),
                     options=dict(options or {}))  # fmt: skip

    # -- chats (graphflow.autogen.chat) -----------------------------------------------

    def initiate_chat(self, recipient: Any, clear_history: bool = True, silent: bool | None = False,
                      cache: Any = None, max_turns: int | None = None,
                      summary_method: Any = DEFAULT_SUMMARY_METHOD,
                      summary_args: Mapping[str, Any] | None = None,
                      message: Any = None, **kwargs: Any) -> Any:  # fmt: skip
        """Chat with ``recipient`` (AutoGen's signature); returns a ``ChatResult``.

        The chat is a graph run: checkpointed (to ``store=`` when given, else in
        memory), resumable, drawable; ``kwargs`` may hold ``carryover`` and graphflow's
        ``store``, ``run_id`` and ``on_event``.
        """
        from graphflow.autogen.chat import initiate_chat
        from graphflow.runs import run_sync

        return run_sync(initiate_chat(self, recipient, clear_history=clear_history,
                                      silent=silent, max_turns=max_turns,
                                      summary_method=summary_method,
                                      summary_args=summary_args, message=message, **kwargs))  # fmt: skip

    async def a_initiate_chat(self, recipient: Any, clear_history: bool = True,
                              silent: bool | None = False, cache: Any = None,
                              max_turns: int | None = None,
                              summary_method: Any = DEFAULT_SUMMARY_METHOD,
                              summary_args: Mapping[str, Any] | None = None,
                              message: Any = None, **kwargs: Any) -> Any:  # fmt: skip
        """Async :meth:`initiate_chat`."""
        from graphflow.autogen.chat import initiate_chat

        return await initiate_chat(self, recipient, clear_history=clear_history, silent=silent,
                                   max_turns=max_turns, summary_method=summary_method,
                                   summary_args=summary_args, message=message, **kwargs)  # fmt: skip

    def initiate_chats(self, chat_queue: list[dict[str, Any]]) -> list[Any]:
        """Sequential chats with this agent as the default sender (AutoGen's)."""
        from graphflow.autogen.chat import initiate_chats

        queue = [{**c, "sender": c.get("sender") or self} for c in chat_queue]
        self._finished_chats = initiate_chats(queue)
        return self._finished_chats

    def get_chat_results(self, chat_index: int | None = None) -> Any:
        """The results of the last :meth:`initiate_chats`."""
        return self._finished_chats if chat_index is None else self._finished_chats[chat_index]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


def _matches(trigger: Any, partner: Any) -> bool:
    if isinstance(trigger, list):
        return any(_matches(t, partner) for t in trigger)
    if trigger is None:
        return partner is None
    if isinstance(trigger, str):
        return partner is not None and trigger == partner.name
    if isinstance(trigger, type):
        return isinstance(partner, trigger)
    if isinstance(trigger, ConversableAgent):
        return trigger is partner
    if callable(trigger):
        return bool(trigger(partner))
    return False


class AssistantAgent(ConversableAgent):
    """AutoGen's ``AssistantAgent``: a model that writes code, never asks a person, and
    says ``TERMINATE`` when done (AutoGen's system message)."""

    DEFAULT_SYSTEM_MESSAGE = (
        "You are a helpful AI assistant.\n"
        "Solve tasks using your coding and language skills.\n"
        "In the following cases, suggest python code (in a python coding block) or shell "
        "script (in a sh coding block) for the user to execute.\n"
        "    1. When you need to collect info, use the code to output the info you need, for "
        "example, browse or search the web, download/read a file, print the content of a "
        "webpage or a file, get the current date/time, check the operating system. After "
        "sufficient info is printed and the task is ready to be solved based on your "
        "language skill, you can solve the task by yourself.\n"
        "    2. When you need to perform some task with code, use the code to perform the "
        "task and output the result. Finish the task smartly.\n"
        "Solve the task step by step if you need to. If a plan is not provided, explain "
        "your plan first. Be clear which step uses code, and which step is your language "
        "skill.\n"
        "When using code, you must indicate the script type in the code block. The user "
        "cannot provide any other feedback or perform any other action beyond executing the "
        "code you suggest. The user can't modify your code. So do not suggest incomplete "
        "code which requires users to modify. Don't use a code block if it's not intended "
        "to be executed by the user.\n"
        "If you want the user to save the code in a file before executing it, put # "
        "filename: <filename> inside the code block as the first line. Don't include "
        "multiple code blocks in one response. Do not ask users to copy and paste the "
        "result. Instead, use 'print' function for the output when relevant. Check the "
        "execution result returned by the user.\n"
        "If the result indicates there is an error, fix the error and output the code "
        "again. Suggest the full code instead of partial code or code changes. If the error "
        "can't be fixed or if the task is not solved even after the code is executed "
        "successfully, analyze the problem, revisit your assumption, collect additional "
        "info you need, and think of a different approach to try.\n"
        "When you find an answer, verify the answer carefully. Include verifiable evidence "
        "in your response if possible.\n"
        'Reply "TERMINATE" in the end when everything is done.\n    '
    )
    DEFAULT_DESCRIPTION = ("A helpful and general-purpose AI assistant that has strong "
                           "language skills, Python skills, and Linux command line skills.")  # fmt: skip

    def __init__(self, name: str, system_message: str | None = DEFAULT_SYSTEM_MESSAGE,
                 llm_config: Mapping[str, Any] | Literal[False] | None = None,
                 is_termination_msg: Callable[[dict[str, Any]], bool] | None = None,
                 max_consecutive_auto_reply: int | None = None,
                 human_input_mode: HumanInputMode = "NEVER", description: str | None = None,
                 **kwargs: Any) -> None:  # fmt: skip
        if description is None and system_message == self.DEFAULT_SYSTEM_MESSAGE:
            description = self.DEFAULT_DESCRIPTION
        super().__init__(name, system_message, is_termination_msg, max_consecutive_auto_reply,
                         human_input_mode, llm_config=llm_config, description=description,
                         **kwargs)  # fmt: skip


class UserProxyAgent(ConversableAgent):
    """AutoGen's ``UserProxyAgent``: no model, asks the person before every reply, and
    runs the code it receives (``code_execution_config={}`` by default)."""

    DEFAULT_USER_PROXY_AGENT_DESCRIPTIONS = {
        "ALWAYS": "An attentive HUMAN user who can answer questions about the task, and can "
        "perform tasks such as running Python code or inputting command line commands at a "
        "Linux terminal and reporting back the execution results.",
        "TERMINATE": "A user that can run Python code or input command line commands at a "
        "Linux terminal and report back the execution results.",
        "NEVER": "A computer terminal that performs no other action than running Python "
        "scripts (provided to it quoted in ```python code blocks), or sh shell scripts "
        "(provided to it quoted in ```sh code blocks).",
    }

    def __init__(self, name: str,
                 is_termination_msg: Callable[[dict[str, Any]], bool] | None = None,
                 max_consecutive_auto_reply: int | None = None,
                 human_input_mode: HumanInputMode = "ALWAYS",
                 function_map: Mapping[str, Callable[..., Any]] | None = None,
                 code_execution_config: Mapping[str, Any] | Literal[False] | None = None,
                 default_auto_reply: str | Mapping[str, Any] = "",
                 llm_config: Mapping[str, Any] | Literal[False] | None = False,
                 system_message: str | None = "", description: str | None = None,
                 **kwargs: Any) -> None:  # fmt: skip
        if description is None:
            description = self.DEFAULT_USER_PROXY_AGENT_DESCRIPTIONS.get(human_input_mode)
        super().__init__(name, system_message, is_termination_msg, max_consecutive_auto_reply,
                         human_input_mode, function_map,
                         {} if code_execution_config is None else code_execution_config,
                         llm_config, default_auto_reply, description, **kwargs)  # fmt: skip


def register_function(f: Callable[..., Any], *, caller: ConversableAgent,
                      executor: ConversableAgent, name: str | None = None,
                      description: str) -> None:  # fmt: skip
    """Offer ``f`` to ``caller``'s model and let ``executor`` run it (AutoGen's).

    Example:
        >>> def add(a: int, b: int) -> int:
        ...     return a + b
        >>> bot, proxy = AssistantAgent("bot"), UserProxyAgent("proxy")
        >>> register_function(add, caller=bot, executor=proxy, description="Add numbers.")
        >>> sorted(bot.spec().tools[0].to_openai()["function"])
        ['description', 'name', 'parameters']
    """
    caller.register_for_llm(name=name, description=description)(f)
    executor.register_for_execution(name=name)(f)
