"""Offline analysis of a recording: contacts, per-step metrics and the trial summary, as JSON.

``rig analyze FILE --json``. The file is read by ``gaitrig.io.recordings`` (any supported format);
the rig's own recordings are turned into forces with their stored calibration and layout
(``gaitrig.processing.pipeline``); other formats give per-sensor signals directly. Each foot's
contacts come from ``gaitrig.processing.gait_events.detect_contacts``, the metrics from
``gaitrig.processing.metrics.trial_metrics``.

Body weight: the rig's recordings store the patient's mass; ``--body-mass-kg`` gives it for the
others. Without it, a recording in newtons uses the mean of both feet's load over the whole
recording (over whole gait cycles the vertical ground reaction force averages to body weight);
a recording in arbitrary units (gaitndd) gets that mean too, but only as a normaliser: its
``%BW`` figures are not percentages of a weight. Contacts of the rig's calibrated recordings are
detected with thresholds in % body weight, the others' from each signal's own range.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt

from gaitrig.io.recordings import FootRecording, RawRecording, read_recording
from gaitrig.processing import kernels
from gaitrig.processing.calibration import RigCalibration
from gaitrig.processing.gait_events import detect_contacts, stance_subphases
from gaitrig.processing.layouts import RigLayout
from gaitrig.processing.metrics import FootContacts, json_ready, trial_metrics
from gaitrig.processing.pipeline import COP_MIN_FORCE_FRACTION_BW, BlockProcessor
from gaitrig.processing.units import STANDARD_GRAVITY
from gaitrig.rig.model import Targets

FloatArray = npt.NDArray[np.float64]
Side = Literal["left", "right"]
#: A recording that names no target band is judged against the console's default band (% BW).
DEFAULT_BAND_PCT_BW = (Targets().band_low_pct_bw, Targets().band_high_pct_bw)


class AnalysisError(ValueError):
    """A recording that reads but cannot be analysed (one line: file and reason)."""


def analyze(path: str | Path, *, layout_path: str | Path | None = None,
            body_mass_kg: float | None = None, prosthetic_side: str | None = None,
            band_pct_bw: tuple[float, float] | None = None) -> dict[str, Any]:
    """The analysis of one recording as a JSON-ready dict (see ``docs/recordings.md``)."""
    recording = read_recording(path, layout_path)
    if isinstance(recording, RawRecording):
        feet = _from_raw(recording)
    else:
        feet = _from_signals(recording, body_mass_kg)
    side = prosthetic_side or feet["prosthetic_side"]
    assumed = side is None
    if side not in (None, "left", "right"):
        raise AnalysisError(f"{path}: prosthetic side must be left or right, got {side!r}")
    side = cast(Side, side or "left")
    band = band_pct_bw or feet["band"] or DEFAULT_BAND_PCT_BW
    rate = feet["rate"]
    detector_bw = feet["body_weight_n"] if feet["calibrated"] else None
    contacts = {foot: detect_contacts(feet[f"{foot}_n"], rate, detector_bw)
                for foot in ("left", "right")}
    metrics = trial_metrics(
        contacts["left"], contacts["right"], left_foot_n=feet["left_n"],
        right_foot_n=feet["right_n"], left_cop_mm=feet["left_cop"],
        right_cop_mm=feet["right_cop"], sample_rate_hz=rate,
        body_weight_n=feet["body_weight_n"], prosthetic_side=side, target_band_pct_bw=band,
        left_bar_n=feet["left_bar"], right_bar_n=feet["right_bar"]).to_dict()
    steps = metrics.pop("steps")
    n = int(feet["left_n"].shape[0])
    subphases = {foot: _subphases(feet, foot, contacts[foot], rate) for foot in ("left", "right")}
    return json_ready({
        "file": str(path), "format": feet["format"], "sample_rate_hz": rate,
        "duration_s": n / rate, "load_units": feet["units"],
        "cop_units": feet["cop_units"], "body_weight_n": feet["body_weight_n"],
        "body_weight_source": feet["body_weight_source"], "prosthetic_side": side,
        "prosthetic_side_assumed": assumed,
        "feet": {foot: {"contacts": _pairs(contacts[foot]),
                        "subphases": subphases[foot],
                        "steps": [s for s in steps if s["foot"] == foot]}
                 for foot in ("left", "right")},
        "summary": metrics})


def _subphases(feet: dict[str, Any], foot: str, contacts: FootContacts, rate: float
               ) -> list[list[float]] | None:
    """Per contact [heel strike, foot flat, heel off, toe off] (s), where the layout has heel
    and forefoot sensors (the rig's own recordings); None otherwise."""
    regions = feet.get("regions")
    if regions is None:
        return None
    heel, forefoot = regions[foot]
    sensors = feet[f"{foot}_sensors"]
    if not heel or not forefoot:
        return None
    phases = stance_subphases(contacts, sensors[:, list(heel)].sum(axis=1),
                              sensors[:, list(forefoot)].sum(axis=1), rate,
                              threshold_n=COP_MIN_FORCE_FRACTION_BW * feet["body_weight_n"])
    return [[round(float(v), 4) for v in row] for row in zip(
        phases.heel_strike_s, phases.foot_flat_s, phases.heel_off_s, phases.toe_off_s,
        strict=True)]


def _pairs(contacts: FootContacts) -> list[list[float]]:
    return [[round(float(a), 4), round(float(b), 4)]
            for a, b in zip(contacts.heel_strike_s, contacts.toe_off_s, strict=True)]


def _from_raw(recording: RawRecording) -> dict[str, Any]:
    try:
        calibration = RigCalibration.from_dicts(recording.calibration)
        layout = RigLayout.load(int(recording.layout["insole_sensors"]),
                                int(recording.layout["shoe_size_eu"]))
        processor = BlockProcessor(calibration, layout, recording.body_mass_kg)
        result = processor.process(np.ascontiguousarray(recording.left_counts),
                                   np.ascontiguousarray(recording.right_counts),
                                   np.ascontiguousarray(recording.bar_counts))
    except (KeyError, TypeError, ValueError) as error:
        raise AnalysisError(f"{recording.path}: its calibration or layout is not usable "
                            f"({error})") from None
    band = recording.metadata.get("target_band_pct_bw")
    return {"format": "gaitrig", "rate": recording.sample_rate_hz, "units": "N",
            "cop_units": "mm", "calibrated": True,
            "left_n": result.left_foot_n, "right_n": result.right_foot_n,
            "left_cop": result.left_cop_mm, "right_cop": result.right_cop_mm,
            "left_bar": result.left_bar_n, "right_bar": result.right_bar_n,
            "body_weight_n": recording.body_mass_kg * STANDARD_GRAVITY,
            "body_weight_source": "recorded body mass",
            "prosthetic_side": recording.prosthetic_side,
            "band": tuple(band) if band else None,
            "left_sensors": result.left_sensor_n, "right_sensors": result.right_sensor_n,
            "regions": {foot: (getattr(layout, foot).region_channels("heel"),
                               getattr(layout, foot).region_channels("forefoot"))
                        for foot in ("left", "right")}}


def _from_signals(recording: FootRecording, body_mass_kg: float | None) -> dict[str, Any]:
    loads = {"left": kernels.foot_force(np.ascontiguousarray(recording.left_sensors)),
             "right": kernels.foot_force(np.ascontiguousarray(recording.right_sensors))}
    for foot, values in loads.items():  # a missing sample holds the foot's lowest reading
        if not np.isfinite(values).all():
            finite = values[np.isfinite(values)]
            if not finite.size:
                raise AnalysisError(f"{recording.path}: the {foot} foot has no valid samples")
            loads[foot] = np.where(np.isfinite(values), values, finite.min())
    if body_mass_kg is not None:
        if not (math.isfinite(body_mass_kg) and body_mass_kg > 0):
            raise AnalysisError(f"{recording.path}: body mass must be a positive number (kg)")
        body_weight_n = body_mass_kg * STANDARD_GRAVITY
        source = "given body mass"
    else:
        body_weight_n = float(np.mean(loads["left"] + loads["right"]))
        source = ("mean load of both feet" if recording.units == "N"
                  else "mean signal of both feet (a normaliser, not a weight)")
    if not (math.isfinite(body_weight_n) and body_weight_n > 0):
        # arbitrary units may sit below zero: shift nothing, normalise by the range instead
        total = loads["left"] + loads["right"]
        body_weight_n = float(np.ptp(total)) or 1.0
        source = "range of both feet's signal (a normaliser, not a weight)"
    cops = {}
    for foot, sensors, positions in (("left", recording.left_sensors, recording.left_positions),
                                     ("right", recording.right_sensors,
                                      recording.right_positions)):
        if positions is None or recording.units != "N":
            cops[foot] = np.full((recording.samples, 2), np.nan)
        else:
            cops[foot] = kernels.centre_of_pressure(
                np.ascontiguousarray(sensors, dtype=np.float64),
                np.ascontiguousarray(positions, dtype=np.float64),
                COP_MIN_FORCE_FRACTION_BW * body_weight_n)
    return {"format": recording.format, "rate": recording.sample_rate_hz,
            "units": recording.units,
            "cop_units": recording.position_units if recording.left_positions is not None
            else None, "calibrated": False,
            "left_n": loads["left"], "right_n": loads["right"],
            "left_cop": cops["left"], "right_cop": cops["right"],
            "left_bar": None, "right_bar": None, "body_weight_n": body_weight_n,
            "body_weight_source": source, "prosthetic_side": recording.prosthetic_side,
            "band": None}
