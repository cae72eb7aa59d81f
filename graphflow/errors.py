"""Exceptions raised by graphflow.

Every error graphflow raises on purpose derives from :class:`GraphflowError`, and
every message says *what* went wrong, *where* and *how to fix it*. The tree::

    GraphflowError
    ├── DefinitionError          a graph file or builder graph is invalid (all problems at once)
    │   └── ConditionSyntaxError     a condition expression does not parse or uses a forbidden name
    ├── RunError                 a run could not proceed
    │   ├── NodeError                a node raised; carries run_id, step and node
    │   ├── NoTransitionError        no outgoing condition held and there is no else edge
    │   ├── ConditionError           a condition failed while being evaluated
    │   └── InvalidUpdate            a node's update cannot be applied (two writers of a
    │                                replace variable, a value that cannot be stored exactly)
    ├── StoreError               the run database
    │   ├── RunNotFound              no run with that id
    │   ├── RunInUse                 another process holds the run's lease
    │   ├── RunNotResumable          the run already finished, or cannot be resumed as asked
    │   │   └── StaleAnswer              the question an answer was for is no longer waiting
    │   ├── IncompatibleGraph        the graph changed since the run was checkpointed
    │   └── StoreCorrupt             the file is not a graphflow database, or is damaged
    ├── ModelError               the language-model layer; carries model and endpoint
    │   ├── ModelTimeout
    │   ├── ModelBadResponse
    │   ├── ModelRequestRejected     a 400-class answer that retrying cannot fix
    │   └── BudgetExceeded
    ├── ExecutionError           code execution and executors
    │   └── ExecutorUnavailable
    ├── ToolError                a tool could not be resolved or described
    └── RenderError              drawing a graph (for example, no ``dot`` binary)

A human checkpoint that pauses a run, and a limit, budget or timeout that ends one, are
*statuses* of the run (``waiting``, ``limit_reached``, ``budget_exceeded``, ``timeout``),
never exceptions: :class:`~graphflow.results.RunResult` reports them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "BudgetExceeded",
    "ConditionError",
    "ConditionSyntaxError",
    "DefinitionError",
    "ExecutionError",
    "ExecutorUnavailable",
    "GraphflowError",
    "IncompatibleGraph",
    "InvalidUpdate",
    "ModelBadResponse",
    "ModelError",
    "ModelRequestRejected",
    "ModelTimeout",
    "NoTransitionError",
    "NodeError",
    "Problem",
    "RenderError",
    "RunError",
    "RunInUse",
    "RunNotFound",
    "RunNotResumable",
    "StaleAnswer",
    "StoreCorrupt",
    "StoreError",
    "StoreFull",
    "ToolError",
]


class GraphflowError(Exception):
    """Root of every error graphflow raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem found while loading or compiling a graph.

    Attributes:
        where: the place, e.g. ``"graphs/review.yaml: edge writer → critic"``.
        what: what is wrong.
        fix: how to fix it (may be empty).
    """

    where: str
    what: str
    fix: str = ""

    def __str__(self) -> str:
        text = f"{self.where}: {self.what}" if self.where else self.what
        return f"{text}; {self.fix}" if self.fix else text


class DefinitionError(GraphflowError):
    """A graph definition is invalid. Lists every problem found, not only the first."""

    def __init__(self, problems: Iterable[Problem] | str, *, source: str | None = None) -> None:
        if isinstance(problems, str):
            problems = [Problem("", problems)]
        self.problems: list[Problem] = list(problems)
        self.source = source
        head = f"graph {source!r}" if source else "graph"
        count = len(self.problems)
        if count == 1:
            message = f"{head} is invalid: {self.problems[0]}"
        else:
            lines = "\n".join(f"  - {p}" for p in self.problems)
            message = f"{head} has {count} problems:\n{lines}"
        super().__init__(message)


class ConditionSyntaxError(DefinitionError):
    """A condition expression is not valid in the condition language."""

    def __init__(self, expression: str, message: str, column: int | None = None) -> None:
        self.expression = expression
        self.column = column
        where = f"column {column}" if column is not None else ""
        pointer = ""
        if column is not None:
            pointer = f"\n      {expression}\n      {' ' * max(column - 1, 0)}^"
        super().__init__([Problem(where, message + pointer)])
        self.args = (f"{message} ({where}){pointer}" if where else message,)


class RunError(GraphflowError):
    """A run could not proceed."""

    def __init__(
        self,
        message: str,
        *,
        run_id: str | None = None,
        step: int | None = None,
        node: str | None = None,
    ) -> None:
        self.run_id = run_id
        self.step = step
        self.node = node
        super().__init__(message)


class NodeError(RunError):
    """A node raised while it ran."""


class NoTransitionError(RunError):
    """A node finished, none of its outgoing conditions held and it has no else edge."""


class ConditionError(RunError):
    """A condition could not be evaluated against the run's state."""


class InvalidUpdate(RunError):
    """A node's update cannot be applied: two nodes of one step wrote a variable whose
    merge rule is ``replace``, a value cannot be stored exactly, or it does not fit the
    variable's declared type (LangGraph's ``InvalidUpdateError``)."""


class StoreError(GraphflowError):
    """A problem with the run database."""


class RunNotFound(StoreError):
    """No run with the given id exists in the database."""

    def __init__(self, run_id: str, db_path: str | None = None) -> None:
        self.run_id = run_id
        where = f" in {db_path}" if db_path else ""
        listing = f"graphflow runs --db {db_path}" if db_path else "graphflow runs"
        super().__init__(f"no run {run_id!r}{where}; list the runs with `{listing}`")


class RunInUse(StoreError):
    """Another process holds the lease on this run."""


class RunNotResumable(StoreError):
    """The run cannot be resumed as asked (it finished, or it is not waiting for input)."""


class StaleAnswer(RunNotResumable):
    """An answer was given for a question that is no longer waiting: another answer was
    recorded first (the CLI exits with code 5).

    Attributes:
        question: the id of the question the answer was for (``NODE@STEP``).
    """

    def __init__(self, message: str, *, question: str | None = None) -> None:
        self.question = question
        super().__init__(message)


class IncompatibleGraph(StoreError):
    """The graph's topology changed since the run was checkpointed."""


class StoreCorrupt(StoreError):
    """The database file is not a graphflow database or is damaged."""


class StoreFull(StoreError):
    """The disk (or the database's size cap) is full: nothing of the write in progress was
    stored. A run stopped by it keeps its last committed step and resumes once there is
    space again; its row says why it stopped (``reason="store_full"``)."""


class ModelError(GraphflowError):
    """A problem talking to a language model.

    Attributes:
        model: the model name asked for, when known.
        endpoint: the base URL asked (never with credentials), when known.
    """

    def __init__(self, message: str, *, model: str | None = None,
                 endpoint: str | None = None) -> None:  # fmt: skip
        self.model = model
        self.endpoint = endpoint
        super().__init__(message)


class ModelTimeout(ModelError):
    """A model request timed out on every configured endpoint."""


class ModelBadResponse(ModelError):
    """A model answered with something that is not a valid chat completion."""


class ModelRequestRejected(ModelError):
    """The model endpoint rejected the request itself (400-class); retrying cannot help."""


class BudgetExceeded(ModelError):
    """The run's token or cost budget is used up."""


class ExecutionError(GraphflowError):
    """Running code failed for a reason other than the code's own exit status."""


class ExecutorUnavailable(ExecutionError):
    """The chosen code executor cannot run on this machine."""


class ToolError(GraphflowError):
    """A tool could not be resolved or described."""


class RenderError(GraphflowError):
    """A graph or run could not be drawn."""

