"""What the REST API accepts: request bodies checked strictly, record ids within the database's.

* ``ApiInput`` is the base of every request body. Numbers must be JSON numbers and switches JSON
  booleans: pydantic's default would turn ``false`` into 0 and ``"75"`` into 75.0, so a
  malformed request could set a volume of 0 % or a load limit of 0 kg instead of getting a 422
  that names the field. An enum field takes its JSON value (``"walking"``) with
  ``Field(strict=False)``.
* ``ClosedInput`` is a request body that also refuses fields it does not know (a misspelt
  field is a 422, not silently dropped).
* ``RecordId`` is a path parameter naming a row: a positive integer that fits the database's
  64-bit keys (a larger one was a 500 from the database driver, not a 404); ``BodyId`` is the
  same in a request body.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

#: Largest primary key SQLite and PostgreSQL (BIGINT) can hold.
MAX_RECORD_ID = 2**63 - 1

RecordId = Annotated[int, Path(ge=1, le=MAX_RECORD_ID, description="Id of a stored record.")]
#: A record named in a request body (a patient, a session, a trial, a clinician).
BodyId = Annotated[int, Field(ge=1, le=MAX_RECORD_ID)]


class ApiInput(BaseModel):
    """Base of request bodies: no silent coercion between JSON types."""

    model_config = ConfigDict(strict=True)


class ClosedInput(ApiInput):
    """A request body: strict JSON types (``ApiInput``), and no unknown fields."""

    model_config = ConfigDict(strict=True, extra="forbid")
