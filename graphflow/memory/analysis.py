"""The analyzer: the prompt that asks a model what a message teaches, and reading its answer.

A teachable agent sends each message it receives (from the speakers it learns from) to a
model with :data:`ANALYZER_PROMPT` as the system message. The model answers with JSON: a
list of memos, each a fact, a preference, or advice for a kind of task, with a topic (the
question the memo answers, or the general kind of task) and the memo text. One call
decides and extracts at once. The answer is model output, hence untrusted:
:func:`parse_analysis` accepts only that JSON shape, within size limits, and says what
was wrong with anything else.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ANALYZER_PROMPT", "MAX_MEMOS", "MAX_TEXT", "MAX_TOPIC", "Analysis", "MemoDraft",
           "analyzer_messages", "parse_analysis"]  # fmt: skip

#: The analyzer's system message (a teachable agent's ``analyzer_prompt`` replaces it).
ANALYZER_PROMPT = """\
You keep the long-term memory of an assistant. You are shown one message the assistant \
received. Decide whether it teaches something worth remembering in later, unrelated \
conversations, and if so write it down as memos. A memo is one of:
- "fact": something the sender states as true about the world, a project, a person or \
themselves;
- "preference": how the sender wants things done, or what they like or dislike;
- "advice": advice on how to do a kind of task, given together with a task.
Leave out questions, requests that carry no advice, small talk, and anything that only \
matters in the current conversation. Do not answer or solve the message.

Reply with JSON only, exactly in this form:
{"memos": [{"kind": "fact|preference|advice", "topic": "...", "memo": "..."}]}
where "topic" is the question the memo answers (for advice: the kind of task, in general \
terms) and "memo" is the information or advice in one or two self-contained sentences. \
Reply {"memos": []} when the message teaches nothing."""

#: At most this many memos are taken from one message.
MAX_MEMOS = 10
#: Longest topic and memo text accepted (characters).
MAX_TOPIC = 500
MAX_TEXT = 2000
_KINDS = ("fact", "preference", "advice")
_FENCE = re.compile(r"^```[A-Za-z]*\s*\n?(.*?)\n?```\s*$", re.S)
#: Control characters (terminal escapes, NUL ...) but newline and tab: never stored.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class MemoDraft:
    """A memo the analyzer proposed: ``kind``, ``topic`` and ``text``."""

    kind: str
    topic: str
    text: str


@dataclass(frozen=True)
class Analysis:
    """What an analyzer answer held: the usable ``memos`` and, when something was
    wrong, ``problem`` (one sentence saying what)."""

    memos: tuple[MemoDraft, ...] = ()
    problem: str | None = None
    skipped: int = field(default=0)


def analyzer_messages(text: str, speaker: str, prompt: str | None = None) -> list[dict[str, Any]]:
    """The analyzer request for a message ``text`` said by ``speaker``.

    Example:
        >>> [m["role"] for m in analyzer_messages("I like tea.", "user")]
        ['system', 'user']
    """
    return [{"role": "system", "content": prompt or ANALYZER_PROMPT},
            {"role": "user", "content": f"Message to analyze (from {speaker}):\n\n{text}"}]


def _shown(text: str) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= 80 else flat[:77] + "...")


def parse_analysis(answer: str) -> Analysis:
    """Read an analyzer's answer (see the module docs).

    A reply fenced as a Markdown code block, or with text around one JSON object, is
    accepted. Control characters other than newline and tab are dropped from topics and
    memos (a memo is shown in terminals and prompts later). An entry with an unknown kind, an empty or too long topic or memo, or
    beyond the first :data:`MAX_MEMOS`, is skipped (and counted in ``skipped``).

    Example:
        >>> parse_analysis('{"memos": [{"kind": "fact", "topic": "t", "memo": "m"}]}').memos
        (MemoDraft(kind='fact', topic='t', text='m'),)
        >>> parse_analysis("Sure! I will remember that.").problem
        "the analyzer's answer is not JSON: 'Sure! I will remember that.'"
    """
    text = (answer or "").strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    if not text.startswith("{") and "{" in text and "}" in text:
        text = text[text.index("{"): text.rindex("}") + 1]
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested too deep
        return Analysis(problem=f"the analyzer's answer is not JSON: {_shown(answer or '')}")
    entries = data.get("memos") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return Analysis(problem="the analyzer's answer has no \"memos\" list: "
                                f"{_shown(answer)}")  # fmt: skip
    memos: list[MemoDraft] = []
    skipped = 0
    for entry in entries:
        draft = _draft(entry)
        if draft is None or len(memos) == MAX_MEMOS:
            skipped += 1
        else:
            memos.append(draft)
    problem = None
    if skipped:
        problem = (f"{skipped} of the analyzer's {len(entries)} memos were left out (each "
                   f"needs a kind of {', '.join(_KINDS)}, a topic of at most {MAX_TOPIC} "
                   f"characters and a memo of at most {MAX_TEXT}; at most {MAX_MEMOS} a "
                   "message)")  # fmt: skip
    return Analysis(tuple(memos), problem, skipped)


def _draft(entry: Any) -> MemoDraft | None:
    if not isinstance(entry, dict):
        return None
    kind = str(entry.get("kind") or "").strip().lower()
    topic, text = entry.get("topic"), entry.get("memo", entry.get("text"))
    if kind not in _KINDS or not isinstance(topic, str) or not isinstance(text, str):
        return None
    topic, text = " ".join(_CONTROL.sub("", topic).split()), _CONTROL.sub("", text).strip()
    if not topic or not text or len(topic) > MAX_TOPIC or len(text) > MAX_TEXT:
        return None
    return MemoDraft(kind, topic, text)
