"""A rig's display link: a random token that lets the patient's screen watch the live stream.

One token per rig, in the database (so every process serving the rig agrees); issuing a new one
revokes the old one at once. The token is kept as it is (not hashed) so the console can show
the link again: it grants watching the live loads and the display name, nothing else.

Checks read a copy in memory (:meth:`DisplayLinks.accepts`), never the database: a display
must keep its live view while the database is away (the recorder spools meanwhile). This
process's own issue and revoke change the copy at once; :meth:`refresh` (every second, from the
app) picks up what another process changed.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError

from gaitrig.db import accounts as db_accounts
from gaitrig.rig.access.accounts import Clock, utc_now
from gaitrig.rig.records import Records

log = logging.getLogger(__name__)


@dataclass
class DisplayLinks:
    records: Records
    rig_id: str
    clock: Clock = utc_now
    _known: str | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def refresh(self) -> None:
        """Read the rig's token from the database into memory (kept as it was if it is away)."""
        try:
            with self.records.sessions() as session:
                token = db_accounts.display_token(session, self.rig_id)
        except SQLAlchemyError as exc:
            log.debug("display link not refreshed (database away): %s", type(exc).__name__)
            return
        with self._lock:
            self._known = token

    def current(self) -> str | None:
        """The rig's token as last read (None: the rig has no display link)."""
        with self._lock:
            return self._known

    def issue(self, clinician_id: int | None) -> str:
        """A new token for this rig; the previous one stops working."""
        token = secrets.token_urlsafe(24)
        self._store(token, clinician_id)
        return token

    def revoke(self, clinician_id: int | None) -> None:
        self._store(None, clinician_id)

    def _store(self, token: str | None, clinician_id: int | None) -> None:
        with self.records.sessions() as session:
            db_accounts.set_display_token(session, self.rig_id, token, clinician_id,
                                          self.clock())
        with self._lock:
            self._known = token

    def accepts(self, token: str | None) -> bool:
        current = self.current()
        return bool(token) and current is not None and hmac.compare_digest(
            current.encode(), (token or "").encode())
