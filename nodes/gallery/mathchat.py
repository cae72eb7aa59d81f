"""The answer check of the math gallery graph (``graphs/gallery/math.yaml``).

As in AutoGen's MathChat, the solver puts its final answer in ``\\boxed{...}``; a reply
without one is answered with a nudge to keep solving.
"""

from __future__ import annotations

from graphflow.messages import Message, Update

__all__ = ["CONTINUE", "boxed_answer", "check_answer"]

CONTINUE = ("Continue. Use the algebra tools for any step you are unsure of, and when you "
            "have the final answer, put it in \\boxed{} and end your message with TERMINATE.")


def boxed_answer(text: str) -> str | None:
    """The content of the last ``\\boxed{...}`` in ``text`` (nested braces kept), or
    ``None``.

    Example:
        >>> boxed_answer(r"so the area is \\boxed{\\frac{32}{3}}. TERMINATE")
        '\\\\frac{32}{3}'
        >>> boxed_answer("no answer yet") is None
        True
    """
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth, begin = 0, start + len("\\boxed{")
    for index in range(begin, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            if depth == 0:
                answer = text[begin:index].strip()
                return answer or None
            depth -= 1
    return None


def check_answer(text: str | None) -> Update:
    """Set the variable ``answer`` from the solver's ``\\boxed{}`` answer, or ask it to
    continue (a ``user`` message from ``checker``)."""
    answer = boxed_answer(text or "")
    if answer is not None:
        return Update(variables={"answer": answer})
    return Update(messages=[Message(role="user", name="checker", content=CONTINUE)])
