"""The result of running code, and the text it is reported back to the model as."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["TIMEOUT_EXIT_CODE", "CodeResult", "format_result"]

#: Exit code reported when the code ran out of time (as coreutils ``timeout`` does).
TIMEOUT_EXIT_CODE = 124


@dataclass(frozen=True)
class CodeResult:
    """What running a message's code blocks produced.

    Attributes:
        exit_code: 0 when every block succeeded; else the first failing block's code
            (124 after a timeout, 1 for a block that could not be run at all).
        output: stdout and stderr of the blocks, interleaved as written, capped.
        timed_out: the time limit was hit and the processes were killed.
        truncated: the output was longer than the cap; the rest was dropped.
        files: the files (relative to the work dir) the blocks were saved as.
        seconds: wall-clock time the execution took.
        executor: the name of the executor that ran the code.

    Example:
        >>> CodeResult(0, "hi\\n").succeeded
        True
    """

    exit_code: int
    output: str
    timed_out: bool = False
    truncated: bool = False
    files: tuple[str, ...] = ()
    seconds: float = 0.0
    executor: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        """Whether every block exited with status 0."""
        return self.exit_code == 0

    def to_record(self) -> dict[str, Any]:
        """A JSON-ready dict (used to journal an execution so a resumed run replays it)."""
        record = asdict(self)
        record["files"] = list(self.files)
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> CodeResult:
        """Rebuild a result from :meth:`to_record` output.

        Example:
            >>> CodeResult.from_record(CodeResult(1, "x").to_record()).exit_code
            1
        """
        data = dict(record)
        data["files"] = tuple(data.get("files") or ())
        return cls(**data)


def format_result(result: CodeResult) -> str:
    """The reply a code node sends back, in AutoGen's format.

    Example:
        >>> print(format_result(CodeResult(0, "hi\\n")))
        exitcode: 0 (execution succeeded)
        Code output: hi
        <BLANKLINE>
    """
    status = "execution succeeded" if result.succeeded else "execution failed"
    return f"exitcode: {result.exit_code} ({status})\nCode output: {result.output}"
