"""How an answer is scored: built-in metrics and user evaluation functions.

An evaluation function has AutoGen's ``eval_func`` shape: it is called as
``eval_func(responses, **instance)`` with the list of the ``n`` answers a configuration
gave to one instance and that instance's fields, and returns a number, a bool, or a
mapping of named numbers (one of which is optimized: ``success`` unless told otherwise).
The score of a configuration is the mean over the instances.

Built-ins compare with the instance's ``answer`` field (``expected`` is accepted too);
with ``n > 1`` answers the most frequent one is taken (a vote, as an application using
``n`` would do):

- ``exact_match`` — the voted answer equals the expected one (trimmed, case-folded, a
  final period dropped);
- ``contains`` — the voted answer contains the expected one (case-folded);
- ``any_match`` — one of the ``n`` answers equals the expected one (pass@n).
"""

from __future__ import annotations

import inspect
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphflow.tuning.errors import TuningError

__all__ = ["BUILTIN_METRICS", "Metric", "resolve_metric"]

EvalFunc = Callable[..., Any]


def _normal(text: str) -> str:
    return " ".join(str(text).strip().casefold().split()).rstrip(".").strip()


def _expected(instance: Mapping[str, Any], name: str) -> str:
    for key in ("answer", "expected"):
        if key in instance:
            return str(instance[key])
    raise TuningError(f"the built-in metric {name} compares with each instance's 'answer' "
                      f"field, and an instance has none (fields: {', '.join(instance) or 'none'}); "
                      "add answer: to every instance or give your own metric (module:function)")  # fmt: skip


def _vote(responses: Sequence[str]) -> str:
    if not responses:
        return ""
    counts = Counter(_normal(r) for r in responses)
    return counts.most_common(1)[0][0]


def exact_match(responses: Sequence[str], **instance: Any) -> dict[str, float]:
    """1.0 when the voted answer equals the instance's ``answer``, else 0.0.

    Example:
        >>> exact_match(["Paris.", "paris", "Lyon"], answer="Paris")
        {'success': 1.0}
    """
    return {"success": float(_vote(responses) == _normal(_expected(instance, "exact_match")))}


def contains(responses: Sequence[str], **instance: Any) -> dict[str, float]:
    """1.0 when the voted answer contains the instance's ``answer``, else 0.0.

    Example:
        >>> contains(["The answer is 42."], answer="42")
        {'success': 1.0}
    """
    return {"success": float(_normal(_expected(instance, "contains")) in _vote(responses))}


def any_match(responses: Sequence[str], **instance: Any) -> dict[str, float]:
    """1.0 when one of the answers equals the instance's ``answer`` (pass@n), else 0.0.

    Example:
        >>> any_match(["7", "8"], answer="8")
        {'success': 1.0}
    """
    expected = _normal(_expected(instance, "any_match"))
    return {"success": float(any(_normal(r) == expected for r in responses))}


#: The metrics that are known by name.
BUILTIN_METRICS: dict[str, EvalFunc] = {
    "any_match": any_match,
    "contains": contains,
    "exact_match": exact_match,
}


@dataclass(frozen=True)
class Metric:
    """An evaluation function and the name of the number it optimizes.

    Attributes:
        function: called as ``function(responses, **instance)``.
        objective: the key of the returned mapping that is optimized (a plain number or
            bool returned is that key's value).
        label: how the metric was named (``exact_match``, ``my.module:score``).
    """

    function: EvalFunc
    objective: str = "success"
    label: str = "metric"

    def score(self, responses: Sequence[str], instance: Mapping[str, Any],
              where: str) -> dict[str, float]:  # fmt: skip
        """The metric's numbers for one instance, the objective among them.

        Raises:
            TuningError: the function raised, or returned something that is not a number,
                a bool or a mapping holding the objective as a number.
        """
        try:
            value = self.function(list(responses), **instance)
        except TuningError:
            raise
        except Exception as exc:
            raise TuningError(f"the metric {self.label} raised {type(exc).__name__}: {exc} "
                              f"(on {where}); fix the function, it is called as "
                              "metric(responses, **instance)") from exc  # fmt: skip
        if isinstance(value, Mapping):
            numbers = {str(k): v for k, v in value.items()}
        else:
            numbers = {self.objective: value}
        out: dict[str, float] = {}
        for key, number in numbers.items():
            if isinstance(number, (bool, int, float)) and not math.isnan(float(number)):
                out[key] = float(number)
            elif key == self.objective:
                raise TuningError(f"the metric {self.label} returned {number!r} for "
                                  f"{self.objective!r} on {where}; return a number or a bool")  # fmt: skip
        if self.objective not in out:
            raise TuningError(f"the metric {self.label} returned no {self.objective!r} on "
                              f"{where} (it returned {', '.join(out) or 'nothing'}); return "
                              f"a mapping with {self.objective!r} or name the key to optimize "
                              "with objective= (--objective)")  # fmt: skip
        return out


def resolve_metric(metric: str | EvalFunc, *, objective: str | None = None,
                   base_dir: Path | None = None) -> Metric:  # fmt: skip
    """The :class:`Metric` that ``metric`` names.

    Args:
        metric: a built-in name (see :data:`BUILTIN_METRICS`), an import path
            ``package.module:function``, or a callable.
        objective: the key to optimize when the function returns a mapping
            (default ``success``).
        base_dir: where a ``nodes.…`` import path is looked up from.

    Raises:
        TuningError: the name is neither a built-in nor an importable callable.

    Example:
        >>> resolve_metric("exact_match").score(["4"], {"answer": "4"}, "instance 1")
        {'success': 1.0}
    """
    key = objective or "success"
    if callable(metric):
        name = getattr(metric, "__qualname__", None) or type(metric).__name__
        return Metric(metric, key, name)
    if not isinstance(metric, str) or not metric.strip():
        raise TuningError(f"metric {metric!r} is not a metric; name a built-in "
                          f"({', '.join(BUILTIN_METRICS)}) or a function as module:function")  # fmt: skip
    if metric in BUILTIN_METRICS:
        return Metric(BUILTIN_METRICS[metric], key, metric)
    if ":" not in metric:
        raise TuningError(f"unknown metric {metric!r}; use a built-in "
                          f"({', '.join(BUILTIN_METRICS)}) or a function as module:function")  # fmt: skip
    from graphflow.imports import resolve_import

    try:
        function = resolve_import(metric, base_dir)
    except LookupError as exc:
        raise TuningError(f"metric {metric}: {exc}") from None
    except Exception as exc:
        raise TuningError(f"metric {metric}: importing it raised {type(exc).__name__}: {exc}") from None
    if not callable(function):
        raise TuningError(f"metric {metric} is a {type(function).__name__}, not a function; "
                          "name a function called as metric(responses, **instance)")  # fmt: skip
    _check_signature(function, metric)
    return Metric(function, key, metric)


def _check_signature(function: EvalFunc, label: str) -> None:
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return
    positional = [p for p in signature.parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]  # fmt: skip
    has_var = any(p.kind == p.VAR_POSITIONAL for p in signature.parameters.values())
    if not positional and not has_var:
        raise TuningError(f"metric {label} takes no positional argument; it is called as "
                          "metric(responses, **instance) with the list of answers first")  # fmt: skip
