"""Fixtures of the model-layer tests: the scripted HTTP server, scripted models, a fast
retry policy and a response cache (all from graphflow.models.testing)."""

from __future__ import annotations

from graphflow.models.testing import (  # noqa: F401  (pytest fixtures)
    fast_retry,
    model_server,
    response_cache,
    scripted_model,
)
