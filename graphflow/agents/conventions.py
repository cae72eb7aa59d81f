"""Names shared by agent nodes, routers and the pattern builders: the variables they
read and write, and the default termination test.

The ``agent`` and ``router`` kinds and the builders all import them from here, so a
graph file written by hand and a graph built in Python agree on them.
"""

from __future__ import annotations

__all__ = [
    "AUTOGEN_TERMINATION",
    "CHAT_END",
    "DEFAULT_TERMINATION",
    "NEXT_SPEAKER",
    "counter_variable",
    "input_variable",
    "state_ref",
]

#: graphflow's default termination test: the message ends with TERMINATE. It differs
#: from AutoGen's on purpose (docs/patterns.md: models write "…done.\nTERMINATE" far more
#: often than a bare TERMINATE, as AutoGen's own examples' custom tests show).
DEFAULT_TERMINATION = 'endswith(last.content, "TERMINATE")'
#: AutoGen's default termination test (``ConversableAgent.__init__``: the content equals
#: ``"TERMINATE"``), in the condition language; ``graphflow.autogen`` uses it.
AUTOGEN_TERMINATION = 'last.content == "TERMINATE"'
#: The variable an agent (or router) sets to the reason when it ends the chat.
CHAT_END = "chat_end"
#: The variable a router sets to the node it sends the conversation to.
NEXT_SPEAKER = "next_speaker"


def input_variable(node_id: str, configured: str | None = None) -> str:
    """The variable an agent's human checkpoint writes its answer to.

    Example:
        >>> input_variable("user_proxy")
        'user_proxy_input'
    """
    return configured or f"{node_id}_input"


def counter_variable(node_id: str) -> str:
    """The variable counting an agent's consecutive auto-replies (one per agent, so a
    step writes only the counter that changed).

    Example:
        >>> counter_variable("user_proxy")
        'user_proxy_auto_replies'
    """
    return f"{node_id}_auto_replies"


def state_ref(variable: str) -> str:
    """How a condition reads ``variable``: ``state.NAME``, or ``state["NAME"]`` when the
    name is not an identifier.

    Example:
        >>> state_ref("user_proxy_input"), state_ref("coder-2_input")
        ('state.user_proxy_input', 'state["coder-2_input"]')
    """
    import json

    return f"state.{variable}" if variable.isidentifier() else f"state[{json.dumps(variable)}]"
