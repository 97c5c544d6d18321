"""Benchmark saving and reloading a 10,000-holding portfolio against bare COPY.

One run starts a TLS-only PostgreSQL on 127.0.0.1 and, over one verified-TLS
connection, times the repository's save (``create_portfolio`` in its own
transaction) and reload (``get_portfolio``, holdings parsed into Python
objects). The baseline sends the same holding rows with ``COPY ... FROM
STDIN`` into a table like ``holdings`` (same columns and primary key) and
reads them back with ``COPY ... TO STDOUT`` as raw bytes, over the same
connection. The baseline's COPY text is prepared before timing, while the
product's time includes turning the holdings into JSON and back. Each figure
is the median of ``REPEATS`` runs.

Target: save plus reload at most 3x the COPY round trip.
"""

from __future__ import annotations

import io
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from nature_risk.config.database import DatabaseSettings, PortfolioLimits
from nature_risk.storage import portfolios as repository
from nature_risk.storage.db import Credentials, Database
from nature_risk.storage.migrations import apply_migrations

from infra.local.postgres import start_postgres

HOLDINGS = 10_000
REPEATS = 7
TARGET_RATIO = 3.0


class _Login:
    def __init__(self, user: str, password: str) -> None:
        self.login = Credentials(user, password)

    def get(self) -> Credentials:
        return self.login

    def invalidate(self) -> None:
        pass


def _holdings() -> list[dict[str, Any]]:
    return [
        {
            "row": index + 2,
            "name": f"Company {index:05d} S.A.",
            "code": f"C_10_{100 + index % 900}",
            "amount": round(1_000 + index * 37.25, 2),
        }
        for index in range(HOLDINGS)
    ]


def _copy_text(portfolio_id: uuid.UUID, holdings: list[dict[str, Any]]) -> bytes:
    lines = []
    for position, holding in enumerate(holdings):
        data = json.dumps(holding, ensure_ascii=False).replace("\\", "\\\\")
        lines.append(f"{portfolio_id}\t{position}\t{data}\n")
    return "".join(lines).encode("utf-8")


def _timed(action: Any) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _measure(database: Database, holdings: list[dict[str, Any]]) -> dict[str, float]:
    limits = PortfolioLimits(max_holdings=HOLDINGS)
    draft = repository.PortfolioDraft("Benchmark", "natural_capital", "EUR", holdings)
    saved: list[uuid.UUID] = []

    def save() -> None:
        with database.transaction() as connection:
            portfolio = repository.create_portfolio(connection, "bench", draft, limits)
        saved.append(portfolio.id)

    def reload() -> None:
        with database.transaction() as connection:
            loaded = repository.get_portfolio(connection, "bench", saved[-1])
        assert len(loaded.holdings) == HOLDINGS

    # The COPY text is built once, outside the timed step, so the baseline is
    # the bare transfer and storage of the rows.
    rows = _copy_text(uuid.uuid4(), holdings)

    def copy_round_trip() -> None:
        with database.transaction() as connection:
            connection.run("TRUNCATE copy_baseline")
            connection.run(
                "COPY copy_baseline (portfolio_id, position, data) FROM STDIN",
                stream=io.BytesIO(rows),
            )
            out = io.BytesIO()
            connection.run(
                "COPY (SELECT data FROM copy_baseline ORDER BY position) TO STDOUT",
                stream=out,
            )
        assert out.getvalue().count(b"\n") == HOLDINGS

    with database.transaction() as connection:
        connection.run(
            "CREATE TABLE IF NOT EXISTS copy_baseline "
            "(LIKE holdings INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
            "INCLUDING INDEXES)"
        )
    save()
    reload()
    copy_round_trip()

    samples: dict[str, list[float]] = {"save": [], "reload": [], "copy": []}
    for _ in range(REPEATS):
        samples["save"].append(_timed(save))
        samples["reload"].append(_timed(reload))
        samples["copy"].append(_timed(copy_round_trip))
    return {name: statistics.median(values) for name, values in samples.items()}


def run() -> str:
    """Run the benchmark and return its Markdown section."""
    with tempfile.TemporaryDirectory(prefix="bench-portfolio-") as workdir:
        server = start_postgres(Path(workdir))
        try:
            connection = server.connect()
            try:
                apply_migrations(connection)
            finally:
                connection.close()
            settings = DatabaseSettings(
                host="localhost",
                name=server.database,
                port=server.port,
                secret_arn="unused",
                ca_bundle=server.ca_file,
                statement_timeout_ms=60_000,
            )
            database = Database(settings, _Login(server.user, server.password))
            try:
                medians = _measure(database, _holdings())
            finally:
                database.close()
        finally:
            server.stop()

    product = medians["save"] + medians["reload"]
    ratio = product / medians["copy"]
    verdict = "met" if ratio <= TARGET_RATIO else "missed"
    return (
        "## Saved portfolios: save and reload against COPY\n\n"
        f"A portfolio of {HOLDINGS:,} holdings, saved and reloaded through the "
        "repository over one verified-TLS connection to a local PostgreSQL, "
        "against a bare COPY in and out of the same rows over the same "
        f"connection. Medians of {REPEATS} runs.\n\n"
        "| Step | Median (ms) |\n|---|---:|\n"
        f"| Save (`create_portfolio`) | {medians['save'] * 1000:.1f} |\n"
        f"| Reload (`get_portfolio`) | {medians['reload'] * 1000:.1f} |\n"
        f"| Save + reload | {product * 1000:.1f} |\n"
        f"| COPY in + COPY out | {medians['copy'] * 1000:.1f} |\n\n"
        f"Ratio {ratio:.2f}x; target at most {TARGET_RATIO:.0f}x: {verdict}.\n"
    )


if __name__ == "__main__":
    print(run())
