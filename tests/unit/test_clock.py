"""The once-per-second ISO time text is exactly what ``datetime.strftime`` writes, for
any moment, including those a microsecond before the next second (which
``fromtimestamp`` rounds up)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from sealbox.server.clock import iso_second


def _expected(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@given(st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False))
def test_iso_second_matches_strftime(moment: float) -> None:
    assert iso_second(moment) == _expected(moment)


@given(
    st.integers(min_value=0, max_value=4_102_444_800),
    st.sampled_from([0.9999994, 0.9999995, 0.9999996, 0.99999999]),
)
def test_iso_second_at_the_edge_of_a_second(second: int, fraction: float) -> None:
    for moment in (second + 0.5, second + fraction, second + 1.0):  # cached, then the edge
        assert iso_second(moment) == _expected(moment)
