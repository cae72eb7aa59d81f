"""A loopback model server scripted so that tuning configurations differ in quality and
cost, and the config list and search space that go with it.

- ``cheap`` costs little and is always wrong;
- ``good`` is right only at a low temperature (≤ 0.3) with the second prompt template,
  which asks for the number only;
- ``big`` is always right but costs more per instance than the inference budget.
"""

from __future__ import annotations

import re
from typing import Any

from graphflow.models.reply_script import ScriptRequest

#: The instances: additions whose answer is the sum.
DATA = [{"question": f"What is {a} + {b}?", "answer": str(a + b)}
        for a, b in [(17, 25), (3, 4), (120, 5), (9, 9), (40, 2), (11, 31), (7, 8), (60, 6)]]  # fmt: skip
PROMPTS = ["{question}", "Answer with the number only. {question}"]
PRICES = {"cheap": [0.0001, 0.0001], "good": [0.002, 0.002], "big": [0.5, 0.5]}
#: Mean cost per instance: cheap ≈ $0.000002, good ≈ $0.00004, big ≈ $0.01.
INFERENCE_BUDGET = 0.001
SPACE: dict[str, Any] = {"model": ["cheap", "good", "big"], "temperature": [0.0, 0.2, 0.9],
                         "prompt": PROMPTS}  # fmt: skip


def answer(request: ScriptRequest) -> str:
    """The scripted behaviour of the three models."""
    text = request.last_text
    numbers = [int(n) for n in re.findall(r"\d+", text)]
    right = str(sum(numbers))
    temperature = float(request.params.get("temperature", 1.0))
    if request.model == "big":
        return right
    if request.model == "good":
        if text.startswith("Answer with the number only") and temperature <= 0.3:
            return right
        return f"Let me think: the sum is about {right}."
    return "I do not know."


def config_list(base_url: str) -> list[dict[str, Any]]:
    """The three models at ``base_url`` with their prices (US dollars per 1k tokens)."""
    return [{"model": name, "base_url": base_url, "price": price, "timeout": 5,
             "max_retries": 0} for name, price in PRICES.items()]  # fmt: skip


def request_key(body: dict[str, Any]) -> tuple[str, float, str]:
    """(model, temperature, last message) of a logged request body."""
    return (body["model"], float(body.get("temperature", 1.0)),
            body["messages"][-1]["content"])  # fmt: skip
