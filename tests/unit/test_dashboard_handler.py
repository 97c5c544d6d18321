"""The dashboard function's handler, called with full payload-2.0 events."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from nature_risk.config import InputLimits
from nature_risk.errors import InputError, PayloadTooLarge, UnsupportedMediaType
from nature_risk.option_flags import parse_flag

from tests.events import (
    csv_event,
    http_event,
    json_event,
    lambda_context,
    multipart_event,
)
from tests.functions import load_function


@pytest.fixture(scope="module")
def dashboard(encore_dir: Path) -> Iterator[ModuleType]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ENCORE_KB_DIR", str(encore_dir))
        yield load_function("dashboard")


@pytest.fixture(scope="module")
def uploads(dashboard: ModuleType) -> ModuleType:
    import dashboard_uploads

    return dashboard_uploads


def _call(dashboard: ModuleType, event: dict[str, Any]) -> dict[str, Any]:
    return dashboard.lambda_handler(event, lambda_context())


def _json(response: dict[str, Any]) -> Any:
    body = response["body"]
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8")
    return json.loads(body)


def _header(response: dict[str, Any], name: str) -> str | None:
    for key, value in (response.get("headers") or {}).items():
        if key.lower() == name.lower():
            return value
    return None


def test_health_is_ok(dashboard: ModuleType) -> None:
    response = _call(dashboard, http_event("GET", "/health"))

    assert response["statusCode"] == 200
    assert _json(response) == {"status": "ok"}


def test_ecosystem_services_have_definitions(dashboard: ModuleType) -> None:
    response = _call(dashboard, http_event("GET", "/reference/ecosystem-services"))
    body = _json(response)

    assert response["statusCode"] == 200
    assert body["count"] == len(body["items"])
    assert body["count"] == 25
    assert body["release"]
    assert all(item["name"] for item in body["items"])
    assert any(item["definition"] for item in body["items"])


def test_water_purification_has_definition(dashboard: ModuleType) -> None:
    response = _call(dashboard, http_event("GET", "/reference/ecosystem-services"))
    [water] = [
        item
        for item in _json(response)["items"]
        if item["name"] == "Water purification"
    ]
    sub_services = {sub["name"]: sub["definition"] for sub in water["sub_services"]}

    assert water["definition"].startswith("Water purification services are")
    assert sub_services["Retention and breakdown of nutrients"] is None


def test_pressures_have_definitions(dashboard: ModuleType) -> None:
    response = _call(dashboard, http_event("GET", "/reference/pressures"))
    body = _json(response)

    assert response["statusCode"] == 200
    assert body["count"] == 13
    assert all(item["definition"] for item in body["items"])


def test_release_names_licence(dashboard: ModuleType) -> None:
    response = _call(dashboard, http_event("GET", "/reference/release"))
    body = _json(response)

    assert response["statusCode"] == 200
    assert body["licence"] == "CC BY-SA 4.0"
    assert body["activities"] == 271
    assert body["ecosystem_services"] == 25
    assert body["pressures"] == 13
    assert "ENCORE" in body["attribution"]
    assert body["files"]
    assert all(len(digest) == 64 for digest in body["files"].values())


def test_activities_first_page(dashboard: ModuleType) -> None:
    response = _call(dashboard, http_event("GET", "/reference/economic-activities"))
    body = _json(response)

    assert response["statusCode"] == 200
    assert body["total"] == 271
    assert body["limit"] == 50
    assert body["offset"] == 0
    assert len(body["items"]) == 50
    assert set(body["items"][0]) >= {"activity_id", "name", "section", "class"}


def test_activities_last_page(dashboard: ModuleType) -> None:
    event = http_event(
        "GET", "/reference/economic-activities", query={"limit": "100", "offset": "250"}
    )
    body = _json(_call(dashboard, event))

    assert body["total"] == 271
    assert len(body["items"]) == 21


def test_activities_text_search(dashboard: ModuleType) -> None:
    event = http_event(
        "GET", "/reference/economic-activities", query={"q": "Extraction CRUDE"}
    )
    body = _json(_call(dashboard, event))

    assert body["total"] >= 1
    for item in body["items"]:
        assert "crude" in json.dumps(item).casefold()


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("B", "B"),
        ("01", "A"),
        ("0111", "A"),
        ("A_1_11_111", "A"),
        ("A_01_011_0111", "A"),
        ("D_35_351", "D"),
    ],
)
def test_activities_code_search(
    dashboard: ModuleType, code: str, expected: str
) -> None:
    event = http_event("GET", "/reference/economic-activities", query={"code": code})
    body = _json(_call(dashboard, event))

    assert body["total"] >= 1
    assert {item["section"]["code"] for item in body["items"]} == {expected}


def test_activities_shared_code_rows(dashboard: ModuleType) -> None:
    event = http_event(
        "GET", "/reference/economic-activities", query={"code": "D_35_351"}
    )
    body = _json(_call(dashboard, event))

    assert body["total"] == 9
    assert len({item["activity_id"] for item in body["items"]}) == 9


def test_activities_code_resolution(dashboard: ModuleType) -> None:
    event = http_event("GET", "/reference/economic-activities", query={"code": "0111"})
    body = _json(_call(dashboard, event))

    assert body["resolution"]["status"] == "matched"
    assert body["resolution"]["activities"] == ["A_1_11_111"]


def test_activities_with_ratings(dashboard: ModuleType) -> None:
    event = http_event(
        "GET",
        "/reference/economic-activities",
        query={"code": "A_1_11_111", "include_ratings": "true"},
    )
    item = _json(_call(dashboard, event))["items"][0]

    assert len(item["dependencies"]) == 25
    assert len(item["pressures"]) == 13
    assert set(item["dependencies"].values()) <= {
        "VH",
        "H",
        "M",
        "L",
        "VL",
        "ND",
        "N/A",
    }


def test_activities_without_ratings(dashboard: ModuleType) -> None:
    body = _json(_call(dashboard, http_event("GET", "/reference/economic-activities")))

    assert "resolution" not in body or body["resolution"] is None
    assert body["items"][0].get("dependencies") is None


def test_activities_unknown_code_is_empty(dashboard: ModuleType) -> None:
    event = http_event("GET", "/reference/economic-activities", query={"code": "Z99"})
    response = _call(dashboard, event)

    assert response["statusCode"] == 200
    assert _json(response)["total"] == 0


@pytest.mark.parametrize("code", ["", "  "])
def test_activities_empty_code_is_missing(dashboard: ModuleType, code: str) -> None:
    event = http_event("GET", "/reference/economic-activities", query={"code": code})
    response = _call(dashboard, event)

    assert response["statusCode"] == 200
    assert _json(response)["resolution"]["reason"] == "missing_code"


def test_dashboard_empty_json_code_is_400(dashboard: ModuleType) -> None:
    payload = {"holdings": [{"name": "A", "code": ""}, {"name": "B", "code": "0111"}]}
    response = _call(dashboard, json_event(PATH, payload))
    error = _json(response)["error"]

    assert response["statusCode"] == 400
    assert error["problems"] == [
        {"reason": "missing code", "field": "holdings[0].code"}
    ]


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("limit=0", {"field": "query.limit", "reason": "must be at least 1"}),
        ("limit=501", {"field": "query.limit", "reason": "must be at most 500"}),
        ("offset=-1", {"field": "query.offset", "reason": "must be at least 0"}),
        (
            "offset=100001",
            {"field": "query.offset", "reason": "must be at most 100000"},
        ),
        ("limit=ten", {"field": "query.limit", "reason": "must be a whole number"}),
        ("limit=1.5", {"field": "query.limit", "reason": "must be a whole number"}),
        (
            "include_ratings=maybe",
            {"field": "query.include_ratings", "reason": "must be true or false"},
        ),
    ],
)
def test_activities_bad_paging_is_422(
    dashboard: ModuleType, query: str, problem: dict[str, str]
) -> None:
    event = http_event("GET", "/reference/economic-activities", query=query)
    response = _call(dashboard, event)
    error = _json(response)["error"]

    assert response["statusCode"] == 422
    assert error["code"] == "invalid_request"
    assert error["message"] == (
        "Some request parameters are invalid: each problem names one and what"
        " it must be."
    )
    assert error["problems"] == [problem]


def test_activities_long_query_is_422(dashboard: ModuleType) -> None:
    event = http_event("GET", "/reference/economic-activities", query={"q": "x" * 101})
    response = _call(dashboard, event)

    assert response["statusCode"] == 422
    assert "x" * 101 not in response["body"]
    assert _json(response)["error"]["problems"] == [
        {"field": "query.q", "reason": "must be at most 100 characters"}
    ]


@pytest.mark.parametrize(
    "parameter", ["limit", "offset", "q", "code", "include_ratings"]
)
def test_activities_repeated_parameter_is_422(
    dashboard: ModuleType, parameter: str
) -> None:
    query = f"{parameter}=1&{parameter}=2"
    event = http_event("GET", "/reference/economic-activities", query=query)
    response = _call(dashboard, event)

    assert response["statusCode"] == 422
    assert _json(response)["error"]["problems"] == [
        {"field": f"query.{parameter}", "reason": "must be given once"}
    ]


def test_long_template_name_is_422(dashboard: ModuleType) -> None:
    name = "x" * 65
    event = http_event(
        "GET",
        f"/templates/{name}",
        route_key="GET /templates/{module}",
        path_parameters={"module": name},
    )
    response = _call(dashboard, event)

    assert response["statusCode"] == 422
    assert name not in response["body"]
    assert _json(response)["error"]["problems"] == [
        {"field": "path.module", "reason": "must be at most 64 characters"}
    ]


def test_unknown_template_is_404(dashboard: ModuleType) -> None:
    event = http_event(
        "GET",
        "/templates/secret-name.csv",
        route_key="GET /templates/{module}",
        path_parameters={"module": "secret-name.csv"},
    )
    response = _call(dashboard, event)

    assert response["statusCode"] == 404
    assert _json(response)["error"]["code"] == "not_found"
    assert "secret-name" not in response["body"]


def test_template_is_csv_attachment(
    dashboard: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dashboard_templates

    monkeypatch.setitem(
        dashboard_templates._TEMPLATES, "example.csv", lambda: b"a,b\r\n1,2\r\n"
    )
    event = http_event(
        "GET",
        "/templates/example.csv",
        route_key="GET /templates/{module}",
        path_parameters={"module": "example.csv"},
    )
    response = _call(dashboard, event)

    assert response["statusCode"] == 200
    assert _header(response, "content-type").startswith("text/csv")
    assert _header(response, "content-disposition") == (
        'attachment; filename="example.csv"'
    )
    assert response["isBase64Encoded"] is True
    assert base64.b64decode(response["body"]) == b"a,b\r\n1,2\r\n"


def test_openapi_document_served(dashboard: ModuleType) -> None:
    response = _call(dashboard, http_event("GET", "/openapi.json"))
    document = _json(response)

    assert response["statusCode"] == 200
    assert "/reference/economic-activities" in document["paths"]
    assert "/openapi.json" not in document["paths"]


def test_swagger_ui_served(dashboard: ModuleType) -> None:
    response = _call(dashboard, http_event("GET", "/swagger"))

    assert response["statusCode"] == 200
    assert _header(response, "content-type").startswith("text/html")


def test_unknown_path_is_404(dashboard: ModuleType) -> None:
    response = _call(dashboard, http_event("GET", "/nowhere", route_key="$default"))

    assert response["statusCode"] == 404


# The natural capital dashboard, one test per content type and failure.

PATH = "/dashboards/natural-capital"
CSV_TEXT = "name,code,amount\nNorthfield Farms,A_1_11_111,2500000\nMill,C_10_106,100\n"


def _dashboard(response: dict[str, Any], dashboard: ModuleType) -> dict[str, Any]:
    import dashboard_schemas

    assert response["statusCode"] == 200, response["body"]
    body = _json(response)
    # The documented response model forbids extra fields, so drift fails here.
    dashboard_schemas.NaturalCapitalDashboard.model_validate(body)
    return body


def test_dashboard_from_json(dashboard: ModuleType) -> None:
    event = json_event(
        PATH,
        {
            "currency": "EUR",
            "holdings": [
                {"name": "Farm", "code": "0111", "amount": 300},
                {"name": "Unknown", "code": "ZZ-999", "amount": 100},
            ],
        },
    )
    body = _dashboard(_call(dashboard, event), dashboard)

    assert event["isBase64Encoded"] is False
    assert body["currency"] == "EUR"
    assert body["totals"]["holdings"] == 2
    assert body["totals"]["matched_holdings"] == 1
    assert body["totals"]["exposure"] == 400
    assert body["unmatched"][0]["row"] == 1
    assert body["unmatched"][0]["field"] == "code"
    assert "ZZ-999" not in json.dumps(body["unmatched"])


# Lambda rejects a synchronous response payload larger than 6 MB.
LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024


def test_unknown_codes_fit_lambda_response(dashboard: ModuleType) -> None:
    # The worst case for size: as many distinct unknown codes as rows allowed.
    rows = InputLimits().max_rows
    csv_text = "code,amount\n" + "".join(f"ZZ{i:07d},1\n" for i in range(rows))
    response = _call(dashboard, csv_event(PATH, csv_text))
    body = _dashboard(response, dashboard)

    # The runtime serialises the whole response, escaping the body's quotes.
    assert len(json.dumps(response).encode()) < LAMBDA_RESPONSE_LIMIT
    assert body["totals"]["matched_holdings"] == 0
    assert body["unmatched_count"] == rows
    assert body["unmatched_truncated"] is True
    assert len(body["unmatched"]) == InputLimits().max_row_errors
    assert len(body["resolutions"]) == 1
    assert len(body["holdings"]["resolution"]) == rows
    assert "ZZ0000001" not in response["body"]


def test_unmatched_cap_follows_limit(
    dashboard: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_ROW_ERRORS", "2")
    csv_text = "code\n0111\nXX1\nXX2\nXX3\n"
    body = _dashboard(_call(dashboard, csv_event(PATH, csv_text)), dashboard)

    assert [entry["row"] for entry in body["unmatched"]] == [3, 4]
    assert body["unmatched_count"] == 3
    assert body["unmatched_truncated"] is True


def test_dashboard_from_csv_text(dashboard: ModuleType) -> None:
    event = csv_event(PATH, CSV_TEXT)
    body = _dashboard(_call(dashboard, event), dashboard)

    assert event["isBase64Encoded"] is False
    assert body["totals"]["holdings"] == 2
    assert body["weighting"] == "amount"
    assert len(body["dependencies"]) == 25


def test_dashboard_from_csv_base64(dashboard: ModuleType) -> None:
    windows_1252 = "name,code,amount\nCaf\xe9 Farms,0111,10\n".encode("cp1252")
    event = csv_event(PATH, windows_1252)
    body = _dashboard(_call(dashboard, event), dashboard)

    assert event["isBase64Encoded"] is True
    assert body["totals"]["matched_holdings"] == 1


def test_dashboard_from_multipart(dashboard: ModuleType) -> None:
    event = multipart_event(
        PATH,
        {"file": ("portfolio.csv", CSV_TEXT.encode(), "application/vnd.ms-excel")},
        {"options": json.dumps({"exclude_water_supply": True})},
    )
    body = _dashboard(_call(dashboard, event), dashboard)

    assert event["isBase64Encoded"] is True
    assert body["totals"]["holdings"] == 2
    assert body["options"]["exclude_water_supply"] is True
    assert len(body["dependencies"]) == 24


def test_dashboard_json_options(dashboard: ModuleType) -> None:
    event = json_event(
        PATH,
        {"holdings": [{"code": "0111"}], "options": {"exclude_water_supply": True}},
    )
    body = _dashboard(_call(dashboard, event), dashboard)

    assert body["options"]["exclude_water_supply"] is True
    assert body["weighting"] == "equal"
    services = [item["ecosystem_service"] for item in body["dependencies"]]
    assert not any(name.casefold().startswith("water supply") for name in services)


def test_dashboard_query_overrides_body(dashboard: ModuleType) -> None:
    event = json_event(
        PATH,
        {"holdings": [{"code": "0111"}], "options": {"exclude_water_supply": True}},
        query={"exclude_water_supply": "false"},
    )
    body = _dashboard(_call(dashboard, event), dashboard)

    assert body["options"]["exclude_water_supply"] is False
    assert len(body["dependencies"]) == 25


def test_dashboard_bad_query_flag_is_422(dashboard: ModuleType) -> None:
    event = csv_event(PATH, CSV_TEXT, query={"exclude_water_supply": "perhaps"})
    response = _call(dashboard, event)

    assert response["statusCode"] == 422
    assert _json(response)["error"]["problems"] == [
        {"field": "query.exclude_water_supply", "reason": "must be true or false"}
    ]


def test_dashboard_bad_body_flag_is_400(dashboard: ModuleType) -> None:
    event = json_event(
        PATH,
        {"holdings": [{"code": "0111"}], "options": {"exclude_water_supply": "maybe"}},
    )
    response = _call(dashboard, event)
    error = _json(response)["error"]

    assert response["statusCode"] == 400
    assert error["problems"][0]["field"] == "options.exclude_water_supply"
    assert "maybe" not in response["body"]


def test_dashboard_row_errors_are_400(dashboard: ModuleType) -> None:
    event = csv_event(PATH, "name,code,amount\nA,0111,abc\nB,,5\n")
    response = _call(dashboard, event)
    error = _json(response)["error"]

    assert response["statusCode"] == 400
    assert error["code"] == "invalid_input"
    assert {problem["row"] for problem in error["problems"]} == {2, 3}
    assert "abc" not in response["body"]


def test_dashboard_invalid_json_is_400(dashboard: ModuleType) -> None:
    event = http_event(
        "POST", PATH, headers={"content-type": "application/json"}, body=b"{not json"
    )
    response = _call(dashboard, event)

    assert response["statusCode"] == 400
    assert _json(response)["error"]["code"] == "invalid_input"


def test_dashboard_unsupported_type_is_415(dashboard: ModuleType) -> None:
    event = csv_event(PATH, "<holdings/>", content_type="application/xml")
    response = _call(dashboard, event)

    assert response["statusCode"] == 415
    assert _json(response)["error"]["code"] == "unsupported_media_type"


def test_dashboard_too_large_is_413(
    dashboard: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_BODY_BYTES", "64")
    event = csv_event(PATH, CSV_TEXT + "x,0111,1\n" * 10)
    response = _call(dashboard, event)
    error = _json(response)["error"]

    assert response["statusCode"] == 413
    assert "64 bytes" in error["message"]


def test_dashboard_empty_body_is_400(dashboard: ModuleType) -> None:
    response = _call(dashboard, csv_event(PATH, ""))

    assert response["statusCode"] == 400


@pytest.mark.parametrize(
    ("event", "status"),
    [
        (csv_event(PATH, "name,code,amount\nA,0111,abc\n"), 400),
        (csv_event(PATH, "<holdings/>", content_type="application/xml"), 415),
        (csv_event(PATH, CSV_TEXT, query={"exclude_water_supply": "perhaps"}), 422),
        (http_event("GET", "/reference/nothing-here"), 404),
    ],
)
def test_error_body_matches_document(
    dashboard: ModuleType, event: dict[str, Any], status: int
) -> None:
    import dashboard_schemas

    response = _call(dashboard, event)

    assert response["statusCode"] == status
    # ErrorDetail accepts unknown keys, so the keys are checked against it too.
    error = dashboard_schemas.ErrorResponse.model_validate(_json(response)).error
    assert set(_json(response)["error"]) <= set(type(error).model_fields)


def test_natural_capital_template(dashboard: ModuleType) -> None:
    event = http_event(
        "GET",
        "/templates/natural-capital.csv",
        route_key="GET /templates/{module}",
        path_parameters={"module": "natural-capital.csv"},
    )
    response = _call(dashboard, event)
    content = base64.b64decode(response["body"])

    assert response["statusCode"] == 200
    assert _header(response, "content-disposition") == (
        'attachment; filename="natural-capital.csv"'
    )
    assert content.decode("utf-8-sig").splitlines()[0] == "name,code,amount"


def test_template_parses_as_portfolio(dashboard: ModuleType) -> None:
    from nature_risk.portfolio_input import natural_capital_template_csv

    event = csv_event(PATH, natural_capital_template_csv())
    body = _dashboard(_call(dashboard, event), dashboard)

    assert body["totals"]["holdings"] >= 1
    assert body["unmatched"] == []


# Reading the body: size limits and base64 decoding, before parsing.

LIMITS = InputLimits(max_body_bytes=1024)


def _event_object(event: dict[str, Any]) -> Any:
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

    return APIGatewayProxyEventV2(event)


def test_upload_keeps_content_type(uploads: ModuleType) -> None:
    event = multipart_event(PATH, {"file": ("p.csv", CSV_TEXT.encode(), "text/csv")})
    upload = uploads.read_upload(_event_object(event), LIMITS)

    assert upload.content_type.startswith("multipart/form-data; boundary=")
    assert upload.body == base64.b64decode(event["body"])


def test_upload_unsupported_type_is_415(uploads: ModuleType) -> None:
    event = csv_event(PATH, CSV_TEXT, content_type="text/xml")

    with pytest.raises(UnsupportedMediaType):
        uploads.read_upload(_event_object(event), LIMITS)


def test_upload_missing_type_is_415(uploads: ModuleType) -> None:
    event = http_event("POST", PATH, body=CSV_TEXT.encode())

    with pytest.raises(UnsupportedMediaType):
        uploads.read_upload(_event_object(event), LIMITS)


def test_upload_too_large_text(uploads: ModuleType) -> None:
    event = csv_event(PATH, "a" * 1025)

    with pytest.raises(PayloadTooLarge) as raised:
        uploads.read_upload(_event_object(event), LIMITS)

    assert "1024 bytes" in raised.value.message
    assert "MAX_BODY_BYTES" in raised.value.message


def test_upload_too_large_before_decoding(
    uploads: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = csv_event(PATH, b"\xff" * 4096)
    decoded: list[int] = []
    real_decode = base64.b64decode

    def counting_decode(*args: Any, **kwargs: Any) -> bytes:
        decoded.append(1)
        return real_decode(*args, **kwargs)

    monkeypatch.setattr(uploads.base64, "b64decode", counting_decode)

    with pytest.raises(PayloadTooLarge):
        uploads.read_upload(_event_object(event), LIMITS)

    assert decoded == []


def test_upload_decoded_size_checked(uploads: ModuleType) -> None:
    # 1025 bytes encode to 1368 base64 characters: within the encoded bound
    # of 1370, so only the decoded length can reject it.
    event = csv_event(PATH, b"\xff" * 1025)

    with pytest.raises(PayloadTooLarge):
        uploads.read_upload(_event_object(event), LIMITS)


def test_upload_invalid_base64(uploads: ModuleType) -> None:
    event = csv_event(PATH, b"\xff\xfe")
    event["body"] = "not base64!"

    with pytest.raises(InputError) as raised:
        uploads.read_upload(_event_object(event), LIMITS)

    assert raised.value.problems[0].field == "body"


def test_upload_empty_body(uploads: ModuleType) -> None:
    event = csv_event(PATH, "")

    with pytest.raises(InputError) as raised:
        uploads.read_upload(_event_object(event), LIMITS)

    assert raised.value.problems[0].reason == "missing"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True),
        ("1", True),
        ("yes", True),
        ("false", False),
        ("0", False),
        (True, True),
        (0, False),
    ],
)
def test_flag_values(value: object, expected: bool) -> None:
    assert parse_flag(value, "exclude_water_supply") is expected


@pytest.mark.parametrize("value", ["maybe-secret", 2, 1.5, None, []])
def test_flag_rejects_other_values(value: object) -> None:
    with pytest.raises(InputError) as raised:
        parse_flag(value, "exclude_water_supply")

    assert "maybe-secret" not in raised.value.message
    assert raised.value.problems[0].field == "exclude_water_supply"


HOSTILE_BODIES = [
    ("application/json", b"[" * 5000 + b"]" * 5000),
    ("application/json", b'{"holdings": "not a list"}'),
    ("application/json", b'{"holdings": [{"code": {"nested": true}}]}'),
    ("application/json", b'"\\ud800"'),
    ("application/json", b"\xff\xfe{\x00}\x00"),
    ("text/csv", b"\x00\x01\x02"),
    ("text/csv; charset=nonexistent-charset", b"code\n0111\n"),
    ("text/csv", b'code,amount\n"0111,5\n'),
    ("text/csv", b"code;amount\n" + b"0111;1e400\n"),
    ("multipart/form-data; boundary=", b"--\r\n\r\n"),
    ("multipart/form-data; boundary=abc", b"no parts at all"),
    ("multipart/form-data; boundary=abc", b"--abc\r\nContent-Disposition: x\r\n\r\n"),
    ('multipart/form-data; boundary="unterminated', b"--x--"),
]


@pytest.mark.parametrize(("content_type", "body"), HOSTILE_BODIES)
def test_hostile_body_is_not_server_error(
    dashboard: ModuleType, content_type: str, body: bytes
) -> None:
    event = http_event("POST", PATH, headers={"content-type": content_type}, body=body)
    response = _call(dashboard, event)

    # The parser is lenient, so some of these still give a dashboard.
    assert response["statusCode"] < 500
    if response["statusCode"] >= 400:
        assert "error" in _json(response)


def test_text_body_with_lone_surrogate(dashboard: ModuleType) -> None:
    event = csv_event(PATH, CSV_TEXT)
    event["body"] = "code\n\ud800\n"
    response = _call(dashboard, event)

    assert response["statusCode"] < 500
