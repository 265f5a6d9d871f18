"""Accuracy of the gait-event detector against the gaitndd authors' own per-stride tables.

For every record of a gaitndd folder (PhysioNet "Gait Dynamics in Neuro-Degenerative Disease"),
the detector (``gaitrig.processing.gait_events``, thresholds from each signal's own range) finds
each foot's contacts, and each row of the authors' ``.ts`` table is matched with them:

* a row's first column is the time (s) of the left heel strike that ends the row's left stride
  (checked on the data: it equals the previous row's plus this row's left stride interval); the
  row is matched to our left heel strike nearest to it, if within ``MATCH_TOLERANCE_S``;
* left stride, stance and swing: our stride from the previous left heel strike to that one, the
  left contact that starts it, and the swing that ends it;
* right stride, stance and swing: our right stride that ends at the last right heel strike before
  the row's time;
* double support: the authors' definition, read off their own columns (every self-consistent row
  of every record obeys it to one sample): the row's left stance minus its right swing, i.e.
  both double-support periods of the left stride (left heel strike to right toe off, right heel
  strike to left toe off) when the gait is regular.

An interval is *off* when its error exceeds ``OFF_LIMIT_S`` or its row has no match (a missed or
an extra event); mean absolute errors are over the others. Rows are not filtered (turns
included); each figure is also given over the rows that agree with themselves
(:func:`consistent_rows`). ``python -m studies.accuracy [FOLDER]`` prints the table of
``docs/accuracy.md``.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from gaitrig.io.recordings import read_gaitndd_strides, read_wfdb
from gaitrig.processing.gait_events import detect_contacts
from gaitrig.processing.metrics import FootContacts

if TYPE_CHECKING:
    from gaitrig.processing.calibration import RigCalibration
    from gaitrig.processing.pipeline import BlockResult
    from gaitrig.sim.recording import VirtualRecording

FloatArray = npt.NDArray[np.float64]
MATCH_TOLERANCE_S = 0.25
OFF_LIMIT_S = 0.25
INTERVALS = ("stride", "stance", "swing", "double_support")
#: The issue's limits on the mean absolute error (s) of matched intervals.
LIMITS_S = {"stride": 0.010, "stance": 0.020, "swing": 0.020, "double_support": 0.030}
OFF_FRACTION_LIMIT = 0.02
CONSISTENCY_S = 0.01
#: One sample at gaitndd's 300 Hz plus the tables' rounding to 0.1 ms of two numbers (s).
DS_IDENTITY_S = 1.0 / 300.0 + 0.0002
GROUPS = ("control", "park", "hunt", "als")


@dataclass(frozen=True)
class RecordErrors:
    """Signed errors ours - theirs (s) per interval kind, NaN where the row is unmatched."""

    name: str
    group: str
    errors_s: dict[str, FloatArray]
    consistent: npt.NDArray[np.bool_]  # per table row: see consistent_rows


def consistent_rows(table: FloatArray) -> npt.NDArray[np.bool_]:
    """Rows of an authors' table that agree with their own arithmetic: each foot's stance +
    swing equals its stride (within ``CONSISTENCY_S``), and the double support equals the row's
    left stance minus its right swing (within ``DS_IDENTITY_S``), the definition every other
    row of every record follows. (128 rows of 7,863 do not, 127 of them in als5 and als7: e.g.
    a double support of 2.84 s where the row's left stance minus right swing is 0.59 s.)"""
    left_ok = np.abs(table[:, 7] + table[:, 3] - table[:, 1]) <= CONSISTENCY_S
    right_ok = np.abs(table[:, 8] + table[:, 4] - table[:, 2]) <= CONSISTENCY_S
    ds_ok = np.abs(table[:, 11] - (table[:, 7] - table[:, 4])) <= DS_IDENTITY_S
    return np.asarray(left_ok & right_ok & ds_ok)


def group_of(name: str) -> str:
    for group in GROUPS:
        if name.startswith(group):
            return group
    return "other"


def stride_errors(left: FootContacts, right: FootContacts, table: FloatArray
                  ) -> dict[str, FloatArray]:
    """Errors (s) of our intervals against each row of a gaitndd table (see the docstring)."""
    hs_l, to_l = left.heel_strike_s, left.toe_off_s
    hs_r, to_r = right.heel_strike_s, right.toe_off_s
    rows = table.shape[0]
    out = {kind: np.full(2 * rows if kind != "double_support" else rows, np.nan)
           for kind in INTERVALS}
    for i, row in enumerate(table):
        t = float(row[0])
        if hs_l.size < 2 or hs_r.size < 2:
            continue
        k = int(np.argmin(np.abs(hs_l - t)))
        m = int(np.searchsorted(hs_r, t)) - 1
        if abs(hs_l[k] - t) > MATCH_TOLERANCE_S or k == 0 or m < 1:
            continue
        # left stride k-1 -> k; contact k-1 starts it
        out["stride"][2 * i] = (hs_l[k] - hs_l[k - 1]) - row[1]
        out["stance"][2 * i] = (to_l[k - 1] - hs_l[k - 1]) - row[7]
        out["swing"][2 * i] = (hs_l[k] - to_l[k - 1]) - row[3]
        # right stride m-1 -> m
        out["stride"][2 * i + 1] = (hs_r[m] - hs_r[m - 1]) - row[2]
        out["stance"][2 * i + 1] = (to_r[m - 1] - hs_r[m - 1]) - row[8]
        out["swing"][2 * i + 1] = (hs_r[m] - to_r[m - 1]) - row[4]
        # the authors' double support: the row's left stance minus its right swing
        ours_ds = (to_l[k - 1] - hs_l[k - 1]) - (hs_r[m] - to_r[m - 1])
        out["double_support"][i] = ours_ds - row[11]
    return out


def record_errors(header: Path) -> RecordErrors:
    """Detect one record's contacts and compare them with its ``.ts`` table."""
    recording = read_wfdb(header)
    table = read_gaitndd_strides(header.with_suffix(".ts"))
    rate = recording.sample_rate_hz
    left = detect_contacts(recording.left_sensors[:, 0], rate)
    right = detect_contacts(recording.right_sensors[:, 0], rate)
    name = header.stem
    return RecordErrors(name, group_of(name), stride_errors(left, right, table),
                        consistent_rows(table))


def folder_errors(folder: Path) -> list[RecordErrors]:
    headers = sorted(p for p in folder.glob("*.hea") if p.with_suffix(".ts").exists())
    return [record_errors(h) for h in headers]


def summarise(records: list[RecordErrors]) -> dict[str, dict[str, dict[str, float]]]:
    """Per group (and "all"): per interval, MAE (ms) of matched ones, % off, count."""
    summary: dict[str, dict[str, dict[str, float]]] = {}
    for group in (*GROUPS, "all"):
        chosen = [r for r in records if group == "all" or r.group == group]
        if not chosen:
            continue
        summary[group] = {}
        for kind in INTERVALS:
            errors = np.concatenate([r.errors_s[kind] for r in chosen])
            per_row = 1 if kind == "double_support" else 2
            consistent = np.concatenate([np.repeat(r.consistent, per_row) for r in chosen])
            good = np.abs(errors) <= OFF_LIMIT_S  # NaN (unmatched) compares False
            good_consistent = good & consistent
            summary[group][kind] = {
                "mae_ms": 1000.0 * float(np.mean(np.abs(errors[good]))) if good.any()
                else float("nan"),
                "mae_consistent_ms": 1000.0 * float(np.mean(np.abs(errors[good_consistent])))
                if good_consistent.any() else float("nan"),
                "bias_ms": 1000.0 * float(np.mean(errors[good])) if good.any()
                else float("nan"),
                "off_pct": 100.0 * float(1.0 - good.mean()),
                "off_consistent_pct": 100.0 * float(1.0 - good[consistent].mean()),
                "intervals": float(errors.size),
                "records": float(len(chosen))}
    return summary


def markdown(summary: dict[str, dict[str, dict[str, float]]]) -> str:
    lines = ["| group | records | interval | n | MAE (ms) | bias (ms) | off > 250 ms (%) | "
             "MAE, consistent rows (ms) | off, consistent rows (%) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for group, kinds in summary.items():
        for kind, v in kinds.items():
            lines.append(f"| {group} | {int(v['records'])} | {kind} | {int(v['intervals'])} | "
                         f"{v['mae_ms']:.1f} | {v['bias_ms']:+.1f} | {v['off_pct']:.2f} | "
                         f"{v['mae_consistent_ms']:.1f} | {v['off_consistent_pct']:.2f} |")
    return "\n".join(lines)


#: The per-foot load is also judged averaged over frames of this length (s): 10 ms, 10 samples
#: at 1 kHz.
FRAME_S = 0.010


def frame_means(values: FloatArray, samples_per_frame: int) -> FloatArray:
    """Means of consecutive, non-overlapping frames of ``samples_per_frame`` samples (a partial
    last frame is dropped)."""
    frames = values.size // samples_per_frame
    means: FloatArray = values[:frames * samples_per_frame].reshape(frames, -1).mean(axis=1)
    return means


def fsr_load_sd_n(sensor_n: FloatArray, gain_n: FloatArray, exponent: FloatArray,
                  adc_max: FloatArray, noise_counts: float) -> FloatArray:
    """Expected standard deviation (n,) in N of a foot's load read through power-law FSR
    dividers, from ADC noise (``noise_counts`` rms) and rounding to whole counts (1/12 count²),
    at the true sensor forces ``sensor_n`` (n, k): each sensor contributes its slope dF/dc (N per
    count) at the count its force gives, so high loads, where the divider's curve flattens toward
    full scale, contribute most."""
    u = (np.maximum(sensor_n, 0.0) / gain_n) ** (1.0 / exponent)
    counts = np.minimum(adc_max * u / (1.0 + u), adc_max - 0.5)
    slope = (gain_n * exponent * (counts / (adc_max - counts)) ** (exponent - 1.0)
             * adc_max / (adc_max - counts) ** 2)
    sd: FloatArray = np.sqrt((slope ** 2).sum(axis=1) * (noise_counts ** 2 + 1.0 / 12.0))
    return sd


@dataclass(frozen=True)
class VirtualLoadErrors:
    """Per-foot load errors against the virtual patient's truth, both feet (fractions of BW)."""

    per_sample: FloatArray  # |ours - truth| / BW, every sample of both feet
    z: FloatArray  # (ours - truth) / expected sd, samples with > 2 % BW on the foot
    predicted_sd: FloatArray  # expected sd / BW, every sample of both feet
    frame_mean: FloatArray  # |mean of ours - mean of truth| / BW over each FRAME_S frame


def virtual_load_errors(made: VirtualRecording, result: BlockResult,
                        calibration: RigCalibration, noise_counts: float) -> VirtualLoadErrors:
    """The errors of :class:`VirtualLoadErrors` for one virtual recording ``made``, processed
    into ``result`` with the (power-law) ``calibration`` it was recorded with."""
    bw = made.body_weight_n
    per_frame = max(1, round(FRAME_S * made.sample_rate_hz))
    parts: dict[str, list[FloatArray]] = {"per_sample": [], "z": [], "sd": [], "frame": []}
    for foot in ("left", "right"):
        fsr = getattr(calibration, f"insole_{foot}")
        ours, truth = getattr(result, f"{foot}_foot_n"), made.truth.foot_n(foot)
        sd = fsr_load_sd_n(getattr(made.truth, f"{foot}_sensor_n"), fsr.gain_n, fsr.exponent,
                           fsr.adc_max, noise_counts)
        loaded = truth > 0.02 * bw
        parts["per_sample"].append(np.abs(ours - truth) / bw)
        parts["z"].append((ours - truth)[loaded] / sd[loaded])
        parts["sd"].append(sd / bw)
        parts["frame"].append(np.abs(frame_means(ours, per_frame)
                                     - frame_means(truth, per_frame)) / bw)
    return VirtualLoadErrors(*(np.concatenate(parts[k]) for k in ("per_sample", "z", "sd",
                                                                     "frame")))


def virtual_rig_figures(seconds: float = 30.0, seed: int = 11) -> str:
    """Per-foot load, CoP and event-timing errors against the virtual rig's ground truth, with
    and without sensor noise (markdown tables)."""
    import tempfile

    from gaitrig.io.recordings import read_gaitrig
    from gaitrig.processing.calibration import RigCalibration
    from gaitrig.processing.layouts import RigLayout
    from gaitrig.processing.pipeline import BlockProcessor
    from gaitrig.rig.offline.analyze import analyze
    from gaitrig.sim.recording import record_virtual
    from gaitrig.sim.sensors import FsrParameters

    lines = ["| sensor noise | load error per sample, mean / p99.9 / max (% BW) "
             "| load error of 10 ms means, max (% BW) | CoP error, mean / max (mm) "
             "| event timing MAE (ms) | events detected / true events in the window |",
             "|---|---|---|---|---|---|"]
    noise_lines = ["| sensor noise | expected sd per sample, median / max (% BW) "
                   "| error / expected sd: mean, sd, max abs |", "|---|---|---|"]
    for noise in (False, True):
        with tempfile.TemporaryDirectory() as folder:
            made = record_virtual(Path(folder) / "walk.npz", seconds, seed=seed, noise=noise)
            raw = read_gaitrig(made.path)
            calibration = RigCalibration.from_dicts(raw.calibration)
            result = BlockProcessor(calibration, RigLayout.load(8, 42),
                                    raw.body_mass_kg).process(
                raw.left_counts, raw.right_counts, raw.bar_counts)
            analysis = analyze(made.path)
        bw = made.body_weight_n
        loads = virtual_load_errors(made, result, calibration,
                                    FsrParameters().noise_counts if noise else 0.0)
        cop: list[FloatArray] = []
        timing: list[float] = []
        matched = total = 0
        for foot in ("left", "right"):
            ours, truth = getattr(result, f"{foot}_cop_mm"), getattr(made.truth, f"{foot}_cop_mm")
            both = ((made.truth.foot_n(foot) > 0.05 * bw) & np.isfinite(ours).all(axis=1)
                    & np.isfinite(truth).all(axis=1))
            cop.append(np.hypot(*(ours[both] - truth[both]).T))
            contacts = np.array(analysis["feet"][foot]["contacts"])
            for column, kind in ((0, "heel_strike"), (1, "toe_off")):
                true = np.array([e.t_s for e in made.events if e.side == foot and e.kind == kind])
                timing.extend(float(np.min(np.abs(true - t))) for t in contacts[:, column])
                matched += len(contacts)
                total += true.size
        load_all, cop_all = loads.per_sample, np.concatenate(cop)
        label = "yes" if noise else "no"
        lines.append(f"| {label} | {100 * load_all.mean():.2f} / "
                     f"{100 * np.percentile(load_all, 99.9):.2f} / {100 * load_all.max():.2f} | "
                     f"{100 * loads.frame_mean.max():.2f} | "
                     f"{cop_all.mean():.2f} / {cop_all.max():.2f} | "
                     f"{1000 * np.mean(timing):.1f} | {matched} of {total} |")
        noise_lines.append(f"| {label} | {100 * np.median(loads.predicted_sd):.2f} / "
                           f"{100 * loads.predicted_sd.max():.2f} | {loads.z.mean():+.2f}, "
                           f"{loads.z.std():.2f}, {np.abs(loads.z).max():.2f} |")
    return "\n".join(lines) + "\n\n" + "\n".join(noise_lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m studies.accuracy", description=__doc__)
    parser.add_argument("folder", nargs="?", default="../shared/data/physionet-gaitndd")
    parser.add_argument("--virtual", action="store_true",
                        help="the virtual rig's ground-truth figures instead")
    args = parser.parse_args(argv)
    if args.virtual:
        print(virtual_rig_figures())
        return 0
    folder = Path(args.folder)
    if not folder.is_dir():
        print(f"{folder}: no such folder", file=sys.stderr)
        return 2
    print(markdown(summarise(folder_errors(folder))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
