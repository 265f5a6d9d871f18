"""Recording readers and `rig analyze`: every format, and one-line errors (exit 2, no
traceback) for files that cannot be read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gaitrig.cli.main import main
from gaitrig.io.recordings import (
    RecordingError,
    read_csv,
    read_gaitpdb,
    read_gaitrig,
    read_recording,
    read_wfdb,
)
from gaitrig.sim.recording import VirtualRecording, record_virtual
from tests.shared_data import shared_data

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> VirtualRecording:
    path = tmp_path_factory.mktemp("rec") / "walk.npz"
    return record_virtual(path, 20.0, seed=3)


def test_own_format_round_trip(walk: VirtualRecording) -> None:
    raw = read_gaitrig(walk.path)
    assert raw.sample_rate_hz == 1000.0
    assert raw.left_counts.shape == (20_000, 8) and raw.bar_counts.shape == (20_000, 4)
    assert raw.host_time_s[0] == 0.0 and raw.host_time_s[-1] == pytest.approx(19.999)
    assert set(raw.device_time_us) == {"bars", "insole_left", "insole_right"}
    assert raw.layout == {"insole_sensors": 8, "shoe_size_eu": 42}
    assert raw.body_mass_kg == 75.0 and raw.prosthetic_side == "left"
    assert set(raw.calibration) == {"bars", "insole_left", "insole_right"}
    assert np.ptp(raw.left_counts) > 100  # real signal, not zeros


def test_analyze_json_of_a_virtual_walk(walk: VirtualRecording, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    assert main(["analyze", str(walk.path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["sample_rate_hz"] == 1000.0 and result["duration_s"] == pytest.approx(20.0)
    for foot in ("left", "right"):
        contacts = np.array(result["feet"][foot]["contacts"])
        truth = {kind: np.array([e.t_s for e in walk.events if e.side == foot and e.kind == kind])
                 for kind in ("heel_strike", "toe_off")}
        complete = truth["heel_strike"][truth["heel_strike"] < truth["toe_off"].max()]
        assert len(contacts) == pytest.approx(len(complete), abs=1)
        for column, kind in ((0, "heel_strike"), (1, "toe_off")):
            error = [np.min(np.abs(truth[kind] - t)) for t in contacts[:, column]]
            assert np.mean(error) < 0.005
        steps = result["feet"][foot]["steps"]
        assert len(steps) == len(contacts) and all(s["foot"] == foot for s in steps)
        # heel contact, foot flat, heel off: in order inside every contact (the virtual foot
        # rolls from heel to toe)
        phases = np.array(result["feet"][foot]["subphases"], dtype=float)
        assert phases.shape == (len(contacts), 4)
        assert (np.diff(phases, axis=1) > 0.05).all()
    summary = result["summary"]
    assert 70 < summary["cadence_steps_per_min"] < 90  # the virtual patient walks at 80
    assert summary["bar_reliance_mean_pct_bw"] > 5


def test_csv_with_a_layout_file(tmp_path: Path, walk: VirtualRecording) -> None:
    truth = walk.truth
    names = [f"{side}_s{i}" for side in ("left", "right") for i in range(8)]
    table = np.column_stack([truth.t_s, truth.left_sensor_n, truth.right_sensor_n])[::5]
    csv_path = tmp_path / "walk.csv"
    np.savetxt(csv_path, table, delimiter=",", header="time_s," + ",".join(names),
               comments="", fmt="%.6f")
    from gaitrig.processing.layouts import RigLayout

    layout = RigLayout.load(8, 42)
    layout_path = tmp_path / "layout.json"
    layout_path.write_text(json.dumps({
        side: {f"{side}_s{i}": list(map(float, getattr(layout, side).positions_mm[i]))
               for i in range(8)} for side in ("left", "right")}))
    recording = read_csv(csv_path, layout_path)
    assert recording.sample_rate_hz == pytest.approx(200.0)
    assert recording.left_sensors.shape[1] == 8
    from gaitrig.rig.offline.analyze import analyze

    result = analyze(csv_path, layout_path=layout_path, body_mass_kg=75.0)
    hs = np.array([e.t_s for e in walk.events if e.side == "right" and e.kind == "heel_strike"])
    found = np.array(result["feet"]["right"]["contacts"])[:, 0]
    assert np.mean([np.min(np.abs(hs - t)) for t in found]) < 0.01  # 5 ms samples
    steps = result["feet"]["left"]["steps"]
    assert np.nanmedian([s["cop_progression_mm"] for s in steps]) > 50  # heel-to-toe roll


def test_gaitpdb_and_wfdb_read() -> None:
    pdb = read_gaitpdb(shared_data("physionet-gaitpdb") / "GaCo01_01.txt.gz")
    assert pdb.sample_rate_hz == 100.0 and pdb.left_sensors.shape[1] == 8
    assert pdb.units == "N"
    ndd = read_wfdb(shared_data("physionet-gaitndd") / "control1.hea")
    assert ndd.sample_rate_hz == 300.0 and ndd.samples == 90_000
    assert ndd.units == "arbitrary"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "gaitrig.cli.main", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def test_unreadable_files_get_one_line_and_exit_2(tmp_path: Path, walk: VirtualRecording
                                                  ) -> None:
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(walk.path.read_bytes()[:5000])
    wrong = tmp_path / "notes.npz"
    wrong.write_text("this is not a recording\n")
    missing = tmp_path / "missing.hea"
    for path in (truncated, wrong, missing):
        done = run_cli("analyze", str(path), "--json")
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and str(path) in lines[0], done.stderr
        assert "Traceback" not in done.stderr and done.stdout == ""


@pytest.mark.parametrize("content, reason", [
    (b"", "empty"), (b"time_s,a,b\n0,1,2\n", "left_"),
    (b"time_s,left_a,right_a\n0,1,2\n0.01,x,2\n", "not a number"),
    (b"time_s,left_a,right_a\n0,1,2\n0.01,1,2\n0.05,1,2\n", "evenly"),
])
def test_bad_csv_is_refused_with_its_reason(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(RecordingError, match=reason) as caught:
        read_recording(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_truncated_wfdb_signal_and_gaitpdb_are_refused(tmp_path: Path) -> None:
    source = shared_data("physionet-gaitndd")
    for suffix in (".hea", ".let", ".rit"):
        data = (source / f"control1{suffix}").read_bytes()
        (tmp_path / f"control1{suffix}").write_bytes(data[:len(data) // 2]
                                                     if suffix == ".let" else data)
    with pytest.raises(RecordingError, match="control1"):
        read_recording(tmp_path / "control1.hea")
    bad_gz = tmp_path / "GaCo.txt.gz"
    bad_gz.write_bytes((shared_data("physionet-gaitpdb") / "GaCo01_01.txt.gz").read_bytes()[:3000])
    with pytest.raises(RecordingError, match="GaCo"):
        read_recording(bad_gz)
    with pytest.raises(RecordingError, match="unknown format"):
        (tmp_path / "x.bin").write_bytes(b"1")
        read_recording(tmp_path / "x.bin")
