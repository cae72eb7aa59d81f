"""The basic node kinds: ``function``, ``human`` and ``end``."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import logging
import re
import string
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import Field

from graphflow.blocking import in_thread
from graphflow.conditions import compile_expression
from graphflow.errors import DefinitionError, Problem
from graphflow.imports import resolve_import
from graphflow.kinds.base import BuildContext, KindConfig, NodeContext, NodeKind
from graphflow.messages import Interrupt, Message, State, Update

if TYPE_CHECKING:
    from graphflow.context import RunContext
    from graphflow.graph import CompiledGraph

__all__ = ["EndKind", "FunctionKind", "HumanKind", "to_update"]

logger = logging.getLogger(__name__)


#: A sync function node whose last call took under this many seconds runs on the event
#: loop (unless its ``thread`` option says otherwise): handing a call to a worker thread
#: and back costs some tens of microseconds, much more than a quick function itself, and
#: blocking the loop for under 5 ms delays nothing a person or a lease would notice.
QUICK_CALL = 0.005


class _FunctionFlags:
    """One yes/no fact per sync function, learned from its calls and shared by every node
    calling it (kept by weak reference, so functions are not kept alive; a function that
    cannot be weakly referenced, a builtin, is never marked: each node learns it for
    itself)."""

    def __init__(self) -> None:
        self._flags: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()

    def get(self, fn: Callable[..., Any]) -> bool:
        try:
            return self._flags.get(fn, False)
        except TypeError:  # not weakly referenceable
            return False

    def set(self, fn: Callable[..., Any], value: bool) -> None:
        with contextlib.suppress(TypeError):
            self._flags[fn] = value


#: sync functions whose last call took under QUICK_CALL
_QUICK = _FunctionFlags()
#: sync functions that returned an awaitable (their work happens when it is awaited)
_AWAITS = _FunctionFlags()


def _call_as_in_a_thread(fn: Callable[..., Any], args: tuple[Any, ...],
                         kwargs: dict[str, Any]) -> Any:  # fmt: skip
    """``fn(*args, **kwargs)`` on the event loop's thread as on a worker thread: the
    running loop hidden from it (a sync function that runs async code of its own, with
    ``asyncio.run`` or a library's sync wrapper that does, works on the loop as it did on
    a thread, where no loop runs), in a copy of the context (context variables it sets,
    such as a logger's bound fields, stay its own and do not leak into later nodes)."""
    loop = asyncio.events._get_running_loop()
    asyncio.events._set_running_loop(None)
    try:
        return contextvars.copy_context().run(fn, *args, **kwargs)
    finally:
        asyncio.events._set_running_loop(loop)


def _timed(fn: Callable[..., Any], args: tuple[Any, ...],
           kwargs: dict[str, Any]) -> tuple[Any, float]:  # fmt: skip
    """``fn(*args, **kwargs)`` and the seconds it took (measured in the thread it runs in,
    without the wait for that thread)."""
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


def _timed_run(run: RunContext, graph: CompiledGraph | None) -> bool:
    """Whether the run, or a run that encloses it (a subgraph's child run is awaited by
    its parent's node), has a wall-clock ``limits.timeout``: a timeout fires only while
    the event loop goes on."""
    if graph is not None and graph.spec.limits.timeout is not None:
        return True
    parent = run.parent
    while parent is not None:
        if parent.graph is not None and parent.graph.spec.limits.timeout is not None:
            return True
        parent = parent.run.parent
    return False


#: result types a sync function returns that are surely not awaitable
_PLAIN_RESULTS = frozenset({dict, str, type(None), Update, Message, list})


def _awaitable(result: Any) -> bool:
    """Whether a sync function returned something to await (its plain results are
    told apart by type, without the protocol check)."""
    return type(result) not in _PLAIN_RESULTS and inspect.isawaitable(result)


def to_update(node_id: str, result: Any, output: str | None = None) -> Update | Interrupt:
    """Turn what a node body returned into an Update.

    Update/Interrupt pass through; a Message (or list of them) is appended; a string
    becomes an assistant message from the node; a dict sets variables; ``None`` changes
    nothing. With ``output`` set, the whole result is stored in that variable instead.
    """
    if output is not None:
        return Update(variables={output: result})
    if result is None:
        return Update()
    if type(result) is dict:  # the usual case first: plain dicts skip the ABC checks below
        return Update(variables=dict(result))
    if isinstance(result, (Update, Interrupt)):
        return result
    if isinstance(result, Message):
        return Update(messages=[_owned(result, node_id)])
    if isinstance(result, str):
        return Update(messages=[Message(role="assistant", name=node_id, content=result,
                                        node=node_id)])  # fmt: skip
    if isinstance(result, Mapping):
        return Update(variables=dict(result))
    if isinstance(result, Sequence) and all(isinstance(m, Message) for m in result):
        return Update(messages=[_owned(m, node_id) for m in result])
    return Update(messages=[Message(role="assistant", name=node_id, content=str(result),
                                    node=node_id)])  # fmt: skip


def _owned(message: Message, node_id: str) -> Message:
    return message if message.node else message.model_copy(update={"node": node_id})


class FunctionConfig(KindConfig):
    call: Any = Field(description="a Python callable, or an import path module:function")
    args: dict[str, str] | None = Field(
        default=None, description="keyword arguments as condition-language expressions"
    )
    output: str | None = Field(default=None, description="store the result in this variable")
    message: bool = Field(default=False,
                          description="with output: also append the result as a message")
    thread: bool | None = Field(
        default=None,
        description="where a sync function runs: true: always in a worker thread (the event "
        "loop goes on while it blocks); false: always on the event loop; unset: in a worker "
        "thread until it has shown itself quick, then on the loop (see QUICK_CALL)")


class FunctionKind(NodeKind):
    """Calls a Python function. It gets the State (or named arguments computed from
    expressions in ``args``) and returns an Update, a Message, text, a dict of variables
    or ``None``."""

    kind = "function"
    Config = FunctionConfig
    shape = "box"

    def __init__(self, node_id: str, config: FunctionConfig, build: BuildContext) -> None:
        super().__init__(node_id, config, build)
        fn = config.call
        if isinstance(fn, str):
            if fn.startswith("<not serializable"):
                raise DefinitionError([Problem(
                    f"node {node_id!r}", f"its function was a Python object that a file cannot "
                    f"hold ({fn})", "replace it with an import path module:function")])
            try:
                fn = resolve_import(fn, build.base_dir)
            except LookupError as exc:
                raise DefinitionError([Problem(f"node {node_id!r}: call", str(exc))]) from None
        if not callable(fn):
            raise DefinitionError([Problem(f"node {node_id!r}: call", f"{fn!r} is not callable")])
        self.fn: Callable[..., Any] = fn
        # an instance of a class with ``async def __call__`` is as async as a function
        self.is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
            type(fn).__call__)  # fmt: skip
        #: whether the sync function's last call took under QUICK_CALL (None: not asked yet)
        self.quick: bool | None = None
        #: whether the sync function returned an awaitable (None: not asked yet): what it
        #: does then happens while that is awaited, so it does not finish at once
        self.awaits: bool | None = None
        self.args = {k: compile_expression(v) for k, v in (config.args or {}).items()}
        self.mode = self._binding()
        #: a subclass with a ``run`` of its own: :meth:`start` leaves every call to it
        self.own_run = type(self).run is not FunctionKind.run

    def _binding(self) -> str:
        if self.args:
            return "kwargs"
        try:
            params = list(inspect.signature(self.fn).parameters.values())
        except (TypeError, ValueError):
            return "state"
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        names = [p.name for p in positional]
        if names[:2] == ["state", "ctx"] or names[:2] == ["state", "context"]:
            return "state+ctx"
        if names[:1] in (["ctx"], ["context"]):
            return "ctx"
        if not positional:
            return "none"
        return "state"

    def serializable(self) -> bool:
        return isinstance(self.config.call, str)  # type: ignore[attr-defined]

    def finishes_at_once(self, run: RunContext, graph: CompiledGraph) -> bool:
        if self.is_async:
            return False
        if self.awaits is None:
            self.awaits = _AWAITS.get(self.fn)
        return not self.awaits and self._on_loop(run, graph)

    def _on_loop(self, run: RunContext, graph: CompiledGraph | None) -> bool:
        """Whether this call of the sync function runs on the event loop (see
        :class:`FunctionConfig`'s ``thread``). Unset, it does when the function's last call
        (by any node, in this process) took under :data:`QUICK_CALL`, neither the run nor
        a run enclosing it has a wall-clock ``limits.timeout`` (which must fire while a
        node blocks) and the run's loop needn't stay responsive (``RunContext.responsive``:
        a server's loop). Parallel branches lose nothing by it: a quick function holds the
        others up for under :data:`QUICK_CALL`, and Python code in threads takes turns
        anyway."""
        thread = self.config.thread  # type: ignore[attr-defined]
        if thread is not None:
            return not thread
        if run.responsive:
            return False
        if self.quick is None:  # this node's first call: what other nodes saw of the function
            self.quick = _QUICK.get(self.fn)
        return self.quick and not _timed_run(run, graph)

    def _arguments(self, ctx: NodeContext) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The positional and keyword arguments of this call of the function (the call
        logged at DEBUG)."""
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("node %s calls %s", self.node_id,
                         getattr(self.fn, "__qualname__", self.fn))  # fmt: skip
        mode = self.mode
        if mode == "state":
            return (ctx.state,), {}
        if mode == "kwargs":
            state: State = ctx.state
            return (), {k: expr(state) for k, expr in self.args.items()}
        if mode == "ctx":
            return (ctx,), {}
        if mode == "state+ctx":
            return (ctx.state, ctx), {}
        return (), {}

    def _learn(self, seconds: float) -> None:
        """Remember whether the call that took ``seconds`` was quick (see QUICK_CALL)."""
        if (seconds < QUICK_CALL) is not self.quick:
            self.quick = seconds < QUICK_CALL
            _QUICK.set(self.fn, self.quick)

    def start(self, ctx: NodeContext) -> Update | Interrupt | Awaitable[Update | Interrupt]:
        """A sync function that runs on the event loop is called here and now; anything
        else is :meth:`run`'s coroutine."""
        if self.is_async or self.own_run or not self._on_loop(ctx.run, ctx.graph):
            return self.run(ctx)
        return self._call_now(ctx)

    def _call_now(self, ctx: NodeContext) -> Update | Interrupt | Awaitable[Update | Interrupt]:
        """Call the sync function on the event loop's thread (as on a worker thread: see
        :func:`_call_as_in_a_thread`); its update, or a coroutine awaiting what it
        returned when that is awaitable."""
        args, kwargs = self._arguments(ctx)
        started = time.perf_counter()
        result = _call_as_in_a_thread(self.fn, args, kwargs)
        self._learn(time.perf_counter() - started)
        if _awaitable(result):
            return self._awaited(result)
        return self._update(result)

    async def run(self, ctx: NodeContext) -> Update | Interrupt:
        if not self.is_async and self._on_loop(ctx.run, ctx.graph):
            now = self._call_now(ctx)
            return now if isinstance(now, (Update, Interrupt)) else await now
        args, kwargs = self._arguments(ctx)
        if self.is_async:
            return self._update(await self.fn(*args, **kwargs))
        result, seconds = await in_thread(_timed, self.fn, args, kwargs)
        self._learn(seconds)
        if _awaitable(result):
            return await self._awaited(result)
        return self._update(result)

    async def _awaited(self, result: Awaitable[Any]) -> Update | Interrupt:
        """The update of a sync function that returned an awaitable: what it does happens
        while that is awaited, so the function does not finish at once (remembered)."""
        if not self.awaits:
            self.awaits = True
            _AWAITS.set(self.fn, True)
        return self._update(await result)

    def _update(self, result: Any) -> Update | Interrupt:
        """What the function returned, as the node's update (see :func:`to_update` and
        the ``output`` / ``message`` options)."""
        config: FunctionConfig = self.config  # type: ignore[assignment]
        update = to_update(self.node_id, result, config.output)
        if config.output is not None and config.message and isinstance(update, Update):
            shown = to_update(self.node_id, result if isinstance(result, str) else str(result))
            return Update(messages=shown.messages, variables=update.variables)  # type: ignore[union-attr]
        return update


class HumanConfig(KindConfig):
    prompt: str = Field(default="Your input:", description="the question shown to the person")
    prompts: list[dict[str, Any]] = Field(
        default_factory=list, description="[{when: condition, prompt: text}]: the first whose "
        "condition holds replaces prompt (e.g. a different question after a termination "
        "message)")
    options: list[str] = Field(default_factory=list, description="suggested answers")
    variable: str | None = Field(default=None, description="also store the answer here")
    name: str | None = Field(default=None, description="speaker name of the answer message")
    message: bool = Field(default=True, description="append the answer as a user message")
    person: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_.@-]{1,64}$",
        description="the named person who answers this checkpoint: the answer is attributed "
        "to them (its message's name, unless name: is given; the variable NODE_answered_by) and "
        "`graphflow resume --as` refuses an answer from anyone else")


class HumanKind(NodeKind):
    """A human checkpoint: the run pauses (status ``waiting``) until someone answers with
    ``resume(run_id, input=...)`` / ``graphflow resume RUN --input ...``. With ``person:``
    it is that person's checkpoint (see :class:`HumanConfig`)."""

    kind = "human"
    Config = HumanConfig
    shape = "house"

    def __init__(self, node_id: str, config: HumanConfig, build: BuildContext) -> None:
        super().__init__(node_id, config, build)
        problems: list[Problem] = []
        self.prompts: list[tuple[Callable[..., Any], str]] = []
        for index, item in enumerate(config.prompts):
            where = f"node {node_id!r}: prompts[{index}]"
            when, text = item.get("when"), item.get("prompt")
            if not isinstance(text, str) or when is None:
                problems.append(Problem(where, "needs when: and prompt:"))
                continue
            try:
                test = when if callable(when) else compile_expression(str(when))
            except Exception as exc:
                problems.append(Problem(where, str(exc)))
                continue
            self.prompts.append((test, text))
        if problems:
            raise DefinitionError(problems)

    def serializable(self) -> bool:
        return not any(callable(item.get("when")) for item in self.config.prompts)  # type: ignore[attr-defined]

    async def run(self, ctx: NodeContext) -> Update | Interrupt:
        config: HumanConfig = self.config  # type: ignore[assignment]
        if ctx.input is None:
            question = next((text for test, text in self.prompts if test(ctx.state)),
                            config.prompt)  # fmt: skip
            if "{" in question:
                question = _fill(question, ctx.state)
            payload = {"person": config.person} if config.person else {}
            return Interrupt(question=question, options=tuple(config.options), payload=payload)
        answer = ctx.input
        messages = []
        if config.message:
            messages.append(Message(role="user", name=config.name or config.person or self.node_id,
                                    content=answer, node=self.node_id))  # fmt: skip
        variables: dict[str, Any] = {config.variable: answer} if config.variable else {}
        if config.person:
            variables[f"{self.node_id}_answered_by"] = config.person
        return Update(messages=messages, variables=variables)


def _fill(template: str, state: State) -> str:
    """``{variable}`` and ``{last}`` filled in (an unknown name, a bad or too wide format
    spec leave the template as it is)."""
    try:
        specs = [spec or "" for _, _, spec, _ in string.Formatter().parse(template)]
    except ValueError:
        return template
    if any(int(n) > 10_000 for spec in specs for n in re.findall(r"\d+", spec)):
        return template  # a width like {topic:>2000000000} would build gigabytes
    values: dict[str, Any] = dict(state.variables)
    values["last"] = state.last.text if state.last else ""
    try:
        return template.format_map(_Lenient(values))
    except (ValueError, IndexError):
        return template


class _Lenient(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class EndConfig(KindConfig):
    status: str | None = Field(default=None, description="the reason its branch ended: the "
                               "run's stop reason when no other branch is left; may use "
                               "{variable} placeholders")
    stop: bool = Field(default=False, description="end the whole run here, with every other "
                       "branch, not only this branch")


class EndKind(NodeKind):
    """Ends its branch; the run completes when no branch is left, with this node's
    ``status`` as its reason when it ended the last branch. ``stop: true`` ends the whole
    run at once."""

    kind = "end"
    Config = EndConfig
    terminal = True
    shape = "doublecircle"

    async def run(self, ctx: NodeContext) -> Update | Interrupt:
        config: EndConfig = self.config  # type: ignore[assignment]
        reason = config.status
        if reason and "{" in reason:
            reason = _fill(reason, ctx.state)
        if config.stop:
            return Update(stop=reason or f"stopped at {self.node_id!r}")
        return Update(reason=reason) if reason else Update()
