"""The merge of the boards' frames onto one timeline, pure: the roles, a block's frames, the
merged block, which board sets the timeline, and the zero-order hold by sample time. Used live
(``gaitrig.rig.live.timeline``) and on stored trials (``gaitrig.rig.offline.trial_analysis``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

ROLES = ("insole_left", "insole_right", "bars")


IntArray = npt.NDArray[np.int64]


FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class RawFrames:
    """The DATA frames of one board in one block, as they came (for the recorder)."""

    sample_time_s: FloatArray  # (m,) when each sample was taken, host monotonic clock (s)
    seq: IntArray  # (m,) the frames' sequence numbers (u16)
    device_time_us: IntArray  # (m,) the board's timestamps (µs, u32, wraps)
    counts: IntArray  # (m, channels) raw counts

    @classmethod
    def of(cls, frames: list[tuple[float, int, int, tuple[int, ...]]], channels: int
           ) -> RawFrames:
        count = len(frames)
        return cls(
            np.fromiter((f[0] for f in frames), dtype=np.float64, count=count),
            np.fromiter((f[1] for f in frames), dtype=np.int64, count=count),
            np.fromiter((f[2] for f in frames), dtype=np.int64, count=count),
            np.array([f[3] for f in frames], dtype=np.int64).reshape(count, channels))

    def __len__(self) -> int:
        return len(self.seq)


@dataclass(frozen=True, slots=True)
class MergedBlock:
    """Counts of all three boards on one timeline (one row per sample of the timeline board)."""

    host_time_s: FloatArray  # when each row's sample was taken, host monotonic clock (s)
    counts: dict[str, IntArray]  # role -> (n, channels) raw counts
    newest_seq: dict[str, int]  # role -> sequence number of the newest frame included
    newest_device_time_us: dict[str, int]  # role -> that frame's device timestamp (µs)
    raw: dict[str, RawFrames]  # role -> every frame that board sent in this block
    #: role -> (n,) how old (s) the sample held on each row is (0 on the timeline board's own
    #: rows; inf before the board's first sample)
    sample_age_s: dict[str, FloatArray] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return len(self.host_time_s)


def choose_timeline(frame_counts: dict[str, int]) -> str:
    """The board whose samples set the merged timeline: the insole with the most frames, else the
    bars (``frame_counts``: role -> frames)."""
    insole = max(("insole_left", "insole_right"), key=lambda role: frame_counts.get(role, 0))
    return insole if frame_counts.get(insole, 0) else "bars"


def hold_at(sample_time_s: FloatArray, counts: IntArray, before: IntArray,
            times: FloatArray) -> IntArray:
    """A board's counts at each of ``times`` (s): its newest sample taken at or before, and
    ``before`` (the counts held from earlier, or idle counts) until its first sample."""
    index = np.searchsorted(sample_time_s, times, side="right") - 1
    return np.vstack([before[None, :], counts])[index + 1]
