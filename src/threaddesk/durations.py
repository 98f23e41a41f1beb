"""Human durations (`90s`, `15m`, `12h`, `7d`, `2w`) used for idle TTLs everywhere."""

from __future__ import annotations

import re
from datetime import timedelta

from threaddesk.errors import InvalidDuration

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Past this, "now minus the duration" falls off the calendar; nobody needs a longer TTL.
MAX_DURATION = timedelta(weeks=52 * 100)
_DURATION = re.compile(r"\s*(\d{1,9})\s*([smhdw])\s*")


def parse_duration(text: str | timedelta) -> timedelta:
    """Parse `<number><unit>`; raise `InvalidDuration` for anything else (zero, over 100 years)."""
    if isinstance(text, timedelta):
        if not timedelta(0) < text <= MAX_DURATION:
            raise InvalidDuration(text)
        return text
    if not isinstance(text, str):
        raise InvalidDuration(text)
    match = _DURATION.fullmatch(text.lower())
    if not match:
        raise InvalidDuration(text)
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if not 0 < seconds <= MAX_DURATION.total_seconds():
        raise InvalidDuration(text)
    return timedelta(seconds=seconds)


_LARGEST_FIRST = sorted(_UNITS, key=_UNITS.__getitem__, reverse=True)


def format_duration(delta: timedelta) -> str:
    """The largest whole unit that expresses `delta` exactly (inverse of `parse_duration`)."""
    seconds = int(delta.total_seconds())
    for unit in _LARGEST_FIRST:
        if seconds and seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


def rough_duration(delta: timedelta) -> str:
    """The largest unit that fits in `delta`, rounded down (`3m`, `2d`), for a glance; negative is 0s."""
    seconds = max(0, int(delta.total_seconds()))
    unit = next((u for u in _LARGEST_FIRST if seconds >= _UNITS[u]), "s")
    return f"{seconds // _UNITS[unit]}{unit}"
