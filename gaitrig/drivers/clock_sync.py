"""Map a board's microsecond clock onto the host's monotonic clock (offset and drift).

Each DATA frame carries the board's timestamp of the sample (µs, u32, wraps every ~71.6 min). The
host sees the frame some time later: arrival = sample time + transport delay, and the delay is
always positive and jittery (USB packets, pty buffers, thread scheduling). The *least* delayed
frames therefore trace the board's clock best. The mapping keeps the minimum of (arrival - device
time) of each window of ``window_s`` seconds, over the last ``history_windows`` windows, and
puts a line *under* all of them: of the lines that no minimum lies below, the one highest at the
windows' mean device time (the linear program of Moon, Skelly and Towsley, "Estimation and removal
of clock skew from network delay measurements", 1999). That line is an edge of the minima's lower
convex hull, so a window whose frames all came late (the host stalled, the USB bus was busy) lies
above it and pulls neither slope nor offset; a least-squares fit through the minima would tilt
towards it. The line's slope is the board's clock drift relative to the host's, its intercept the
offset. The other way round, a frame far *less* delayed than the line allows shows that all the
minima so far came late (the host was busy when the board came up): they are forgotten.
Crystal drift of a few hundred ppm adds up to 0.2 ms per second, so without the slope two boards
would part by more than a millisecond within seconds. The slope needs three windows, so the
drift over three windows must stay under ``FORGET_S`` (1333 ppm with the default 0.5 s windows,
ten times what a board's crystal does), or a fast board looks like a stall and is forgotten.
A slope steeper than :data:`MAX_DRIFT_PPM` (1 %: a crystal is off by at most a few hundred ppm)
is not a clock but a fault (a wrong crystal or clock setting, a host clock jumping): it is
flagged (``drift_implausible``, shown in the board's status) and not used; the samples are then
timed by the newest window's minimum delay alone, without a slope. A board clock that runs more
than 1 % *fast* never gets three windows (its delays keep falling below the line, and the minima
are forgotten each time): two forgets within :data:`FORGET_PAIR_S` whose delays fell by more than
1 % of the board time between them give the estimate instead, and flag it the same way.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from itertools import pairwise

U32_US = 1 << 32
#: A frame this much less delayed (s) than the mapping's line shows the earlier minima were late.
FORGET_S = 0.002
#: A drift estimate above this is implausible for a crystal: flagged, not used (ppm).
MAX_DRIFT_PPM = 10_000.0
#: Two forgets this close (board time, s) measure the drift of a clock that keeps running ahead.
FORGET_PAIR_S = 5.0


@dataclass(slots=True)
class DeviceClock:
    """One board's clock. Feed every timestamped frame to :meth:`observe`; reset on reboot."""

    window_s: float = 0.5
    history_windows: int = 240
    _last_raw_us: int | None = None
    _wraps: int = 0
    _window_start_s: float | None = None
    _window_min: tuple[float, float] | None = None  # (device s, arrival - device s)
    _envelope: deque[tuple[float, float]] = field(default_factory=deque)
    _offset_s: float = 0.0  # intercept at _origin_s
    _drift: float = 0.0  # ds_host/ds_device - 1
    _origin_s: float = 0.0
    _estimate: float = 0.0  # the envelope's slope, whether used or not
    #: The drift estimate is over :data:`MAX_DRIFT_PPM`: not used for the samples' times.
    drift_implausible: bool = False
    _last_forget: tuple[float, float] | None = None  # (device s, delay s) of the newest forget

    def reset(self) -> None:
        """Forget everything (the board rebooted: its clock started again)."""
        self._last_raw_us = None
        self._wraps = 0
        self._window_start_s = None
        self._window_min = None
        self._envelope.clear()
        self._offset_s = self._drift = self._origin_s = self._estimate = 0.0
        self.drift_implausible = False
        self._last_forget = None

    @property
    def drift_ppm(self) -> float:
        """Estimated drift of the board's clock against the host's, parts per million (the
        estimate, even when it is implausible and not used: ``drift_implausible``)."""
        return self._estimate * 1e6

    def unwrap_us(self, timestamp_us: int) -> int:
        """The board time in µs since its boot, counting the wraps of the 32-bit clock."""
        if self._last_raw_us is not None and timestamp_us < self._last_raw_us - U32_US // 2:
            self._wraps += 1
        self._last_raw_us = timestamp_us
        return self._wraps * U32_US + timestamp_us

    def observe(self, timestamp_us: int, arrival_s: float) -> float:
        """Take one frame's board timestamp and host arrival time; return the sample's host time."""
        device_s = self.unwrap_us(timestamp_us) * 1e-6
        delay_s = arrival_s - device_s
        if self._envelope and delay_s < self.to_host_s(device_s) - device_s - FORGET_S:
            # Far below the line: every earlier minimum came late (a stall since the start),
            # and a line through them would be steep and wrong for seconds. Start again here.
            self._envelope.clear()
            self._window_start_s = self._window_min = None
            self._drift = 0.0
            self._forgot(device_s, delay_s)
        if self._window_min is None or delay_s < self._window_min[1]:
            self._window_min = (device_s, delay_s)
        if self._window_start_s is None:
            self._window_start_s = device_s
        if device_s - self._window_start_s >= self.window_s:
            self._fit(self._window_min)
            self._window_start_s, self._window_min = device_s, None
        elif not self._envelope:  # first window: the least delay seen so far, no drift yet
            self._origin_s, self._offset_s = self._window_min
        if self.drift_implausible:  # no slope to trust: at least never after its arrival
            return min(self.to_host_s(device_s), arrival_s)
        return self.to_host_s(device_s)

    def to_host_s(self, device_s: float) -> float:
        """Host monotonic time (s) of a board time in s since boot (unwrapped)."""
        return device_s + self._offset_s + self._drift * (device_s - self._origin_s)

    def _forgot(self, device_s: float, delay_s: float) -> None:
        """The minima were forgotten at this frame: a second forget soon after, with the delay
        fallen by over 1 % of the time between, is a clock running ahead (flagged)."""
        if self._last_forget is not None:
            d0, e0 = self._last_forget
            if 0 < device_s - d0 <= FORGET_PAIR_S:
                slope = (delay_s - e0) / (device_s - d0)
                if abs(slope) * 1e6 > MAX_DRIFT_PPM:
                    self._estimate, self.drift_implausible = slope, True
        self._last_forget = (device_s, delay_s)

    def _fit(self, window_min: tuple[float, float]) -> None:
        """Add a window's minimum; put the line on the lower hull edge under the minima's mean."""
        self._envelope.append(window_min)
        while len(self._envelope) > self.history_windows:
            self._envelope.popleft()
        hull: list[tuple[float, float]] = []  # lower convex hull; minima come in device-time order
        for d, e in self._envelope:
            while len(hull) >= 2 and ((hull[-1][0] - hull[-2][0]) * (e - hull[-2][1])
                                      - (hull[-1][1] - hull[-2][1]) * (d - hull[-2][0])) <= 0:
                hull.pop()
            hull.append((d, e))
        self._origin_s, self._offset_s = hull[0]
        self._drift = 0.0
        if len(self._envelope) < 3:  # two minima 0.5 s apart give no trustworthy slope yet
            self._offset_s = min(e for _, e in self._envelope)
            return
        mean_d = sum(d for d, _ in self._envelope) / len(self._envelope)
        for (d0, e0), (d1, e1) in pairwise(hull):
            if d1 > mean_d:  # the edge that spans the mean (hull[0] <= mean < hull[-1])
                self._origin_s, self._offset_s, self._drift = d0, e0, (e1 - e0) / (d1 - d0)
                break
        self._estimate = self._drift
        self.drift_implausible = abs(self._drift) * 1e6 > MAX_DRIFT_PPM
        if self.drift_implausible:  # a fault, not a crystal: no slope
            self._drift = 0.0
            self._origin_s, self._offset_s = window_min
