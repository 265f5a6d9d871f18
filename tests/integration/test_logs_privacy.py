"""The server's logs never carry a patient's name or a password, even at DEBUG with the access
log on.

Logs end up in places clinic records do not (journald, support e-mails, bug reports), so a
name must never be in them: only record ids.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx
import pytest

from gaitrig.testing import rig_api
from gaitrig.testing.server import LiveServer

NAME = "Zebedee Quillfeather-Okonkwo"
PASSWORD = "Xylophone-Marmalade-4417"
WRONG_PASSWORD = "Quartzite-Pelican-9083"


def test_patient_name_never_reaches_the_logs(server_factory: Any,
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, every level
    # log_config=None: uvicorn's own loggers (access log included) propagate to the root logger.
    live: LiveServer = server_factory(
        uvicorn_options={"log_level": "debug", "access_log": True, "log_config": None})
    api = live.url + "/api/rig"
    rig_api.ensure_account(live.settings.resolved_database_url(), "privacy", PASSWORD)
    wrong = httpx.post(live.url + "/api/login", json={"username": "privacy",
                                                      "password": WRONG_PASSWORD})
    assert wrong.status_code == 401
    right = rig_api.login(live.url, "privacy", PASSWORD)  # raises unless the login worked
    assert right.get("/api/session").json()["username"] == "privacy"
    # A refused body echoes the password in its 422 answer: that must not be logged either.
    assert httpx.post(live.url + "/api/login", json={"username": "privacy", "password": PASSWORD,
                                                     "extra": 1}).status_code == 422
    patient = {"display_name": NAME, "body_mass_kg": 71.5, "prosthetic_side": "right"}
    assert rig_api.put(api + "/patient", json=patient).status_code == 200
    assert rig_api.get(api).json()["patient"]["display_name"] == NAME
    # A refused request echoes its input in the 422 body; it must not land in the logs either.
    bad = rig_api.put(api + "/patient", json={**patient, "body_mass_kg": "heavy"})
    assert bad.status_code == 422
    assert rig_api.post(api + "/trial", json={}).status_code == 201
    time.sleep(1.0)
    assert rig_api.post(api + "/trial/stop").status_code == 200
    live.stop()

    lines = [record.getMessage() for record in caplog.records]
    text = caplog.text
    access = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    # The capture works: it saw the access log of the calls above, and the server's own logs.
    assert any("PUT /api/rig/patient" in line for line in access), access[:5]
    assert any("POST /api/rig/trial/stop" in line for line in access), access[:5]
    assert sum("POST /api/login" in line for line in access) >= 3, access[:5]
    assert any("login refused" in line for line in lines)  # the server logged the attempts
    assert len({r.name for r in caplog.records}) >= 3, {r.name for r in caplog.records}
    leaks = [line for line in lines if any(part in line for part in NAME.split())]
    assert not leaks, f"the patient's name is in the logs: {leaks[:3]}"
    assert "Zebedee" not in text and "Quillfeather" not in text
    for secret in (PASSWORD, WRONG_PASSWORD, "Xylophone", "Quartzite"):
        assert secret not in text, f"a password is in the logs: {secret}"
