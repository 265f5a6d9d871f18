"""Login, logout, who am I, and the login page."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import FileResponse
from pydantic import Field

from gaitrig.rig.access.accounts import LoginRefusedError
from gaitrig.rig.access.permissions import Permission
from gaitrig.web_ui.api_input import ClosedInput
from gaitrig.web_ui.auth import (
    SESSION_COOKIE,
    CurrentCaller,
    clear_login_cookies,
    requires,
    set_login_cookies,
)
from gaitrig.web_ui.deps import Auth
from gaitrig.web_ui.routers.pages import STATIC

router = APIRouter(tags=["account"])
log = logging.getLogger(__name__)


class LoginIn(ClosedInput):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


def who(caller: Any) -> dict[str, Any]:
    return {"clinician_id": caller.clinician_id, "username": caller.username,
            "name": caller.name, "role": caller.role,
            "permissions": sorted(str(p) for p in caller.permissions)}


@router.get("/login", include_in_schema=False, dependencies=[requires(Permission.PUBLIC)])
def login_page() -> FileResponse:
    return FileResponse(STATIC / "login.html")


@router.post("/api/login", dependencies=[requires(Permission.PUBLIC)])
def login(body: LoginIn, response: Response, auth: Auth) -> dict[str, Any]:
    """Log in: sets the session cookie (HttpOnly) and the CSRF cookie; answers who you are.

    401 for a wrong user name or password (the same answer for both); 429 with Retry-After
    while the account waits after wrong passwords or is locked.
    """
    try:
        account = auth.accounts.login(body.username, body.password)
    except LoginRefusedError as refused:
        log.info("login refused (%s)", "locked" if refused.retry_after_s else "wrong or disabled")
        if refused.retry_after_s is not None:
            raise HTTPException(429, str(refused),
                                headers={"Retry-After": str(refused.retry_after_s)}) from None
        raise HTTPException(401, str(refused)) from None
    token, session = auth.sessions.open(account)
    set_login_cookies(response, token, session.csrf_token, auth.secure_cookies)
    log.info("clinician %d logged in", account.id)
    return {"clinician_id": account.id, "username": account.username, "name": account.name,
            "role": account.account_role, "csrf_token": session.csrf_token}


@router.post("/api/logout", status_code=204, dependencies=[requires(Permission.OWN_SESSION)])
def logout(request: Request, caller: CurrentCaller, auth: Auth) -> Response:
    """End this session (its cookie stops working at once) and clear the cookies."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        auth.sessions.close(cookie)
    log.info("clinician %s logged out", caller.clinician_id)
    response = Response(status_code=204)
    clear_login_cookies(response, auth.secure_cookies)
    return response


@router.get("/api/session", dependencies=[requires(Permission.OWN_SESSION)])
def session(caller: CurrentCaller) -> dict[str, Any]:
    """Who is logged in, with which role and permissions."""
    return who(caller)
