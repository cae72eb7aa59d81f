"""The current date and time, for models that cannot know it."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["current_time"]


def current_time(tz: Annotated[str, "an IANA time zone such as Europe/Paris, or UTC"] = "UTC",
                 ) -> str:  # fmt: skip
    """Return the current date and time in a time zone, as ISO 8601 with the weekday.

    Example:
        >>> current_time("UTC")[-6:]
        '+00:00'
    """
    if tz.upper() == "UTC":
        zone: timezone | ZoneInfo = timezone.utc
    else:
        try:
            zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {tz!r}; use an IANA name such as "
                             "America/New_York, or UTC") from None  # fmt: skip
    now = datetime.now(zone).replace(microsecond=0)
    return f"{now.strftime('%A')} {now.isoformat()}"
