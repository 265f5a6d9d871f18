"""Batching a running trial's blocks into chunks: the loop's blocks (references to their raw
frames per board and their results) in, chunk rows of at most ``chunk_s`` per board out, encoded
with ``gaitrig.db.codec`` (through ``gaitrig.db.recordings``), ready to insert. Counts the frames
lost on the way (sequence gaps)."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from gaitrig.db import recordings
from gaitrig.processing import kernels
from gaitrig.processing.timeline import ROLES

Batch = list[tuple[dict[str, Any], npt.NDArray[np.float64], npt.NDArray[np.float64]]]


#: What the result chunks keep of each processed row (float32; names from the pipeline).
RESULT_QUANTITIES = ("left_foot_n", "right_foot_n", "left_bar_n", "right_bar_n",
                     "left_foot_pct_bw", "right_foot_pct_bw", "left_bar_pct_bw",
                     "right_bar_pct_bw", "left_cop_x_mm", "left_cop_y_mm", "right_cop_x_mm",
                     "right_cop_y_mm", "left_hand_position_mm", "right_hand_position_mm")


_RESULT_ROWS = np.array([kernels.FRAME_ROWS.index(name) for name in RESULT_QUANTITIES])


def _pieces(times: npt.NDArray[np.float64], chunk_s: float) -> list[slice]:
    """Consecutive slices of ``times`` each spanning less than ``chunk_s``."""
    if not len(times):
        return []
    group = np.floor((times - times[0]) / chunk_s).astype(np.int64)
    edges = np.flatnonzero(np.diff(group)) + 1
    bounds = [0, *edges.tolist(), len(times)]
    return [slice(a, b) for a, b in itertools.pairwise(bounds)]


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


class ChunkEncoder:
    """One trial's batches as chunk rows, numbered on from the last (``stats`` counts them)."""

    def __init__(self, trial_id: int, chunk_s: float, stats: RecorderStats) -> None:
        self.trial_id = trial_id
        self.chunk_s = chunk_s
        self.stats = stats
        self._chunk_index = dict.fromkeys(ROLES, 0)
        self._result_index = 0
        self._last_seq: dict[str, int] = {}

    def resumed(self) -> None:
        """After a pause: the sequence numbers go on from where the boards are now."""
        self._last_seq.clear()

    def encode(self, batch: Batch) -> dict[str, Any]:
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
