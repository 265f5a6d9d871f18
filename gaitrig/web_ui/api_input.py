"""What the REST API accepts: request bodies checked strictly, record ids within the database's.

* ``ApiInput`` is the base of every request body. Numbers must be JSON numbers and switches JSON
  booleans: pydantic's default would turn ``false`` into 0 and ``"75"`` into 75.0, so a
  malformed request could set a volume of 0 % or a load limit of 0 kg instead of getting a 422
  that names the field. An enum field takes its JSON value (``"walking"``) with
  ``Field(strict=False)``.
* Numbers must be finite (JSON's ``NaN`` and ``Infinity``, which Python's parser takes, are a
  422: an infinite band was a 500 when the live message could not be encoded), and text may not
  hold a NUL character or a lone surrogate (SQLite stored the NUL, PostgreSQL refused it with a
  500; a lone surrogate cannot be encoded at all): a 422 on every database.
* A refused body's 422 names the field (``loc``) and says why (``msg``), and never echoes what
  was sent (``validation_refused``): FastAPI's default copies each refused value into the
  answer, so an 8 MB body came back in its 422 and a lone surrogate made the 422 itself a 500.
* ``ClosedInput`` is a request body that also refuses fields it does not know (a misspelt
  field is a 422, not silently dropped).
* ``RecordId`` is a path parameter naming a row: a positive integer that fits the database's
  64-bit keys (a larger one was a 500 from the database driver, not a 404); ``BodyId`` is the
  same in a request body.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

#: Largest primary key SQLite and PostgreSQL (BIGINT) can hold.
MAX_RECORD_ID = 2**63 - 1

RecordId = Annotated[int, Path(ge=1, le=MAX_RECORD_ID, description="Id of a stored record.")]
#: A record named in a request body (a patient, a session, a trial, a clinician).
BodyId = Annotated[int, Field(ge=1, le=MAX_RECORD_ID)]


def storable_text(value: Any) -> Any:
    """``value`` unchanged if no text in it holds a NUL or a lone surrogate; else ValueError."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text may not contain a NUL character")
        if any("\ud800" <= character <= "\udfff" for character in value):
            raise ValueError("text may not contain a lone surrogate (invalid Unicode)")
    elif isinstance(value, list | tuple):
        for item in value:
            storable_text(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            storable_text(key)
            storable_text(item)
    return value


class ApiInput(BaseModel):
    """Base of request bodies: no silent coercion between JSON types, finite numbers, text that
    every database stores."""

    model_config = ConfigDict(strict=True, allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        return storable_text(value)


class ClosedInput(ApiInput):
    """A request body: strict JSON types (``ApiInput``), and no unknown fields."""

    model_config = ConfigDict(strict=True, allow_inf_nan=False, extra="forbid")


#: Longest part of a field's location a 422 repeats (an unknown key is the caller's text).
LOC_PART_CHARS = 64


def _loc_part(part: object) -> str | int:
    if isinstance(part, int):
        return part
    text = str(part)[:LOC_PART_CHARS]
    return text.encode("utf-8", "replace").decode("utf-8")


async def validation_refused(request: Request, exc: Exception) -> JSONResponse:
    """A refused request's 422: each error's field (``loc``), reason (``msg``) and ``type``,
    without the value that was sent."""
    assert isinstance(exc, RequestValidationError)
    detail = [{"loc": [_loc_part(part) for part in error.get("loc", ())],
               "msg": str(error.get("msg", "")).encode("utf-8", "replace").decode("utf-8"),
               "type": error.get("type", "")} for error in exc.errors()]
    return JSONResponse({"detail": detail}, status_code=422)
