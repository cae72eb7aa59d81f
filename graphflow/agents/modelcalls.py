"""How agent and router nodes reach their models during a run.

One run shares one model per ``models:`` entry (so a scripted model's replies are
served in conversation order across agents), one response cache on the run database,
and the one-line notice when no model is configured. Everything is created the first
time a node needs it and kept in the run's services (``ctx.run.services``).

The first time a run needs a model, the models it gets are recorded with the run
(``RunWriter.set_models``: names, endpoints, provider kinds, never keys) and announced
(a :class:`~graphflow.events.ModelsChosen` event, and an INFO log record); a resumed run
reuses the models it recorded unless ``--model`` / ``--base-url`` override them.

A model call made through :func:`ask` is recorded as an effect (``ctx.effect``): when a
node is re-executed after a crash, the recorded answer is replayed instead of asking
(and billing) again. Each call actually made is also kept with the run (the prompt sent,
the answer or the error, usage and latency; ``RunContext(record_calls=False)`` /
``--no-record-calls`` keeps none), and traced as an OpenTelemetry span following the
GenAI conventions (:mod:`graphflow.tracing`). An answer's recorded effect, its kept call
and its response-cache entry are one write: ``RunWriter.put_effect(..., calls=...,
joined=...)``, one transaction of the store, the cache working on the SQLite store's own
connection (``Store.sqlite_connection``) and collecting its entry meanwhile
(:func:`graphflow.models.cache.deferred_writes`). A failed call is kept on its own
(``RunWriter.record_model_call``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphflow.events import ModelsChosen, TokenEvent, UsageEvent
from graphflow.models.response import ModelResponse
from graphflow.models.usage import Usage
from graphflow.tracing import model_span, model_span_result

if TYPE_CHECKING:
    from graphflow.context import RunContext
    from graphflow.kinds.base import BuildContext, NodeContext

__all__ = ["ask", "model_for", "models_for", "run_model", "usage_total"]

logger = logging.getLogger(__name__)


def models_for(ctx: NodeContext, build: BuildContext) -> Any:
    """The run's :class:`~graphflow.models.ModelSet` for the graph ``build`` compiled.

    A graph with a ``models:`` section gets that section (with the run's ``--model`` /
    ``--base-url`` overrides of ``ctx.run``). A nested graph without one
    uses the section of the nearest enclosing run that has one, else the models given to
    the run in Python, else the scripted offline model, and the run says so once.
    Graphs naming the same section share one ModelSet (so a scripted model's replies are
    served in order across nested runs).

    Example:
        >>> from graphflow.kinds.base import BuildContext, NodeContext
        >>> from graphflow.messages import State
        >>> ctx = NodeContext("r1", 0, "a", State())
        >>> models_for(ctx, BuildContext("g", models={"scripted": ["hi"]})).names
        ['default']
    """
    services = ctx.run.services
    key = f"build:{id(build)}"
    models = services.model_sets.get(key)
    if models is None:
        models = services.model_sets[key] = _resolve(ctx, build)
    _announce(ctx, models)
    return models


def _resolve(ctx: NodeContext, build: BuildContext) -> Any:
    services = ctx.run.services
    section: Any = build.models
    base_dir: Path | None = build.base_dir
    if section is None:
        section, base_dir = _enclosing_section(ctx)
    if section is None and services.models is not None:
        return services.models
    recorded = _recorded(ctx)
    ident = "section:" + json.dumps([section, str(base_dir), recorded], sort_keys=True,
                                    default=str)  # fmt: skip
    known = services.model_sets.get(ident)
    if known is not None:
        return known
    from graphflow.models import resolve_models

    models = resolve_models(section, model=ctx.run.model, base_url=ctx.run.base_url,
                            base_dir=base_dir, recorded=recorded)  # fmt: skip
    if ctx.run.models_recorded and models.origin:
        models.origin += ", recorded with the run"
    services.model_sets[ident] = models
    return models


def _recorded(ctx: NodeContext) -> dict[str, Any] | None:
    """The models the run recorded before (when it is resumed), if any."""
    store = ctx.run.store
    if store is None:
        return None
    try:
        return store.get_run(ctx.run_id).models
    except Exception:  # a run outside any store (a node called directly)
        return None


def _announce(ctx: NodeContext, models: Any) -> None:
    """Record the run's models with the run and say which they are, once per run."""
    services = ctx.run.services
    noted: set[str] = services.get("models_announced", set)
    if ctx.run_id in noted:
        return
    noted.add(ctx.run_id)
    from graphflow.models.recorded import models_record, with_overrides

    store = ctx.run.store
    if store is not None and models.source != "recorded":
        record = models_record(models)
        if ctx.run.model or ctx.run.base_url:
            record = with_overrides(record, ctx.run.model, ctx.run.base_url)
        try:
            store.set_models(ctx.run_id, record)
        except Exception as exc:  # a node run outside any stored run
            logger.debug("models of run %s not recorded: %s", ctx.run_id, exc)
    summary = models.summary()
    logger.info("run %s: %s", ctx.run_id, summary)
    shown: set[str] = services.get("model_notices", set)
    if models.notice and models.notice not in shown:
        shown.add(models.notice)
        services.notice_shown = True
        logger.warning("graphflow: %s", models.notice)
    ctx.emit(ModelsChosen(ctx.run_id, ctx.step, tuple(models.describe()), models.source,
                          models.origin or "", models.notice or ""))  # fmt: skip


def _enclosing_section(ctx: NodeContext) -> tuple[Any, Path | None]:
    """The ``models:`` section of the nearest enclosing graph that has one (walking up
    from a child run to the node that runs it, and so on)."""
    parent = ctx.run.parent
    seen: set[int] = set()
    while parent is not None and id(parent) not in seen:
        seen.add(id(parent))
        graph = parent.graph
        if graph is not None and graph.spec.models is not None:
            source = graph.spec.source
            return graph.spec.models, Path(source).resolve().parent if source else None
        parent = parent.run.parent
    return None, None


def _cache(run: RunContext) -> Any:
    """The run's response cache, on the run database (none for an in-memory run): on the
    store's own connection when the store offers it (the SQLite store), so that an
    answer's entry is written in the transaction that records the answer as an effect (see
    :func:`ask`); else on a connection of its own with the store's durability."""
    path = getattr(run.store, "path", ":memory:")
    if path == ":memory:":
        return None
    services = run.services
    if services.cache is None:
        from graphflow.models import ResponseCache

        shared = getattr(run.store, "sqlite_connection", None)
        if shared is not None:
            services.cache = ResponseCache(connection=shared)
        else:
            services.cache = ResponseCache(path, durability=getattr(run.store, "durability",
                                                                     "normal"))
        services.closers.append(services.cache.close)
    return services.cache


def _model(run: RunContext, models: Any, ref: Any, where: str,
           run_id: str | None = None) -> Any:  # fmt: skip
    ident = ref if isinstance(ref, str) or ref is None else repr(ref)
    key = f"{id(models)}:{ident}"
    clients = run.services.clients
    if key not in clients:
        model = models.create(ref, cache=_cache(run), where=where)
        run.services.closers.append(model.aclose)
        if run_id is not None and run.store is not None:
            _continue_script(model, run.store, run_id)
        clients[key] = model
    return clients[key]


def _continue_script(model: Any, store: Any, run_id: str) -> None:
    """A scripted model created for a run that already used it (the run continues in a
    new process, or after a person's answer) goes on where the run left its reply list:
    after every billed call its committed steps and its uncommitted step recorded."""
    from graphflow.models import ScriptedModel

    if not isinstance(model, ScriptedModel) or not model.name.startswith("scripted:"):
        return
    used = 0
    # the per-node totals of the newest snapshot and the steps since: the sums of all steps
    usages = [Usage.from_dict(u) for part in store.node_usage_parts(run_id)
              for u in part.values()]  # fmt: skip
    usages += [ModelResponse.from_record(r).usage for r in store.effect_results(run_id)
               if isinstance(r, dict) and "message" in r and "usage" in r]  # fmt: skip
    for usage in usages:
        split = usage.models.get(model.name)
        if split is not None:
            used += split.calls - split.cached_calls
    if used:
        model.script.advance_to(used)


def model_for(ctx: NodeContext, build: BuildContext, ref: Any, *, where: str) -> Any:
    """The model answering for ``ref`` (an entry name, ``None`` for the default, or an
    inline entry), shared by every node of the run that names the same entry.

    Raises:
        DefinitionError: ``ref`` names no entry of the graph's models (the message lists
            the defined ones).
    """
    return _model(ctx.run, models_for(ctx, build), ref, where, ctx.run_id)


def run_model(run: RunContext, section: Any, ref: Any, *, where: str = "model") -> Any:
    """The model for ``ref`` outside any node (e.g. to summarize a finished chat): the
    same instance the run's agents used when they named the same entry."""
    services = run.services
    if services.models is None:
        from graphflow.models import resolve_models

        services.models = resolve_models(section, model=run.model, base_url=run.base_url)
    return _model(run, services.models, ref, where)


async def ask(
    ctx: NodeContext,
    model: Any,
    messages: Sequence[Mapping[str, Any]],
    *,
    key: str,
    tools: Sequence[Mapping[str, Any]] | None = None,
    stream: bool = False,
    cache_seed: Any = ...,
    params: Mapping[str, Any] | None = None,
) -> ModelResponse:
    """Ask ``model`` once, recorded as the effect ``key`` (see the module docs); emits the
    streamed tokens and a usage event of the node.

    Raises:
        ModelError: the model failed (timeouts, rejections, used-up budgets …).
    """
    from graphflow.models.cache import deferred_writes
    from graphflow.store import EffectWrites

    def on_token(text: str) -> None:
        ctx.emit(TokenEvent(ctx.run_id, ctx.step, ctx.node_id, text))

    # the answer's cache entry (when the cache is on the store's connection) and the
    # call kept with the run are written with its effect, in one transaction
    writes = EffectWrites() if ctx.run.store is not None else None

    async def call() -> dict[str, Any]:
        # what the kept call stores of the request is made before asking, so that once
        # the answer arrived only the answer is left to do before it is written
        sent = _sent(ctx, messages, tools)
        started_at, t0 = time.time(), time.perf_counter()
        with model_span(_model_name(model), ctx.node_id, ctx.run_id) as span:
            try:
                with deferred_writes() as pending:
                    response = await model.complete(messages,
                                                    tools=list(tools) if tools else None,
                                                    stream=stream,
                                                    on_token=on_token if stream else None,
                                                    cache_seed=cache_seed, params=params)  # fmt: skip
            except Exception as exc:
                _keep_call(ctx, model, sent, started_at, time.perf_counter() - t0, None, exc)
                raise
            record = response.to_record()
            model_span_result(span, response)
        kept = _kept_call(ctx, model, sent, started_at, time.perf_counter() - t0, record, None)
        if writes is None:
            pending.write()
        else:
            writes.calls.extend(kept)
            writes.joined = pending.write if pending else None
        return record

    answer = ModelResponse.from_record(await ctx.effect(key, call, writes=writes))
    ctx.emit(UsageEvent(ctx.run_id, ctx.step, ctx.node_id, usage=usage_total([answer.usage])))
    return answer


def _model_name(model: Any) -> str:
    configs = getattr(model, "configs", None)
    if configs:
        return str(configs[0].model)
    return str(getattr(model, "name", "") or type(model).__name__)


#: what a kept call stores of its request: the prompt (OpenAI messages), tool names, and
#: how many leading messages it shares with the node's previous kept prompt (that one)
_Sent = tuple[Sequence[dict[str, Any]], list[str], int, Any]


def _sent(ctx: NodeContext, messages: Sequence[Mapping[str, Any]],
          tools: Sequence[Mapping[str, Any]] | None) -> _Sent | None:  # fmt: skip
    """The prompt and tool names of the call to keep (``None`` when the run has no store,
    keeps no calls, or they cannot be read), with what the prompt shares with the node's
    previous one: an agent's view (``OpenAIMessages``) is kept as it is, neither copied
    nor converted again, and the store writes only what is new in it
    (:mod:`graphflow.store.model_calls`), so keeping a call costs what the turn added,
    not the conversation. Never raises."""
    if ctx.run.store is None or not ctx.run.record_calls:
        return None
    from graphflow.models.openai_messages import OpenAIMessages
    from graphflow.models.response import to_openai_messages

    try:
        names = [str((t.get("function") or {}).get("name") or t.get("name") or "")
                 for t in tools or ()]  # fmt: skip
        prompt = to_openai_messages(messages)
        kept: dict[tuple[str, str], Any] = ctx.run.services.extras.setdefault("kept_prompts", {})
        previous = kept.get((ctx.run_id, ctx.node_id))
        shared = prompt.shared_prefix(previous) if isinstance(prompt, OpenAIMessages) else 0
        kept[(ctx.run_id, ctx.node_id)] = prompt
        return prompt, names, shared, previous
    except Exception as exc:
        logger.warning("model call of node %r not kept with run %s: %s", ctx.node_id,
                       ctx.run_id, exc)  # fmt: skip
        return None


def _keep_call(ctx: NodeContext, model: Any, sent: _Sent | None, started_at: float,
               seconds: float, record: dict[str, Any] | None,
               error: BaseException | None) -> None:  # fmt: skip
    """Keep one model call with the run now, in a transaction of its own (a failed call:
    no effect is recorded to go with). Keeping it never fails the call."""
    store = ctx.run.store
    for call in _kept_call(ctx, model, sent, started_at, seconds, record, error):
        try:
            if store is not None:
                store.record_model_call(ctx.run_id, call)
        except Exception as exc:
            logger.warning("model call of node %r not kept with run %s: %s", ctx.node_id,
                           ctx.run_id, exc)  # fmt: skip


def _kept_call(ctx: NodeContext, model: Any, sent: _Sent | None, started_at: float,
               seconds: float, record: dict[str, Any] | None,
               error: BaseException | None) -> list[Any]:  # fmt: skip
    """The model call to keep with the run (none without ``sent``): its prompt, its
    answer or error, usage and latency. Never raises."""
    if sent is None:
        return []
    from graphflow.secrets import redact
    from graphflow.store import ModelCall

    try:
        response = None
        if record is not None:
            message = {k: v for k, v in record["message"].items() if k != "node"}
            response = {"message": message, "finish_reason": record.get("finish_reason")}
        call = ModelCall(step=ctx.step, node=ctx.node_id, started_at=started_at,
                         seconds=round(seconds, 6),
                         model=(record or {}).get("model") or _model_name(model),
                         base_url=(record or {}).get("base_url"), prompt=sent[0],
                         prompt_shared=sent[2], prompt_previous=sent[3],
                         tools=sent[1], response=response, usage=(record or {}).get("usage"),
                         error=None if error is None else redact(
                             f"{type(error).__name__}: {error}"))  # fmt: skip
    except Exception as exc:
        logger.warning("model call of node %r not kept with run %s: %s", ctx.node_id,
                       ctx.run_id, exc)  # fmt: skip
        return []
    return [call]


def usage_total(usages: Sequence[Usage]) -> dict[str, Any]:
    """Sum calls' usages into the dict a node returns in ``Update.usage``.

    Example:
        >>> usage_total([Usage.of_call(3, 2, model="m")])["calls"]
        1
    """
    return Usage.total(usages).to_dict()
