"""Recordings on disk: the rig's own format (write and read) and the public formats we read.

Every reader returns plain arrays and metadata; what they mean (forces, events, metrics) is for
``processing``, composed by ``gaitrig.rig.offline.analyze``. A file that cannot be read raises
:class:`RecordingError` with the file's name and the reason in one line. Formats, columns and
units: ``docs/recordings.md``.

* ``.npz`` — the rig's own format (:func:`write_gaitrig` / :func:`read_gaitrig`): raw counts per
  board merged on the insole timeline, host and device timestamps, the calibration dicts, the
  layout, body mass and prosthetic side.
* ``.csv`` — a generic table: a ``time_s`` column and one column per sensor (``left_*`` and
  ``right_*``, forces in N), with an optional layout file giving each column's position (mm).
* ``.txt`` / ``.txt.gz`` — PhysioNet gaitpdb: 19 columns at 100 Hz, per-sensor forces in N.
* ``.hea`` (with its ``.let``/``.rit`` signals) — PhysioNet WFDB records (gaitndd), read with the
  ``wfdb`` package: one raw signal per foot, arbitrary units.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "GAITPDB_POSITIONS",
    "GAITRIG_FORMAT",
    "FootRecording",
    "RawRecording",
    "RecordingError",
    "read_csv",
    "read_gaitndd_strides",
    "read_gaitpdb",
    "read_gaitrig",
    "read_recording",
    "read_wfdb",
    "write_gaitrig",
]

FloatArray = npt.NDArray[np.float64]
GAITRIG_FORMAT = "gaitrig-recording"
GAITRIG_VERSION = 1
GAITPDB_RATE_HZ = 100.0
#: gaitpdb sensor positions (dataset units, origin between the feet, +Y forward), L1..L8; the
#: right foot's are the same with X mirrored.
GAITPDB_POSITIONS = np.array([[-500, -800], [-700, -400], [-300, -400], [-700, 0], [-300, 0],
                              [-700, 400], [-300, 400], [-500, 800]], dtype=np.float64)


class RecordingError(ValueError):
    """A recording that cannot be read: ``str()`` is one line naming the file and the reason."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


@dataclass(frozen=True)
class RawRecording:
    """The rig's own recording: raw counts on the insole timeline (row ``j`` at
    ``host_time_s[j]``), to be turned into forces with ``calibration`` and ``layout``."""

    path: str
    sample_rate_hz: float
    host_time_s: FloatArray  # (n,) host monotonic s
    device_time_us: dict[str, FloatArray]  # board role -> (n,) that board's clock, µs
    left_counts: FloatArray  # (n, kL)
    right_counts: FloatArray  # (n, kR)
    bar_counts: FloatArray  # (n, 4) left front, left rear, right front, right rear
    calibration: dict[str, list[dict[str, Any]]]  # RigCalibration.to_dicts()
    layout: dict[str, Any]  # {"insole_sensors": 8 | 16, "shoe_size_eu": int}
    body_mass_kg: float
    prosthetic_side: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FootRecording:
    """Per-sensor (or per-foot) signals of both feet at ``sample_rate_hz`` (row ``j`` at
    ``start_time_s + j / sample_rate_hz``).

    ``left_sensors``/``right_sensors`` (n, k): one column per sensor, k = 1 when only the foot's
    total is known. ``units`` is ``"N"`` or ``"arbitrary"``. ``left_positions``/``right_positions``
    (k, 2) in ``position_units`` when known (else None). ``left_total``/``right_total`` (n,): the
    file's own per-foot totals when it has them (gaitpdb), else None.
    """

    path: str
    format: str
    sample_rate_hz: float
    start_time_s: float
    left_sensors: FloatArray
    right_sensors: FloatArray
    units: str
    left_positions: FloatArray | None = None
    right_positions: FloatArray | None = None
    position_units: str = "mm"
    left_total: FloatArray | None = None
    right_total: FloatArray | None = None
    body_mass_kg: float | None = None
    prosthetic_side: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def samples(self) -> int:
        return int(self.left_sensors.shape[0])


# -- the rig's own format ----------------------------------------------------------------------


def write_gaitrig(path: str | Path, *, sample_rate_hz: float, host_time_s: npt.ArrayLike,
                  device_time_us: Mapping[str, npt.ArrayLike], left_counts: npt.ArrayLike,
                  right_counts: npt.ArrayLike, bar_counts: npt.ArrayLike,
                  calibration: dict[str, list[dict[str, Any]]], layout: dict[str, Any],
                  body_mass_kg: float, prosthetic_side: str,
                  metadata: dict[str, Any] | None = None) -> Path:
    """Write a recording in the rig's own format (``.npz``, uncompressed arrays + JSON header)."""
    header = {"format": GAITRIG_FORMAT, "version": GAITRIG_VERSION,
              "sample_rate_hz": float(sample_rate_hz), "calibration": calibration,
              "layout": layout, "body_mass_kg": float(body_mass_kg),
              "prosthetic_side": prosthetic_side, "device_clocks": sorted(device_time_us),
              "metadata": metadata or {}}
    arrays: dict[str, Any] = {
        "header": np.array(json.dumps(header)),
        "host_time_s": np.asarray(host_time_s, dtype=np.float64),
        "left_counts": np.asarray(left_counts), "right_counts": np.asarray(right_counts),
        "bar_counts": np.asarray(bar_counts)}
    for role, times in device_time_us.items():
        arrays[f"device_time_us__{role}"] = np.asarray(times, dtype=np.float64)
    target = Path(path)
    with target.open("wb") as handle:
        np.savez(handle, **arrays)
    return target


def read_gaitrig(path: str | Path) -> RawRecording:
    """Read a recording written by :func:`write_gaitrig`."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if "header" not in data.files:
                raise RecordingError(path, "not a gaitrig recording (no header)")
            header = json.loads(str(data["header"]))
            if header.get("format") != GAITRIG_FORMAT:
                raise RecordingError(path, "not a gaitrig recording (wrong format name)")
            if header.get("version") != GAITRIG_VERSION:
                raise RecordingError(path, f"gaitrig recording version {header.get('version')} "
                                           f"is not supported (this program reads "
                                           f"{GAITRIG_VERSION})")
            arrays = {name: np.asarray(data[name]) for name in data.files if name != "header"}
    except RecordingError:
        raise
    except FileNotFoundError:
        raise RecordingError(path, "no such file") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as error:
        raise RecordingError(path, f"not a readable gaitrig recording ({_reason(error)})"
                             ) from None
    try:
        left = _matrix(arrays["left_counts"], "left_counts")
        right = _matrix(arrays["right_counts"], "right_counts")
        bars = _matrix(arrays["bar_counts"], "bar_counts")
        host = np.asarray(arrays["host_time_s"], dtype=np.float64).reshape(-1)
        rate = float(header["sample_rate_hz"])
        body_mass = float(header["body_mass_kg"])
        side = str(header["prosthetic_side"])
        clocks = {role: np.asarray(arrays[f"device_time_us__{role}"], dtype=np.float64)
                  for role in header.get("device_clocks", [])}
    except KeyError as error:
        raise RecordingError(path, f"gaitrig recording lacks {error}") from None
    except ValueError as error:
        raise RecordingError(path, str(error)) from None
    n = host.shape[0]
    if not (left.shape[0] == right.shape[0] == bars.shape[0] == n):
        raise RecordingError(path, "counts and timestamps have different numbers of rows")
    if not (math.isfinite(rate) and rate > 0 and math.isfinite(body_mass) and body_mass > 0):
        raise RecordingError(path, "sample rate and body mass must be positive numbers")
    if side not in ("left", "right"):
        raise RecordingError(path, f"prosthetic side must be left or right, got {side!r}")
    return RawRecording(str(path), rate, host, clocks, left, right, bars,
                        header["calibration"], header["layout"], body_mass, side,
                        header.get("metadata", {}))


def _matrix(values: Any, name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a table (rows x channels), got shape {array.shape}")
    return array


# -- generic CSV -------------------------------------------------------------------------------


def read_csv(path: str | Path, layout_path: str | Path | None = None) -> FootRecording:
    """A ``time_s`` column (s, evenly spaced) and per-sensor force columns (N) named ``left_*``
    and ``right_*``. ``layout_path``: JSON ``{"left": {"COLUMN": [x_mm, y_mm], ...}, "right":
    {...}}`` with every sensor column's position in that foot's insole frame (mm)."""
    try:
        with open(path, newline="") as handle:
            rows = list(csv.reader(handle))
    except FileNotFoundError:
        raise RecordingError(path, "no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise RecordingError(path, f"cannot read it as text ({_reason(error)})") from None
    if not rows:
        raise RecordingError(path, "empty file")
    names = [name.strip() for name in rows[0]]
    if not names or names[0] != "time_s":
        raise RecordingError(path, "the first column must be time_s (see docs/recordings.md)")
    left = [i for i, name in enumerate(names) if name.startswith("left_")]
    right = [i for i, name in enumerate(names) if name.startswith("right_")]
    if not left or not right:
        raise RecordingError(path, "needs sensor columns named left_* and right_*")
    try:
        table = np.array([[float(v) for v in row] for row in rows[1:] if row], dtype=np.float64)
    except ValueError as error:
        raise RecordingError(path, f"a value is not a number ({_reason(error)})") from None
    if table.ndim != 2 or table.shape[0] < 2 or table.shape[1] != len(names):
        raise RecordingError(path, "every row needs a value for every column, and at least two "
                                   "rows")
    rate = _even_rate(path, table[:, 0])
    positions: dict[str, FloatArray | None] = {"left": None, "right": None}
    if layout_path is not None:
        layout = _read_json(layout_path)
        for side, columns in (("left", left), ("right", right)):
            try:
                positions[side] = np.array([layout[side][names[i]] for i in columns],
                                           dtype=np.float64).reshape(len(columns), 2)
            except (KeyError, TypeError, ValueError) as error:
                raise RecordingError(layout_path, f"no position (x_mm, y_mm) for "
                                                  f"{side} column {_reason(error)}") from None
    return FootRecording(str(path), "csv", rate, float(table[0, 0]), table[:, left],
                         table[:, right], "N", positions["left"], positions["right"], "mm",
                         metadata={"columns": names})


def _read_json(path: str | Path) -> dict[str, Any]:
    try:
        with open(path) as handle:
            data = json.load(handle)
    except FileNotFoundError:
        raise RecordingError(path, "no such file") from None
    except (OSError, ValueError) as error:
        raise RecordingError(path, f"not valid JSON ({_reason(error)})") from None
    if not isinstance(data, dict):
        raise RecordingError(path, "a layout file is a JSON object")
    return data


def _even_rate(path: str | Path, time_s: FloatArray) -> float:
    steps = np.diff(time_s)
    if not np.isfinite(time_s).all() or (steps <= 0).any():
        raise RecordingError(path, "time_s must increase from row to row")
    step = float(np.median(steps))
    if np.abs(steps - step).max() > 0.02 * step:  # times written rounded (gaitpdb: 0.1 ms)
        raise RecordingError(path, "time_s must be evenly spaced (one sample rate)")
    return float((time_s.size - 1) / (time_s[-1] - time_s[0]))


# -- PhysioNet gaitpdb -------------------------------------------------------------------------


def read_gaitpdb(path: str | Path) -> FootRecording:
    """gaitpdb text (optionally gzipped): time, L1..L8, R1..R8, left total, right total (N)."""
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rt") as handle:
            table = np.loadtxt(handle, dtype=np.float64, ndmin=2)
    except FileNotFoundError:
        raise RecordingError(path, "no such file") from None
    except (OSError, EOFError, ValueError, UnicodeDecodeError) as error:
        raise RecordingError(path, f"not a gaitpdb text file ({_reason(error)})") from None
    if table.shape[1] != 19 or table.shape[0] < 2:
        raise RecordingError(path, f"a gaitpdb file has 19 columns and many rows, this one "
                                   f"{table.shape[1]} x {table.shape[0]}")
    _even_rate(path, table[:, 0])
    rate = GAITPDB_RATE_HZ  # as documented; the time column is rounded to 0.1 ms
    right_positions = GAITPDB_POSITIONS * np.array([-1.0, 1.0])
    return FootRecording(str(path), "gaitpdb", rate, float(table[0, 0]), table[:, 1:9],
                         table[:, 9:17], "N", GAITPDB_POSITIONS.copy(), right_positions,
                         "gaitpdb units (origin between the feet)",
                         left_total=table[:, 17], right_total=table[:, 18])


# -- PhysioNet WFDB ----------------------------------------------------------------------------


def read_wfdb(path: str | Path) -> FootRecording:
    """A WFDB record (``NAME.hea`` + signal files) with one left-foot and one right-foot signal.

    Samples the format marks as invalid (e.g. -2048 in format 212) come out as NaN.
    """
    with warnings.catch_warnings():  # wfdb's own deprecation warnings from pandas at import
        warnings.simplefilter("ignore")
        import wfdb

    header = Path(path)
    if not header.exists():
        raise RecordingError(path, "no such file")
    record_name = str(header.with_suffix("")) if header.suffix == ".hea" else str(header)
    try:
        record = wfdb.rdrecord(record_name)
    except Exception as error:  # wfdb raises many kinds (ValueError, IndexError, OSError...)
        raise RecordingError(path, f"not a readable WFDB record ({_reason(error)})") from None
    signal = record.p_signal
    names = [str(name).lower() for name in (record.sig_name or [])]
    if signal is None or signal.ndim != 2 or signal.shape[0] < 2:
        raise RecordingError(path, "the WFDB record has no samples")
    left = [i for i, name in enumerate(names) if "left" in name]
    right = [i for i, name in enumerate(names) if "right" in name]
    if len(left) != 1 or len(right) != 1:
        raise RecordingError(path, f"needs one left and one right signal, found {names}")
    expected = int(record.sig_len)
    if signal.shape[0] != expected:
        raise RecordingError(path, f"has {signal.shape[0]} of {expected} samples (truncated?)")
    return FootRecording(str(path), "wfdb", float(record.fs), 0.0,
                         np.asarray(signal[:, left], dtype=np.float64),
                         np.asarray(signal[:, right], dtype=np.float64), "arbitrary",
                         metadata={"record": record.record_name, "signals": names})


# -- any -------------------------------------------------------------------------------------


def read_recording(path: str | Path, layout_path: str | Path | None = None
                   ) -> RawRecording | FootRecording:
    """Read any supported recording, chosen by its name's ending."""
    name = str(path).lower()
    if name.endswith(".npz"):
        return read_gaitrig(path)
    if name.endswith(".csv"):
        return read_csv(path, layout_path)
    if name.endswith((".txt", ".txt.gz")):
        return read_gaitpdb(path)
    if name.endswith(".hea"):
        return read_wfdb(path)
    if not Path(path).exists():
        raise RecordingError(path, "no such file")
    raise RecordingError(path, "unknown format: expected .npz (gaitrig), .csv, .txt[.gz] "
                               "(gaitpdb) or .hea (WFDB)")


def _reason(error: BaseException) -> str:
    """An exception as one short line."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text[:160]


def read_gaitndd_strides(path: str | Path) -> FloatArray:
    """The gaitndd authors' per-stride table (``NAME.ts``): one row per stride, 13 columns
    (docs/recordings.md); times in s, shares in %."""
    try:
        table = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except FileNotFoundError:
        raise RecordingError(path, "no such file") from None
    except (OSError, ValueError) as error:
        raise RecordingError(path, f"not a gaitndd stride table ({_reason(error)})") from None
    if table.shape[1] != 13:
        raise RecordingError(path, f"a gaitndd stride table has 13 columns, this one "
                                   f"{table.shape[1]}")
    return table
