"""Security headers on every answer (issue 15, part 5): a Content-Security-Policy that allows no
inline script and no framing by another page, ``X-Content-Type-Options: nosniff``, and
``Referrer-Policy: no-referrer`` (a display link carries its token in the URL). The server
sends no ``Server`` banner (``rig serve`` runs uvicorn with ``server_header=False``).

The pages' scripts are files under ``/static`` and they open the websocket to this server only,
so ``script-src`` and ``connect-src`` are ``'self'``. Styles may be inline (the display's
scale ticks carry their position in a ``style`` attribute). ``/docs`` (Swagger, behind the
login) loads its script and style from a CDN with an inline start-up script: its policy allows
that CDN, on that page only.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
          "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
          "media-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; "
          "frame-ancestors 'none'")
#: Swagger's page (FastAPI's get_swagger_ui_html): its CDN and inline start-up script.
DOCS_CDN = "https://cdn.jsdelivr.net"
DOCS_POLICY = (f"default-src 'self'; script-src 'self' 'unsafe-inline' {DOCS_CDN}; "
               f"style-src 'self' 'unsafe-inline' {DOCS_CDN}; img-src 'self' data: https:; "
               "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
           "X-Frame-Options": "DENY"}


class SecurityHeadersMiddleware:
    """Adds the policy and :data:`HEADERS` to every HTTP answer (a route's own are kept)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = DOCS_POLICY if scope["path"] == "/docs" else POLICY

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", policy)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
