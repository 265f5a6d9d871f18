"""The API's OpenAPI document and its Swagger page, for logged-in clinicians."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from gaitrig.rig.access.permissions import Permission
from gaitrig.web_ui.auth import requires

router = APIRouter(include_in_schema=False)


@router.get("/openapi.json", dependencies=[requires(Permission.VIEW_RECORDS)])
def openapi_document(request: Request) -> dict[str, Any]:
    document: dict[str, Any] = request.app.openapi()
    return document


@router.get("/docs", dependencies=[requires(Permission.VIEW_RECORDS, page=True)])
def swagger_page() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/openapi.json", title="gaitrig API")
