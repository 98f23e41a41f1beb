"""Ids and durations."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from threaddesk.durations import MAX_DURATION, format_duration, parse_duration
from threaddesk.errors import InvalidDuration, InvalidThreadId
from threaddesk.ids import new_thread_id, validate_thread_id

# The 6 fixed bits of a UUID4: version 0100 (bits 76-79) and variant 10 (bits 62-63), counted from the LSB.
_FIXED_BITS = (0b1111 << 76) | (0b11 << 62)


def test_generated_ids_are_random_uuid4() -> None:
    """122 random bits: over 10,000 ids each free bit takes both values, the 6 fixed ones never vary."""
    generated = [new_thread_id() for _ in range(10_000)]
    assert len(set(generated)) == 10_000
    ones, zeros = 0, 0
    for tid in generated:
        value = uuid.UUID(tid)
        assert value.version == 4 and value.variant == uuid.RFC_4122 and str(value) == tid
        assert validate_thread_id(tid) == tid
        ones |= value.int
        zeros |= ~value.int & (2**128 - 1)
    free = (2**128 - 1) & ~_FIXED_BITS
    assert ones & zeros == free  # every free bit was seen both set and clear; the fixed ones never varied
    assert bin(free).count("1") == 122


@given(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}", fullmatch=True))
def test_every_well_formed_id_is_accepted(tid: str) -> None:
    assert validate_thread_id(tid) == tid


@given(st.text(max_size=140))
def test_validation_matches_the_documented_rule(tid: str) -> None:
    ok = re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}", tid, flags=re.ASCII) is not None
    if ok:
        assert validate_thread_id(tid) == tid
    else:
        with pytest.raises(InvalidThreadId):
            validate_thread_id(tid)


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
