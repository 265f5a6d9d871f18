"""A rig's display link: a random token that lets the patient's screen watch the live stream.

One token per rig, in the database (so every process serving the rig agrees); issuing a new one
revokes the old one at once. The token is kept as it is (not hashed) so the console can show
the link again: it grants watching the live loads and the display name, nothing else.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from db import accounts as db_accounts
from rig.accounts import Clock, utc_now
from rig.records import Records


@dataclass
class DisplayLinks:
    records: Records
    rig_id: str
    clock: Clock = utc_now

    def current(self) -> str | None:
        with self.records.sessions() as session:
            return db_accounts.display_token(session, self.rig_id)

    def issue(self, clinician_id: int | None) -> str:
        """A new token for this rig; the previous one stops working."""
        token = secrets.token_urlsafe(24)
        with self.records.sessions() as session:
            db_accounts.set_display_token(session, self.rig_id, token, clinician_id,
                                          self.clock())
        return token

    def revoke(self, clinician_id: int | None) -> None:
        with self.records.sessions() as session:
            db_accounts.set_display_token(session, self.rig_id, None, clinician_id, self.clock())

    def accepts(self, token: str | None) -> bool:
        current = self.current()
        return bool(token) and current is not None and hmac.compare_digest(
            current.encode(), (token or "").encode())
