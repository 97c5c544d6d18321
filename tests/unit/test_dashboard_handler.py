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

from tests.events import (
    csv_event,
    http_event,
    json_event,
    lambda_context,
    multipart_body,
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


def test_activities_unknown_code_is_empty(dashboard: ModuleType) -> None:
    event = http_event("GET", "/reference/economic-activities", query={"code": "Z99"})
    response = _call(dashboard, event)

    assert response["statusCode"] == 200
    assert _json(response)["total"] == 0


@pytest.mark.parametrize(
    "query",
    [{"limit": "0"}, {"limit": "101"}, {"offset": "-1"}, {"limit": "ten"}],
)
def test_activities_bad_paging_is_422(
    dashboard: ModuleType, query: dict[str, str]
) -> None:
    event = http_event("GET", "/reference/economic-activities", query=query)
    response = _call(dashboard, event)
    error = _json(response)["error"]

    assert response["statusCode"] == 422
    assert error["code"] == "invalid_request"
    assert error["problems"][0]["field"].startswith("query.")


def test_activities_long_query_is_422(dashboard: ModuleType) -> None:
    event = http_event("GET", "/reference/economic-activities", query={"q": "x" * 101})
    response = _call(dashboard, event)

    assert response["statusCode"] == 422
    assert "x" * 101 not in response["body"]


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


# Reading uploads: the three content types and their failures.

LIMITS = InputLimits(max_body_bytes=1024)
CSV_TEXT = "activity_code,exposure\nA_1_11_111,100\n"


def _event_object(event: dict[str, Any]) -> Any:
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

    return APIGatewayProxyEventV2(event)


def test_upload_json_as_text(uploads: ModuleType) -> None:
    event = json_event("/dashboards/natural-capital", {"holdings": []})
    upload = uploads.read_upload(_event_object(event), LIMITS)

    assert event["isBase64Encoded"] is False
    assert upload.media_type == "application/json"
    assert json.loads(upload.content) == {"holdings": []}


def test_upload_csv_as_text(uploads: ModuleType) -> None:
    event = csv_event("/dashboards/natural-capital", CSV_TEXT)
    upload = uploads.read_upload(_event_object(event), LIMITS)

    assert event["isBase64Encoded"] is False
    assert upload.media_type == "text/csv"
    assert upload.content == CSV_TEXT.encode()


def test_upload_csv_as_base64(uploads: ModuleType) -> None:
    latin1 = "activity_code,exposure,name\nA_1_11_111,100,Caf\xe9\n".encode("latin-1")
    event = csv_event(
        "/dashboards/natural-capital", latin1, content_type="text/csv; charset=latin-1"
    )
    upload = uploads.read_upload(_event_object(event), LIMITS)

    assert event["isBase64Encoded"] is True
    assert upload.media_type == "text/csv"
    assert upload.content == latin1


def test_upload_multipart_file_and_fields(uploads: ModuleType) -> None:
    event = multipart_event(
        "/dashboards/natural-capital",
        {"file": ("portfolio.csv", CSV_TEXT.encode(), "application/vnd.ms-excel")},
        {"exclude_water_supply": "true", "submit": "Send"},
    )
    upload = uploads.read_upload(
        _event_object(event), LIMITS, frozenset({"exclude_water_supply"})
    )

    assert event["isBase64Encoded"] is True
    assert upload.media_type == "text/csv"
    assert upload.content == CSV_TEXT.encode()
    assert upload.fields == {"exclude_water_supply": "true"}


def test_upload_multipart_json_file(uploads: ModuleType) -> None:
    event = multipart_event(
        "/dashboards/natural-capital",
        {"file": ("portfolio.json", b'{"holdings": []}', "application/json")},
    )
    upload = uploads.read_upload(_event_object(event), LIMITS)

    assert upload.media_type == "application/json"


def test_upload_multipart_without_file(uploads: ModuleType) -> None:
    body, content_type = multipart_body({}, {"exclude_water_supply": "true"})
    event = http_event(
        "POST",
        "/dashboards/natural-capital",
        headers={"content-type": content_type},
        body=body,
    )
    with pytest.raises(InputError) as raised:
        uploads.read_upload(_event_object(event), LIMITS)

    assert raised.value.problems[0].field == "file"


def test_upload_multipart_two_files(uploads: ModuleType) -> None:
    event = multipart_event(
        "/dashboards/natural-capital",
        {
            "file": ("a.csv", CSV_TEXT.encode(), "text/csv"),
            "other": ("b.csv", CSV_TEXT.encode(), "text/csv"),
        },
    )
    with pytest.raises(InputError) as raised:
        uploads.read_upload(_event_object(event), LIMITS)

    assert raised.value.problems[0].reason == "more than one file"


def test_upload_multipart_without_boundary(uploads: ModuleType) -> None:
    event = http_event(
        "POST",
        "/dashboards/natural-capital",
        headers={"content-type": "multipart/form-data"},
        body=b"--x\r\n\r\nabc\r\n--x--\r\n",
    )
    with pytest.raises(InputError):
        uploads.read_upload(_event_object(event), LIMITS)


def test_upload_unsupported_type_is_415(uploads: ModuleType) -> None:
    event = csv_event("/dashboards/natural-capital", CSV_TEXT, content_type="text/xml")

    with pytest.raises(UnsupportedMediaType):
        uploads.read_upload(_event_object(event), LIMITS)


def test_upload_missing_type_is_415(uploads: ModuleType) -> None:
    event = http_event("POST", "/dashboards/natural-capital", body=CSV_TEXT.encode())

    with pytest.raises(UnsupportedMediaType):
        uploads.read_upload(_event_object(event), LIMITS)


def test_upload_too_large_text(uploads: ModuleType) -> None:
    event = csv_event("/dashboards/natural-capital", "a" * 1025)

    with pytest.raises(PayloadTooLarge) as raised:
        uploads.read_upload(_event_object(event), LIMITS)

    assert "1024 bytes" in raised.value.message
    assert "MAX_BODY_BYTES" in raised.value.message


def test_upload_too_large_before_decoding(
    uploads: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = csv_event("/dashboards/natural-capital", b"\xff" * 4096)
    decoded: list[int] = []
    real_decode = base64.b64decode
    monkeypatch.setattr(
        uploads.base64,
        "b64decode",
        lambda *args, **kwargs: decoded.append(1) or real_decode(*args, **kwargs),
    )

    with pytest.raises(PayloadTooLarge):
        uploads.read_upload(_event_object(event), LIMITS)

    assert decoded == []


def test_upload_decoded_size_checked(uploads: ModuleType) -> None:
    # 1025 bytes encode to 1368 base64 characters: within the encoded bound
    # of 1370, so only the decoded length can reject it.
    event = csv_event("/dashboards/natural-capital", b"\xff" * 1025)

    with pytest.raises(PayloadTooLarge):
        uploads.read_upload(_event_object(event), LIMITS)


def test_upload_invalid_base64(uploads: ModuleType) -> None:
    event = csv_event("/dashboards/natural-capital", b"\xff\xfe")
    event["body"] = "not base64!"

    with pytest.raises(InputError) as raised:
        uploads.read_upload(_event_object(event), LIMITS)

    assert raised.value.problems[0].field == "body"


def test_upload_empty_body(uploads: ModuleType) -> None:
    event = csv_event("/dashboards/natural-capital", "")

    with pytest.raises(InputError) as raised:
        uploads.read_upload(_event_object(event), LIMITS)

    assert raised.value.problems[0].reason == "missing"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("1", True), ("yes", True), ("false", False), ("0", False)],
)
def test_flag_values(uploads: ModuleType, value: str, expected: bool) -> None:
    assert uploads.parse_flag(value, "exclude_water_supply") is expected


def test_flag_rejects_other_text(uploads: ModuleType) -> None:
    with pytest.raises(InputError) as raised:
        uploads.parse_flag("maybe-secret", "exclude_water_supply")

    assert "maybe-secret" not in raised.value.message
    assert raised.value.problems[0].field == "exclude_water_supply"
