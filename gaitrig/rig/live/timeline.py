"""Collect DATA frames from the boards and merge them onto the insole timeline.

The boards' links append frames as they are read (the live server polls every board right before
it takes a block; a link's reader thread may add frames during a handshake); the processing loop
takes everything new as one block. The insole boards (up to 1 kHz) set the timeline; the bars
(80 Hz) and the other insole are held at their newest value at or before each row: a zero-order
hold by sample time, which is each board's own clock mapped onto the host's
(``gaitrig.drivers.clock_sync``), so boards with drifting clocks still line up. A board's frames for
an instant that arrive after that instant's block was processed are not waited for: the live path
never holds back the newest data.

A held value is not a live one: each block says, per board and row, how old the sample held
there is (``sample_age_s``), and the collector keeps each board's newest sample time
(``newest_sample_time_s``), so the controller can mark a board whose newest sample is older than
:data:`STALE_AFTER_S` as unavailable instead of showing its last value as live.
"""

from __future__ import annotations

import threading

import numpy as np

from gaitrig.processing.timeline import (
    ROLES,
    FloatArray,
    IntArray,
    MergedBlock,
    RawFrames,
    choose_timeline,
    hold_at,
)

#: A board whose newest sample is older than this is stale: its held value is not live (s).
STALE_AFTER_S = 0.2







class FrameCollector:
    """Thread-safe inbox of DATA frames per board role, and the hold state of the merge."""

    def __init__(self, channels: dict[str, int], idle_counts: dict[str, IntArray]) -> None:
        self.channels = channels
        self._held = {role: np.asarray(idle_counts[role], dtype=np.int64) for role in ROLES}
        self._held_time = dict.fromkeys(ROLES, -np.inf)  # sample time of each held value (s)
        self._lock = threading.Lock()
        self._inbox: dict[str, list[tuple[float, int, int, tuple[int, ...]]]] = {
            role: [] for role in ROLES}
        self._seq: dict[str, int] = {}
        self._device_time: dict[str, int] = {}

    @property
    def newest_seq(self) -> dict[str, int]:
        """Per role, the sequence number of the newest frame taken into a block."""
        return dict(self._seq)

    @property
    def newest_sample_time_s(self) -> dict[str, float]:
        """Per role that has sent any, the host time (s) of its newest sample taken into a
        block."""
        return {role: t for role, t in self._held_time.items() if np.isfinite(t)}

    @property
    def newest_device_time(self) -> dict[str, int]:
        """Per role, the board timestamp (µs) of the newest frame taken into a block."""
        return dict(self._device_time)

    def add(self, role: str, sample_time_s: float, seq: int, device_time_us: int,
            values: tuple[int, ...]) -> None:
        """Called for each DATA frame as it is read (any thread). Frames of the wrong width are
        dropped."""
        if len(values) != self.channels[role]:
            return
        with self._lock:
            self._inbox[role].append((sample_time_s, seq, device_time_us, values))

    def take_block(self) -> MergedBlock | None:
        """Everything that arrived since the last call, merged; None when nothing came."""
        with self._lock:
            inbox, self._inbox = self._inbox, {role: [] for role in ROLES}
        raw = {role: RawFrames.of(frames, self.channels[role]) for role, frames in inbox.items()}
        for role, frames in raw.items():
            if len(frames):
                self._seq[role] = int(frames.seq[-1])
                self._device_time[role] = int(frames.device_time_us[-1])
        timeline_role = choose_timeline({role: len(frames) for role, frames in raw.items()})
        if not len(raw[timeline_role]):
            return None
        times = raw[timeline_role].sample_time_s
        ages = {role: np.zeros(len(times)) for role in ROLES}
        counts = {role: raw[role].counts if role == timeline_role else
                  self._hold(role, raw[role], times, ages) for role in ROLES}
        self._held[timeline_role] = raw[timeline_role].counts[-1]
        self._held_time[timeline_role] = float(times[-1])
        return MergedBlock(times, counts, dict(self._seq), dict(self._device_time), raw, ages)

    def _hold(self, role: str, frames: RawFrames, times: FloatArray,
              ages: dict[str, FloatArray]) -> IntArray:
        """The board's counts at each of ``times``: its newest sample taken at or before (and,
        into ``ages[role]``, how old that sample is at each row)."""
        if not len(frames):
            ages[role] = times - self._held_time[role]
            return np.broadcast_to(self._held[role], (len(times), self.channels[role])).copy()
        index = np.searchsorted(frames.sample_time_s, times, side="right") - 1
        held_time = np.concatenate([[self._held_time[role]], frames.sample_time_s])[index + 1]
        ages[role] = times - held_time
        held = hold_at(frames.sample_time_s, frames.counts, self._held[role], times)
        self._held[role] = frames.counts[-1]
        self._held_time[role] = float(frames.sample_time_s[-1])
        return held




