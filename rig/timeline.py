"""Collect DATA frames from the boards and merge them onto the insole timeline.

Reader threads append frames as they arrive; the processing loop takes everything new as one
block. The insole boards (up to 1 kHz) set the timeline; the bars (80 Hz) and the other insole are
held at their newest value at or before each row: a zero-order hold by sample time, which is each
board's own clock mapped onto the host's (``drivers.clock_sync``), so boards with drifting clocks
still line up. A board's frames for an instant that arrive after that instant's block was processed
are not waited for: the live path never holds back the newest data.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

ROLES = ("insole_left", "insole_right", "bars")

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class MergedBlock:
    """Counts of all three boards on one timeline (one row per sample of the timeline board)."""

    host_time_s: FloatArray  # when each row's sample was taken, host monotonic clock (s)
    counts: dict[str, IntArray]  # role -> (n, channels) raw counts
    newest_seq: dict[str, int]  # role -> sequence number of the newest frame included
    newest_device_time_us: dict[str, int]  # role -> that frame's device timestamp (µs)

    @property
    def rows(self) -> int:
        return len(self.host_time_s)


class FrameCollector:
    """Thread-safe inbox of DATA frames per board role, and the hold state of the merge."""

    def __init__(self, channels: dict[str, int], idle_counts: dict[str, IntArray]) -> None:
        self.channels = channels
        self._held = {role: np.asarray(idle_counts[role], dtype=np.int64) for role in ROLES}
        self._lock = threading.Lock()
        self._inbox: dict[str, list[tuple[float, int, int, tuple[int, ...]]]] = {
            role: [] for role in ROLES}
        self._seq: dict[str, int] = {}
        self._device_time: dict[str, int] = {}
        self.new_data = threading.Event()

    @property
    def newest_seq(self) -> dict[str, int]:
        """Per role, the sequence number of the newest frame taken into a block."""
        return dict(self._seq)

    @property
    def newest_device_time(self) -> dict[str, int]:
        """Per role, the board timestamp (µs) of the newest frame taken into a block."""
        return dict(self._device_time)

    def add(self, role: str, sample_time_s: float, seq: int, device_time_us: int,
            values: tuple[int, ...]) -> None:
        """Called on a reader thread for each DATA frame. Frames of the wrong width are dropped."""
        if len(values) != self.channels[role]:
            return
        with self._lock:
            self._inbox[role].append((sample_time_s, seq, device_time_us, values))
        self.new_data.set()

    def take_block(self) -> MergedBlock | None:
        """Everything that arrived since the last call, merged; None when no insole data came."""
        with self._lock:
            inbox, self._inbox = self._inbox, {role: [] for role in ROLES}
            self.new_data.clear()
        for role, frames in inbox.items():
            if frames:
                self._seq[role] = frames[-1][1]
                self._device_time[role] = frames[-1][2]
        timeline_role = max(("insole_left", "insole_right"), key=lambda r: len(inbox[r]))
        if not inbox[timeline_role]:
            timeline_role = "bars"
        timeline = inbox[timeline_role]
        if not timeline:
            return None
        times = np.fromiter((f[0] for f in timeline), dtype=np.float64, count=len(timeline))
        counts: dict[str, IntArray] = {}
        for role in ROLES:
            if role == timeline_role:
                counts[role] = np.array([f[3] for f in timeline], dtype=np.int64)
                self._held[role] = counts[role][-1]
            else:
                counts[role] = self._hold(role, inbox[role], times)
        return MergedBlock(times, counts, dict(self._seq), dict(self._device_time))

    def _hold(self, role: str, frames: list[tuple[float, int, int, tuple[int, ...]]],
              times: FloatArray) -> IntArray:
        rows = len(times)
        if not frames:
            return np.broadcast_to(self._held[role], (rows, self.channels[role])).copy()
        values = np.array([f[3] for f in frames], dtype=np.int64)
        taken = np.fromiter((f[0] for f in frames), dtype=np.float64, count=len(frames))
        # Row i takes the newest frame sampled at or before times[i]; before any, the held one.
        index = np.searchsorted(taken, times, side="right") - 1
        stacked = np.vstack([self._held[role][None, :], values])
        self._held[role] = values[-1]
        return stacked[index + 1]
