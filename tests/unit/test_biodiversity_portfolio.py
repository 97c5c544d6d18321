"""Saved-portfolio hooks: stored records give the same dashboards as the routes."""

from __future__ import annotations

import json

import pytest
from nature_risk.biodiversity import get_biodiversity
from nature_risk.biodiversity.portfolio import (
    agriculture_portfolio_dashboard,
    mining_portfolio_dashboard,
    parse_agriculture_portfolio,
    parse_mining_portfolio,
)
from nature_risk.config import InputLimits
from nature_risk.errors import InputError

LIMITS = InputLimits()


@pytest.fixture(autouse=True)
def environment(monkeypatch, biodiversity_dir, encore_dir):
    monkeypatch.setenv("BIODIVERSITY_DATA_DIR", str(biodiversity_dir))
    monkeypatch.setenv("ENCORE_KB_DIR", str(encore_dir))
    monkeypatch.delenv("BIODIVERSITY_PACKS_DIR", raising=False)
    get_biodiversity.cache_clear()
    yield
    get_biodiversity.cache_clear()


def stored(parsed):
    return json.loads(json.dumps(parsed.records)), dict(parsed.options)


def test_mining_records_give_dashboard():
    body = (
        b"name,latitude,longitude,status,amount\n"
        b"Escondida,-24.27,-69.07,operating,10\nEscondida,-24.27,-69.07,operating,10\n"
    )
    records, options = stored(parse_mining_portfolio(body, "text/csv", LIMITS))
    assert records[0]["latitude"] == -24.27
    dashboard = mining_portfolio_dashboard(records, None, options)
    assert dashboard["assets"][0]["ecoregion"]["name"] == "Atacama desert"
    assert dashboard["warnings"][0]["row"] == 3


def test_mining_json_rows_kept_after_reload():
    payload = {
        "assets": [{"latitude": 1, "longitude": 10}, {"latitude": 1, "longitude": 10}]
    }
    body = json.dumps(payload).encode()
    records, options = stored(parse_mining_portfolio(body, "application/json", LIMITS))
    dashboard = mining_portfolio_dashboard(records, None, options)
    assert dashboard["warnings"][0]["field"] == "assets[1].latitude"


def test_mining_parse_rejects_bad_rows():
    with pytest.raises(InputError):
        parse_mining_portfolio(b"latitude,longitude\n0,0\n", "text/csv", LIMITS)


def test_agriculture_records_give_dashboard():
    body = b"commodity,country,production_tonnes\nwheat,FR,68427\n"
    records, options = stored(parse_agriculture_portfolio(body, "text/csv", LIMITS))
    dashboard = agriculture_portfolio_dashboard(records, None, options)
    assert dashboard["holdings"][0]["footprint_hectares"] == pytest.approx(10_000.0)
    assert dashboard["holdings"][0]["row"] == 2


def test_saved_mining_keeps_column_currency():
    body = "name,latitude,longitude,amount,currency\nA,-23.45,-68.95,5,EUR\n"
    parsed = parse_mining_portfolio(body.encode(), "text/csv", LIMITS)
    assert parsed.currency == "EUR"
    dashboard = mining_portfolio_dashboard(parsed.records, "EUR", parsed.options)
    assert dashboard["currency"] == "EUR"


def test_saved_agriculture_keeps_header_currency():
    body = "commodity,country,production_tonnes,Amount (USD)\nwheat,FR,10,5\n"
    parsed = parse_agriculture_portfolio(body.encode(), "text/csv", LIMITS)
    assert parsed.currency == "USD"
    dashboard = agriculture_portfolio_dashboard(parsed.records, "USD", parsed.options)
    assert dashboard["currency"] == "USD"
