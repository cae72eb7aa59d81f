"""The model layer: how agents talk to language models.

- :class:`ModelConfig` — one OpenAI-compatible endpoint; keys stay in the environment.
- :class:`ModelSet`, :func:`load_models`, :func:`resolve_models` — a graph's named
  models, read from its ``models:`` section, the environment, AutoGen's
  OAI_CONFIG_LIST, or the scripted offline fallback.
- :class:`ModelClient` — config list with fallback, retries, cache, usage, budget.
- :class:`ScriptedModel`, :class:`Script`, :class:`ModelServer` — test doubles: an
  in-process model and an OpenAI-compatible HTTP server that answer from a script.
- :class:`ResponseCache`, :class:`Usage`, :class:`UsageTotals`, :class:`Budget`,
  :func:`render_template`.

Heavy dependencies load lazily: importing this package does not import ``openai``.
"""

from __future__ import annotations

from graphflow.models.cache import ResponseCache, request_key
from graphflow.models.client import DEFAULT_CACHE_SEED, ModelClient
from graphflow.models.config import ModelConfig, filter_configs, strip_api_keys
from graphflow.models.faults import Fault
from graphflow.models.modelset import ModelEntry, ModelSet, load_models
from graphflow.models.oai import config_from_autogen, config_list_from_env, config_list_from_json
from graphflow.models.resolve import OFFLINE_NOTICE, offline_model, resolve_models
from graphflow.models.response import ChatModel, ModelResponse, to_openai_messages
from graphflow.models.retry import RetryPolicy
from graphflow.models.script import Rule, Script, ScriptRequest
from graphflow.models.scripted import ScriptedModel
from graphflow.models.server import ModelServer
from graphflow.models.template import render_template, template_fields
from graphflow.models.usage import (
    Budget,
    Usage,
    UsageTotals,
    estimate_prompt_tokens,
    estimate_tokens,
    sum_usage,
    usage_by_node,
)

__all__ = [
    "DEFAULT_CACHE_SEED",
    "OFFLINE_NOTICE",
    "Budget",
    "ChatModel",
    "Fault",
    "ModelClient",
    "ModelConfig",
    "ModelEntry",
    "ModelResponse",
    "ModelServer",
    "ModelSet",
    "ResponseCache",
    "RetryPolicy",
    "Rule",
    "Script",
    "ScriptRequest",
    "ScriptedModel",
    "Usage",
    "UsageTotals",
    "config_from_autogen",
    "config_list_from_env",
    "config_list_from_json",
    "estimate_prompt_tokens",
    "estimate_tokens",
    "filter_configs",
    "load_models",
    "offline_model",
    "render_template",
    "request_key",
    "resolve_models",
    "strip_api_keys",
    "sum_usage",
    "template_fields",
    "to_openai_messages",
    "usage_by_node",
]
