"""The privacy canary for the functions with a database: portfolio and backup.

Each portfolio case first saves one portfolio with marked names for a marked
owner, then calls the route with marked input. Each backup case saves marked
portfolios, then runs the scheduled job. Nothing written to stdout, stderr,
any log handler, warnings or the runtime's error output may contain four
characters or more of a marker. The cases are in ``tests/canary/cases.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from nature_risk.config.database import PortfolioLimits
from nature_risk.observability import InvocationFailed
from nature_risk.storage import portfolios as repository

from infra.local.events import LambdaContext
from infra.local.postgres import PostgresServer
from tests.canary.capture import capture_output
from tests.canary.cases import (
    BACKUP_CASES,
    PORTFOLIO_CASES,
    marked_portfolio,
)
from tests.canary.markers import Markers, find_leaks, leak_report
from tests.canary.runner import build_event, invoke, runtime_error_output
from tests.functions import load_function
from tests.integration.backup_support import (  # noqa: F401 - fixtures
    BackupBucket,
    bucket_fixture,
)


def assert_no_leak(text: str, markers: Markers) -> None:
    assert markers.issued, "the case sent no marker"
    leaks = find_leaks(text, markers.issued)
    assert not leaks, leak_report(text, leaks)


def save_marked_portfolio(server: PostgresServer, markers: Markers) -> None:
    """Save a marked portfolio for a marked owner; note its id, ETag and owner."""
    owner = markers.new("user-")
    fields = marked_portfolio(markers)
    holdings = [
        {"row": row, "name": holding["name"], "code": holding["code"], "amount": 1.0}
        for row, holding in enumerate(fields["holdings"], start=2)
    ]
    draft = repository.PortfolioDraft(
        name=fields["name"],
        module=fields["module"],
        currency=fields["currency"],
        holdings=holdings,
    )
    connection = server.connect()
    try:
        connection.run("START TRANSACTION")
        portfolio = repository.create_portfolio(
            connection, owner, draft, PortfolioLimits()
        )
        connection.run("COMMIT")
    finally:
        connection.close()
    markers.context.update(
        sub=owner, portfolio_id=str(portfolio.id), etag=f'"{portfolio.version}"'
    )


@pytest.fixture
def portfolio_function(
    database_secret: str, encore_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ModuleType]:
    monkeypatch.setenv("ENCORE_KB_DIR", str(encore_dir))
    module = load_function("portfolio", fresh=True)
    yield module
    module.reset_database()


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in PORTFOLIO_CASES])
def test_portfolio_case_leaks_nothing(
    case, portfolio_function, clean_database, monkeypatch, capfd
):
    markers = Markers()
    save_marked_portfolio(clean_database, markers)
    event = build_event(case, markers)
    if case.patch is not None:
        case.patch(monkeypatch, markers, portfolio_function)

    outcome = invoke(portfolio_function, event, "portfolio")
    descriptors = capfd.readouterr()

    assert outcome.error is None, "an API handler raised instead of answering"
    assert outcome.response["statusCode"] in case.statuses, outcome.response
    assert_no_leak(outcome.output + descriptors.out + descriptors.err, markers)
    error = json.loads(outcome.response.get("body") or "{}").get("error", {})
    if error.get("code") == "internal_error":
        assert error["request_id"] == event["requestContext"]["requestId"]


@pytest.fixture
def backup_function(
    database_secret: str, bucket: BackupBucket, monkeypatch: pytest.MonkeyPatch
) -> Any:
    monkeypatch.setenv("BACKUP_BUCKET", bucket.name)
    monkeypatch.setenv("BACKUP_KMS_KEY_ARN", bucket.kms_key_arn)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "backup")
    return load_function("backup", fresh=True)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in BACKUP_CASES])
def test_backup_case_leaks_nothing(
    case, backup_function, clean_database, monkeypatch, capfd
):
    markers = Markers()
    save_marked_portfolio(clean_database, markers)
    save_marked_portfolio(clean_database, markers)
    events = case.build(markers)
    if case.patch is not None:
        case.patch(monkeypatch, markers, backup_function)

    results: list[Any] = []
    error: BaseException | None = None
    with capture_output() as output:
        for event in events:
            try:
                results.append(
                    backup_function.lambda_handler(event, LambdaContext("backup"))
                )
            except InvocationFailed as raised:
                error = raised
    descriptors = capfd.readouterr()
    text = output.getvalue() + descriptors.out + descriptors.err
    if error is not None:
        text += runtime_error_output(error)

    assert (error is not None) is case.raises
    if not case.raises:
        assert json.dumps(results, default=str)
    assert_no_leak(text, markers)
