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

The parts: :mod:`gaitrig.rig.recording.batching` turns batches into chunk rows,
:mod:`gaitrig.rig.recording.jobs` holds the database writes, :mod:`gaitrig.rig.recording.spool`
the file they wait in while the database is away, :mod:`gaitrig.rig.recording.trial_rows` what a
trial stores beside its frames (setup, boards, alarms); this module is the queue and the writer
thread between them.

Memory while the database is away: about 4 MB per minute of trial at full rate (encoded).

At the start the trial's setup is stored (calibration, layout, body mass, side, rates, boards
with firmware and channel maps); at :meth:`TrialRecorder.finish` the last batch is flushed, the
end time, recording status, alarms and the live summary stored, and the trial's metrics are
computed from the stored raw recording (:mod:`gaitrig.rig.offline.trial_analysis`) and stored with
its steps.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError

from gaitrig.processing.pipeline import BlockResult
from gaitrig.processing.timeline import MergedBlock
from gaitrig.rig.model import Alarm
from gaitrig.rig.recording.batching import Batch, ChunkEncoder, RecorderStats
from gaitrig.rig.recording.jobs import RETRIED, run_job
from gaitrig.rig.recording.spool import Spool
from gaitrig.rig.recording.trial_rows import alarm_row
from gaitrig.rig.records import Records

log = logging.getLogger(__name__)

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
        self._encoder = ChunkEncoder(trial_id, chunk_s, self.stats)
        self._finishing = False
        self.done = threading.Event()
        self._abandon = threading.Event()
        self.spool = Spool(spool_folder, trial_id)  # the waiting writes, on disk while away
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
                "spooled_chunks": self.spool.count if self.spool.open else 0,
                "since_s": None if since is None else round(since, 3),
                "for_s": None if since is None else round(now_s - since, 1)}

    def wait(self, timeout_s: float | None = None) -> bool:
        """True once everything is written and analysed (the writer has ended)."""
        return self.done.wait(timeout_s)

    def abandon(self, folder: Path, timeout_s: float = 30.0) -> Path | None:
        """Stop retrying and spool what is not yet written to a file in ``folder`` (the server
        is stopping while the database is away); :func:`recover_spooled` writes it later.
        Returns the file (None: there was nothing left)."""
        self.spool.folder = folder
        self._abandon.set()
        self._thread.join(timeout_s)
        return self.spool.path

    def _put(self, item: tuple[str, Any]) -> None:
        self._inbox.put(item)  # controls only (not the loop): may wait for room

    # -- the writer thread ---------------------------------------------------------------------

    def _run(self) -> None:
        backoff = RETRY_FIRST_S
        try:
            while not (self._finishing and not self._jobs):
                if self._abandon.is_set():
                    self._spool_the_rest()
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
                    self.spool.add(self._jobs)
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
                self.spool.written()
                backoff = RETRY_FIRST_S
                self.unreachable_since_s = None
                if not self._jobs:
                    self.spool.drop()
        finally:
            self.spool.close()
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

    def _spool_the_rest(self) -> None:
        self._take_waiting()
        if not self._jobs or self.spool.folder is None:
            return
        self.spool.add(self._jobs)
        log.warning("trial %d: the database stayed away; %d writes kept in %s (written at the "
                    "next start)", self.trial_id, len(self._jobs), self.spool.path)

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
            self._jobs.append(("chunks", self._encoder.encode(payload)))
        elif kind == "job":
            self._jobs.append(payload)
        elif kind == "resumed":
            self._encoder.resumed()
        elif kind == "finish":
            gaps = any(self.stats.gaps.values()) or any(
                row["kind"] == "board_lost" for row in payload["alarms"])
            status = "gaps" if gaps else "complete"
            self._jobs.append(("stop", {"ended_at": payload["ended_at"], "status": status,
                                        "alarms": payload["alarms"],
                                        "pauses_s": payload["live"].get("pauses_s") or []}))
            self._jobs.append(("analysis", {"live": payload["live"]}))
            self._finishing = True
        if self.spool.open:  # the database is away: on disk at once
            self.spool.add(self._jobs)
