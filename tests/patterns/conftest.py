"""Fixtures: the scripted OpenAI-compatible server and scripted models
(from graphflow.models.testing)."""

from __future__ import annotations

from graphflow.models.testing import (  # noqa: F401  (pytest fixtures)
    fast_retry,
    model_server,
    scripted_model,
)
