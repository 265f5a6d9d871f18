"""The spool: a trial's writes waiting while the database is away, on disk
(``<data_dir>/spool``), so that a server stopped or killed meanwhile loses none of them.

A spool file is a header pickle ``{"trial_id": ...}`` then one pickle per write ``(kind,
data)`` (``gaitrig.rig.recording.jobs``), appended, flushed and synced as each comes; it is
removed once the database has them all. :func:`recover_spooled` writes what is left at the next
start; :func:`read_spool` also reads the files of earlier versions (jobs in the header).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gaitrig.rig.recording.jobs import RETRIED, run_job
from gaitrig.rig.records import Records

log = logging.getLogger(__name__)


class Spool:
    """One trial's spool file, opened at the first refused write. ``count``: how many of the
    waiting writes (from the oldest) the file holds."""

    def __init__(self, folder: Path | None, trial_id: int) -> None:
        self.folder = folder
        self.trial_id = trial_id
        self.path: Path | None = None  # the file, while it is needed
        self.count = 0
        self._file: Any = None

    @property
    def open(self) -> bool:
        return self._file is not None

    def add(self, waiting: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Append the ``waiting`` writes the file does not hold yet (opened at the first call;
        flushed and synced: a kill loses none of them)."""
        if self.folder is None or self.count >= len(waiting):
            return
        try:
            if self._file is None:
                self.folder.mkdir(parents=True, exist_ok=True)
                path = self.folder / f"trial-{self.trial_id}-{time.time_ns()}.spool"
                self._file = path.open("ab")
                pickle.dump({"trial_id": self.trial_id}, self._file)
                self.path = path
                self.count = 0
                log.warning("trial %d: the database is away: spooling to %s", self.trial_id,
                            path)
            for job in list(waiting)[self.count:]:
                pickle.dump(job, self._file)
                self.count += 1
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError:
            log.exception("trial %d: cannot write the spool in %s", self.trial_id, self.folder)

    def written(self) -> None:
        """The oldest waiting write is in the database now."""
        self.count = max(0, self.count - 1)

    def close(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None

    def drop(self) -> None:
        """Everything is in the database: the file is no longer needed."""
        if self._file is None:
            return
        self.close()
        if self.path is not None:
            self.path.unlink(missing_ok=True)
            log.info("trial %d: the database is back; spool written and removed",
                     self.trial_id)
            self.path = None
        self.count = 0


def recover_spooled(records: Records, folder: Path) -> list[int]:
    """Write what :meth:`TrialRecorder.abandon` spooled (at server start); the trials done.

    A file whose writes fail again stays for the next start."""
    done = []
    for path in sorted(folder.glob("*.spool")) if folder.is_dir() else []:
        try:
            spool = read_spool(path)
        except Exception as exc:  # a damaged file may fail in many ways: set it aside
            log.error("%s is damaged (%s): kept as %s.bad", path, exc, path.name)
            path.rename(path.with_suffix(".bad"))
            continue
        try:
            for kind, data in spool["jobs"]:
                with records.sessions() as session:
                    run_job(session, spool["trial_id"], kind, data)
        except RETRIED as exc:
            log.warning("%s: the database is still away (%s): kept", path, exc)
            continue
        path.unlink()
        done.append(int(spool["trial_id"]))
        log.info("trial %d: its spooled recording is now in the database", spool["trial_id"])
    return done


def read_spool(path: Path) -> dict[str, Any]:
    """A spool file: ``{"trial_id": ..., "jobs": [(kind, data), ...]}``. The file is a header
    pickle then one pickle per write; a last write cut short by a kill is left out."""
    jobs = []
    with path.open("rb") as file:
        header = pickle.load(file)
        if not isinstance(header, dict) or "trial_id" not in header:
            raise ValueError("no spool header")
        jobs.extend(header.get("jobs", ()))  # a spool written whole, by an earlier version
        while True:
            try:
                jobs.append(pickle.load(file))
            except EOFError:
                break
            except pickle.UnpicklingError as exc:
                log.warning("%s: a write cut short at the end (%s): left out", path, exc)
                break
    return {"trial_id": header["trial_id"], "jobs": jobs}
