"""Small text functions used by the example graphs (no model needed).

They are plain functions: graph files call them through ``function`` nodes with
``args:`` computed from the run's state, or offer them to models as tools.
"""

from __future__ import annotations

import re

__all__ = ["draft", "review", "revise", "strip_terminate", "word_count"]


def word_count(text: str) -> int:
    """Count the words of ``text``.

    >>> word_count("three small words")
    3
    """
    return len(re.findall(r"\b[\w'-]+\b", text or ""))


def draft(topic: str) -> str:
    """Write a first, deliberately short draft about ``topic``."""
    topic = (topic or "graphs").strip().rstrip(".")
    return f"{topic[0].upper()}{topic[1:]} matter."


def review(text: str, min_words: int = 12, keyword: str = "because") -> str:
    """Review a draft: ``APPROVED`` when it is long enough and gives a reason, else
    feedback saying what is missing."""
    problems = []
    words = word_count(text)
    if words < min_words:
        problems.append(f"it has {words} words; write at least {min_words}")
    if keyword.lower() not in (text or "").lower():
        problems.append(f"say why ('{keyword} ...')")
    return "APPROVED" if not problems else "Revise: " + "; ".join(problems) + "."


def revise(text: str, feedback: str, topic: str = "graphs") -> str:
    """Improve ``text`` following the reviewer's ``feedback``."""
    text = (text or "").strip()
    if "why" in (feedback or ""):
        text += f" They matter because {topic} make the structure of a problem visible."
    if "words" in (feedback or ""):
        text += " Each step is recorded, so nothing is lost when a run stops and resumes."
    return text


def strip_terminate(message: object) -> str:
    """Drop a trailing ``TERMINATE`` from a model reply (an agent ``postprocess``).

    >>> strip_terminate("Done.\\nTERMINATE")
    'Done.'
    """
    text = getattr(message, "content", message) or ""
    text = str(text).rstrip()
    if text.endswith("TERMINATE"):
        text = text[: -len("TERMINATE")].rstrip()
    return text
