"""A trial's recording: boards used, raw-frame and result chunks, step events, metrics, alarms.

Chunks are written by the rig's recorder during the trial (each at most one second of data, in
one transaction per flush) and read back whole, in order, for the analysis, a replay or an
export. The blob format is :mod:`gaitrig.db.codec`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from gaitrig.db import clinic, codec
from gaitrig.db import models as m

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Frames:
    """Consecutive DATA frames of one board (a chunk, or a whole trial's)."""

    host_time_s: FloatArray  # (n,) when each sample was taken, host monotonic clock (s)
    seq: IntArray  # (n,) sequence numbers as the board sent them
    device_time_us: IntArray  # (n,) board timestamps (µs) as sent
    counts: IntArray  # (n, channels) raw counts

    def __len__(self) -> int:
        return int(self.host_time_s.shape[0])

    @staticmethod
    def concatenate(parts: Sequence[Frames], channels: int) -> Frames:
        if not parts:
            return Frames(np.empty(0), np.empty(0, np.int64), np.empty(0, np.int64),
                          np.empty((0, channels), np.int64))
        return Frames(np.concatenate([p.host_time_s for p in parts]),
                      np.concatenate([p.seq for p in parts]),
                      np.concatenate([p.device_time_us for p in parts]),
                      np.concatenate([p.counts for p in parts]))


@dataclass(frozen=True, slots=True)
class Results:
    """Rows the live pipeline computed: ``host_time_s`` (n,) and one (n,) array per quantity."""

    host_time_s: FloatArray
    values: dict[str, npt.NDArray[np.floating[Any]]]

    def __len__(self) -> int:
        return int(self.host_time_s.shape[0])


def add_devices(session: Session, trial_id: int, devices: Mapping[str, Mapping[str, Any]]
                ) -> None:
    """The boards of a trial: role -> {serial_number, firmware_version, sample_rate_hz,
    channel_map}; replaces what was stored for those roles."""
    clinic._require(session, m.Trial, trial_id)
    session.execute(delete(m.TrialDevice).where(m.TrialDevice.trial_id == trial_id,
                                                m.TrialDevice.role.in_(list(devices))))
    for role, info in devices.items():
        session.add(m.TrialDevice(
            trial_id=trial_id, role=role, serial_number=info.get("serial_number"),
            firmware_version=_version(info.get("firmware_version")),
            sample_rate_hz=info.get("sample_rate_hz"),
            channel_map=list(info.get("channel_map") or [])))
    session.commit()


def _version(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return ".".join(str(part) for part in value)
    return str(value)


def raw_chunk_row(trial_id: int, role: str, chunk_index: int, frames: Frames) -> dict[str, Any]:
    """The row of one raw chunk, encoded (called off the database's lock: encoding is the slow
    part)."""
    n = len(frames)
    if n == 0:
        raise ValueError("a chunk needs at least one frame")
    counts = np.asarray(frames.counts, dtype=np.int64).reshape(n, -1)
    return {
        "trial_id": trial_id, "role": role, "chunk_index": chunk_index, "frame_count": n,
        "channel_count": int(counts.shape[1]),
        "first_host_time_s": float(frames.host_time_s[0]),
        "last_host_time_s": float(frames.host_time_s[-1]),
        "first_seq": int(frames.seq[0]), "last_seq": int(frames.seq[-1]),
        "first_device_time_us": int(frames.device_time_us[0]),
        "last_device_time_us": int(frames.device_time_us[-1]),
        "data": codec.encode({"host_time_s": np.asarray(frames.host_time_s, np.float64),
                              "seq": np.asarray(frames.seq, np.int64),
                              "device_time_us": np.asarray(frames.device_time_us, np.int64),
                              "counts": counts}),
    }


def result_chunk_row(trial_id: int, chunk_index: int, results: Results) -> dict[str, Any]:
    n = len(results)
    if n == 0:
        raise ValueError("a chunk needs at least one row")
    return {"trial_id": trial_id, "chunk_index": chunk_index, "row_count": n,
            "first_host_time_s": float(results.host_time_s[0]),
            "last_host_time_s": float(results.host_time_s[-1]),
            "data": codec.encode({"host_time_s": results.host_time_s, **results.values})}


def write_chunks(session: Session, raw_rows: Sequence[dict[str, Any]],
                 result_rows: Sequence[dict[str, Any]]) -> None:
    """Store encoded chunks (from :func:`raw_chunk_row`, :func:`result_chunk_row`) in one
    transaction."""
    if raw_rows:
        session.execute(insert(m.RecordingChunk), list(raw_rows))
    if result_rows:
        session.execute(insert(m.ResultChunk), list(result_rows))
    session.commit()


def iter_raw_chunks(session: Session, trial_id: int, role: str | None = None
                    ) -> Iterator[tuple[str, Frames]]:
    """Each stored raw chunk (role, frames) in order of role, then chunk index."""
    statement = (select(m.RecordingChunk.role, m.RecordingChunk.data)
                 .where(m.RecordingChunk.trial_id == trial_id)
                 .order_by(m.RecordingChunk.role, m.RecordingChunk.chunk_index))
    if role is not None:
        statement = statement.where(m.RecordingChunk.role == role)
    for chunk_role, blob in session.execute(statement):
        arrays = codec.decode(blob)
        yield chunk_role, Frames(arrays["host_time_s"], arrays["seq"], arrays["device_time_us"],
                                 arrays["counts"])


def load_frames(session: Session, trial_id: int) -> dict[str, Frames]:
    """Every stored frame of the trial, per board role, in the order recorded."""
    parts: dict[str, list[Frames]] = {}
    for role, frames in iter_raw_chunks(session, trial_id):
        parts.setdefault(role, []).append(frames)
    return {role: Frames.concatenate(chunks, chunks[0].counts.shape[1])
            for role, chunks in parts.items()}


def load_results(session: Session, trial_id: int, start_s: float | None = None,
                 end_s: float | None = None) -> Results:
    """The stored live results, whole or the chunks overlapping ``[start_s, end_s]`` (host s)."""
    statement = (select(m.ResultChunk.data).where(m.ResultChunk.trial_id == trial_id)
                 .order_by(m.ResultChunk.chunk_index))
    if start_s is not None:
        statement = statement.where(m.ResultChunk.last_host_time_s >= start_s)
    if end_s is not None:
        statement = statement.where(m.ResultChunk.first_host_time_s <= end_s)
    chunks = [codec.decode(blob) for blob in session.scalars(statement)]
    if not chunks:
        return Results(np.empty(0), {})
    names = [name for name in chunks[0] if name != "host_time_s"]
    return Results(np.concatenate([c["host_time_s"] for c in chunks]),
                   {name: np.concatenate([c[name] for c in chunks]) for name in names})


def store_analysis(session: Session, trial_id: int, metric: Mapping[str, Any],
                   steps: Iterable[Mapping[str, Any]]) -> None:
    """Replace the trial's metrics row (``metric``: the columns of :class:`TrialMetric` but
    ``trial_id``) and its step events (each: the columns of :class:`StepEvent` but ids)."""
    clinic._require(session, m.Trial, trial_id)
    session.execute(delete(m.StepEvent).where(m.StepEvent.trial_id == trial_id))
    session.execute(delete(m.TrialMetric).where(m.TrialMetric.trial_id == trial_id))
    session.add(m.TrialMetric(trial_id=trial_id, **metric))
    rows = [{"trial_id": trial_id, **step} for step in steps]
    if rows:
        session.execute(insert(m.StepEvent), rows)
    session.commit()


def step_rows(session: Session, trial_id: int) -> list[m.StepEvent]:
    return list(session.scalars(select(m.StepEvent).where(m.StepEvent.trial_id == trial_id)
                                .order_by(m.StepEvent.step_index)))


def set_recording_status(session: Session, trial_id: int, status: str) -> None:
    trial = clinic._require(session, m.Trial, trial_id)
    trial.recording_status = status
    session.commit()
