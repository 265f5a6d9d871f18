"""Fuzzing of every operation in the app's OpenAPI schema (schemathesis), against a real server.

Generic over the schema: routes added later are fuzzed too, with no change here. The fuzzer is
logged in (the test account, an admin, with its CSRF header), so it reaches every operation
rather than the login check; logging out ends that session, so a new one follows. Each operation
gets a few valid and invalid requests (bounded: the whole run takes well under a minute). The
server must never answer 5xx, must reject invalid data with a 4xx, and every 4xx must say what
was wrong; a validation error must name the field (``detail[].loc``, e.g. ``["body",
"band_low"]``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import negative_data_rejection

from gaitrig.testing import rig_api
from gaitrig.testing.server import LiveServer, start_server

LOCATIONS = {"body", "query", "path", "header", "cookie"}


def names_in(document: Any) -> set[str]:
    """Every property and parameter name anywhere in an OpenAPI document."""
    found: set[str] = set()
    if isinstance(document, dict):
        if isinstance(document.get("properties"), dict):
            found |= set(document["properties"])
        if isinstance(document.get("name"), str) and document.get("in") in LOCATIONS:
            found.add(document["name"])
        for value in document.values():
            found |= names_in(value)
    elif isinstance(document, list):
        for value in document:
            found |= names_in(value)
    return found


def errors_say_what_was_wrong(ctx: Any, response: Any, case: Any) -> bool | None:
    """A 4xx answers JSON ``detail``: a sentence, or validation errors that name the field."""
    if not 400 <= response.status_code < 500:
        return None
    if response.status_code in (404, 405) and "detail" not in response.text:
        return None  # routing-level answers for a path or method that does not exist
    body = response.json()
    detail = body.get("detail") if isinstance(body, dict) else None
    assert detail, f"{response.status_code} without a `detail` saying why: {response.text[:300]}"
    if isinstance(detail, str):
        return True
    known = names_in(case.operation.schema.raw_schema)
    for error in detail:
        loc, msg = error.get("loc"), error.get("msg")
        assert msg, f"validation error without a message: {error}"
        assert loc and loc[0] in LOCATIONS, f"validation error that names no field: {error}"
        if error.get("type") == "extra_forbidden":
            continue  # a body that refuses unknown fields names the unknown one, as it should
        if len(loc) > 1 and isinstance(loc[1], str):
            assert loc[1] in known, f"validation error names {loc[1]!r}, not in the schema"
    return True


def logged_in_headers(server: LiveServer) -> dict[str, str]:
    """The session cookie and CSRF header of the test account on ``server``
    (gaitrig.testing.rig_api)."""
    client = rig_api.client(server.url)
    return {"Cookie": f"gaitrig_session={client.cookies['gaitrig_session']}",
            "X-CSRF-Token": client.headers["X-CSRF-Token"]}


def app_schema() -> dict[str, Any]:
    """The OpenAPI document of the app as built now (no server needed to build it)."""
    from gaitrig.rig.settings import Settings
    from gaitrig.web_ui.app import create_app

    return create_app(Settings(simulate=True)).openapi()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("fuzz"))
    yield live
    live.stop()


schema = schemathesis.openapi.from_dict(app_schema())


@schema.parametrize()
@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_operation_answers_5xx_and_errors_name_the_field(case: Any, server: LiveServer
                                                            ) -> None:
    response = case.call_and_validate(base_url=server.url, headers=logged_in_headers(server),
                                      checks=[not_a_server_error, negative_data_rejection,
                                              errors_say_what_was_wrong])
    # The fuzzer got past the login check (an admin may call everything), so it tested the
    # operation itself; only the login itself may refuse its fuzzed user names and passwords.
    assert response.status_code not in (401, 403) or case.path == "/api/login", response.text
    if case.path == "/api/logout":
        rig_api.forget(server.url)  # that session has ended: the next case logs in anew


@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("POST", "/api/trials/14554053453953189888/stop", None, "trial_id"),  # was a 500
    ("PUT", "/api/rig/feedback", {"volume_pct": False}, "volume_pct"),  # was taken as 0 %
    ("PUT", "/api/rig/patient", {"display_name": "A", "body_mass_kg": "75",
                                 "prosthetic_side": "left"}, "body_mass_kg"),
])
def test_what_the_fuzzer_found_is_a_422_naming_the_field(server: LiveServer, method: str,
                                                         path: str, body: Any, field: str
                                                         ) -> None:
    response = rig_api.request(method, server.url + path, json=body)
    assert response.status_code == 422
    assert [error["loc"][-1] for error in response.json()["detail"]] == [field]
