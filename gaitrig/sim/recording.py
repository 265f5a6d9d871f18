"""A recording in the rig's own format made offline from the virtual rig, with its ground truth.

``rig record --simulate --seconds S FILE`` and the accuracy tests use it: the virtual patient
walks (or stands), the virtual boards' sensor physics give the counts each board would send
(insoles at ``rate_hz``, the bars at 80 Hz held at their newest value on the insole timeline, as
the controller merges them), and :func:`gaitrig.io.recordings.write_gaitrig` writes them with the
calibration, layout, body mass and prosthetic side. Times in the file and in the ground truth
are seconds from the first sample.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from gaitrig.io.recordings import write_gaitrig
from gaitrig.processing.layouts import RigLayout
from gaitrig.sim.boards import device_time_us
from gaitrig.sim.patient import GaitEvent, GaitParameters, GroundTruth
from gaitrig.sim.rig import VirtualRig

FloatArray = npt.NDArray[np.float64]
BARS_RATE_HZ = 80.0
#: The recording starts this long after the patient starts (s): clear of the first stride.
LEAD_IN_S = 1.0


@dataclass(frozen=True)
class VirtualRecording:
    """What was written, and what the virtual patient really did (times from the first
    sample, s)."""

    path: Path
    sample_rate_hz: float
    events: list[GaitEvent]  # ground-truth heel strikes and toe offs
    truth: GroundTruth  # true loads, CoP, ... at each sample (t_s from the first sample)
    body_weight_n: float


def record_virtual(path: str | Path, seconds: float, *, body_mass_kg: float = 75.0,
                   prosthetic_side: str = "left", activity: str = "walking", seed: int = 0,
                   noise: bool = True, insole_sensors: int = 8, shoe_size_eu: int = 42,
                   rate_hz: int = 1000, calibration: str = "true",
                   gait: GaitParameters | None = None,
                   target_band_pct_bw: tuple[float, float] = (40.0, 60.0)) -> VirtualRecording:
    """Write ``seconds`` of the virtual rig to ``path``. ``calibration``: ``"true"`` (what the
    simulated sensors really do: a perfectly calibrated rig) or ``"nominal"`` (datasheet)."""
    if not seconds > 0:
        raise ValueError(f"seconds must be positive, got {seconds!r}")
    layout = RigLayout.load(insole_sensors, shoe_size_eu)
    rig = VirtualRig(body_mass_kg=body_mass_kg, prosthetic_side=prosthetic_side,
                     activity=activity, insole_positions_mm={
                         "left": layout.left.positions_mm, "right": layout.right.positions_mm},
                     bar_posts_mm=(layout.bars.rear_post_mm, layout.bars.front_post_mm),
                     insole_rate_hz=rate_hz, seed=seed, noise=noise, gait=gait)
    t0 = rig.start_s + LEAD_IN_S
    t = t0 + np.arange(round(seconds * rate_hz)) / rate_hz
    left = rig.read_counts("insole_left", t)
    right = rig.read_counts("insole_right", t)
    bar_times = t0 + np.arange(int(np.ceil(seconds * BARS_RATE_HZ)) + 1) / BARS_RATE_HZ
    bar_counts = rig.read_counts("bars", bar_times)
    newest = np.clip(np.floor((t - t0) * BARS_RATE_HZ).astype(np.int64), 0,
                     bar_times.size - 1)
    clocks = {role: device_time_us(t, rig.start_s, board.clock_offset_us, board.drift_ppm)
              for role, board in rig.boards.items()}
    chosen = rig.true_calibration() if calibration == "true" else rig.nominal_calibration()
    written = write_gaitrig(
        path, sample_rate_hz=float(rate_hz), host_time_s=t - t0, device_time_us=clocks,
        left_counts=left, right_counts=right, bar_counts=bar_counts[newest],
        calibration=chosen,
        layout={"insole_sensors": insole_sensors, "shoe_size_eu": shoe_size_eu},
        body_mass_kg=body_mass_kg, prosthetic_side=prosthetic_side,
        metadata={"source": "virtual rig", "seed": seed, "noise": noise,
                  "activity": activity, "calibration": calibration,
                  "target_band_pct_bw": list(target_band_pct_bw)})
    events = [GaitEvent(e.side, e.kind, e.t_s - t0)
              for e in rig.events_between(t0, t0 + seconds)]
    truth = rig.ground_truth(t)
    return VirtualRecording(written, float(rate_hz), events,
                            replace(truth, t_s=truth.t_s - t0), truth.body_weight_n)
