"""Who is calling, and whether they may: sessions in cookies, CSRF, display tokens, permissions.

Every route declares one :class:`gaitrig.rig.access.permissions.Permission` with the dependency
``Requires(Permission.X)`` (on its router or on the route); :func:`check_every_route_declares`
refuses to build an app with a route that does not. A caller is

* a **clinician** with a login session: the cookie ``gaitrig_session`` (HttpOnly,
  SameSite=Strict, Secure under TLS) names a session in
  :class:`gaitrig.rig.access.login_sessions.LoginSessions`; the account must still be active and
  have the password it logged in with;
* a **display**: the query parameter ``token`` is the rig's display token (watch only);
* **anonymous** otherwise.

CSRF: a synchronizer token. Each login session has a random CSRF token, stored with the
session on the server and handed to the pages in the cookie ``gaitrig_csrf`` (readable by the
page's JavaScript, SameSite=Strict); ``rest.js`` sends it back in the header ``X-CSRF-Token``.
Every request other than GET/HEAD/OPTIONS made with a session cookie must carry the header, and
it must equal the session's token (compared in constant time), else 403. A websocket opened with
a session cookie must come from a page of this server (its ``Origin`` names this host).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI, HTTPException, Request, WebSocketException, status
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute, APIWebSocketRoute, RouteContext, iter_route_contexts
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gaitrig.rig.access.accounts import Accounts
from gaitrig.rig.access.audit import AuditLog
from gaitrig.rig.access.display_links import DisplayLinks
from gaitrig.rig.access.login_sessions import LoginSessions, fingerprint
from gaitrig.rig.access.permissions import (
    ANONYMOUS_PERMISSIONS,
    DISPLAY_PERMISSIONS,
    ROLE_PERMISSIONS,
    Permission,
)

SESSION_COOKIE = "gaitrig_session"
CSRF_COOKIE = "gaitrig_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class AuthServices:
    """What the app keeps for authentication (``app.state.auth``)."""

    accounts: Accounts
    sessions: LoginSessions
    display_links: DisplayLinks
    audit: AuditLog
    secure_cookies: bool


@dataclass(frozen=True)
class Caller:
    kind: Literal["anonymous", "display", "clinician"]
    permissions: frozenset[Permission]
    clinician_id: int | None = None
    username: str | None = None
    name: str | None = None
    role: str | None = None
    csrf_token: str | None = field(default=None, repr=False)
    display_token: str | None = field(default=None, repr=False)


ANONYMOUS = Caller("anonymous", ANONYMOUS_PERMISSIONS)


class LoginRequiredError(Exception):
    """A page asked for without a login: answered with a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def services(connection: HTTPConnection) -> AuthServices:
    found: AuthServices = connection.app.state.auth
    return found


def identify(connection: HTTPConnection) -> Caller:
    """Who is calling (cached on the request)."""
    cached = getattr(connection.state, "caller", None)
    if isinstance(cached, Caller):
        return cached
    caller = _identify(connection)
    connection.state.caller = caller
    return caller


def _identify(connection: HTTPConnection) -> Caller:
    auth = services(connection)
    cookie = connection.cookies.get(SESSION_COOKIE)
    if cookie:
        session = auth.sessions.find(cookie)
        account = None if session is None else auth.accounts.recheck(session.account)
        if (session is not None and account is not None and account.active
                and fingerprint(account.password_hash) == session.password_fingerprint):
            return Caller("clinician", ROLE_PERMISSIONS[account.account_role], account.id,
                          account.username, account.name, account.account_role,
                          session.csrf_token)
    token = connection.query_params.get("token")
    if token and auth.display_links.accepts(token):
        return Caller("display", DISPLAY_PERMISSIONS, display_token=token)
    return ANONYMOUS


def _same_origin(connection: HTTPConnection) -> bool:
    origin = connection.headers.get("origin")
    if origin is None:
        return True  # not a browser (browsers always send Origin on a websocket)
    return urlsplit(origin).netloc == connection.headers.get("host", "")


class Requires:
    """The dependency that declares and enforces a route's permission.

    ``page``: the route is an HTML page, so a caller who is not logged in is sent to the login
    page instead of getting a 401.
    """

    def __init__(self, permission: Permission, page: bool = False) -> None:
        self.permission = permission
        self.page = page

    def __repr__(self) -> str:
        return f"Requires({self.permission!s}{', page' if self.page else ''})"

    def __call__(self, connection: HTTPConnection) -> Caller:
        caller = identify(connection)
        websocket = connection.scope["type"] == "websocket"
        if self.permission not in caller.permissions:
            reason = self._refusal(caller)
            if websocket:
                raise WebSocketException(status.WS_1008_POLICY_VIOLATION, reason)
            if self.page and caller.kind == "anonymous":
                if connection.query_params.get("token"):
                    raise HTTPException(403, "this display link is not valid (it was revoked, "
                                             "or it is not this rig's): ask for a new one")
                raise LoginRequiredError(connection.url.path + (
                    "?" + connection.url.query if connection.url.query else ""))
            code = 401 if caller.kind == "anonymous" else 403
            raise HTTPException(code, reason)
        if caller.kind == "clinician":
            if websocket and not _same_origin(connection):
                raise WebSocketException(status.WS_1008_POLICY_VIOLATION,
                                         "a websocket from another site's page")
            if not websocket and connection.scope["method"] not in SAFE_METHODS:
                sent = connection.headers.get(CSRF_HEADER, "")
                expected = caller.csrf_token or ""
                if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
                    raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header (CSRF "
                                             "protection): reload the page")
        return caller

    def _refusal(self, caller: Caller) -> str:
        if caller.kind == "anonymous":
            return "log in first (POST /api/login)"
        if caller.kind == "display":
            return "a display link may only watch the live stream"
        return f"your account ({caller.role}) may not do this: it needs {self.permission}"


def requires(permission: Permission, page: bool = False) -> Any:
    """``Depends(Requires(permission))``, for a router's or a route's ``dependencies``."""
    return Depends(Requires(permission, page))


CurrentCaller = Annotated[Caller, Depends(identify)]


class PublicStaticFiles(StaticFiles):
    """The pages' CSS and JavaScript: code, no data, open to anyone (the login page needs it)."""

    permission = Permission.PUBLIC


# -- declarations -------------------------------------------------------------------------------


def _requirements(dependant: Any) -> Iterator[Requires]:
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, Requires):
            yield dependency.call
        yield from _requirements(dependency)


def every_route(app: FastAPI) -> list[RouteContext]:
    """Every route of ``app`` with the paths and dependencies of its inclusion (FastAPI keeps
    included routers as such in ``app.routes``; this flattens them)."""
    return list(iter_route_contexts(app.routes))


def declared(route: RouteContext) -> Requires | None:
    """The permission a route declares (None: it declares none)."""
    original = route.original_route
    if isinstance(original, APIRoute | APIWebSocketRoute):
        found = list(_requirements(route.dependant))
        return found[0] if found else None
    if isinstance(original, Mount):
        permission = getattr(original.app, "permission", None)
        return Requires(permission) if isinstance(permission, Permission) else None
    return None


def describe(route: RouteContext) -> str:
    if isinstance(route.original_route, Mount):
        return f"{route.path} (mount)"
    return f"{route.path} {' '.join(sorted(route.methods or ['WEBSOCKET']))}"


def check_every_route_declares(app: FastAPI) -> None:
    """RuntimeError naming each route of ``app`` that declares no permission."""
    missing = [describe(route) for route in every_route(app) if declared(route) is None]
    if missing:
        raise RuntimeError("routes that declare no permission (add Requires(Permission.X)): "
                           + ", ".join(missing))


def login_redirect(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequiredError)
    return RedirectResponse("/login?next=" + quote(exc.next_path, safe=""), status_code=303)


class NoStoreMiddleware:
    """``Cache-Control: no-store`` on every answer but the static files: a page or a record
    fetched with a login or a display token must not be shown again from the browser's cache
    (after a logout, a revoked link, or by the next person at a shared tablet)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_no_store)


def set_login_cookies(response: Response, session_token: str, csrf_token: str,
                      secure: bool) -> None:
    response.set_cookie(SESSION_COOKIE, session_token, httponly=True, samesite="strict",
                        secure=secure, path="/")
    response.set_cookie(CSRF_COOKIE, csrf_token, httponly=False, samesite="strict",
                        secure=secure, path="/")


def clear_login_cookies(response: Response, secure: bool) -> None:
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, path="/", secure=secure, httponly=name == SESSION_COOKIE,
                               samesite="strict")

