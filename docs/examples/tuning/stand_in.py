"""A stand-in for the two models of models.yaml, to try ``graphflow tune`` offline:
``graphflow dev-model-server --script stand_in.yaml`` answers with :func:`answer`.

- ``gpt-4o`` always answers with the number;
- ``gpt-4o-mini`` does too, but only when the prompt asks for the number only and the
  temperature is at most 0.5; otherwise it talks around the answer.

So the best configuration is the cheap model with the terse prompt, a low temperature
and one answer per question.
"""

from __future__ import annotations

import re
from typing import Any


def answer(request: Any) -> str:
    """The reply to one chat request (a ``ScriptRequest``: ``model``, ``params``,
    ``last_text``)."""
    text = request.last_text
    right = str(sum(int(n) for n in re.findall(r"\d+", text)))
    if request.model == "gpt-4o":
        return right
    terse = text.startswith("Answer with the number only")
    if terse and float(request.params.get("temperature", 1.0)) <= 0.5:
        return right
    return f"Let me see. Adding them up gives {right}, I think."
