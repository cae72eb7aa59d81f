"""The offline model: what answers when no model is configured, so every graph runs
without an API key or a server.

It is a :class:`~graphflow.models.scripted_model.ScriptedModel` whose script is
:func:`offline_reply`: it says what it is, quotes the request, and ends the conversation
with ``TERMINATE`` so that chats stop instead of looping. :func:`~graphflow.models.resolve.resolve_models`
falls back to it and says so with :data:`OFFLINE_NOTICE`.
"""

from __future__ import annotations

from graphflow.models.reply_script import Script, ScriptRequest
from graphflow.models.scripted_model import ScriptedModel

__all__ = ["OFFLINE_NOTICE", "offline_model", "offline_reply"]

OFFLINE_NOTICE = "no model configured: using the scripted offline model"


def offline_reply(request: ScriptRequest) -> str:
    """The offline model's answer to ``request``.

    Example:
        >>> offline_reply(ScriptRequest(({"role": "user", "content": "Plan a trip"},)))[:34]
        '[offline model] I received: "Plan '
    """
    text = " ".join(request.last_text.split())
    if len(text) > 80:
        text = text[:77] + "..."
    return (
        f'[offline model] I received: "{text}". No language model is configured, so this '
        "is a scripted answer; set models: in the graph or OPENAI_API_KEY to use a real "
        "model.\nTERMINATE"
    )


def offline_model() -> ScriptedModel:
    """A fresh offline model.

    Example:
        >>> offline_model().complete_sync([{"role": "user", "content": "hi"}]).text[-9:]
        'TERMINATE'
    """
    return ScriptedModel(Script(function=offline_reply), name="offline")
