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
does not import ``openai``.
"""

from __future__ import annotations

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
