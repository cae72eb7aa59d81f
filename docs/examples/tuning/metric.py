"""A metric for graphflow tune: called as ``score(responses, **instance)``.

It returns several numbers; ``success`` is optimized unless ``--objective`` names another.
"""

from __future__ import annotations

from collections import Counter
from typing import Any


def score(responses: list[str], **instance: Any) -> dict[str, float]:
    """``success``: the most frequent answer is the expected number; ``any``: one is."""
    answers = [r.strip().rstrip(".") for r in responses]
    voted = Counter(answers).most_common(1)[0][0] if answers else ""
    expected = str(instance["answer"])
    return {"success": float(voted == expected), "any": float(expected in answers)}
