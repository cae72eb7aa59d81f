"""OpenTelemetry spans of runs, steps, nodes, model calls, tool calls and code runs.

When ``opentelemetry-api`` is installed (``pip install 'graphflow[otel]'``) and a tracer
provider is configured (as any OpenTelemetry application does, with an exporter),
graphflow opens spans through it. Without the package, or while no provider is
configured (the API's default proxy or the no-op provider), every function here does
nothing and costs a function call: a step pays nothing for tracing nobody collects.

The spans, nested as the run executes:

=========================  ==================================================
span                       attributes
=========================  ==================================================
``graphflow.run``          ``graphflow.run_id``, ``graphflow.graph``, ``graphflow.resumed``,
                           ``graphflow.status`` (at the end)
``graphflow.step``         ``graphflow.run_id``, ``graphflow.step``, ``graphflow.nodes``
``graphflow.node``         ``graphflow.run_id``, ``graphflow.step``, ``graphflow.node``,
                           ``graphflow.kind``
``chat MODEL``             the GenAI semantic conventions: ``gen_ai.operation.name``
                           (``chat``), ``gen_ai.provider.name`` and ``gen_ai.system``,
                           ``gen_ai.request.model``, ``gen_ai.response.model``,
                           ``gen_ai.usage.input_tokens``, ``gen_ai.usage.output_tokens``,
                           ``gen_ai.response.finish_reasons``, ``server.address``,
                           ``server.port``; and ``graphflow.node``, ``graphflow.cached``
``execute_tool NAME``      ``gen_ai.operation.name`` (``execute_tool``),
                           ``gen_ai.tool.name``, ``gen_ai.tool.call.id``
``graphflow.code``         ``graphflow.executor``, ``graphflow.language``,
                           ``graphflow.exit_code``
=========================  ==================================================

A span whose work raised records the exception and has status ``ERROR``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any
from urllib.parse import urlsplit

__all__ = ["collecting", "model_span", "model_span_result", "set_attributes", "span", "tracer"]

_Attr = str | bool | int | float | list[str] | tuple[str, ...]


@cache
def tracer() -> Any:
    """graphflow's OpenTelemetry tracer, or ``None`` when ``opentelemetry-api`` is not
    installed (looked up once)."""
    try:
        from opentelemetry import trace
    except ImportError:
        return None
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("graphflow")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        release = "0"
    return trace.get_tracer("graphflow", release)


def _collecting() -> bool:
    """Whether a tracer provider is configured (not the API's default proxy or the no-op
    provider): spans made before that would be dropped anyway."""
    trace = _trace_api()
    provider = trace.get_tracer_provider()
    return not isinstance(provider, (trace.ProxyTracerProvider, trace.NoOpTracerProvider))


@cache
def _trace_api() -> Any:
    """``opentelemetry.trace``, imported once (an import statement per span costs more
    than the check itself)."""
    from opentelemetry import trace

    return trace


def _clean(attributes: Mapping[str, Any] | None) -> dict[str, _Attr]:
    out: dict[str, _Attr] = {}
    for key, value in (attributes or {}).items():
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            out[key] = [str(v) for v in value]
        elif isinstance(value, (str, bool, int, float)):
            out[key] = value
        else:
            out[key] = str(value)
    return out


def collecting() -> bool:
    """Whether spans are made now: ``opentelemetry-api`` is installed and a tracer
    provider configured. The scheduler asks once per run (a provider configured during a
    run traces the runs that start after it)."""
    return tracer() is not None and _collecting()


def span(name: str, attributes: Mapping[str, Any] | None = None,
         *, client: bool = False) -> contextlib.AbstractContextManager[Any]:  # fmt: skip
    """A context manager opening span ``name`` (current until it closes) and yielding it,
    or yielding ``None`` when tracing is off. ``client``: the span is a call to another
    service (a model endpoint).

    Example:
        >>> with span("graphflow.example", {"graphflow.step": 0}) as s:
        ...     set_attributes(s, {"graphflow.status": "completed"})
    """
    found = tracer()
    if found is None or not _collecting():
        return contextlib.nullcontext()
    from opentelemetry.trace import SpanKind

    kind = SpanKind.CLIENT if client else SpanKind.INTERNAL
    opened: contextlib.AbstractContextManager[Any] = found.start_as_current_span(
        name, kind=kind, attributes=_clean(attributes))
    return opened


def set_attributes(target: Any, attributes: Mapping[str, Any]) -> None:
    """Set ``attributes`` on a span from :func:`span` (nothing when it is ``None``)."""
    if target is not None:
        target.set_attributes(_clean(attributes))


@contextlib.contextmanager
def model_span(model: str, node: str, run_id: str) -> Iterator[Any]:
    """The span of one model call (GenAI conventions: ``chat MODEL``)."""
    with span(f"chat {model}", {"gen_ai.operation.name": "chat", "gen_ai.request.model": model,
                                "graphflow.node": node, "graphflow.run_id": run_id},
              client=True) as opened:  # fmt: skip
        yield opened


def model_span_result(target: Any, response: Any) -> None:
    """Set what a model call answered on its span: response model, tokens, finish
    reason, the endpoint (``response`` is a ``ModelResponse``)."""
    if target is None:
        return
    usage = response.usage
    url = urlsplit(response.base_url) if response.base_url else None
    provider = "openai" if url is not None else "graphflow.scripted"
    set_attributes(target, {
        "gen_ai.provider.name": provider, "gen_ai.system": provider,
        "gen_ai.response.model": response.model or None,
        "gen_ai.usage.input_tokens": usage.prompt_tokens + usage.cached_prompt_tokens,
        "gen_ai.usage.output_tokens": usage.completion_tokens + usage.cached_completion_tokens,
        "gen_ai.response.finish_reasons": [response.finish_reason or "stop"],
        "server.address": url.hostname if url else None,
        "server.port": url.port if url else None,
        "graphflow.cached": usage.cached,
    })  # fmt: skip
