"""Amount currencies on the mining and agriculture dashboards."""

from __future__ import annotations

import json

import pytest
from nature_risk.amounts import REASON_MIXED_CURRENCY, REASON_OTHER_CURRENCY
from nature_risk.biodiversity.agriculture import (
    build_agriculture_dashboard,
    parse_agriculture_holdings,
)
from nature_risk.biodiversity.mining import build_mining_dashboard, parse_mining_assets
from nature_risk.config import InputLimits
from nature_risk.errors import InputError
from nature_risk.knowledge_base import load_knowledge_base

from tests.unit.biodiversity_support import load_data

LIMITS = InputLimits()
MINING = "name,latitude,longitude,"
AGRICULTURE = "commodity,country,production_tonnes,"


@pytest.fixture(scope="module")
def data(biodiversity_dir):
    return load_data(biodiversity_dir)


@pytest.fixture(scope="module")
def kb(encore_dir):
    return load_knowledge_base(encore_dir)


def mining_problems(body: str, content_type: str = "text/csv") -> list[dict]:
    with pytest.raises(InputError) as caught:
        parse_mining_assets(body.encode(), content_type, LIMITS)
    return [problem.to_dict() for problem in caught.value.problems]


def mining_dashboard(data, body: str, content_type: str = "text/csv") -> dict:
    assets = parse_mining_assets(body.encode(), content_type, LIMITS)
    return build_mining_dashboard(
        assets, data, [], radius_km=10, coastal_fallback_km=25
    )


def test_mining_cell_differs_from_header():
    problems = mining_problems(MINING + "Amount (EUR)\nA,-23.45,-68.95,5 USD\n")
    assert problems == [{"reason": REASON_OTHER_CURRENCY, "row": 2, "field": "amount"}]


def test_mining_cells_in_two_currencies():
    body = MINING + "amount\nA,-23.45,-68.95,5 USD\nB,-23.5,-68.9,5 EUR\n"
    problems = mining_problems(body)
    assert problems == [{"reason": REASON_MIXED_CURRENCY, "row": 3, "field": "amount"}]


def test_mining_cell_differs_from_column():
    body = MINING + "amount,currency\nA,-23.45,-68.95,5 USD,EUR\n"
    problems = mining_problems(body)
    assert problems == [{"reason": REASON_OTHER_CURRENCY, "row": 2, "field": "amount"}]


def test_mining_currency_column_mixed():
    body = MINING + "amount,currency\nA,-23.45,-68.95,5,USD\nB,-23.5,-68.9,5,EUR\n"
    problems = mining_problems(body)
    assert problems == [
        {"reason": "every holding must have the same currency", "field": "currency"}
    ]


def test_mining_json_field_differs_from_cell():
    payload = {
        "currency": "EUR",
        "assets": [{"latitude": -23.45, "longitude": -68.95, "amount": "5 USD"}],
    }
    problems = mining_problems(json.dumps(payload), "application/json")
    assert problems == [{"reason": REASON_OTHER_CURRENCY, "field": "assets[0].amount"}]


def test_mining_json_field_not_iso_code():
    payload = {"currency": "dollars", "assets": [{"latitude": 1, "longitude": 1}]}
    problems = mining_problems(json.dumps(payload), "application/json")
    assert problems == [
        {"reason": "invalid currency: expected an ISO 4217 code", "field": "currency"}
    ]


def test_mining_problem_omits_cell_text():
    problems = mining_problems(MINING + "Amount (EUR)\nA,-23.45,-68.95,5 USD\n")
    assert "USD" not in json.dumps(problems)


@pytest.mark.parametrize(
    ("body", "currency"),
    [
        (MINING + "Amount (EUR)\nA,-23.45,-68.95,5\n", "EUR"),
        (MINING + "amount,ccy\nA,-23.45,-68.95,5,usd\n", "USD"),
        (MINING + "amount\nA,-23.45,-68.95,€ 5\n", "EUR"),
        (MINING + "amount\nA,-23.45,-68.95,5\n", None),
    ],
)
def test_mining_dashboard_states_currency(data, body, currency):
    assert mining_dashboard(data, body)["currency"] == currency


def test_mining_json_currency_stated(data):
    payload = {
        "currency": "chf",
        "assets": [{"latitude": -23.45, "longitude": -68.95, "amount": 5}],
    }
    dashboard = mining_dashboard(data, json.dumps(payload), "application/json")
    assert dashboard["currency"] == "CHF"


def test_mining_no_amounts_no_currency(data):
    body = MINING + "currency\nA,-23.45,-68.95,EUR\n"
    assert mining_dashboard(data, body)["currency"] is None


def test_agriculture_cell_differs_from_header():
    body = AGRICULTURE + "Amount (EUR)\nwheat,FR,10,5 USD\n"
    with pytest.raises(InputError) as caught:
        parse_agriculture_holdings(body.encode(), "text/csv", LIMITS)
    problems = [problem.to_dict() for problem in caught.value.problems]
    assert problems == [{"reason": REASON_OTHER_CURRENCY, "row": 2, "field": "amount"}]


def test_agriculture_dashboard_states_currency(data, kb):
    body = AGRICULTURE + "amount,currency\nwheat,FR,10,5,GBP\n"
    holdings = parse_agriculture_holdings(body.encode(), "text/csv", LIMITS)
    dashboard = build_agriculture_dashboard(holdings, data, [], kb)
    assert dashboard["currency"] == "GBP"
