"""Record a trial while it runs: every board's raw frames and the live results, off the loop.

The processing loop calls :meth:`TrialRecorder.append` once per processed block: it only keeps
references to the block's arrays (which nothing changes afterwards) and, about once per
:data:`CHUNK_S`, hands the batch to a bounded queue without waiting. A writer thread (one per
trial) encodes the batch into chunks of at most :data:`CHUNK_S` per board (:mod:`gaitrig.db.codec`)
and inserts them. Nothing already recorded is lost when the database goes away for a while:

* the writer keeps its work in order in memory and retries the first job, waiting
  :data:`RETRY_FIRST_S` and doubling up to :data:`RETRY_MAX_S`, while it goes on taking the
  loop's batches off the queue (so the queue does not fill);
* should the queue be full anyway, the loop keeps the batch and offers it again with the next
  one; it never blocks.
* from the first refused write, the waiting writes also go to a spool file
  (``<data_dir>/spool``, appended and synced as each comes: a killed server loses none of
  them), removed once the database has them all; while it is away the writer asks
  :meth:`Records.writable` quickly before each retry rather than block in a long timeout;
* should the server stop (or be killed) while the database is still away, the spool stays
  (:meth:`TrialRecorder.abandon` adds what is left) and :func:`recover_spooled` stores it at
  the next start.
* the loop hands its batch over every :data:`FLUSH_S`, and the writer takes a batch the loop
  holds that long itself when no new block comes: a kill loses about that much at most.

Every write is idempotent (chunks already stored are skipped, alarms and metrics replaced), so
a write that failed unclearly, or one replayed from a spool, may simply run again.

Memory while the database is away: about 4 MB per minute of trial at full rate (encoded).

At the start the trial's setup is stored (calibration, layout, body mass, side, rates, boards
with firmware and channel maps); at :meth:`TrialRecorder.finish` the last batch is flushed, the
end time, recording status, alarms and the live summary stored, and the trial's metrics are
computed from the stored raw recording (:mod:`gaitrig.rig.offline.trial_analysis`) and stored with
its steps.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import pickle
import queue
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import delete, select
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from gaitrig.db import models as m
from gaitrig.db import recordings, trials
from gaitrig.drivers.serial_link import BoardLink
from gaitrig.processing import kernels
from gaitrig.processing.calibration import RigCalibration
from gaitrig.processing.layouts import RigLayout
from gaitrig.processing.pipeline import BlockResult
from gaitrig.processing.timeline import ROLES, MergedBlock
from gaitrig.rig.model import Alarm, PatientOnRig, Targets
from gaitrig.rig.offline.trial_analysis import analyse_stored
from gaitrig.rig.offline.trial_setup import TrialSetup
from gaitrig.rig.records import Records
from gaitrig.rig.settings import Settings

log = logging.getLogger(__name__)

#: The bars board's rate when it does not say (Hz).
BARS_RATE_HZ = 80.0
#: A chunk holds at most this much of one board's frames (s).
CHUNK_S = 1.0
#: The loop hands its batch to the writer at least this often (s), and the writer takes a
#: batch the loop has held this long itself when no new block comes: at most about this much
#: of a trial is lost when the server is killed.
FLUSH_S = 0.5
#: Batches the queue between the loop and the writer holds (one batch is about CHUNK_S).
QUEUE_BATCHES = 64
RETRY_FIRST_S = 0.2
RETRY_MAX_S = 2.0
#: What the result chunks keep of each processed row (float32; names from the pipeline).
RESULT_QUANTITIES = ("left_foot_n", "right_foot_n", "left_bar_n", "right_bar_n",
                     "left_foot_pct_bw", "right_foot_pct_bw", "left_bar_pct_bw",
                     "right_bar_pct_bw", "left_cop_x_mm", "left_cop_y_mm", "right_cop_x_mm",
                     "right_cop_y_mm", "left_hand_position_mm", "right_hand_position_mm")
_RESULT_ROWS = np.array([kernels.FRAME_ROWS.index(name) for name in RESULT_QUANTITIES])
#: Errors of a database that is away (down, locked, connection lost): retried.
RETRIED = (OperationalError, InterfaceError)

Batch = list[tuple[dict[str, Any], npt.NDArray[np.float64], npt.NDArray[np.float64]]]


@dataclass
class RecorderStats:
    """Counters for the console, tests and benchmarks."""

    frames_appended: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ROLES, 0))
    frames_written: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ROLES, 0))
    rows_appended: int = 0
    chunks_written: int = 0
    write_failures: int = 0  # attempts the database refused (each retried)
    errors: list[str] = field(default_factory=list)  # jobs given up (not a database outage)
    gaps: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ROLES, 0))


class TrialRecorder:
    """One trial's recording. ``append`` runs on the processing loop; the rest on any thread."""

    def __init__(self, records: Records, trial_id: int, started_s: float,
                 chunk_s: float = CHUNK_S, queue_batches: int = QUEUE_BATCHES,
                 spool_folder: Path | None = None) -> None:
        self.records = records
        self.trial_id = trial_id
        self.started_s = started_s  # host monotonic clock (s) at the trial's start
        self.chunk_s = chunk_s
        self.flush_s = min(chunk_s, FLUSH_S)
        self._batch_lock = threading.Lock()  # the loop's batch, taken by the writer when idle
        self._lost_boards: list[dict[str, Any]] = []  # alarm rows of boards lost meanwhile
        self.unreachable_since_s: float | None = None  # host monotonic s of the first failure
        self.stats = RecorderStats()
        self._inbox: queue.Queue[tuple[str, Any]] = queue.Queue(queue_batches)
        self._batch: Batch = []
        self._batch_start_s = 0.0
        self._held: list[tuple[str, Any]] = []  # batches the full queue refused (loop side)
        self._jobs: deque[tuple[str, dict[str, Any]]] = deque()
        self._chunk_index = dict.fromkeys(ROLES, 0)
        self._result_index = 0
        self._last_seq: dict[str, int] = {}
        self._finishing = False
        self.done = threading.Event()
        self._abandon = threading.Event()
        self._spool_folder: Path | None = spool_folder
        self.spooled: Path | None = None  # where abandon() kept the unwritten part
        self._spool_file: Any = None  # the open spool while the database is away
        self._spooled_jobs = 0  # of self._jobs, how many (from the left) the spool holds
        self._thread = threading.Thread(target=self._run, name=f"recorder-{trial_id}",
                                        daemon=True)
        self._thread.start()

    # -- the processing loop -------------------------------------------------------------------

    def append(self, block: MergedBlock, result: BlockResult) -> None:
        """Keep a processed block (its raw frames per board and its results). Never blocks."""
        first_s = float(block.host_time_s[0])
        with self._batch_lock:
            if self._batch and first_s - self._batch_start_s >= self.flush_s:
                self._hand_over()
            if not self._batch:
                self._batch_start_s = first_s
            self._batch.append((block.raw, block.host_time_s, result.values))

    def _hand_over(self) -> None:
        """The batch to the writer (the caller holds ``_batch_lock``)."""
        if self._batch:
            self._held.append(("batch", self._batch))
        self._batch = []
        while self._held:
            try:
                self._inbox.put_nowait(self._held[0])
            except queue.Full:
                return  # offered again with the next batch
            self._held.pop(0)

    # -- controls ------------------------------------------------------------------------------

    def begin(self, fields: dict[str, Any], devices: dict[str, dict[str, Any]]) -> None:
        """Store the trial's setup (``fields``: see :data:`gaitrig.db.trials.TRIAL_FIELDS`) and
        boards."""
        self._put(("job", ("setup", {"fields": fields, "devices": devices})))

    def finish(self, live_summary: dict[str, Any], alarms: list[Alarm],
               ended_at: datetime | None = None) -> None:
        """The trial stopped: flush, store its end, alarms and live summary, then analyse it.

        Returns at once; :meth:`wait` waits for the writer. Call after the last ``append``."""
        ended_at = ended_at or datetime.now(UTC)
        with self._batch_lock:
            self._hand_over()
            held, self._held = self._held, []
        for item in held:
            self._put(item)
        rows = [alarm_row(a, self.started_s) for a in alarms] + list(self._lost_boards)
        self._put(("finish", {"live": live_summary, "ended_at": ended_at, "alarms": rows}))

    def resumed(self) -> None:
        """The trial resumes after a pause: the frames not recorded during the pause are not
        lost frames (the sequence numbers start again from here)."""
        with self._batch_lock:
            self._hand_over()
            held, self._held = self._held, []
        for item in held:
            self._put(item)
        self._put(("resumed", None))

    def board_lost(self, role: str, lost_at_s: float, duration_s: float) -> None:
        """A board was gone from ``lost_at_s`` (host monotonic s) for ``duration_s`` (s): kept
        with the trial as a ``board_lost`` alarm (``value``: the duration, s); the recording
        is then marked ``gaps``. Call before :meth:`finish`."""
        self._lost_boards.append({
            "at_s": max(0.0, lost_at_s - self.started_s), "kind": "board_lost",
            "message": f"board {role} lost for {duration_s:.1f} s (reconnected)",
            "value": round(duration_s, 3), "created_at": datetime.now(UTC)})

    def status(self, now_s: float) -> dict[str, Any]:
        """For the live message: can the writer reach the database, how many chunk writes wait
        (in memory, and in the spool file), since when (host monotonic s) and for how long."""
        since = self.unreachable_since_s
        waiting = sum(1 for kind, _ in list(self._jobs) if kind == "chunks")
        return {"trial_id": self.trial_id, "database_reachable": since is None,
                "buffered_chunks": waiting + self._inbox.qsize(),
                "spooled_chunks": self._spooled_jobs if self._spool_file is not None else 0,
                "since_s": None if since is None else round(since, 3),
                "for_s": None if since is None else round(now_s - since, 1)}

    def wait(self, timeout_s: float | None = None) -> bool:
        """True once everything is written and analysed (the writer has ended)."""
        return self.done.wait(timeout_s)

    def abandon(self, folder: Path, timeout_s: float = 30.0) -> Path | None:
        """Stop retrying and spool what is not yet written to a file in ``folder`` (the server
        is stopping while the database is away); :func:`recover_spooled` writes it later.
        Returns the file (None: there was nothing left)."""
        self._spool_folder = folder
        self._abandon.set()
        self._thread.join(timeout_s)
        return self.spooled

    def _put(self, item: tuple[str, Any]) -> None:
        self._inbox.put(item)  # controls only (not the loop): may wait for room

    # -- the writer thread ---------------------------------------------------------------------

    def _run(self) -> None:
        backoff = RETRY_FIRST_S
        try:
            while not (self._finishing and not self._jobs):
                if self._abandon.is_set():
                    self._spool()
                    return
                if not self._jobs:
                    try:
                        self._take(self._inbox.get(timeout=self.flush_s))
                    except queue.Empty:
                        self._take_stale_batch()
                        continue
                self._take_waiting()
                if not self._jobs:
                    continue
                kind, data = self._jobs[0]
                if self.unreachable_since_s is not None and not self.records.writable():
                    self._wait(backoff)  # still away: asked quickly, not a whole busy timeout
                    backoff = min(2 * backoff, RETRY_MAX_S)
                    continue
                try:
                    with self.records.sessions() as session:
                        run_job(session, self.trial_id, kind, data)
                except RETRIED as exc:
                    self.stats.write_failures += 1
                    if self.unreachable_since_s is None:
                        self.unreachable_since_s = time.monotonic()
                    self._spool_waiting()
                    log.warning("trial %d: database unavailable for %s (%s): retrying in %.1f s",
                                self.trial_id, kind, str(exc).splitlines()[0], backoff)
                    self._wait(backoff)
                    backoff = min(2 * backoff, RETRY_MAX_S)
                    continue
                except (DBAPIError, ValueError, LookupError) as exc:
                    log.exception("trial %d: %s failed", self.trial_id, kind)
                    self.stats.errors.append(f"{kind}: {exc}")
                else:
                    if kind == "chunks":
                        self.stats.chunks_written += len(data["raw"]) + len(data["results"])
                        for row in data["raw"]:
                            self.stats.frames_written[row["role"]] += row["frame_count"]
                self._jobs.popleft()
                self._spooled_jobs = max(0, self._spooled_jobs - 1)
                backoff = RETRY_FIRST_S
                self.unreachable_since_s = None
                if not self._jobs:
                    self._drop_spool()
        finally:
            self._close_spool()
            self.done.set()

    def _take_stale_batch(self) -> None:
        """Nothing came for a while: take the batch the loop holds if it is ``flush_s`` old
        (the loop may be idle: no new block to trigger the hand-over)."""
        with self._batch_lock:  # the loop hands over under this lock: the order holds
            self._take_waiting()
            if self._batch and time.monotonic() - self._batch_start_s >= self.flush_s:
                self._hand_over()
            held, self._held = self._held, []
            for item in held:
                self._take(item)

    # -- the spool: the writes waiting while the database is away, on disk --------------------

    def _spool_waiting(self) -> None:
        """Append the waiting writes not yet in the spool file to it (opened at the first
        failure; one pickle per write, flushed and synced: a kill loses none of them)."""
        folder = self._spool_folder
        if folder is None or self._spooled_jobs >= len(self._jobs):
            return
        try:
            if self._spool_file is None:
                folder.mkdir(parents=True, exist_ok=True)
                path = folder / f"trial-{self.trial_id}-{time.time_ns()}.spool"
                self._spool_file = path.open("ab")
                pickle.dump({"trial_id": self.trial_id}, self._spool_file)
                self.spooled = path
                self._spooled_jobs = 0
                log.warning("trial %d: the database is away: spooling to %s", self.trial_id,
                            path)
            for job in list(self._jobs)[self._spooled_jobs:]:
                pickle.dump(job, self._spool_file)
                self._spooled_jobs += 1
            self._spool_file.flush()
            os.fsync(self._spool_file.fileno())
        except OSError:
            log.exception("trial %d: cannot write the spool in %s", self.trial_id, folder)

    def _close_spool(self) -> None:
        if self._spool_file is not None:
            with contextlib.suppress(OSError):
                self._spool_file.close()
            self._spool_file = None

    def _drop_spool(self) -> None:
        """Everything is in the database: the spool is no longer needed."""
        if self._spool_file is None:
            return
        self._close_spool()
        if self.spooled is not None:
            self.spooled.unlink(missing_ok=True)
            log.info("trial %d: the database is back; spool written and removed",
                     self.trial_id)
            self.spooled = None
        self._spooled_jobs = 0

    def _spool(self) -> None:
        self._take_waiting()
        if not self._jobs or self._spool_folder is None:
            return
        self._spool_waiting()
        log.warning("trial %d: the database stayed away; %d writes kept in %s (written at the "
                    "next start)", self.trial_id, len(self._jobs), self.spooled)

    def _take_waiting(self) -> None:
        while True:
            try:
                self._take(self._inbox.get_nowait())
            except queue.Empty:
                return

    def _wait(self, seconds: float) -> None:
        """Sleep ``seconds`` while still taking the loop's batches off the queue."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0 and not self._abandon.is_set():
            with contextlib.suppress(queue.Empty):
                self._take(self._inbox.get(timeout=min(left, 0.1)))

    def _take(self, item: tuple[str, Any]) -> None:
        kind, payload = item
        if kind == "batch":
            self._jobs.append(("chunks", self._encode(payload)))
        elif kind == "job":
            self._jobs.append(payload)
        elif kind == "resumed":
            self._last_seq.clear()
        elif kind == "finish":
            gaps = any(self.stats.gaps.values()) or any(
                row["kind"] == "board_lost" for row in payload["alarms"])
            status = "gaps" if gaps else "complete"
            self._jobs.append(("stop", {"ended_at": payload["ended_at"], "status": status,
                                        "alarms": payload["alarms"],
                                        "pauses_s": payload["live"].get("pauses_s") or []}))
            self._jobs.append(("analysis", {"live": payload["live"]}))
            self._finishing = True
        if self._spool_file is not None:  # the database is away: on disk at once
            self._spool_waiting()

    def _encode(self, batch: Batch) -> dict[str, Any]:
        """A batch as encoded chunk rows (here, on this thread), ready to insert."""
        raw_rows, result_rows = [], []
        for role in ROLES:
            time.sleep(0)  # let the processing loop have the interpreter between the steps
            parts = [raw[role] for raw, _, _ in batch if len(raw[role])]
            if not parts:
                continue
            frames = recordings.Frames(np.concatenate([p.sample_time_s for p in parts]),
                                       np.concatenate([p.seq for p in parts]),
                                       np.concatenate([p.device_time_us for p in parts]),
                                       np.concatenate([p.counts for p in parts]))
            self._count_gaps(role, frames.seq)
            self.stats.frames_appended[role] += len(frames)
            for piece in _pieces(frames.host_time_s, self.chunk_s):
                part = recordings.Frames(frames.host_time_s[piece], frames.seq[piece],
                                         frames.device_time_us[piece], frames.counts[piece])
                raw_rows.append(recordings.raw_chunk_row(self.trial_id, role,
                                                         self._chunk_index[role], part))
                time.sleep(0)
                self._chunk_index[role] += 1
        times = np.concatenate([t for _, t, _ in batch])
        time.sleep(0)
        values = np.concatenate([v for _, _, v in batch], axis=1)[_RESULT_ROWS]  # one index
        self.stats.rows_appended += len(times)
        for piece in _pieces(times, self.chunk_s):
            result = recordings.Results(times[piece], {
                name: values[i, piece].astype(np.float32)
                for i, name in enumerate(RESULT_QUANTITIES)})
            result_rows.append(recordings.result_chunk_row(self.trial_id, self._result_index,
                                                           result))
            self._result_index += 1
        return {"raw": raw_rows, "results": result_rows}

    def _count_gaps(self, role: str, seq: npt.NDArray[np.int64]) -> None:
        """Frames lost on the way (sequence numbers are u16 and wrap)."""
        if not len(seq):
            return
        previous = self._last_seq.get(role)
        joined = seq if previous is None else np.concatenate([[previous], seq])
        self.stats.gaps[role] += int(np.count_nonzero(np.diff(joined) % 65536 != 1))
        self._last_seq[role] = int(seq[-1])


# -- the writes (each may run again after a failure, or from a spool: each is idempotent) ----


def run_job(session: Session, trial_id: int, kind: str, data: dict[str, Any]) -> None:
    """One write of a trial's recording: ``setup``, ``chunks``, ``stop`` or ``analysis``."""
    if kind == "setup":
        trials.update_trial(session, trial_id, **data["fields"])
        recordings.add_devices(session, trial_id, data["devices"])
        recordings.set_recording_status(session, trial_id, "recording")
    elif kind == "chunks":
        _write_new_chunks(session, trial_id, data["raw"], data["results"])
    elif kind == "stop":
        trial = session.get(m.Trial, trial_id)
        if trial is None:
            raise LookupError(f"trial {trial_id} is gone")
        if trial.ended_at is None:
            trial.ended_at = data["ended_at"]
        trial.recording_status = data["status"]
        if data.get("pauses_s") and trial.setup is not None:  # for the analysis (and replay)
            trial.setup = {**trial.setup, "pauses_s": data["pauses_s"]}
        session.execute(delete(m.Alarm).where(m.Alarm.trial_id == trial_id))
        session.add_all(m.Alarm(trial_id=trial_id, **row) for row in data["alarms"])
        session.commit()
    elif kind == "analysis":
        _store_analysis(session, trial_id, data["live"])
    else:
        raise ValueError(f"unknown recorder job {kind!r}")


def _write_new_chunks(session: Session, trial_id: int, raw: list[dict[str, Any]],
                      results: list[dict[str, Any]]) -> None:
    """Insert the chunks not stored yet (a retry after an unclear failure finds some there)."""
    stored_raw = {(role, index) for role, index in session.execute(
        select(m.RecordingChunk.role, m.RecordingChunk.chunk_index)
        .where(m.RecordingChunk.trial_id == trial_id,
               m.RecordingChunk.chunk_index.in_({r["chunk_index"] for r in raw})))}
    stored_results = set(session.scalars(
        select(m.ResultChunk.chunk_index)
        .where(m.ResultChunk.trial_id == trial_id,
               m.ResultChunk.chunk_index.in_([r["chunk_index"] for r in results]))))
    recordings.write_chunks(
        session, [r for r in raw if (r["role"], r["chunk_index"]) not in stored_raw],
        [r for r in results if r["chunk_index"] not in stored_results])


def _store_analysis(session: Session, trial_id: int, live: dict[str, Any]) -> None:
    try:
        analysis = analyse_stored(session, trial_id)
        metric = dict(analysis.metric)
        steps = analysis.steps
    except ValueError as exc:  # no frames, no setup: keep what the live path counted
        log.warning("trial %d: no metrics from the recording: %s", trial_id, exc)
        metric = {"analysis_version": f"none: {exc}"[:32],
                  "duration_s": float(live.get("duration_s") or 0.0),
                  "step_count": int(live.get("steps") or 0), "summary": {}}
        steps = []
    metric["summary"] = {**metric["summary"], "live": live}
    metric["computed_at"] = datetime.now(UTC)
    recordings.store_analysis(session, trial_id, metric, steps)


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


def setup_fields(settings: Settings, patient: PatientOnRig, calibration: RigCalibration,
                 layout: RigLayout, targets: Targets, links: list[BoardLink],
                 feedback: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a trial stores to be reprocessed exactly (``gaitrig.db.trials.TRIAL_FIELDS``): the setup
    (:class:`gaitrig.rig.offline.trial_setup.TrialSetup`), calibration dicts, targets and firmware
    versions. ``feedback``: the display's feedback fading at the start (``mode``, ``fade_every_n``),
    stored in the targets as ``feedback`` (what the compliance with/without feedback reads)."""
    rates = {"insole_left": float(settings.insole_rate_hz),
             "insole_right": float(settings.insole_rate_hz), "bars": BARS_RATE_HZ}
    firmware = {}
    for status in (link.status() for link in links):
        if status.role is not None:
            firmware[status.role] = status.firmware_version
            if status.sample_rate_hz:
                rates[status.role] = float(status.sample_rate_hz)
    dicts = calibration.to_dicts()
    setup = TrialSetup(
        body_mass_kg=patient.body_mass_kg, prosthetic_side=patient.prosthetic_side,
        insole_sensors=settings.insole_sensors, shoe_size_eu=settings.shoe_size_eu,
        rates_hz=rates, layout=layout,
        idle_counts={role: [round(float(c.get("offset_counts", 0))) for c in dicts[role]]
                     for role in ROLES})
    return {"setup": setup.to_dict(), "calibration": dicts,
            "targets": {**asdict(targets), **({"feedback": feedback} if feedback else {})},
            "firmware_versions": firmware}


def board_devices(links: list[BoardLink]) -> dict[str, dict[str, Any]]:
    """The boards of a trial per role: serial number, firmware, rate (Hz), channel map."""
    devices = {}
    for link in links:
        hello = link.hello
        if hello is not None:
            devices[hello.role.name.lower()] = {
                "serial_number": hello.serial_number,
                "firmware_version": list(hello.firmware_version),
                "sample_rate_hz": link.status().sample_rate_hz,
                "channel_map": list(hello.channel_map)}
    return devices


def alarm_row(alarm: Alarm, started_s: float) -> dict[str, Any]:
    """An alarm episode as stored: ``at_s`` from the trial's start, ``value`` its peak (% BW)."""
    end = "" if alarm.end_s is None else f" for {alarm.end_s - alarm.start_s:.1f} s"
    what = "load on the prosthetic limb" if alarm.kind == "over_limit" else "hand support"
    return {"at_s": alarm.start_s - started_s, "kind": alarm.kind,
            "message": f"{what} above {alarm.limit_pct_bw:.0f} % BW{end} (peak "
                       f"{alarm.peak_pct_bw:.1f} % BW)",
            "value": alarm.peak_pct_bw, "created_at": datetime.now(UTC)}


def _pieces(times: npt.NDArray[np.float64], chunk_s: float) -> list[slice]:
    """Consecutive slices of ``times`` each spanning less than ``chunk_s``."""
    if not len(times):
        return []
    group = np.floor((times - times[0]) / chunk_s).astype(np.int64)
    edges = np.flatnonzero(np.diff(group)) + 1
    bounds = [0, *edges.tolist(), len(times)]
    return [slice(a, b) for a, b in itertools.pairwise(bounds)]
