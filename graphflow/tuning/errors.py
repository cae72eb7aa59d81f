"""The error tuning raises for bad input: a data file, a metric, a search space, a config
list or a study that cannot be used as given."""

from __future__ import annotations

from graphflow.errors import GraphflowError

__all__ = ["TuningError"]


class TuningError(GraphflowError):
    """Tuning cannot start or go on: the message says what is wrong, where, and how to fix
    it (a bad data file, a metric that raises, an unknown model, a study made with other
    settings, a missing optional dependency)."""
