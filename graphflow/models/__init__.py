"""The model layer: how agents talk to language models.

What every model is and answers:

- :class:`ChatModel` — the interface (``complete()``); :class:`ModelResponse` — the one
  answer type, from the endpoint to the node and the run's journal.
- :class:`Usage` — tokens and cost of one call or of any sum of calls; :class:`Budget`.

The client (OpenAI-compatible endpoints):

- :class:`ModelClient` — a config list with fallback, retries, cache, usage, budget;
  :class:`RetryPolicy`, :class:`ResponseCache`, :func:`render_template`.

Configuration (which models a run uses):

- :class:`ModelConfig` — one endpoint; keys stay in the environment.
- :func:`config_list_from_json`, :func:`config_list_from_env` — AutoGen's
  OAI_CONFIG_LIST and ``OPENAI_*`` variables.
- :class:`ModelSet`, :func:`load_models` — a graph's named models (its ``models:``
  section); :func:`resolve_models` — options, section, environment, or the offline model.

Models that answer in process, without an endpoint:

- :class:`ScriptedModel` answering from a :class:`Script` — graph files' ``scripted:``
  entries and demos; :func:`offline_model`, the default when nothing is configured.

Test doubles (the loopback OpenAI-compatible server, fault injection, pytest fixtures)
are in :mod:`graphflow.testing`. Heavy dependencies load lazily: importing this package
imports none of its parts (each name is imported from its module on first use), and
never ``openai`` until a model client sends a request.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from graphflow.models.cache import ResponseCache, request_key
    from graphflow.models.client import DEFAULT_CACHE_SEED, ModelClient
    from graphflow.models.config import ModelConfig, filter_configs, strip_api_keys
    from graphflow.models.config_list import (
        config_from_autogen,
        config_list_from_env,
        config_list_from_json,
    )
    from graphflow.models.model_set import ModelEntry, ModelSet, load_models
    from graphflow.models.offline import OFFLINE_NOTICE, offline_model
    from graphflow.models.openai_messages import OpenAIMessages
    from graphflow.models.reply_script import Rule, Script, ScriptFailure, ScriptRequest
    from graphflow.models.resolve import resolve_models
    from graphflow.models.response import ChatModel, ModelResponse, to_openai_messages
    from graphflow.models.retry import RetryPolicy
    from graphflow.models.scripted_model import ScriptedModel
    from graphflow.models.template import render_template, template_fields
    from graphflow.models.usage import (
        Budget,
        Usage,
        estimate_prompt_tokens,
        estimate_tokens,
        message_tokens,
        usage_by_node,
    )

# Each name is imported from its module on first use, so that importing graphflow (which
# needs only Usage) does not import the client, the configs and the scripts.
_PARTS = {
    "Budget": "graphflow.models.usage",
    "ChatModel": "graphflow.models.response",
    "DEFAULT_CACHE_SEED": "graphflow.models.client",
    "ModelClient": "graphflow.models.client",
    "ModelConfig": "graphflow.models.config",
    "ModelEntry": "graphflow.models.model_set",
    "ModelResponse": "graphflow.models.response",
    "ModelSet": "graphflow.models.model_set",
    "OFFLINE_NOTICE": "graphflow.models.offline",
    "OpenAIMessages": "graphflow.models.openai_messages",
    "ResponseCache": "graphflow.models.cache",
    "RetryPolicy": "graphflow.models.retry",
    "Rule": "graphflow.models.reply_script",
    "Script": "graphflow.models.reply_script",
    "ScriptFailure": "graphflow.models.reply_script",
    "ScriptRequest": "graphflow.models.reply_script",
    "ScriptedModel": "graphflow.models.scripted_model",
    "Usage": "graphflow.models.usage",
    "config_from_autogen": "graphflow.models.config_list",
    "config_list_from_env": "graphflow.models.config_list",
    "config_list_from_json": "graphflow.models.config_list",
    "estimate_prompt_tokens": "graphflow.models.usage",
    "estimate_tokens": "graphflow.models.usage",
    "filter_configs": "graphflow.models.config",
    "load_models": "graphflow.models.model_set",
    "message_tokens": "graphflow.models.usage",
    "offline_model": "graphflow.models.offline",
    "render_template": "graphflow.models.template",
    "request_key": "graphflow.models.cache",
    "resolve_models": "graphflow.models.resolve",
    "strip_api_keys": "graphflow.models.config",
    "template_fields": "graphflow.models.template",
    "to_openai_messages": "graphflow.models.response",
    "usage_by_node": "graphflow.models.usage",
}


def __getattr__(name: str) -> Any:
    module = _PARTS.get(name)
    if module is None:
        raise AttributeError(f"module 'graphflow.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PARTS))


__all__ = [
    "DEFAULT_CACHE_SEED",
    "OFFLINE_NOTICE",
    "Budget",
    "ChatModel",
    "ModelClient",
    "ModelConfig",
    "ModelEntry",
    "ModelResponse",
    "ModelSet",
    "OpenAIMessages",
    "ResponseCache",
    "RetryPolicy",
    "Rule",
    "Script",
    "ScriptFailure",
    "ScriptRequest",
    "ScriptedModel",
    "Usage",
    "config_from_autogen",
    "config_list_from_env",
    "config_list_from_json",
    "estimate_prompt_tokens",
    "estimate_tokens",
    "filter_configs",
    "load_models",
    "message_tokens",
    "offline_model",
    "render_template",
    "request_key",
    "resolve_models",
    "strip_api_keys",
    "template_fields",
    "to_openai_messages",
    "usage_by_node",
]
