"""Human durations (`90s` ... `2w`): parsed strictly, formatted back exactly or roughly."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from threaddesk.durations import MAX_DURATION, format_duration, parse_duration, rough_duration
from threaddesk.errors import InvalidDuration


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("12h", timedelta(hours=12)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        (" 30D ", timedelta(days=30)),
    ],
)
def test_durations_parse(text: str, delta: timedelta) -> None:
    assert parse_duration(text) == delta


@pytest.mark.parametrize("bad", ["", "7", "d", "7x", "-1d", "0d", "1.5h", "7 days", "1e3s", None, 5])
def test_bad_durations_are_rejected(bad: object) -> None:
    with pytest.raises(InvalidDuration, match="invalid duration"):
        parse_duration(bad)  # type: ignore[arg-type]


@given(st.integers(min_value=1, max_value=10**6), st.sampled_from("smhdw"))
def test_format_duration_round_trips(n: int, unit: str) -> None:
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit]
    assume(n * seconds <= MAX_DURATION.total_seconds())
    delta = parse_duration(f"{n}{unit}")
    assert parse_duration(format_duration(delta)) == delta


@pytest.mark.parametrize("text", ["5201w", "36501d", "999999999w", "999999999d"])
def test_durations_past_100_years_are_refused(text: str) -> None:
    """Otherwise "now minus the duration" overflows the calendar (a 500 before this check)."""
    assert parse_duration("5200w") == MAX_DURATION
    with pytest.raises(InvalidDuration, match="at most 100 years"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=-5), "0s"),
        (timedelta(seconds=59), "59s"),
        (timedelta(seconds=61), "1m"),
        (timedelta(hours=47, minutes=59), "1d"),
        (timedelta(days=13), "1w"),
        (timedelta(weeks=2, days=6), "2w"),
    ],
)
def test_rough_duration_rounds_down_to_the_largest_unit(delta: timedelta, text: str) -> None:
    assert rough_duration(delta) == text
