"""Parse time of 100,000-holding uploads in each form the dashboards accept.

Target: every form parses in well under a second, so the parser never takes a
large share of the 29 s function timeout. The baseline is a bare
``pandas.read_csv`` of the plain CSV file.
"""

from __future__ import annotations

import io
import json
import statistics
import time

import pandas as pd
from nature_risk.config import InputLimits
from nature_risk.portfolio_input import parse_holdings

from tests.events import multipart_body

HOLDINGS = 100_000
REPEATS = 5
# Large enough for every body below; the default limit is 4 MiB.
LIMITS = InputLimits(max_body_bytes=16 * 1024 * 1024, max_rows=HOLDINGS)


def _median_seconds(action) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _csv(amount: str) -> bytes:
    rows = "".join(
        f"Holding {i},0111,{amount.format(i=i + 1)}\n" for i in range(HOLDINGS)
    )
    return ("name,code,amount\n" + rows).encode()


def _bodies() -> list[tuple[str, bytes, str]]:
    plain = _csv("{i}.5")
    records = [{"code": "0111", "amount": i + 1} for i in range(HOLDINGS)]
    upload, upload_type = multipart_body({"file": ("p.csv", plain, "text/csv")})
    return [
        ("CSV, plain amounts", plain, "text/csv"),
        ("CSV, amounts with a currency code (`5 EUR`)", _csv("{i} EUR"), "text/csv"),
        ('CSV, written amounts (`"€ 1.234,50"`)', _csv('"€ {i},50"'), "text/csv"),
        (
            "CSV in UTF-16LE, declared by charset",
            plain.decode().encode("utf-16-le"),
            "text/csv; charset=utf-16le",
        ),
        (
            "JSON records",
            json.dumps({"holdings": records}).encode(),
            "application/json",
        ),
        ("Multipart upload of the plain CSV", upload, upload_type),
    ]


def run() -> str:
    plain = _csv("{i}.5")
    baseline = _median_seconds(
        lambda: pd.read_csv(io.BytesIO(plain), dtype={"code": str})
    )
    rows = [f"| Bare `pandas.read_csv` of the plain CSV | {baseline * 1000:.0f} |\n"]
    for label, body, content_type in _bodies():
        seconds = _median_seconds(
            lambda body=body, content_type=content_type: parse_holdings(
                body, content_type, LIMITS
            )
        )
        rows.append(f"| `parse_holdings`, {label} | {seconds * 1000:.0f} |\n")
    return (
        "## Upload parsing\n\n"
        f"Script: `bench/bench_upload_parsing.py`, median of {REPEATS} runs, "
        f"{HOLDINGS:,} holdings. Target: each form well under 1,000 ms.\n\n"
        "| Step | Time (ms) |\n|---|---:|\n" + "".join(rows)
    )
