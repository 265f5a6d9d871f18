"""The rig's display link (the patient screen's watch-only token): show, issue anew, revoke."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from gaitrig.rig.access.permissions import Permission
from gaitrig.web_ui.auth import CurrentCaller, requires
from gaitrig.web_ui.deps import Audit, Auth

router = APIRouter(prefix="/api/display-link", tags=["display"],
                   dependencies=[requires(Permission.MANAGE_DISPLAY)])


def link(request: Request, token: str | None) -> dict[str, Any]:
    base = str(request.base_url).rstrip("/")
    return {"token": token, "url": None if token is None else f"{base}/display?token={token}"}


@router.get("")
def current_link(request: Request, auth: Auth) -> dict[str, Any]:
    """This rig's display link (``url`` null when there is none)."""
    return link(request, auth.display_links.current())


@router.post("", status_code=201)
def issue_link(request: Request, caller: CurrentCaller, auth: Auth, audit: Audit
               ) -> dict[str, Any]:
    """A new display link; the previous one stops working (open displays are cut off)."""
    token = auth.display_links.issue(caller.clinician_id)
    audit("display_link.issue", {})
    return link(request, token)


@router.delete("", status_code=204)
def revoke_link(caller: CurrentCaller, auth: Auth, audit: Audit) -> Response:
    """No display link any more: every display of this rig is refused until a new one."""
    auth.display_links.revoke(caller.clinician_id)
    audit("display_link.revoke", {})
    return Response(status_code=204)
