"""Generated hostile portfolios leak no piece of any marker into the output.

Hypothesis builds natural-capital and biodiversity portfolios as JSON or CSV
whose every cell mixes a marker with hostile text: quotes, separators, line
breaks, byte order marks, control characters, formula prefixes, huge or
malformed numbers. Whatever status the route returns, the captured output
must show no four-character piece of a marker.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.canary.cases import UPLOAD_ROUTES, CanaryCase
from tests.canary.markers import Markers, find_leaks, leak_report, marker_for
from tests.canary.runner import Request, build_event, invoke
from tests.functions import load_function

HOSTILE_TEXT = st.sampled_from(
    [
        "",
        '"',
        "'",
        ",",
        ";",
        "\t",
        "\r\n",
        "\n",
        "\ufeff",
        "\x00",
        "=",
        "=cmd|' /C calc'!A0",
        "1e309",
        "-0",
        "NaN",
        "N/A",
        "1.234,56 €",
        "%s%s%n",
        "{0}",
        "\\",
        "\u202e",
        "Ω≈ç√",
    ]
)
MARKER_NUMBERS = st.integers(min_value=0, max_value=59_000_000)


@st.composite
def marked_cell(draw, markers: Markers) -> str:
    marker = markers.add(marker_for(draw(MARKER_NUMBERS)))
    return draw(HOSTILE_TEXT) + marker + draw(HOSTILE_TEXT)


@st.composite
def hostile_portfolio(draw):
    markers = Markers()
    route = draw(st.sampled_from(UPLOAD_ROUTES))
    template = route.valid_row(Markers())
    columns = list(template)
    if draw(st.booleans()):
        columns.append(draw(marked_cell(markers)))
    rows = []
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        row = {}
        for column in columns:
            keep_valid = column in template and draw(st.booleans())
            row[column] = template[column] if keep_valid else draw(marked_cell(markers))
        rows.append(row)

    if draw(st.booleans()):
        body = json.dumps({route.rows_key: rows}).encode()
        content_type = "application/json"
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
        body = buffer.getvalue().encode("utf-8", "surrogatepass")
        content_type = "text/csv"
    request = Request(
        "POST", route.path, headers=[("content-type", content_type)], body=body
    )
    case = CanaryCase(f"POST {route.path}", "generated", lambda m: request, frozenset())
    return case, markers


@pytest.fixture(autouse=True)
def data_folders(monkeypatch, encore_dir, biodiversity_dir) -> None:
    monkeypatch.setenv("ENCORE_KB_DIR", str(encore_dir))
    monkeypatch.setenv("BIODIVERSITY_DATA_DIR", str(biodiversity_dir))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(hostile_portfolio())
def test_hostile_portfolio_leaks_nothing(capfd, generated):
    case, markers = generated
    module = load_function("dashboard")
    event = build_event(case, markers)

    outcome = invoke(module, event, "dashboard")
    descriptors = capfd.readouterr()

    assert outcome.error is None
    assert outcome.response["statusCode"] in {200, 400, 413, 415, 422}
    text = outcome.output + descriptors.out + descriptors.err
    leaks = find_leaks(text, markers.issued)
    assert not leaks, leak_report(text, leaks)
