"""Accuracy of the gait-event detector against the gaitndd authors' own per-stride tables.

For every record of a gaitndd folder (PhysioNet "Gait Dynamics in Neuro-Degenerative Disease"),
the detector (``processing.gait_events``, thresholds from each signal's own range) finds each
foot's contacts, and each row of the authors' ``.ts`` table is matched with them:

* a row's first column is the time (s) of the left heel strike that ends the row's left stride
  (checked on the data: it equals the previous row's plus this row's left stride interval); the
  row is matched to our left heel strike nearest to it, if within ``MATCH_TOLERANCE_S``;
* left stride, stance and swing: our stride from the previous left heel strike to that one, the
  left contact that starts it, and the swing that ends it;
* right stride, stance and swing: our right stride that ends at the last right heel strike before
  the row's time;
* double support: within the left stride, from its left heel strike to the right toe off
  (initial) plus from the right heel strike to the left toe off (terminal).

An interval is *off* when its error exceeds ``OFF_LIMIT_S`` or its row has no match (a missed or
an extra event); mean absolute errors are over the others. Rows are not filtered (turns
included). ``python -m rig.accuracy [FOLDER]`` prints the table of ``docs/accuracy.md``.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from drivers.recordings import read_gaitndd_strides, read_wfdb
from processing.gait_events import detect_contacts
from processing.metrics import FootContacts

FloatArray = npt.NDArray[np.float64]
MATCH_TOLERANCE_S = 0.25
OFF_LIMIT_S = 0.25
INTERVALS = ("stride", "stance", "swing", "double_support")
#: The issue's limits on the mean absolute error (s) of matched intervals.
LIMITS_S = {"stride": 0.010, "stance": 0.020, "swing": 0.020, "double_support": 0.030}
OFF_FRACTION_LIMIT = 0.02
CONSISTENCY_S = 0.01
GROUPS = ("control", "park", "hunt", "als")


@dataclass(frozen=True)
class RecordErrors:
    """Signed errors ours - theirs (s) per interval kind, NaN where the row is unmatched."""

    name: str
    group: str
    errors_s: dict[str, FloatArray]
    consistent: npt.NDArray[np.bool_]  # per table row: see consistent_rows


def consistent_rows(table: FloatArray) -> npt.NDArray[np.bool_]:
    """Rows of an authors' table that agree with themselves: each foot's stance + swing equals
    its stride (within ``CONSISTENCY_S``) and the double support is shorter than the stride.
    (A few records have rows that do not, e.g. a double support of 2.8 s in a 1.8 s stride.)"""
    left_ok = np.abs(table[:, 7] + table[:, 3] - table[:, 1]) <= CONSISTENCY_S
    right_ok = np.abs(table[:, 8] + table[:, 4] - table[:, 2]) <= CONSISTENCY_S
    ds_ok = (table[:, 11] >= 0.0) & (table[:, 11] < np.minimum(table[:, 1], table[:, 2]))
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
        start = hs_l[k - 1]
        under_way = int(np.searchsorted(hs_r, start)) - 1  # right contact at the left strike
        following = under_way + 1  # the right contact that starts during the left stride
        if under_way < 0 or following >= hs_r.size:
            continue
        initial = max(0.0, min(to_r[under_way], to_l[k - 1]) - start)
        terminal = max(0.0, to_l[k - 1] - hs_r[following])
        out["double_support"][i] = (initial + terminal) - row[11]
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
            summary[group][kind] = {
                "mae_ms": 1000.0 * float(np.mean(np.abs(errors[good]))) if good.any()
                else float("nan"),
                "bias_ms": 1000.0 * float(np.mean(errors[good])) if good.any()
                else float("nan"),
                "off_pct": 100.0 * float(1.0 - good.mean()),
                "off_consistent_pct": 100.0 * float(1.0 - good[consistent].mean()),
                "intervals": float(errors.size),
                "records": float(len(chosen))}
    return summary


def markdown(summary: dict[str, dict[str, dict[str, float]]]) -> str:
    lines = ["| group | records | interval | n | MAE (ms) | bias (ms) | off > 250 ms (%) | "
             "off, consistent rows (%) |", "|---|---|---|---|---|---|---|---|"]
    for group, kinds in summary.items():
        for kind, v in kinds.items():
            lines.append(f"| {group} | {int(v['records'])} | {kind} | {int(v['intervals'])} | "
                         f"{v['mae_ms']:.1f} | {v['bias_ms']:+.1f} | {v['off_pct']:.2f} | "
                         f"{v['off_consistent_pct']:.2f} |")
    return "\n".join(lines)


def virtual_rig_figures(seconds: float = 30.0, seed: int = 11) -> str:
    """Per-foot load, CoP and event-timing errors against the virtual rig's ground truth, with
    and without sensor noise (a markdown table)."""
    import tempfile

    from drivers.recordings import read_gaitrig
    from processing.calibration import RigCalibration
    from processing.layouts import RigLayout
    from processing.pipeline import BlockProcessor
    from rig.analyze import analyze
    from rig.virtual_recording import record_virtual

    lines = ["| sensor noise | load error, mean / p99.9 / max (% BW) | CoP error, mean / max (mm) "
             "| event timing MAE (ms) | events detected / true events in the window |",
             "|---|---|---|---|---|"]
    for noise in (False, True):
        with tempfile.TemporaryDirectory() as folder:
            made = record_virtual(Path(folder) / "walk.npz", seconds, seed=seed, noise=noise)
            raw = read_gaitrig(made.path)
            result = BlockProcessor(RigCalibration.from_dicts(raw.calibration),
                                    RigLayout.load(8, 42), raw.body_mass_kg).process(
                raw.left_counts, raw.right_counts, raw.bar_counts)
            analysis = analyze(made.path)
        bw = made.body_weight_n
        load: list[FloatArray] = []
        cop: list[FloatArray] = []
        timing: list[float] = []
        matched = total = 0
        for foot in ("left", "right"):
            load.append(np.abs(getattr(result, f"{foot}_foot_n") - made.truth.foot_n(foot)) / bw)
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
        load_all, cop_all = np.concatenate(load), np.concatenate(cop)
        lines.append(f"| {'yes' if noise else 'no'} | {100 * load_all.mean():.2f} / "
                     f"{100 * np.percentile(load_all, 99.9):.2f} / {100 * load_all.max():.2f} | "
                     f"{cop_all.mean():.2f} / {cop_all.max():.2f} | "
                     f"{1000 * np.mean(timing):.1f} | {matched} of {total} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rig.accuracy", description=__doc__)
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
