"""Evaluating one configuration on the data: ask its model for each instance, score the
answers with the metric, and add up what it cost.

Two costs are kept apart. The *inference cost* is what the configuration costs to use:
every answer priced as if billed, answers replayed from the response cache included; its
mean per instance is compared with the inference budget. The *spend* is what tuning was
billed: cache hits cost nothing; it counts against the optimization budget.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphflow.errors import RunError
from graphflow.models.cache import ResponseCache
from graphflow.models.client import ModelClient
from graphflow.models.template import render_template, template_fields
from graphflow.models.usage import Usage
from graphflow.tuning.candidates import Candidate
from graphflow.tuning.errors import TuningError
from graphflow.tuning.metrics import Metric
from graphflow.tuning.space import TrialConfig

__all__ = ["Evaluation", "build_messages", "client_for", "evaluate"]


@dataclass
class Evaluation:
    """What one configuration scored and cost.

    Attributes:
        metrics: the mean of each number the metric returned, over the scored instances.
        instances: instances scored (fewer than the data when stopped early).
        usage: the usage of every answer (cache hits counted apart).
        stopped: why evaluation stopped before the end (``None``: it did not).
    """

    metrics: dict[str, float] = field(default_factory=dict)
    instances: int = 0
    usage: Usage = field(default_factory=Usage)
    stopped: str | None = None

    @property
    def spend(self) -> float:
        """US dollars billed (cache hits cost nothing)."""
        return self.usage.cost

    @property
    def inference_cost(self) -> float:
        """US dollars the answers cost as if billed (cache hits included)."""
        return self.usage.cost + self.usage.cached_cost

    @property
    def cost_per_instance(self) -> float:
        """The mean inference cost per scored instance."""
        return self.inference_cost / self.instances if self.instances else 0.0


def client_for(candidate: Candidate, cache: ResponseCache | None) -> ModelClient:
    """A model client for ``candidate``'s config list (fallback in order), answering from
    ``cache`` when it can; one per candidate serves every trial."""
    return ModelClient(list(candidate.configs), cache=cache)


def build_messages(config: TrialConfig, instance: Mapping[str, Any],
                   where: str) -> list[dict[str, str]]:  # fmt: skip
    """The request for one instance: the system template (if any) and the prompt
    template, filled with the instance's fields.

    Raises:
        TuningError: a template names a field the instance does not have.

    Example:
        >>> from graphflow.tuning.space import TrialConfig
        >>> build_messages(TrialConfig("m", "Q: {q}", 0), {"q": "2+2?"}, "instance 1")
        [{'role': 'user', 'content': 'Q: 2+2?'}]
    """
    messages = []
    for role, template, number in (("system", config.system, config.system_index),
                                   ("user", config.prompt, config.prompt_index)):  # fmt: skip
        if template is None:
            continue
        label = f"{'prompt' if role == 'user' else 'system'} template #{(number or 0) + 1}"
        missing = [f for f in template_fields(template) if re.split(r"[.\[]", f)[0] not in instance]
        if missing:
            raise TuningError(f"{label} names {{{missing[0]}}}, which {where} does not have "
                              f"(its fields: {', '.join(instance) or 'none'}); use the data's "
                              "field names in {placeholders}")  # fmt: skip
        try:
            text = render_template(template, instance)
        except RunError as exc:
            raise TuningError(f"{label} on {where}: {exc}") from None
        messages.append({"role": role, "content": text})
    return messages


async def evaluate(
    config: TrialConfig,
    client: ModelClient,
    data: Sequence[Mapping[str, Any]],
    metric: Metric,
    *,
    cache_seed: int = 41,
    inference_budget: float | None = None,
    spend_limit: float | None = None,
    need_prices: bool = False,
    on_instance: Callable[[Evaluation], None] | None = None,
) -> Evaluation:
    """Evaluate ``config`` on ``data``, instance by instance, in order, with ``client``
    (a :class:`~graphflow.models.ModelClient` for the candidate's config list, see
    :func:`client_for`).

    The ``n`` answers to an instance are ``n`` requests, each in its own cache namespace
    (``cache_seed``, ``cache_seed + 1`` …), so they may differ and are each replayed from
    the cache when asked again. Evaluation stops early when the mean inference cost of
    the instances scored so far — at least a tenth of the data — is above
    ``inference_budget``, or when the spend reaches ``spend_limit``.

    Args:
        on_instance: called after each scored instance with the evaluation so far (to
            record the spend durably).

    Raises:
        TuningError: a template or the metric failed on an instance, or a price is
            unknown while ``need_prices`` (a budget needs them).
        ModelError: the model could not answer (every config of the candidate failed).
    """
    result = Evaluation()
    sums: dict[str, float] = {}
    check_after = max(1, math.ceil(len(data) * 0.1))
    for index, instance in enumerate(data):
        where = f"instance {index + 1}"
        messages = build_messages(config, instance, where)
        responses: list[str] = []
        for sample in range(config.n):
            answer = await client.complete(messages, params=config.params,
                                           cache_seed=cache_seed + sample)  # fmt: skip
            result.usage = result.usage + answer.usage
            if need_prices and not answer.usage.cost_known:
                raise TuningError(
                    f"model {answer.model} at {answer.base_url}: its "
                    "price is unknown, so the budgets cannot be checked; set price: "
                    "[prompt, completion] (US dollars per 1k tokens) in its config")  # fmt: skip
            responses.append(answer.text)
        for key, value in metric.score(responses, instance, where).items():
            sums[key] = sums.get(key, 0.0) + value
        result.instances = index + 1
        result.metrics = {k: v / result.instances for k, v in sums.items()}
        if on_instance is not None:
            on_instance(result)
        if (inference_budget is not None and result.instances >= check_after
                and result.cost_per_instance > inference_budget):  # fmt: skip
            result.stopped = (f"over the inference budget: ${result.cost_per_instance:.6f} "
                              f"per instance > ${inference_budget:g} (after "
                              f"{result.instances} of {len(data)} instances)")  # fmt: skip
            break
        if spend_limit is not None and result.spend >= spend_limit and index + 1 < len(data):
            result.stopped = "the optimization budget is used up"
            break
    return result
