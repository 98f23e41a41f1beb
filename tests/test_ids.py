"""Thread ids: generated ones are random UUID4s; chosen ones follow one documented rule."""

from __future__ import annotations

import re
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from threaddesk.errors import InvalidThreadId
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
