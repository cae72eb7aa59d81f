"""Reading Server-Sent Events in tests."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass
class SSE:
    event: str
    data: Any
    id: str | None


def parse(lines: Iterable[str]) -> Iterator[SSE]:
    """The events in an SSE stream's lines (comments and ``retry:`` skipped)."""
    event, data, event_id = "message", [], None
    for line in lines:
        if line == "":
            if data:
                yield SSE(event, json.loads("\n".join(data)), event_id)
            event, data, event_id = "message", [], None
        elif line.startswith(":") or line.startswith("retry:"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                event = value
            elif field == "data":
                data.append(value)
            elif field == "id":
                event_id = value


def parse_text(text: str) -> list[SSE]:
    return list(parse(text.split("\n")))
