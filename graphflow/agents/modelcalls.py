"""How agent and router nodes reach their models during a run.

One run shares one model per ``models:`` entry (so a scripted model's replies are
served in conversation order across agents), one response cache on the run database,
and the one-line notice when no model is configured. Everything is created lazily
through ``ctx.services.get`` the first time a node needs it.

A model call made through :func:`ask` is recorded as an effect (``ctx.effect``): when a
node is re-executed after a crash, the recorded answer is replayed instead of asking
(and billing) again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphflow.events import TokenEvent, UsageEvent
from graphflow.models.response import ModelResponse
from graphflow.models.usage import Usage

if TYPE_CHECKING:
    from graphflow.kinds.base import BuildContext, NodeContext, Services

__all__ = ["ask", "model_for", "models_for", "run_model", "usage_total"]

logger = logging.getLogger("graphflow")
_RUN_MODELS = "graphflow.models:run"


def models_for(ctx: NodeContext, build: BuildContext) -> Any:
    """The run's :class:`~graphflow.models.ModelSet` for the graph ``build`` compiled.

    A graph with a ``models:`` section gets that section (with the run's ``--model`` /
    ``--base-url`` overrides from ``ctx.services.options``). A nested graph without one
    uses the section of the nearest enclosing run that has one, else the models given to
    the run in Python, else the scripted offline model, and the run says so once.
    Graphs naming the same section share one ModelSet (so a scripted model's replies are
    served in order across nested runs).

    Example:
        >>> from graphflow.kinds.base import BuildContext, NodeContext, Services
        >>> from graphflow.messages import State
        >>> ctx = NodeContext("r1", 0, "a", State(), Services())
        >>> models_for(ctx, BuildContext("g", models={"scripted": ["hi"]})).names
        ['default']
    """
    shared = ctx.services.shared
    key = f"graphflow.models:{id(build)}"
    found = shared.get(key)
    if found is not None:
        return found
    section: Any = build.models
    base_dir: Path | None = build.base_dir
    if section is None:
        section, base_dir = _enclosing_section(ctx)
    if section is None and _RUN_MODELS in shared:
        models = shared[_RUN_MODELS]
    else:
        ident = "graphflow.models:section:" + json.dumps([section, str(base_dir)],
                                                         sort_keys=True, default=str)  # fmt: skip
        models = shared.get(ident)
        if models is None:
            from graphflow.models import resolve_models

            options = ctx.services.options
            models = resolve_models(section, model=options.get("model"),
                                    base_url=options.get("base_url"), base_dir=base_dir)  # fmt: skip
            shared[ident] = models
        if models.notice and not shared.get("graphflow.models:notice"):
            shared["graphflow.models:notice"] = True
            logger.warning("graphflow: %s", models.notice)
    shared[key] = models
    return models


def _enclosing_section(ctx: NodeContext) -> tuple[Any, Path | None]:
    """The ``models:`` section of the nearest enclosing graph that has one (walking up
    from a child run to the node that runs it, and so on)."""
    parent = ctx.services.parent
    seen: set[int] = set()
    while parent is not None and id(parent) not in seen:
        seen.add(id(parent))
        graph = parent.graph
        if graph is not None and graph.spec.models is not None:
            source = graph.spec.source
            return graph.spec.models, Path(source).resolve().parent if source else None
        parent = parent.services.parent
    return None, None


def _cache(services: Services) -> Any:
    path = getattr(services.store, "path", ":memory:")
    if path == ":memory:":
        return None

    def create() -> Any:
        from graphflow.models import ResponseCache

        cache = ResponseCache(path, durability=getattr(services.store, "durability", "normal"))
        services.closers.append(cache.close)
        return cache

    return services.get("graphflow.models:cache", create)


def _model(services: Services, models: Any, ref: Any, where: str,
           run_id: str | None = None) -> Any:  # fmt: skip
    ident = ref if isinstance(ref, str) or ref is None else repr(ref)
    key = f"graphflow.model:{id(models)}:{ident}"

    def create() -> Any:
        model = models.create(ref, cache=_cache(services), where=where)
        services.closers.append(model.aclose)
        if run_id is not None and services.store is not None:
            _continue_script(model, services.store, run_id)
        return model

    return services.get(key, create)


def _continue_script(model: Any, store: Any, run_id: str) -> None:
    """A scripted model created for a run that already used it (the run continues in a
    new process, or after a person's answer) goes on where the run left its reply list:
    after every billed call its committed steps and its uncommitted step recorded."""
    from graphflow.models import ScriptedModel

    if not isinstance(model, ScriptedModel) or not model.name.startswith("scripted:"):
        return
    used = 0
    usages = [Usage.from_dict(u) for step_usage in store.step_usages(run_id)
              for u in step_usage.values()]  # fmt: skip
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
    return _model(ctx.services, models_for(ctx, build), ref, where, ctx.run_id)


def run_model(services: Services, section: Any, ref: Any, *, where: str = "model") -> Any:
    """The model for ``ref`` outside any node (e.g. to summarize a finished chat): the
    same instance the run's agents used when they named the same entry."""
    models = services.shared.get(_RUN_MODELS)
    if models is None:
        from graphflow.models import resolve_models

        options = services.options
        models = resolve_models(section, model=options.get("model"),
                                base_url=options.get("base_url"))  # fmt: skip
        services.shared[_RUN_MODELS] = models
    return _model(services, models, ref, where)


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

    def on_token(text: str) -> None:
        ctx.emit(TokenEvent(ctx.run_id, ctx.step, ctx.node_id, text))

    async def call() -> dict[str, Any]:
        response = await model.complete(messages, tools=list(tools) if tools else None,
                                        stream=stream, on_token=on_token if stream else None,
                                        cache_seed=cache_seed, params=params)  # fmt: skip
        return response.to_record()

    answer = ModelResponse.from_record(await ctx.effect(key, call))
    ctx.emit(UsageEvent(ctx.run_id, ctx.step, ctx.node_id, usage=usage_total([answer.usage])))
    return answer


def usage_total(usages: Sequence[Usage]) -> dict[str, Any]:
    """Sum calls' usages into the dict a node returns in ``Update.usage``.

    Example:
        >>> usage_total([Usage.of_call(3, 2, model="m")])["calls"]
        1
    """
    return Usage.total(usages).to_dict()
