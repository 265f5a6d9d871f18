"""The clinic records on the app: their REST API (patients, clinicians, sessions, recorded
trials, exports), the history pages, and the records' faults as HTTP answers: 404 not found,
409 conflict, 422 refused (the reason in ``detail``, like FastAPI's own errors)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from gaitrig.rig.clinic.history import RecordConflictError, RecordNotFoundError, RecordRefusedError
from gaitrig.web_ui.routers import (
    clinicians,
    exports,
    history_pages,
    patients,
    sessions,
    trial_records,
    unassigned_trials,
)

STATUS = {RecordNotFoundError: 404, RecordConflictError: 409, RecordRefusedError: 422}


async def _answer(request: Request, exc: Exception) -> JSONResponse:
    status = next(code for kind, code in STATUS.items() if isinstance(exc, kind))
    return JSONResponse({"detail": str(exc)}, status_code=status)


def include_clinic_records(app: FastAPI) -> None:
    for module in (patients, clinicians, sessions, trial_records, unassigned_trials, exports,
                   history_pages):
        app.include_router(module.router)
    for kind in STATUS:
        app.add_exception_handler(kind, _answer)
