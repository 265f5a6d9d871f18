"""Who may do what: the permissions routes declare, and which ones each kind of caller holds.

A caller is anonymous, a patient display (it holds the rig's display token), or a logged-in
clinician whose account role is ``therapist`` or ``admin``.
"""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    PUBLIC = "public"                  # anyone: the health check, the login page and login
    WATCH_LIVE = "watch_live"          # the live stream and the display page
    OWN_SESSION = "own_session"        # a logged-in clinician's own session: who am I, log out
    VIEW_RECORDS = "view_records"      # patients, sessions, trials, exports, the pages
    EDIT_RECORDS = "edit_records"      # register and correct patients, notes, sessions
    CONTROL_RIG = "control_rig"        # patient on the rig, targets, tare, calibration, trials
    MANAGE_DISPLAY = "manage_display"  # issue or revoke the display link
    VIEW_AUDIT = "view_audit"          # the audit log


THERAPIST = frozenset({Permission.PUBLIC, Permission.WATCH_LIVE, Permission.OWN_SESSION,
                       Permission.VIEW_RECORDS,
                       Permission.EDIT_RECORDS, Permission.CONTROL_RIG,
                       Permission.MANAGE_DISPLAY})
ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "therapist": THERAPIST,
    "admin": THERAPIST | {Permission.VIEW_AUDIT},
}
#: What the patient's screen may do with the rig's display token: watch, nothing else.
DISPLAY_PERMISSIONS = frozenset({Permission.PUBLIC, Permission.WATCH_LIVE})
ANONYMOUS_PERMISSIONS = frozenset({Permission.PUBLIC})
