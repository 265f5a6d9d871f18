"""Calibrations are plain data: one dict per channel, stored as JSON, checked on the way in.

A channel's calibration is exactly one of:

* ``{"kind": "linear", "offset_counts": o, "newtons_per_count": g}`` — a load cell read by an
  HX711 amplifier: ``F = (counts - o) * g`` newtons. ``o`` is the reading with no load (the tare).
* ``{"kind": "fsr_power_law", "gain_n": a, "exponent": b, "adc_max": m}`` — a force-sensing
  resistor in a voltage divider read by an ADC (``m`` = full scale, 1023 for 10 bits):
  ``F = a * (c / (m - c)) ** b`` newtons for ``0 < c < m``; 0 N for ``c <= 0``; a saturated
  reading ``c >= m`` is evaluated at ``m - 0.5`` (finite: the largest force the channel can show).
* ``{"kind": "fsr_table", "counts": [c0, c1, ...], "newtons": [f0, f1, ...]}`` — a force-sensing
  resistor measured point by point (at least 2 knots): counts strictly increasing, forces finite,
  non-negative and never decreasing; the force is interpolated linearly between knots (N), is
  ``f0`` at or below ``c0`` and the last force at or above the last count (the largest force the
  channel can show); NaN counts give NaN. A table should begin at the unloaded sensor's reading
  with 0 N, otherwise an unloaded sensor reads ``f0``.

An insole may mix the two FSR kinds, channel by channel. Adding a kind does not change the layout
of a channel dict (its ``kind`` names it), so calibration records keep their format.

A board's calibration is a dataclass holding one float64 array per field (one value per channel,
read-only). :class:`RigCalibration` holds the three boards of the rig.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
ChannelDict = Mapping[str, Any]

LINEAR = "linear"
FSR_POWER_LAW = "fsr_power_law"
LINEAR_FIELDS = ("offset_counts", "newtons_per_count")
FSR_FIELDS = ("gain_n", "exponent", "adc_max")
FSR_TABLE = "fsr_table"
FSR_TABLE_FIELDS = ("counts", "newtons")
#: Columns of :attr:`FsrCalibration.curves` before a channel's table: gain_n, exponent,
#: adc_max, knots (0 for a power-law channel).
CURVE_HEADER = 4
#: Channel count of the bars board: left front, left rear, right front, right rear post.
BAR_CHANNELS = 4


def _readonly_vector(values: Any, name: str) -> FloatArray:
    array = np.array(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array (one value per channel)")
    array.flags.writeable = False
    return array


def _number(value: object, where: str, field: str) -> float:
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise ValueError(f"{where}: field {field!r} must be a number, got {value!r}")
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(f"{where}: field {field!r} must be finite, got {value!r}")
    return result


def _fields(entry: object, where: str, kind: str, fields: tuple[str, ...]) -> list[float]:
    """The numeric fields of one channel's dict, in order, after checking kind and keys."""
    if not isinstance(entry, Mapping):
        raise ValueError(f"{where}: calibration must be a dict, got {type(entry).__name__}")
    if "kind" not in entry:
        raise ValueError(f"{where}: missing field 'kind'")
    if entry["kind"] != kind:
        raise ValueError(f"{where}: field 'kind' must be {kind!r}, got {entry['kind']!r}")
    _check_keys(entry, where, kind, fields)
    return [_number(entry[f], where, f) for f in fields]


def _check_keys(entry: ChannelDict, where: str, kind: str, fields: tuple[str, ...]) -> None:
    """Every field of ``kind`` present, no other besides "kind"."""
    missing = [f for f in fields if f not in entry]
    if missing:
        raise ValueError(f"{where}: missing field {missing[0]!r}")
    unknown = sorted(str(k) for k in entry if k != "kind" and k not in fields)
    if unknown:
        raise ValueError(f"{where}: unknown field {unknown[0]!r} for kind {kind!r}")


def _channel_list(channels: object, board: str) -> Sequence[object]:
    if isinstance(channels, str | bytes | Mapping) or not isinstance(channels, Sequence):
        raise ValueError(f"{board}: calibration must be a list with one dict per channel")
    if not channels:
        raise ValueError(f"{board}: calibration needs at least one channel")
    return channels


def _plain(value: float) -> float | int:
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


@dataclass(frozen=True, eq=False)
class LinearCalibration:
    """Load cells of one board: ``F = (counts - offset_counts) * newtons_per_count`` (N)."""

    offset_counts: FloatArray  # (k,) counts at no load
    newtons_per_count: FloatArray  # (k,) N per count; negative if a cell is mounted reversed

    def __post_init__(self) -> None:
        offset = _readonly_vector(self.offset_counts, "offset_counts")
        gain = _readonly_vector(self.newtons_per_count, "newtons_per_count")
        if offset.shape != gain.shape:
            raise ValueError(f"offset_counts has {offset.size} channels, newtons_per_count "
                             f"has {gain.size}")
        for channel in range(offset.size):
            where = f"channel {channel}"
            _number(offset[channel], where, "offset_counts")
            if _number(gain[channel], where, "newtons_per_count") == 0.0:
                raise ValueError(f"{where}: field 'newtons_per_count' must not be zero")
        object.__setattr__(self, "offset_counts", offset)
        object.__setattr__(self, "newtons_per_count", gain)

    @property
    def channels(self) -> int:
        return int(self.offset_counts.size)

    @classmethod
    def from_dicts(cls, channels: Sequence[ChannelDict], board: str = "board"
                   ) -> LinearCalibration:
        """One ``{"kind": "linear", ...}`` dict per channel, in channel order."""
        rows = [_fields(entry, f"{board} channel {i}", LINEAR, LINEAR_FIELDS)
                for i, entry in enumerate(_channel_list(channels, board))]
        offset, gain = zip(*rows, strict=True)
        for i, g in enumerate(gain):
            if g == 0.0:
                raise ValueError(f"{board} channel {i}: field 'newtons_per_count' must not be "
                                 "zero")
        return cls(np.array(offset), np.array(gain))

    def to_dicts(self) -> list[dict[str, Any]]:
        return [{"kind": LINEAR, "offset_counts": _plain(float(o)),
                 "newtons_per_count": float(g)}
                for o, g in zip(self.offset_counts, self.newtons_per_count, strict=True)]

    def tared(self, zero_counts: npt.ArrayLike) -> LinearCalibration:
        """The same gains with new offsets: ``zero_counts`` (k,) read with nothing on the bars."""
        zero = np.asarray(zero_counts, dtype=np.float64)
        if zero.shape != self.offset_counts.shape:
            raise ValueError(f"tare needs {self.channels} zero readings, got shape {zero.shape}")
        return LinearCalibration(zero, self.newtons_per_count)


@dataclass(frozen=True, eq=False)
class FsrCalibration:
    """FSRs of one insole, each channel a power law or a table (see the module doc).

    Power-law channels: ``F = gain_n * (c / (adc_max - c)) ** exponent`` (N). Table channels:
    ``gain_n``, ``exponent`` and ``adc_max`` are NaN and the channel's row of ``table_counts``
    (counts) and ``table_newtons`` (N) holds its knots, NaN after the last; power-law channels
    have all-NaN rows there. Without tables (``None``) every channel is a power law.
    """

    gain_n: FloatArray  # (k,) N: the force at which the FSR's resistance equals the divider's
    exponent: FloatArray  # (k,) dimensionless power of the conductance ratio
    adc_max: FloatArray  # (k,) ADC full scale in counts (1023 for a 10-bit ADC)
    table_counts: FloatArray | None = None  # (k, m) knots in counts, NaN-padded
    table_newtons: FloatArray | None = None  # (k, m) force at each knot, N, NaN-padded

    def __post_init__(self) -> None:
        gain = _readonly_vector(self.gain_n, "gain_n")
        exponent = _readonly_vector(self.exponent, "exponent")
        adc_max = _readonly_vector(self.adc_max, "adc_max")
        if not gain.shape == exponent.shape == adc_max.shape:
            raise ValueError(f"FSR calibration arrays differ in length: gain_n {gain.size}, "
                             f"exponent {exponent.size}, adc_max {adc_max.size}")
        k = gain.size
        if (self.table_counts is None) != (self.table_newtons is None):
            raise ValueError("table_counts and table_newtons go together: give both or neither")
        if self.table_counts is None:
            xs = np.full((k, 0), np.nan)
            ys = np.full((k, 0), np.nan)
        else:
            xs = np.array(self.table_counts, dtype=np.float64)
            ys = np.array(self.table_newtons, dtype=np.float64)
            if xs.ndim != 2 or xs.shape[0] != k or xs.shape != ys.shape:
                raise ValueError(f"table_counts and table_newtons must both be ({k}, knots), got "
                                 f"shapes {xs.shape} and {ys.shape}")
        for channel in range(k):
            where = f"channel {channel}"
            knots = int(np.count_nonzero(~np.isnan(xs[channel])))
            if knots == 0:
                if not np.isnan(ys[channel]).all():
                    raise ValueError(f"{where}: table forces without table counts")
                _check_fsr_channel(where, gain[channel], exponent[channel], adc_max[channel])
                continue
            if not (np.isnan(gain[channel]) and np.isnan(exponent[channel])
                    and np.isnan(adc_max[channel])):
                raise ValueError(f"{where}: a table channel must have NaN gain_n, exponent and "
                                 "adc_max (it is not a power law)")
            if (np.isnan(xs[channel, :knots]).any() or not np.isnan(xs[channel, knots:]).all()
                    or not np.isnan(ys[channel, knots:]).all()):
                raise ValueError(f"{where}: table knots must come first, NaN only after the last")
            _check_fsr_table(where, xs[channel, :knots].tolist(), ys[channel, :knots].tolist())
        for name, array in (("gain_n", gain), ("exponent", exponent), ("adc_max", adc_max),
                            ("table_counts", xs), ("table_newtons", ys)):
            array.flags.writeable = False
            object.__setattr__(self, name, array)

    @property
    def channels(self) -> int:
        return int(self.gain_n.size)

    @property
    def knots(self) -> npt.NDArray[np.int64]:
        """(k,) knots of each channel's table; 0 for a power-law channel."""
        assert self.table_counts is not None  # always an array after __post_init__
        knots: npt.NDArray[np.int64] = np.count_nonzero(~np.isnan(self.table_counts), axis=1)
        return knots

    @property
    def curves(self) -> FloatArray:
        """Every channel's curve packed for the kernels: (k, CURVE_HEADER + 2 m), C-ordered.

        Row ``j``: ``[gain_n, exponent, adc_max, knots, counts_0 .. counts_{m-1},
        newtons_0 .. newtons_{m-1}]`` with ``m`` the most knots of any channel (0 when every
        channel is a power law); unused entries are 0, never NaN.
        """
        assert self.table_counts is not None and self.table_newtons is not None
        header = np.column_stack([self.gain_n, self.exponent, self.adc_max,
                                  self.knots.astype(np.float64)])
        packed = np.hstack([header, self.table_counts, self.table_newtons])
        return np.ascontiguousarray(np.nan_to_num(packed, nan=0.0), dtype=np.float64)

    def scaled(self, factor: float) -> FsrCalibration:
        """Every channel's force times ``factor`` (> 0): power-law gains and table forces."""
        if not (math.isfinite(factor) and factor > 0.0):
            raise ValueError(f"an FSR scale factor must be a positive number, got {factor!r}")
        return FsrCalibration(self.gain_n * factor, self.exponent, self.adc_max,
                              self.table_counts, None if self.table_newtons is None
                              else self.table_newtons * factor)

    @classmethod
    def from_dicts(cls, channels: Sequence[ChannelDict], board: str = "board") -> FsrCalibration:
        """One ``fsr_power_law`` or ``fsr_table`` dict per channel, in channel order."""
        power: list[list[float]] = []
        tables: list[tuple[list[float], list[float]]] = []
        for i, entry in enumerate(_channel_list(channels, board)):
            where = f"{board} channel {i}"
            if isinstance(entry, Mapping) and entry.get("kind") == FSR_TABLE:
                xs, ys = _table_fields(entry, where)
                _check_fsr_table(where, xs, ys)
                power.append([math.nan] * 3)
                tables.append((xs, ys))
                continue
            if isinstance(entry, Mapping) and "kind" in entry and entry["kind"] != FSR_POWER_LAW:
                raise ValueError(f"{where}: field 'kind' must be {FSR_POWER_LAW!r} or "
                                 f"{FSR_TABLE!r}, got {entry['kind']!r}")
            row = _fields(entry, where, FSR_POWER_LAW, FSR_FIELDS)
            _check_fsr_channel(where, *row)
            power.append(row)
            tables.append(([], []))
        gain, exponent, adc_max = (np.array(column) for column in zip(*power, strict=True))
        width = max(len(xs) for xs, _ in tables)
        if width == 0:
            return cls(gain, exponent, adc_max)
        table_counts = np.full((len(tables), width), np.nan)
        table_newtons = np.full((len(tables), width), np.nan)
        for j, (xs, ys) in enumerate(tables):
            table_counts[j, :len(xs)] = xs
            table_newtons[j, :len(ys)] = ys
        return cls(gain, exponent, adc_max, table_counts, table_newtons)

    def to_dicts(self) -> list[dict[str, Any]]:
        assert self.table_counts is not None and self.table_newtons is not None
        dicts: list[dict[str, Any]] = []
        for j, knots in enumerate(self.knots):
            if knots:
                dicts.append({"kind": FSR_TABLE,
                              "counts": [_plain(float(c)) for c in self.table_counts[j, :knots]],
                              "newtons": [float(f) for f in self.table_newtons[j, :knots]]})
            else:
                dicts.append({"kind": FSR_POWER_LAW, "gain_n": float(self.gain_n[j]),
                              "exponent": float(self.exponent[j]),
                              "adc_max": _plain(float(self.adc_max[j]))})
        return dicts


def _table_fields(entry: ChannelDict, where: str) -> tuple[list[float], list[float]]:
    _check_keys(entry, where, FSR_TABLE, FSR_TABLE_FIELDS)
    columns = []
    for name in FSR_TABLE_FIELDS:
        values = entry[name]
        if isinstance(values, str | bytes | Mapping) or not isinstance(values, Sequence):
            raise ValueError(f"{where}: field {name!r} must be a list of numbers")
        columns.append([_number(v, where, f"{name}[{i}]") for i, v in enumerate(values)])
    return columns[0], columns[1]


def _check_fsr_table(where: str, counts: list[float], newtons: list[float]) -> None:
    if len(counts) != len(newtons):
        raise ValueError(f"{where}: the table has {len(counts)} counts but {len(newtons)} forces")
    if len(counts) < 2:
        raise ValueError(f"{where}: a table needs at least 2 knots, got {len(counts)}")
    for i, (c, f) in enumerate(zip(counts, newtons, strict=True)):
        if not (math.isfinite(c) and math.isfinite(f)):
            raise ValueError(f"{where}: knot {i} must be finite numbers, got ({c!r}, {f!r})")
        if f < 0.0:
            raise ValueError(f"{where}: field 'newtons' must not be negative, knot {i} is {f!r}")
        if i and not c > counts[i - 1]:
            raise ValueError(f"{where}: field 'counts' must increase strictly, knot {i - 1} is "
                             f"{counts[i - 1]!r} and knot {i} is {c!r}")
        if i and f < newtons[i - 1]:
            raise ValueError(f"{where}: field 'newtons' must never decrease (an FSR's force rises "
                             f"with its reading), knot {i - 1} is {newtons[i - 1]!r} and knot "
                             f"{i} is {f!r}")


def _check_fsr_channel(where: str, gain_n: float, exponent: float, adc_max: float) -> None:
    if not (math.isfinite(gain_n) and gain_n > 0.0):
        raise ValueError(f"{where}: field 'gain_n' must be a positive number, got {gain_n!r}")
    if not (math.isfinite(exponent) and exponent > 0.0):
        raise ValueError(f"{where}: field 'exponent' must be a positive number, "
                         f"got {exponent!r}")
    if not (math.isfinite(adc_max) and adc_max >= 1.0):
        raise ValueError(f"{where}: field 'adc_max' must be a number >= 1, got {adc_max!r}")


@dataclass(frozen=True, eq=False)
class RigCalibration:
    """The three boards' calibrations: left insole, right insole (FSR), bars (load cells)."""

    insole_left: FsrCalibration
    insole_right: FsrCalibration
    bars: LinearCalibration

    def __post_init__(self) -> None:
        if self.bars.channels != BAR_CHANNELS:
            raise ValueError(f"bars: calibration needs {BAR_CHANNELS} channels (left front, left "
                             f"rear, right front, right rear post), got {self.bars.channels}")

    @classmethod
    def from_dicts(cls, boards: Mapping[str, Sequence[ChannelDict]]) -> RigCalibration:
        """From ``{"insole_left": [...], "insole_right": [...], "bars": [...]}``."""
        expected = {"insole_left", "insole_right", "bars"}
        if not isinstance(boards, Mapping) or set(boards) != expected:
            keys = sorted(boards) if isinstance(boards, Mapping) else boards
            raise ValueError(f"rig calibration needs exactly the boards {sorted(expected)}, "
                             f"got {keys!r}")
        bars = LinearCalibration.from_dicts(boards["bars"], board="bars")
        if bars.channels != BAR_CHANNELS:
            raise ValueError(f"bars: calibration needs {BAR_CHANNELS} channels, "
                             f"got {bars.channels}")
        return cls(
            insole_left=FsrCalibration.from_dicts(boards["insole_left"], board="insole_left"),
            insole_right=FsrCalibration.from_dicts(boards["insole_right"], board="insole_right"),
            bars=bars,
        )

    def to_dicts(self) -> dict[str, list[dict[str, Any]]]:
        return {"insole_left": self.insole_left.to_dicts(),
                "insole_right": self.insole_right.to_dicts(),
                "bars": self.bars.to_dicts()}


def nominal_calibration(insole_sensors: int = 8) -> dict[str, list[dict[str, Any]]]:
    """The boards' nominal (uncalibrated) calibration, per role name, one plain dict per channel
    in channel order: the package data ``calibration_data/nominal_calibration.json`` (datasheet
    figures), with ``insole_sensors`` channels per insole. Real boards start from it until the
    clinic calibrates them, and the virtual rig hands out the same."""
    if insole_sensors not in (8, 16):
        raise ValueError(f"insole_sensors must be 8 or 16, got {insole_sensors!r}")
    text = resources.files("gaitrig.processing").joinpath(
        "calibration_data", "nominal_calibration.json").read_text(encoding="utf-8")
    data = json.loads(text)
    insole = [dict(data["insole_channel"]) for _ in range(insole_sensors)]
    return {"bars": [dict(channel) for channel in data["bars"]], "insole_left": insole,
            "insole_right": [dict(channel) for channel in insole]}
