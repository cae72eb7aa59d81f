"""Test doubles for code that talks to language models, for tests, benchmarks and demos.

- :class:`ModelServer` — an OpenAI-compatible HTTP server on 127.0.0.1 that answers from
  a script, so the real ``openai`` client is exercised over real HTTP;
  :func:`server_config` points a :class:`~graphflow.models.ModelConfig` at it and
  :data:`FAST_RETRY` makes retries against it take no time.
- :class:`Fault` — injected failures (HTTP errors, timeouts, cut streams, broken or empty
  answers); :class:`FaultScript` — a script whose rules may inject them.
- pytest fixtures in :mod:`graphflow.testing.fixtures` (``model_server``,
  ``scripted_model``, ``fast_retry``, ``response_cache``): add
  ``pytest_plugins = ["graphflow.testing.fixtures"]`` to your top ``conftest.py``.
- ``graphflow dev-model-server`` (:mod:`graphflow.testing.cli`) runs the server by hand.

The in-process :class:`~graphflow.models.ScriptedModel` and its
:class:`~graphflow.models.Script` are part of the model layer (graph files' ``scripted:``
entries and the offline model use them); they are re-exported here so that a test
imports its doubles from one place. Importing this package does not import pytest.

Example:
    >>> model = ScriptedModel(FaultScript(["Hello!"], rules=[{"contains": "boom", "fault": "429"}]))
    >>> model.complete_sync([{"role": "user", "content": "hi"}]).text
    'Hello!'
"""

from __future__ import annotations

from graphflow.models.reply_script import Rule, Script, ScriptRequest
from graphflow.models.scripted_model import ScriptedModel
from graphflow.testing.faults import Fault, FaultKind, FaultScript
from graphflow.testing.server import FAST_RETRY, ModelServer, ScriptLike, server_config

__all__ = [
    "FAST_RETRY",
    "Fault",
    "FaultKind",
    "FaultScript",
    "ModelServer",
    "Rule",
    "Script",
    "ScriptLike",
    "ScriptRequest",
    "ScriptedModel",
    "server_config",
]
