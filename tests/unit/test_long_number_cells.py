"""Long number cells are rejected without catastrophic regex backtracking.

A number pattern whose quantifiers can share characters (``\\d+\\.?\\d*``)
backtracks in quadratic time on a long cell of digits that fails to match. A
10,000-digit cell took about 24 s, and the 4 MiB body limit allows cells
hundreds of times longer. Each case reads a 1,000,000-character cell under a
deadline of 60 s, which only runaway backtracking can reach.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from nature_risk.biodiversity.agriculture import parse_agriculture_holdings
from nature_risk.biodiversity.mining import parse_mining_assets
from nature_risk.config import InputLimits
from nature_risk.errors import InputError
from nature_risk.portfolio_input import parse_holdings

DEADLINE_SECONDS = 60
# Digits then a letter, so that every number pattern fails only at the end.
LONG_NUMBER = "1" * 1_000_000 + "x"
LIMITS = InputLimits(max_body_bytes=8 * 1024 * 1024)


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    def expire(signum, frame):
        raise TimeoutError(f"not done within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def natural_capital_csv(cell: str) -> None:
    body = f"name,code,amount\nA,0111,{cell}\nB,0112,5\n".encode()
    parse_holdings(body, "text/csv", LIMITS)


def natural_capital_json(cell: str) -> None:
    body = f'{{"holdings": [{{"code": "0111", "amount": "{cell}"}}]}}'.encode()
    parse_holdings(body, "application/json", LIMITS)


def mining_latitude(cell: str) -> None:
    body = (
        f"name,latitude,longitude,commodity,status\nA,{cell},10,copper,operating\n"
    ).encode()
    parse_mining_assets(body, "text/csv", LIMITS)


def agriculture_production(cell: str) -> None:
    body = (
        f"company,commodity,country,production_tonnes\nFarms,wheat,FR,{cell}\n"
    ).encode()
    parse_agriculture_holdings(body, "text/csv", LIMITS)


@pytest.mark.parametrize(
    ("parse", "location"),
    [
        (natural_capital_csv, (2, "amount")),
        (natural_capital_json, (None, "holdings[0].amount")),
        (mining_latitude, (2, "latitude")),
        (agriculture_production, (2, "production_tonnes")),
    ],
)
@pytest.mark.parametrize("cell", [LONG_NUMBER, "€ " + LONG_NUMBER, "(" + LONG_NUMBER])
def test_long_number_cell_rejected(
    parse: Callable[[str], None], location: tuple[int | None, str], cell: str
) -> None:
    with deadline(DEADLINE_SECONDS), pytest.raises(InputError) as raised:
        parse(cell)

    assert location in [(p.row, p.field) for p in raised.value.problems]
