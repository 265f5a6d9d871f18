"""The clinic-records query layer (db/) on SQLite and on the real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gaitrig.db import clinic, codec, recordings, schema, sessions, trials, views
from gaitrig.db import models as m
from gaitrig.db.engine import make_engine, session_factory
from gaitrig.db.progress import progress_series
from tests import clinic_seed


@pytest.fixture
def db(database_url: str) -> Iterator[Session]:
    engine = make_engine(database_url)
    schema.upgrade(engine)
    with session_factory(engine)() as session:
        yield session
    engine.dispose()


def populate_patient(db: Session, identifier: str, name: str) -> dict[str, int]:
    """A patient with a row in every table that belongs to a patient; their ids."""
    patient = clinic.add_patient(db, identifier, name, amputation_side="left",
                                 amputation_level="transtibial")
    clinic.add_body_mass(db, patient.id, date(2026, 10, 1), 80.0)
    clinic.add_component(db, patient.id, "foot", "Carbon foot", date(2026, 9, 1))
    visit = sessions.start_session(db, patient.id, "rig-1")
    trial = trials.start_trial(db, "rig-1", "walking", session_id=visit.id)
    recordings.add_devices(db, trial.id, {"bars": {"serial_number": 7, "firmware_version":
                                                    [1, 2, 0], "sample_rate_hz": 80.0,
                                                    "channel_map": ["lf", "lr", "rf", "rr"]}})
    frames = recordings.Frames(np.arange(3, dtype=np.float64), np.arange(3, dtype=np.int64),
                               np.arange(3, dtype=np.int64) * 1000,
                               np.ones((3, 4), dtype=np.int64))
    result = recordings.Results(np.arange(3, dtype=np.float64),
                                {"left_foot_n": np.ones(3, np.float32)})
    recordings.write_chunks(db, [recordings.raw_chunk_row(trial.id, "bars", 0, frames)],
                            [recordings.result_chunk_row(trial.id, 0, result)])
    recordings.store_analysis(db, trial.id, analysis_row(3), [step_row(0), step_row(1)])
    clinic_seed.add_alarm(db, trial.id, 1.5, "safety_limit", "over the limit", 91.0)
    clinic.add_note(db, patient.id, "patient", "sore", pain_score=3, trial_id=trial.id)
    return {"patient": patient.id, "session": visit.id, "trial": trial.id}


def analysis_row(steps: int, share: float | None = 45.0) -> dict[str, object]:
    return {"computed_at": datetime.now(UTC), "analysis_version": "test", "duration_s": 10.0,
            "step_count": steps, "prosthetic_load_share_pct": share,
            "summary": {"live": {"steps": steps}}}


def step_row(index: int) -> dict[str, object]:
    return {"step_index": index, "foot": "left" if index % 2 else "right",
            "prosthetic": bool(index % 2), "heel_strike_s": index * 1.0,
            "toe_off_s": index * 1.0 + 0.6, "stance_s": 0.6, "peak_load_pct_bw": 80.0,
            "metrics": {"samples": 600}}


def row_counts(db: Session) -> dict[str, int]:
    return {table.name: int(db.scalar(select(func.count()).select_from(table)) or 0)
            for table in m.Base.metadata.sorted_tables}


# -- patients -----------------------------------------------------------------------------------


def test_patients_are_found_by_any_word_of_name_or_identifier(db: Session) -> None:
    anna = clinic.add_patient(db, "MRN-001", "Anna Berg", date_of_birth=date(1960, 3, 4))
    clinic.add_patient(db, "MRN-002", "Bruno Alt")
    clinic.add_patient(db, "X_100%", "Carla Berg")
    assert [p.name for p in clinic.find_patients(db, "berg").items] == ["Anna Berg", "Carla Berg"]
    assert [p.name for p in clinic.find_patients(db, "BERG anna").items] == ["Anna Berg"]
    assert [p.identifier for p in clinic.find_patients(db, "mrn-002").items] == ["MRN-002"]
    assert [p.identifier for p in clinic.find_patients(db, "N_0").items] == []  # _ is literal
    assert [p.identifier for p in clinic.find_patients(db, "%").items] == ["X_100%"]
    page = clinic.find_patients(db, limit=2)
    assert page.total == 3 and [p.name for p in page.items] == ["Anna Berg", "Bruno Alt"]
    assert clinic.find_patients(db, limit=2, offset=2).items[0].name == "Carla Berg"
    got = views.PatientOut.of(db.get(m.Patient, anna.id))
    assert got is not None and got.date_of_birth == date(1960, 3, 4)
    assert got.created_at.tzinfo is not None
    updated = clinic.update_patient(db, anna.id, amputation_side="right", notes=None)
    assert updated is not None and updated.amputation_side == "right" and updated.notes == ""
    assert clinic.update_patient(db, 10_000, name="x") is None
    with pytest.raises(TypeError, match="unknown patient fields"):
        clinic.add_patient(db, "MRN-9", "X", shoe="42")


def test_patient_identifiers_are_unique_and_sides_checked(db: Session) -> None:
    clinic.add_patient(db, "MRN-001", "Anna")
    with pytest.raises(IntegrityError):
        clinic.add_patient(db, "MRN-001", "Other")
    db.rollback()
    with pytest.raises(IntegrityError):
        clinic.add_patient(db, "MRN-002", "Bad side", amputation_side="middle")
    db.rollback()


def test_patient_list_counts_sessions_and_the_last_one(db: Session) -> None:
    anna = clinic.add_patient(db, "A", "Anna")
    clinic.add_patient(db, "B", "Bruno")
    first = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    for days in (0, 7, 3):
        sessions.start_session(db, anna.id, "rig-1", started_at=first + timedelta(days=days))
    items = {p.name: p for p in clinic.find_patients(db).items}
    assert items["Anna"].session_count == 3
    assert items["Anna"].last_session_at == first + timedelta(days=7)
    assert items["Bruno"].session_count == 0 and items["Bruno"].last_session_at is None


def test_body_mass_history_and_current_mass(db: Session) -> None:
    anna = clinic.add_patient(db, "A", "Anna")
    assert clinic.current_body_mass_kg(db, anna.id) is None
    clinic.add_body_mass(db, anna.id, date(2026, 10, 1), 82.5)
    clinic.add_body_mass(db, anna.id, date(2026, 11, 1), 80.0)
    clinic.add_body_mass(db, anna.id, date(2026, 9, 1), 85.0)  # entered late, older
    assert clinic.current_body_mass_kg(db, anna.id) == 80.0
    detail = sessions.patient_detail(db, anna.id)
    assert detail is not None
    assert [(b.measured_on.month, b.mass_kg) for b in detail.body_masses] == [
        (9, 85.0), (10, 82.5), (11, 80.0)]
    assert detail.current_body_mass_kg == 80.0
    with pytest.raises(clinic.NotFoundError, match="no patient 999"):
        clinic.add_body_mass(db, 999, date(2026, 1, 1), 70.0)
    with pytest.raises(IntegrityError):
        clinic.add_body_mass(db, anna.id, date(2026, 1, 1), -3.0)
    db.rollback()


# -- sessions and notes -------------------------------------------------------------------------


def test_sessions_with_therapist_trials_and_notes(db: Session) -> None:
    anna = clinic.add_patient(db, "A", "Anna")
    therapist = clinic.add_clinician(db, "Dana PT")
    visit = sessions.start_session(db, anna.id, "rig-2", clinician_id=therapist.id, notes="wk 1")
    assert visit.ended_at is None and visit.started_at.tzinfo is not None
    t1 = trials.start_trial(db, "rig-2", "quiet_standing", session_id=visit.id)
    t2 = trials.start_trial(db, "rig-2", "walking", session_id=visit.id, footwear="trainers")
    recordings.store_analysis(db, t2.id, analysis_row(12, 41.0), [])
    clinic.add_note(db, anna.id, "therapist", "good effort", session_id=visit.id,
                    clinician_id=therapist.id)
    ended = sessions.update_session(db, visit.id, end=True, notes="week one")
    assert ended is not None and ended.ended_at is not None and ended.notes == "week one"
    detail = sessions.get_session(db, visit.id)
    assert detail is not None
    assert detail.patient.id == anna.id
    assert detail.clinician is not None and detail.clinician.name == "Dana PT"
    assert [(t.id, t.exercise) for t in detail.trials] == [(t1.id, "quiet_standing"),
                                                           (t2.id, "walking")]
    assert detail.trials[0].metrics is None
    assert detail.trials[1].metrics is not None and detail.trials[1].metrics.step_count == 12
    assert detail.trials[1].footwear == "trainers"
    assert [n.text for n in detail.notes] == ["good effort"]
    listed = sessions.list_sessions(db, anna.id)
    assert [(s.id, s.trial_count) for s in listed] == [(visit.id, 2)]
    assert sessions.get_session(db, 999) is None
    with pytest.raises(clinic.NotFoundError):
        sessions.start_session(db, anna.id, "rig-2", clinician_id=999)


def test_progress_means_metrics_and_pain_per_session(db: Session) -> None:
    anna = clinic.add_patient(db, "A", "Anna")
    week1 = sessions.start_session(db, anna.id, "rig-1",
                                   started_at=datetime(2026, 11, 2, tzinfo=UTC))
    week4 = sessions.start_session(db, anna.id, "rig-1",
                                   started_at=datetime(2026, 11, 23, tzinfo=UTC))
    for visit, shares in ((week1, (30.0, 40.0, None)), (week4, (46.0,))):
        for share in shares:
            trial = trials.start_trial(db, "rig-1", "walking", session_id=visit.id)
            recordings.store_analysis(db, trial.id, analysis_row(5, share), [])
    for score in (6, 2):
        clinic.add_note(db, anna.id, "patient", pain_score=score, session_id=week1.id)
    points = sessions.progress(db, anna.id)
    assert [p.session_id for p in points] == [week1.id, week4.id]
    assert points[0].trials == 3
    assert (points[0].pain_score_mean, points[0].pain_score_max) == (4.0, 6)
    assert points[1].pain_score_mean is None
    (share,) = progress_series(db, anna.id, {"prosthetic_load_share_pct": ("walking",)})
    assert [p.session_id for p in share.points] == [week1.id, week4.id]
    assert share.points[0].value == pytest.approx(35.0)  # the NULL is left out
    assert share.points[0].trials == 2
    assert share.points[1].value == pytest.approx(46.0)


def test_notes_validate_pain_and_links(db: Session) -> None:
    anna = clinic.add_patient(db, "A", "Anna")
    bruno = clinic.add_patient(db, "B", "Bruno")
    visit = sessions.start_session(db, anna.id, "rig-1")
    other_visit = sessions.start_session(db, anna.id, "rig-1")
    trial = trials.start_trial(db, "rig-1", "walking", session_id=visit.id)
    for score in (0, 10):
        assert clinic.add_note(db, anna.id, "patient", pain_score=score).pain_score == score
    for score in (-1, 11):
        with pytest.raises(ValueError, match=r"pain_score must be 0\.\.10"):
            clinic.add_note(db, anna.id, "patient", pain_score=score)
    with pytest.raises(ValueError, match="author_role"):
        clinic.add_note(db, anna.id, "visitor", "hi")
    note = clinic.add_note(db, anna.id, "prosthetist", "socket rubs", pain_score=4,
                           pain_location="distal tibia", trial_id=trial.id)
    assert note.session_id == visit.id  # taken from the trial
    with pytest.raises(ValueError, match="not in session"):
        clinic.add_note(db, anna.id, "patient", trial_id=trial.id, session_id=other_visit.id)
    with pytest.raises(ValueError, match="not patient"):
        clinic.add_note(db, bruno.id, "patient", session_id=visit.id)
    with pytest.raises(clinic.NotFoundError):
        clinic.add_note(db, anna.id, "patient", trial_id=999)
    with pytest.raises(clinic.NotFoundError, match="no clinician 999"):
        clinic.add_note(db, anna.id, "therapist", "x", clinician_id=999)
    assert clinic.list_notes(db, anna.id)[0].pain_location == "distal tibia"
    # The database refuses an out-of-range score even past the query layer.
    db.add(m.Note(patient_id=anna.id, author_role="patient", created_at=clinic.now(),
                  text="", pain_score=12))
    with pytest.raises(IntegrityError):
        db.commit()
    db.rollback()


# -- trials -------------------------------------------------------------------------------------


def test_trial_details_keep_setup_devices_alarms_and_recording(db: Session) -> None:
    ids = populate_patient(db, "A", "Anna")
    setup = {"body_mass_kg": 80.0, "prosthetic_side": "left", "insole_rate_hz": 1000}
    trials.update_trial(db, ids["trial"], setup=setup, footwear="own shoes",
                        targets={"low_pct_bw": 40.0, "high_pct_bw": 60.0},
                        calibration={"bars": [{"kind": "linear"}]}, calibration_version="c3",
                        firmware_versions={"bars": "1.2.0"},
                        prosthesis_setup={"foot": "Carbon foot"})
    with pytest.raises(TypeError, match="unknown trial fields"):
        trials.update_trial(db, ids["trial"], colour="red")
    assert trials.update_trial(db, 999, notes="x") is None
    detail = trials.get_trial(db, ids["trial"])
    assert detail is not None
    assert detail.patient_id == ids["patient"] and detail.session_id == ids["session"]
    assert detail.setup == setup and detail.footwear == "own shoes"
    assert detail.targets == {"low_pct_bw": 40.0, "high_pct_bw": 60.0}
    assert detail.calibration_version == "c3" and detail.firmware_versions == {"bars": "1.2.0"}
    assert detail.prosthesis_setup == {"foot": "Carbon foot"}
    (device,) = detail.devices
    assert (device.role, device.serial_number, device.firmware_version, device.channel_map) == (
        "bars", 7, "1.2.0", ["lf", "lr", "rf", "rr"])
    assert [(a.kind, a.value) for a in detail.alarms] == [("safety_limit", 91.0)]
    assert detail.metrics is not None and detail.metrics.summary == {"live": {"steps": 3}}
    assert detail.recorded_frames == {"bars": 3}
    assert detail.recorded_bytes > 0
    assert [s.step_index for s in recordings.step_rows(db, ids["trial"])] == [0, 1]
    recordings.store_analysis(db, ids["trial"], analysis_row(1), [step_row(0)])  # replaces
    assert len(recordings.step_rows(db, ids["trial"])) == 1
    assert trials.get_trial(db, 999) is None
    with pytest.raises(clinic.NotFoundError):
        trials.start_trial(db, "rig-1", "walking", session_id=999)


def test_chunks_read_back_in_order_per_board(db: Session) -> None:
    trial = trials.start_trial(db, "rig-1", "walking")
    rng = np.random.default_rng(1)
    parts = []
    for index in range(3):
        n = 5 + index
        parts.append(recordings.Frames(
            np.sort(rng.random(n)) + index, np.arange(n, dtype=np.int64) + 10 * index,
            rng.integers(0, 2**32, n), rng.integers(0, 1024, (n, 8))))
    # Written out of order: read back by chunk index.
    rows = [recordings.raw_chunk_row(trial.id, "insole_left", i, parts[i]) for i in (2, 0, 1)]
    recordings.write_chunks(db, rows, [])
    loaded = recordings.load_frames(db, trial.id)["insole_left"]
    expected = recordings.Frames.concatenate(parts, 8)
    for name in ("host_time_s", "seq", "device_time_us", "counts"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(expected, name))
    assert clinic_seed.chunk_count(db, trial.id) == 3
    with pytest.raises(ValueError, match="at least one frame"):
        recordings.raw_chunk_row(trial.id, "bars", 9, recordings.Frames.concatenate([], 4))


# -- the blob codec -----------------------------------------------------------------------------


def test_codec_round_trip_is_bit_exact_including_wrapping_integers() -> None:
    rng = np.random.default_rng(7)
    arrays = {
        "seq_u16": np.array([65533, 65534, 65535, 0, 1, 2], dtype=np.uint16),  # wraps
        "time_u32": np.array([2**32 - 2, 2**32 - 1, 0, 5], dtype=np.uint32),
        "extremes_i64": np.array([2**63 - 1, -(2**63), 2**63 - 1, 0], dtype=np.int64),
        "counts": rng.integers(-(2**23), 2**23, (50, 4)),
        "floats": np.array([0.1, -0.0, np.nan, np.inf, -np.inf, 5e-324]),
        "float32": rng.random((7, 3)).astype(np.float32),
        "big_endian": np.array([1, 2, 300], dtype=">i4"),
        "flags": np.array([True, False, True]),
        "scalar": np.array(42, dtype=np.int16),
        "empty": np.empty((0, 8), dtype=np.int64),
    }
    decoded = codec.decode(codec.encode(arrays))
    assert list(decoded) == list(arrays)
    for name, original in arrays.items():
        back = decoded[name]
        assert back.shape == original.shape, name
        assert back.dtype.newbyteorder("=") == original.dtype.newbyteorder("="), name
        # Bit-exact: the same bytes in one byte order (NaN payloads and -0.0 included).
        assert back.astype(original.dtype.newbyteorder("<")).tobytes() == \
            original.astype(original.dtype.newbyteorder("<")).tobytes(), name
        back[...] = back  # writable


def test_codec_compresses_slowly_changing_counts() -> None:
    n = 1000
    counts = (500 + 100 * np.sin(np.arange(n)[:, None] / 50.0 + np.arange(8))).astype(np.int64)
    blob = codec.encode({"seq": np.arange(n, dtype=np.int64), "counts": counts})
    assert len(blob) < counts.nbytes / 4


@pytest.mark.parametrize("damage", ["magic", "truncate", "flip", "extra", "header"])
def test_a_corrupt_blob_raises_codec_error(damage: str) -> None:
    blob = bytearray(codec.encode({"a": np.arange(100, dtype=np.int64),
                                   "b": np.linspace(0, 1, 50)}))
    if damage == "magic":
        blob[:4] = b"XXXX"
    elif damage == "truncate":
        del blob[-10:]
    elif damage == "flip":
        blob[-5] ^= 0xFF
    elif damage == "extra":
        blob += codec_tail()
    else:
        blob[8] = ord("!")
    with pytest.raises(codec.CodecError):
        codec.decode(bytes(blob))
    with pytest.raises(codec.CodecError, match="dtype"):
        codec.encode({"names": np.array(["a", "b"])})


def codec_tail() -> bytes:
    """A blob whose zlib stream holds more bytes than its header declares."""
    import zlib

    return zlib.compress(b"\x00" * 16)


def test_codec_rejects_extra_payload() -> None:
    import json
    import struct
    import zlib

    header = json.dumps([{"name": "a", "dtype": "<i8", "shape": [1], "filter": "none"}]).encode()
    blob = codec.MAGIC + struct.pack("<I", len(header)) + header + zlib.compress(b"\x00" * 16)
    with pytest.raises(codec.CodecError, match="left over"):
        codec.decode(blob)


# -- erasure ------------------------------------------------------------------------------------


def test_erasing_a_patient_removes_all_their_rows_and_recordings(db: Session) -> None:
    anna = populate_patient(db, "A", "Anna")
    bruno = populate_patient(db, "B", "Bruno")
    clinic.add_clinician(db, "Dana PT")
    loose = trials.start_trial(db, "rig-1", "walking")  # no session: nobody's
    before = row_counts(db)
    owned = {name: count for name, count in before.items() if count}
    # every table that belongs to a patient has rows of both patients
    for name in ("patients", "body_mass_records", "prosthesis_components", "sessions", "notes",
                 "trial_devices", "recording_chunks", "result_chunks", "step_events",
                 "trial_metrics", "alarms"):
        assert before[name] % 2 == 0 and before[name] >= 2, name
    assert clinic.delete_patient(db, anna["patient"])
    after = row_counts(db)
    for name, count in owned.items():
        if name in ("clinicians",):
            assert after[name] == count
        elif name == "trials":
            assert after[name] == count - 1  # Anna's; Bruno's and the loose one stay
        else:
            assert after[name] == count // 2, name  # exactly Bruno's half left
    assert trials.get_trial(db, anna["trial"]) is None
    assert recordings.load_frames(db, anna["trial"]) == {}
    assert trials.get_trial(db, loose.id) is not None
    bruno_trial = trials.get_trial(db, bruno["trial"])
    assert bruno_trial is not None and bruno_trial.recorded_frames == {"bars": 3}
    assert db.get(m.Patient, bruno["patient"]) is not None
    assert not clinic.delete_patient(db, anna["patient"])  # nothing left to erase
