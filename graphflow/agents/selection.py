"""Speaker selection for group chats: reading a speaker's name out of a model's answer,
the prompts that ask for it, and the round-robin order.

A model asked "who speaks next?" answers in free text. :func:`resolve_speaker` accepts
an answer that is exactly one candidate's name (ignoring case, quotes, trailing
punctuation and Markdown escapes such as ``Senior\\_Coder``) or that mentions exactly one
candidate as a whole word; an answer naming
none or several is re-asked with :func:`reask_text`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from graphflow.agents.neighbourhood import Member
from graphflow.messages import Message

__all__ = [
    "SELECT_PROMPT",
    "SELECT_SYSTEM",
    "GroupChatView",
    "Resolution",
    "next_in_order",
    "reask_text",
    "resolve_speaker",
    "roles_text",
    "unescape_markdown",
]

SELECT_SYSTEM = (
    "You coordinate a group conversation. The participants are:\n{roles}\n\n"
    "Read the conversation, then decide who of {agentlist} should speak next. "
    "Answer with that participant's name only."
)
SELECT_PROMPT = (
    "Who of {agentlist} speaks next? Answer with exactly one name from that list and nothing else."
)


@dataclass(frozen=True)
class Resolution:
    """The outcome of reading a speaker from an answer.

    Attributes:
        member: the chosen member, or ``None``.
        problem: ``none`` (no candidate named) or ``several`` (more than one), when
            ``member`` is ``None``.
        named: the candidates the answer mentioned.
    """

    member: Member | None
    problem: Literal["none", "several"] | None = None
    named: tuple[str, ...] = ()


@dataclass(frozen=True)
class GroupChatView:
    """What a speaker-selection function sees.

    Attributes:
        last_speaker: the node id of the member who spoke last; the speaker's name when
            the last message came from outside the group (the task's sender, e.g.
            ``user``); ``None`` in an empty conversation.
        candidates: node ids that may speak next (the router's successors).
        names: speaker name of each candidate.
        messages: the conversation.
        variables: the run's variables.
        round: messages in the conversation so far.
    """

    last_speaker: str | None
    candidates: tuple[str, ...]
    names: dict[str, str] = field(default_factory=dict)
    messages: tuple[Message, ...] = ()
    variables: dict[str, Any] = field(default_factory=dict)
    round: int = 0


def roles_text(members: Sequence[Member]) -> str:
    """One ``name: description`` line per member.

    Example:
        >>> roles_text([Member("coder", "coder", "writes code", "agent")])
        'coder: writes code'
    """
    return "\n".join(f"{m.name}: {m.description or 'a participant'}" for m in members)


_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|~<>])")


def unescape_markdown(text: str) -> str:
    """``text`` without Markdown backslash escapes (models often write ``Senior\\_Coder``
    for ``Senior_Coder``; AutoGen's ``GroupChat._mentioned_agents`` accepts ``\\_`` too).

    Example:
        >>> unescape_markdown("Role: Senior\\\\_Python\\\\_Engineer")
        'Role: Senior_Python_Engineer'
    """
    return _MD_ESCAPE.sub(r"\1", text) if "\\" in text else text


def _normal(text: str) -> str:
    return re.sub(r"[\s`'\"*.,:;!?()\[\]]+", " ", text).strip().lower()


@functools.lru_cache(maxsize=64)
def _matcher(
    members: tuple[Member, ...],
) -> tuple[dict[str, Member], re.Pattern[str], dict[str, Member]]:
    """Exact-name lookup and one regex finding every member's name forms as whole words."""
    exact: dict[str, Member] = {}
    forms: dict[str, Member] = {}
    for member in members:
        exact.setdefault(_normal(member.name), member)
        exact.setdefault(_normal(member.node), member)
        for form in (member.name, member.node, member.name.replace("_", " ")):
            if form:
                forms.setdefault(form.lower(), member)
    ordered = sorted(forms, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w-])(" + "|".join(re.escape(f) for f in ordered) + r")(?![\w-])",
                         re.IGNORECASE)  # fmt: skip
    return exact, pattern, forms


def resolve_speaker(answer: str, members: Sequence[Member]) -> Resolution:
    """Read the chosen speaker out of ``answer``.

    Example:
        >>> team = [Member("coder", "coder", "", "agent"), Member("critic", "critic", "", "agent")]
        >>> resolve_speaker(" Coder. ", team).member.node
        'coder'
        >>> resolve_speaker("coder or critic", team).problem
        'several'
        >>> resolve_speaker("nobody", team).problem
        'none'
    """
    exact, pattern, forms = _matcher(tuple(members))
    answer = unescape_markdown(answer)
    found = exact.get(_normal(answer))
    if found is not None:
        return Resolution(found, None, (found.node,))
    named: list[Member] = []
    for match in pattern.finditer(f" {answer} "):
        member = forms[match.group(1).lower()]
        if member not in named:
            named.append(member)
    if len(named) == 1:
        return Resolution(named[0], None, (named[0].node,))
    problem: Literal["none", "several"] = "several" if named else "none"
    return Resolution(None, problem, tuple(m.node for m in named))


def reask_text(resolution: Resolution, members: Sequence[Member]) -> str:
    """The follow-up that asks again after an unusable answer.

    Example:
        >>> reask_text(Resolution(None, "none"), [Member("a", "a", "", "agent")])[:30]
        'Your answer named no participa'
    """
    names = ", ".join(m.name for m in members)
    if resolution.problem == "several":
        named = ", ".join(resolution.named)
        return (f"Your answer named more than one participant ({named}). Reply with the name "
                f"of the single participant who speaks next, exactly as written in: {names}.")  # fmt: skip
    return (f"Your answer named no participant. Reply with the name of the participant who "
            f"speaks next, exactly as written in: {names}.")  # fmt: skip


def next_in_order(order: Sequence[str], last: str | None, candidates: Sequence[str]) -> str | None:
    """The first candidate after ``last`` in ``order`` (cyclically); the first candidate
    in order when ``last`` is not in it.

    O(1) per call for a group that keeps its order and candidates: the answer for every
    possible ``last`` is worked out once per (order, candidates) and kept.

    Example:
        >>> next_in_order(["a", "b", "c"], "b", ["a", "b", "c"])
        'c'
        >>> next_in_order(["a", "b", "c"], "c", ["b", "c"])
        'b'
    """
    if not candidates:
        return None
    after, first = _ring(tuple(order), tuple(candidates))
    return after.get(last, first) if last is not None else first


@functools.lru_cache(maxsize=256)
def _ring(order: tuple[str, ...], candidates: tuple[str, ...]) -> tuple[dict[str, str], str]:
    """For each node of ``order``, the first candidate after it (cyclically, itself last);
    and the candidate to start with when the last speaker is not in ``order``."""
    allowed = set(candidates)
    listed = set(order)
    ring = [n for n in order if n in allowed] + [n for n in candidates if n not in listed]
    size = len(order)
    following: list[str | None] = [None] * size
    nearest: str | None = None
    for j in range(2 * size - 1, -1, -1):  # twice round, backwards
        k = j % size
        if j < size:
            following[k] = nearest  # the nearest candidate after position k
        if order[k] in allowed:
            nearest = order[k]
    after: dict[str, str] = {}
    for k, node in enumerate(order):
        if node not in after:  # the first place ``last`` has in the order counts
            after[node] = following[k] or ring[0]
    return after, ring[0]
