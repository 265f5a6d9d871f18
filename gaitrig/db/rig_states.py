"""Queries on the rigs' stored state (``rig_states``: one JSON document per rig). No policy
here: what the document holds is :mod:`gaitrig.rig.live.rig_state`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gaitrig.db import models as m


def load_state(session: Session, rig_id: str) -> dict[str, Any] | None:
    """The rig's stored state (None: nothing stored yet)."""
    row = session.get(m.RigState, rig_id)
    return None if row is None else dict(row.state)


def save_state(session: Session, rig_id: str, state: dict[str, Any], at: datetime) -> None:
    """Replace the rig's stored state with ``state`` (a JSON-able dict)."""
    row = session.get(m.RigState, rig_id)
    if row is None:
        session.add(m.RigState(rig_id=rig_id, state=state, updated_at=at))
    else:
        row.state, row.updated_at = state, at
    session.commit()
