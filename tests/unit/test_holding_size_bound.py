"""The cheap size bound that lets saving skip the exact count for most holdings."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from nature_risk.storage.portfolios import _escaped_size_bound, escaped_size

HOLDING_VALUES = st.one_of(
    st.text(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.none(),
)
HOLDINGS = st.dictionaries(st.text(max_size=20), HOLDING_VALUES, max_size=6)


@given(HOLDINGS)
def test_bound_never_below_exact_size(holding: dict) -> None:
    assert _escaped_size_bound(holding) >= escaped_size(holding)


def test_bound_of_lone_surrogate_is_exact() -> None:
    holding = {"name": "a\ud800b"}
    assert _escaped_size_bound(holding) == escaped_size(holding)
