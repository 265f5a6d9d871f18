"""The processing loop's stall while the recorder writes, and the storage cost of a recording.

A loop like the rig's runs in real time at full rate (2 insoles x 8 FSR at 1000 Hz, bars at
80 Hz, a block every 2 ms) on counts from the virtual rig's sensor physics: each block is
processed (``BlockProcessor``) and, with a recorder, handed to it (``TrialRecorder.append``),
while the recorder's writer thread encodes and inserts chunks. Measured per block: the time of
``append`` (what recording costs the loop), the block's whole work (process + append), and how
late the loop wakes for its block (the writer thread competes for the interpreter). Baseline:
the same loop without a recorder, in the same run.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
from sqlalchemy import func, select

from benchmarks.kernels import BODY_MASS_KG, realistic_counts
from gaitrig.db import models as m
from gaitrig.db import trials
from gaitrig.processing.calibration import RigCalibration
from gaitrig.processing.layouts import RigLayout
from gaitrig.processing.pipeline import BlockProcessor, warm_up
from gaitrig.processing.timeline import MergedBlock, RawFrames
from gaitrig.rig.recording.recorder import TrialRecorder
from gaitrig.rig.records import Records
from gaitrig.sim.rig import VirtualRig

INSOLE_HZ = 1000
BARS_HZ = 80
BLOCK_S = 0.002
DURATION_S = 18.0
#: The run is split into this many interleaved segments per configuration.
ROUNDS = 6


def blocks(duration_s: float) -> list[MergedBlock]:
    """The blocks a full-rate rig delivers in ``duration_s``, with raw frames per board."""
    rows = int(duration_s * INSOLE_HZ)
    left, right, bars = realistic_counts(rows, seed=3)
    t = np.arange(rows) / INSOLE_HZ
    bar_rows = np.unique(np.round(np.arange(0, duration_s, 1 / BARS_HZ) * INSOLE_HZ)
                         .astype(np.int64))  # a bars frame every 12.5 ms
    per_block = int(BLOCK_S * INSOLE_HZ)
    out = []
    for first in range(0, rows, per_block):
        sl = slice(first, first + per_block)
        seq = np.arange(first, min(first + per_block, rows), dtype=np.int64)
        in_block = bar_rows[(bar_rows >= first) & (bar_rows < first + per_block)]

        def frames(times: np.ndarray, seqs: np.ndarray, counts: np.ndarray) -> RawFrames:
            return RawFrames(times, seqs % 65536, (seqs * 1000) % 2**32, counts)

        raw = {"insole_left": frames(t[sl], seq, left[sl]),
               "insole_right": frames(t[sl], seq, right[sl]),
               "bars": frames(t[in_block], np.round(in_block * BARS_HZ / INSOLE_HZ)
                              .astype(np.int64), bars[in_block])}
        counts = {"insole_left": left[sl], "insole_right": right[sl], "bars": bars[sl]}
        out.append(MergedBlock(t[sl], counts, {}, {}, raw))
    return out


def run_loop(work: list[MergedBlock], processor: BlockProcessor,
             recorder: TrialRecorder | None) -> dict[str, np.ndarray]:
    append_s, work_s, late_s = [], [], []
    start = time.perf_counter()
    for i, block in enumerate(work):
        due = start + i * BLOCK_S
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        woke = time.perf_counter()
        late_s.append(max(0.0, woke - due) if pause > 0 else 0.0)
        result = processor.process(block.counts["insole_left"], block.counts["insole_right"],
                                   block.counts["bars"])
        before = time.perf_counter()
        if recorder is not None:
            recorder.append(block, result)
        done = time.perf_counter()
        append_s.append(done - before)
        work_s.append(done - woke)
    return {"append": np.array(append_s), "work": np.array(work_s), "late": np.array(late_s)}


def storage_bytes(records: Records, trial_id: int) -> dict[str, int]:
    with records.sessions() as session:
        return {name: int(session.scalar(select(func.coalesce(func.sum(func.length(
                    table.data)), 0)).where(table.trial_id == trial_id)) or 0)
                for name, table in (("raw", m.RecordingChunk), ("results", m.ResultChunk))}


def run(urls: dict[str, str], duration_s: float = DURATION_S, rounds: int = ROUNDS
        ) -> list[dict[str, Any]]:
    """Each configuration ``rounds`` times, interleaved (baseline, then each engine, again and
    again), so that the machine's changing load falls on all of them alike."""
    # "no setup": expected here
    logging.getLogger("gaitrig.rig.recording.recorder").setLevel(logging.ERROR)
    warm_up()
    layout = RigLayout.load(8, 42)
    processor = BlockProcessor(RigCalibration.from_dicts(VirtualRig.nominal_calibration_for(8)),
                               layout, BODY_MASS_KG)
    segment_s = duration_s / rounds
    work = blocks(segment_s)
    names = ["none (baseline)", *urls]
    timings: dict[str, list[dict[str, np.ndarray]]] = {name: [] for name in names}
    sizes = {name: {"raw": 0, "results": 0} for name in urls}
    failures = dict.fromkeys(urls, 0)
    opened = {name: Records.open(url) for name, url in urls.items()}
    for _ in range(rounds):
        timings[names[0]].append(run_loop(work, processor, None))
        for name, records in opened.items():
            with records.sessions() as session:
                trial_id = trials.start_trial(session, "bench", "walking").id
            recorder = TrialRecorder(records, trial_id, started_s=0.0)
            timings[name].append(run_loop(work, processor, recorder))
            recorder.finish({"steps": 0}, [])
            recorder.wait(300)
            failures[name] += recorder.stats.write_failures
            for part, size in storage_bytes(records, trial_id).items():
                sizes[name][part] += size
    for records in opened.values():
        records.close()
    rows: list[dict[str, Any]] = []
    for name in names:
        merged = {key: np.concatenate([t[key] for t in timings[name]])
                  for key in ("append", "work", "late")}
        row: dict[str, Any] = {"engine": name, **merged}
        if name in urls:
            row.update(failures=failures[name],
                       raw_mb_per_min=sizes[name]["raw"] / duration_s * 60 / 1e6,
                       results_mb_per_min=sizes[name]["results"] / duration_s * 60 / 1e6,
                       uncompressed_mb_per_min=uncompressed_per_min(work, segment_s))
        rows.append(row)
    return rows


def uncompressed_per_min(work: list[MergedBlock], duration_s: float) -> float:
    """What the raw frames take as the arrays the codec stores (8-byte values), per minute."""
    total = sum(len(f) * 8 * (3 + int(f.counts.shape[1])) for b in work
                for f in b.raw.values())
    return total / duration_s * 60 / 1e6


def markdown(rows: list[dict[str, Any]]) -> str:
    def ms(values: np.ndarray, q: float) -> str:
        return f"{np.quantile(values, q) * 1e3:.3f}"

    lines = ["| recorder to | append p50 / p99 / max (ms) | block work p50 / p99 (ms) | "
             "wake-up lateness p99 (ms) | raw MB/min | results MB/min |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        storage = (f"{r['raw_mb_per_min']:.2f} | {r['results_mb_per_min']:.2f}"
                   if "raw_mb_per_min" in r else "- | -")
        lines.append(f"| {r['engine']} | {ms(r['append'], 0.5)} / {ms(r['append'], 0.99)} / "
                     f"{r['append'].max() * 1e3:.3f} | {ms(r['work'], 0.5)} / "
                     f"{ms(r['work'], 0.99)} | {ms(r['late'], 0.99)} | {storage} |")
    if len(rows) > 1 and "uncompressed_mb_per_min" in rows[1]:
        lines.append(f"\nRaw frames as plain 8-byte arrays: "
                     f"{rows[1]['uncompressed_mb_per_min']:.2f} MB/min; blocks per configuration: "
                     f"{len(rows[0]['work'])} ({len(rows[0]['work']) * BLOCK_S:.0f} s in "
                     f"{ROUNDS} interleaved segments).")
    return "\n".join(lines)
