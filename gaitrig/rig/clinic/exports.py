"""A recorded trial out of the rig: CSV of the raw samples and of the steps, C3D for gait
analysis software.

* Raw CSV (one board): ``host_time_s`` (s, host monotonic clock), ``seq``, ``device_time_us``
  (µs, the board's clock) and one column of raw counts per channel, named by the board's channel
  map. Written chunk by chunk, so a long trial streams without being held in memory;
  :attr:`Export.total_parts` says how many chunks come (``rig export`` shows it as a progress
  bar).
* Steps CSV: one row per step, gait events in s from the trial's start, loads in % BW, then
  every per-step metric stored with it.
* C3D (written with ``ezc3d``): no marker points; analog channels on the results' timeline
  (the insole rate): the load under each foot and on each bar in N, each foot's CoP in mm (NaN
  while the foot is lifted), and every raw channel of every board in counts, each board held at
  its newest frame (the bars run at 80 Hz); gait events "Foot Strike" and "Foot Off" with
  context "Left"/"Right" at s from the first sample.
* PDF reports of a session or a patient (:mod:`gaitrig.rig.clinic.reports`), as one block.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ezc3d
import numpy as np
import numpy.typing as npt
from sqlalchemy import func, select

from gaitrig.db import models as m
from gaitrig.db import recordings
from gaitrig.processing.units import STANDARD_GRAVITY
from gaitrig.rig.clinic import reports
from gaitrig.rig.clinic.history import ClinicHistory, RecordNotFoundError, StepOut
from gaitrig.rig.clinic.load_curves import COP_SERIES, LOAD_SERIES, load_series

#: C3D marker frames per second when nothing else fits: analog samples per frame are whole.
POINT_RATE_HZ = 100.0
STEP_COLUMNS = ("step_index", "foot", "prosthetic", "heel_strike_s", "toe_off_s", "stance_s",
                "peak_load_pct_bw")


@dataclass(frozen=True, slots=True)
class Export:
    """A file to hand out: its name, media type and content (bytes, or text blocks)."""

    filename: str
    media_type: str
    total_parts: int  # for a progress bar: how many blocks ``parts`` yields
    parts: Iterator[bytes]


def _csv_text(rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode()


def _trial_or_404(history: ClinicHistory, trial_id: int) -> m.Trial:
    with history.records.sessions() as session:
        trial = session.get(m.Trial, trial_id)
        if trial is None:
            raise RecordNotFoundError(f"no trial {trial_id}")
        return trial


def raw_csv(history: ClinicHistory, trial_id: int, role: str) -> Export:
    """The raw frames of board ``role`` of a trial, as CSV, chunk by chunk."""
    _trial_or_404(history, trial_id)
    with history.records.sessions() as session:
        chunks = int(session.scalar(select(func.count(m.RecordingChunk.id)).where(
            m.RecordingChunk.trial_id == trial_id, m.RecordingChunk.role == role)) or 0)
        channel_map = session.scalar(select(m.TrialDevice.channel_map).where(
            m.TrialDevice.trial_id == trial_id, m.TrialDevice.role == role))
    if chunks == 0:
        raise RecordNotFoundError(f"trial {trial_id} has no recording of board {role!r}")

    def parts() -> Iterator[bytes]:
        with history.records.sessions() as session:
            for index, (_, frames) in enumerate(
                    recordings.iter_raw_chunks(session, trial_id, role)):
                rows: list[list[Any]] = []
                if index == 0:  # the header goes with the first chunk: one part per chunk
                    channels = frames.counts.shape[1]
                    names = list(channel_map or [])
                    if len(names) != channels:
                        names = [f"channel_{k}" for k in range(channels)]
                    rows.append(["host_time_s", "seq", "device_time_us",
                                 *[f"{name}_counts" for name in names]])
                rows += [[f"{t:.6f}", int(s), int(d), *map(int, c)] for t, s, d, c in zip(
                    frames.host_time_s, frames.seq, frames.device_time_us, frames.counts,
                    strict=True)]
                yield _csv_text(rows)

    return Export(f"trial-{trial_id}-{role}-raw.csv", "text/csv", chunks, parts())


def steps_csv(history: ClinicHistory, trial_id: int) -> Export:
    """The trial's steps as CSV: gait events, loads, and every stored per-step metric."""
    steps = history.trial_steps(trial_id)
    extra = sorted({key for step in steps for key in step.metrics} - set(STEP_COLUMNS))
    rows: list[list[Any]] = [[*STEP_COLUMNS, *extra]]
    for step in steps:
        rows.append([step.step_index, step.foot, step.prosthetic, step.heel_strike_s,
                     step.toe_off_s, step.stance_s, _blank(step.peak_load_pct_bw),
                     *[_blank(step.metrics.get(key)) for key in extra]])
    return Export(f"trial-{trial_id}-steps.csv", "text/csv", 1, iter([_csv_text(rows)]))


def _blank(value: Any) -> Any:
    """None and NaN as an empty cell."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    return value


def _held(board_time_s: npt.NDArray[np.float64], counts: npt.NDArray[np.int64],
          at_s: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Each board's newest frame at each time of ``at_s`` (its first frame before it began)."""
    index = np.clip(np.searchsorted(board_time_s, at_s, side="right") - 1, 0, None)
    return counts[index].astype(np.float64)


def _rate_hz(time_s: npt.NDArray[np.float64]) -> float:
    if time_s.shape[0] < 2:
        raise RecordNotFoundError("too few result rows to export")
    return float(round(1.0 / float(np.median(np.diff(time_s)))))


def c3d_channels(history: ClinicHistory, trial_id: int
                 ) -> tuple[float, list[str], list[str], npt.NDArray[np.float64], list[StepOut]]:
    """(analog rate Hz, labels, units, samples (channels, n), steps) of a trial's C3D."""
    trial = _trial_or_404(history, trial_id)
    body_mass_kg = (trial.setup or {}).get("body_mass_kg")
    with history.records.sessions() as session:
        results = recordings.load_results(session, trial_id)
        frames = recordings.load_frames(session, trial_id)
        devices = select(m.TrialDevice.role, m.TrialDevice.channel_map).where(
            m.TrialDevice.trial_id == trial_id)
        maps: dict[str, list[Any]] = {role: list(names)
                                      for role, names in session.execute(devices)}
    if len(results) == 0:
        raise RecordNotFoundError(f"trial {trial_id} has no stored results to export")
    rate = _rate_hz(results.host_time_s)
    series = load_series(results.values, body_mass_kg)
    labels, units, columns = [], [], []
    for name in LOAD_SERIES:
        if name in series and body_mass_kg:
            labels.append(name.removesuffix("_pct_bw") + "_N")
            units.append("N")
            columns.append(series[name] / 100.0 * float(body_mass_kg) * STANDARD_GRAVITY)
    for name in COP_SERIES:
        if name in series:
            labels.append(name.removesuffix("_mm"))
            units.append("mm")
            columns.append(series[name])
    for role, board in sorted(frames.items()):
        names = list(maps.get(role) or [])
        if len(names) != board.counts.shape[1]:
            names = [str(k) for k in range(board.counts.shape[1])]
        held = _held(board.host_time_s, board.counts, results.host_time_s)
        for k, name in enumerate(names):
            labels.append(f"{role}_{name}")
            units.append("counts")
            columns.append(held[:, k])
    samples = np.vstack(columns) if columns else np.zeros((0, len(results)))
    return rate, labels, units, samples, history.trial_steps(trial_id)


def c3d_file(history: ClinicHistory, trial_id: int) -> Export:
    """The trial as a C3D file (analog channels and gait events; see the module's doc)."""
    rate, labels, units, samples, steps = c3d_channels(history, trial_id)
    per_frame = int(rate // POINT_RATE_HZ) if rate % POINT_RATE_HZ == 0 and rate >= 100 else 1
    frames = samples.shape[1] // per_frame
    samples = samples[:, :frames * per_frame]
    c3d = ezc3d.c3d()
    parameters = c3d["parameters"]
    parameters["POINT"]["RATE"]["value"] = [rate / per_frame]
    parameters["POINT"]["LABELS"]["value"] = ()
    parameters["ANALOG"]["RATE"]["value"] = [rate]
    parameters["ANALOG"]["LABELS"]["value"] = tuple(labels)
    parameters["ANALOG"]["UNITS"]["value"] = tuple(units)
    c3d["data"]["points"] = np.zeros((4, 0, frames))
    c3d["data"]["analogs"] = samples[np.newaxis, :, :]
    for step in steps:
        context = step.foot.capitalize()
        for label, at_s in (("Foot Strike", step.heel_strike_s), ("Foot Off", step.toe_off_s)):
            minutes, seconds = divmod(float(at_s), 60.0)
            c3d.add_event([int(minutes), seconds], context=context, label=label,
                          description="prosthetic" if step.prosthetic else "sound")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "trial.c3d"
        c3d.write(str(path))
        content = path.read_bytes()
    return Export(f"trial-{trial_id}.c3d", "application/octet-stream", 1, iter([content]))


def session_report(history: ClinicHistory, session_id: int) -> Export:
    """The session's PDF report (:func:`gaitrig.rig.clinic.reports.session_report`)."""
    content = reports.session_report(history, session_id)
    return Export(f"session-{session_id}.pdf", "application/pdf", 1, iter([content]))


def patient_report(history: ClinicHistory, patient_id: int) -> Export:
    """The patient's PDF report (:func:`gaitrig.rig.clinic.reports.patient_report`)."""
    content = reports.patient_report(history, patient_id)
    return Export(f"patient-{patient_id}.pdf", "application/pdf", 1, iter([content]))
