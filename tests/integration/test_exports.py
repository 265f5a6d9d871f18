"""Exports of recorded trials and the PDF reports, read back with independent readers: CSV with
the csv module, C3D (written by ezc3d) with the `c3d` package, PDF text with pypdf. On SQLite
and PostgreSQL, through the REST API and through `rig export`."""

from __future__ import annotations

import csv
import io
import warnings
from pathlib import Path
from typing import Any

import c3d
import numpy as np
import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from gaitrig.cli.main import main
from tests import clinic_seed

G = 9.80665


def seeded(client: TestClient) -> tuple[int, list[int], list[clinic_seed.SeededTrial]]:
    return clinic_seed.seed_through(client, weeks=3)


def test_raw_csv_holds_every_frame_exactly(clinic_client: TestClient) -> None:
    _, _, trials = seeded(clinic_client)
    trial = trials[1]
    _, _, frames = clinic_seed.synthetic_walk(trial.duration_s, trial.peak_pct_bw)
    answer = clinic_client.get(f"/api/trials/{trial.id}/export/raw.csv",
                               params={"role": "insole_right"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert f"trial-{trial.id}-insole_right-raw.csv" in answer.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(answer.text)))
    header, body = rows[0], rows[1:]
    assert header == ["host_time_s", "seq", "device_time_us",
                      *[f"fsr{k}_counts" for k in range(clinic_seed.INSOLE_CHANNELS)]]
    board = frames["insole_right"]
    assert len(body) == len(board)
    table = np.array(body, dtype=np.float64)
    np.testing.assert_allclose(table[:, 0], board.host_time_s, atol=1e-6)
    np.testing.assert_array_equal(table[:, 1].astype(np.int64), board.seq)
    np.testing.assert_array_equal(table[:, 2].astype(np.int64), board.device_time_us)
    np.testing.assert_array_equal(table[:, 3:].astype(np.int64), board.counts)
    bars = clinic_client.get(f"/api/trials/{trial.id}/export/raw.csv", params={"role": "bars"})
    assert bars.text.splitlines()[0].endswith("left_front_counts,left_rear_counts,"
                                              "right_front_counts,right_rear_counts")
    assert len(bars.text.splitlines()) - 1 == len(frames["bars"])


def test_steps_csv_lists_each_step(clinic_client: TestClient) -> None:
    _, _, trials = seeded(clinic_client)
    trial = trials[0]
    rows = list(csv.DictReader(io.StringIO(
        clinic_client.get(f"/api/trials/{trial.id}/export/steps.csv").text)))
    assert len(rows) == len(trial.steps) > 5
    for row, step in zip(rows, trial.steps, strict=True):
        assert row["foot"] == step["foot"]
        assert float(row["heel_strike_s"]) == pytest.approx(step["heel_strike_s"])
        assert float(row["toe_off_s"]) == pytest.approx(step["toe_off_s"])
        assert row["prosthetic"] == str(step["foot"] == "left")
        assert float(row["peak_load_pct_bw"]) == pytest.approx(trial.peak_pct_bw)


def read_c3d(content: bytes) -> tuple[Any, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no point data": this file has analog channels only
        reader = c3d.Reader(io.BytesIO(content))
        analog = np.hstack([a for _, _, a in reader.read_frames()])
    return reader, analog


def test_c3d_has_the_loads_raw_channels_and_gait_events(clinic_client: TestClient) -> None:
    _, _, trials = seeded(clinic_client)
    trial = trials[2]
    answer = clinic_client.get(f"/api/trials/{trial.id}/export/trial.c3d")
    assert answer.status_code == 200
    reader, analog = read_c3d(answer.content)
    labels = [label.strip() for label in reader.analog_labels]
    units = [u.strip() for u in reader.get("ANALOG.UNITS").string_array]
    assert reader.analog_rate == pytest.approx(clinic_seed.RATE_HZ)
    assert reader.point_rate == pytest.approx(100.0)
    assert labels[:4] == ["left_foot_N", "right_foot_N", "left_bar_N", "right_bar_N"]
    assert units[:4] == ["N"] * 4 and units[labels.index("left_cop_y")] == "mm"
    assert "insole_left_fsr7" in labels and "bars_right_rear" in labels
    n = len(trial.results)
    assert analog.shape == (len(labels), n - n % 10)
    # the loads in N: % BW of the closed-form walk times the body weight
    rel = np.arange(analog.shape[1]) / clinic_seed.RATE_HZ
    left, _ = clinic_seed.stance_load(rel, 0.0, trial.peak_pct_bw)
    np.testing.assert_allclose(analog[0], left * clinic_seed.BODY_MASS_KG * G / 100,
                               rtol=1e-5, atol=1e-3)
    # raw counts held on the insole timeline: the bars (every 12th sample) stay until the next
    _, _, frames = clinic_seed.synthetic_walk(trial.duration_s, trial.peak_pct_bw)
    bar = analog[labels.index("bars_left_front")]
    expected = frames["bars"].counts[np.arange(analog.shape[1]) // 12, 0]
    np.testing.assert_array_equal(bar, expected)
    # gait events: a strike and a toe off per step, with the side as context
    used = reader.get("EVENT.USED").int16_value
    assert used == 2 * len(trial.steps)
    times = reader.get("EVENT.TIMES").float_array  # (events, 2): minutes, seconds
    contexts = [c.strip() for c in reader.get("EVENT.CONTEXTS").string_array]
    names = [x.strip() for x in reader.get("EVENT.LABELS").string_array]
    strikes = sorted(60 * m + s for (m, s), name, context in zip(times, names, contexts,
                                                                 strict=True)
                     if name == "Foot Strike" and context == "Left")
    assert strikes == pytest.approx([s["heel_strike_s"] for s in trial.steps
                                     if s["foot"] == "left"], abs=1e-4)
    assert names.count("Foot Off") == len(trial.steps)


def pdf_text(content: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(content))
    return len(reader.pages), "\n".join(page.extract_text() or "" for page in reader.pages)


def test_session_and_patient_reports(clinic_client: TestClient) -> None:
    patient_id, session_ids, _ = seeded(clinic_client)
    answer = clinic_client.get(f"/api/sessions/{session_ids[1]}/report.pdf")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    pages, text = pdf_text(answer.content)
    assert pages >= 1
    flat = " ".join(text.split())
    assert "Maria Lopez" in flat and "MRN-0042" in flat
    assert "Prosthetic-side load share" in flat
    assert "36.0" in flat  # week 2's share of load on the prosthesis (30 + 6 %)
    assert "Sam Physio" in flat and "residual limb" in flat
    assert "50 is even" in flat  # the plain-language explanation

    pages, text = pdf_text(clinic_client.get(f"/api/patients/{patient_id}/report.pdf").content)
    flat = " ".join(text.split())
    assert pages >= 1 and "Maria Lopez" in flat
    for share in ("30.0", "36.0", "42.0"):
        assert share in flat
    assert "Bar reliance" in flat and "Cadence" in flat and "Pain" in flat
    assert clinic_client.get("/api/patients/999/report.pdf").status_code == 404
    assert clinic_client.get("/api/sessions/999/report.pdf").status_code == 404


def test_exports_of_what_is_not_there_are_404(clinic_client: TestClient) -> None:
    _, session_ids, _ = seeded(clinic_client)
    with clinic_client.app.state.records.sessions() as session:  # type: ignore[attr-defined]
        bare = clinic_seed.seed_trial(session, session_ids[0], with_recording=False)
    for path in (f"/api/trials/{bare.id}/export/raw.csv", f"/api/trials/{bare.id}/export/trial.c3d",
                 "/api/trials/999/export/raw.csv", "/api/trials/999/export/steps.csv",
                 "/api/trials/999/export/trial.c3d"):
        answer = clinic_client.get(path)
        assert answer.status_code == 404, path
    assert clinic_client.get(f"/api/trials/{bare.id}/export/raw.csv",
                             params={"role": "camera"}).status_code == 422
    guide = clinic_client.get("/api/metric-guide").json()
    assert {g["key"] for g in guide} >= {"prosthetic_load_share_pct", "cadence_steps_per_min"}


def test_rig_export_writes_the_same_files(clinic_client: TestClient, database_url: str,
                                          tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    patient_id, _, trials = seeded(clinic_client)
    monkeypatch.setenv("GAITRIG_DATABASE_URL", database_url)
    trial_id = trials[0].id
    raw = tmp_path / "raw.csv"
    assert main(["export", "raw", str(trial_id), "--role", "insole_left", "-o", str(raw)]) == 0
    progress = capsys.readouterr().err
    chunks = int(np.ceil(trials[0].duration_s))  # one-second chunks
    assert f"{chunks}/{chunks}" in progress  # tqdm's bar, complete
    api = clinic_client.get(f"/api/trials/{trial_id}/export/raw.csv").content
    assert raw.read_bytes() == api
    steps = tmp_path / "steps.csv"
    assert main(["export", "steps", str(trial_id), "-o", str(steps)]) == 0
    assert steps.read_bytes() == clinic_client.get(
        f"/api/trials/{trial_id}/export/steps.csv").content
    c3d_path = tmp_path / "t.c3d"
    assert main(["export", "c3d", str(trial_id), "-o", str(c3d_path)]) == 0
    reader, _ = read_c3d(c3d_path.read_bytes())
    assert reader.get("EVENT.USED").int16_value == 2 * len(trials[0].steps)
    report = tmp_path / "p.pdf"
    assert main(["export", "patient-report", str(patient_id), "-o", str(report)]) == 0
    assert "Maria Lopez" in pdf_text(report.read_bytes())[1]
    assert main(["export", "steps", "999", "-o", str(tmp_path / "none.csv")]) == 1
    assert "no trial 999" in capsys.readouterr().err


def test_reports_print_names_and_notes_as_typed_never_as_markup(clinic_client: TestClient) -> None:
    """ReportLab reads a paragraph as markup: a note ``see <b>bold`` made the report answer 500,
    ``<img src=...>`` embedded any image the server can read, a link could be planted (issue 15,
    part 3). Names, notes, footwear and components are printed exactly as typed."""
    patient_id, session_ids, _ = seeded(clinic_client)
    hostile = {"name": "Ana <b>Rao & Co", "note": 'see <b>bold <img src="/etc/hostname"/>',
               "link": '<a href="javascript:alert(1)">click</a>', "component": "<font size=90>"}
    answer = clinic_client.patch(f"/api/patients/{patient_id}", json={"name": hostile["name"]})
    assert answer.status_code == 200, answer.text
    for text in (hostile["note"], hostile["link"]):
        answer = clinic_client.post(f"/api/patients/{patient_id}/notes",
                                    json={"text": text, "session_id": session_ids[1]})
        assert answer.status_code == 201, answer.text
    answer = clinic_client.post(f"/api/patients/{patient_id}/components",
                                json={"kind": "foot", "description": hostile["component"],
                                      "fitted_on": "2026-01-10"})
    assert answer.status_code == 201, answer.text
    for path in (f"/api/sessions/{session_ids[1]}/report.pdf",
                 f"/api/patients/{patient_id}/report.pdf"):
        answer = clinic_client.get(path)
        assert answer.status_code == 200, (path, answer.text[:300])
        reader = PdfReader(io.BytesIO(answer.content))
        flat = " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())
        assert "Ana <b>Rao & Co" in flat
        if "sessions" in path:
            assert "see <b>bold" in flat and "javascript:alert(1)" in flat  # shown, as text
        else:
            assert "<font size=90>" in flat
        assert all("/Annots" not in page for page in reader.pages)  # no link planted
