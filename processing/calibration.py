"""Calibrations are plain data: one dict per channel, stored as JSON, checked on the way in.

A channel's calibration is exactly one of:

* ``{"kind": "linear", "offset_counts": o, "newtons_per_count": g}`` — a load cell read by an
  HX711 amplifier: ``F = (counts - o) * g`` newtons. ``o`` is the reading with no load (the tare).
* ``{"kind": "fsr_power_law", "gain_n": a, "exponent": b, "adc_max": m}`` — a force-sensing
  resistor in a voltage divider read by an ADC (``m`` = full scale, 1023 for 10 bits):
  ``F = a * (c / (m - c)) ** b`` newtons for ``0 < c < m``; 0 N for ``c <= 0``; a saturated
  reading ``c >= m`` is evaluated at ``m - 0.5`` (finite: the largest force the channel can show).

A board's calibration is a dataclass holding one float64 array per field (one value per channel,
read-only). :class:`RigCalibration` holds the three boards of the rig.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
ChannelDict = Mapping[str, Any]

LINEAR = "linear"
FSR_POWER_LAW = "fsr_power_law"
LINEAR_FIELDS = ("offset_counts", "newtons_per_count")
FSR_FIELDS = ("gain_n", "exponent", "adc_max")
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
    missing = [f for f in fields if f not in entry]
    if missing:
        raise ValueError(f"{where}: missing field {missing[0]!r}")
    unknown = sorted(str(k) for k in entry if k != "kind" and k not in fields)
    if unknown:
        raise ValueError(f"{where}: unknown field {unknown[0]!r} for kind {kind!r}")
    return [_number(entry[f], where, f) for f in fields]


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
    """FSRs of one insole: ``F = gain_n * (c / (adc_max - c)) ** exponent`` (N), see module doc."""

    gain_n: FloatArray  # (k,) N: the force at which the FSR's resistance equals the divider's
    exponent: FloatArray  # (k,) dimensionless power of the conductance ratio
    adc_max: FloatArray  # (k,) ADC full scale in counts (1023 for a 10-bit ADC)

    def __post_init__(self) -> None:
        gain = _readonly_vector(self.gain_n, "gain_n")
        exponent = _readonly_vector(self.exponent, "exponent")
        adc_max = _readonly_vector(self.adc_max, "adc_max")
        if not gain.shape == exponent.shape == adc_max.shape:
            raise ValueError(f"FSR calibration arrays differ in length: gain_n {gain.size}, "
                             f"exponent {exponent.size}, adc_max {adc_max.size}")
        for channel in range(gain.size):
            _check_fsr_channel(f"channel {channel}", gain[channel], exponent[channel],
                               adc_max[channel])
        object.__setattr__(self, "gain_n", gain)
        object.__setattr__(self, "exponent", exponent)
        object.__setattr__(self, "adc_max", adc_max)

    @property
    def channels(self) -> int:
        return int(self.gain_n.size)

    @classmethod
    def from_dicts(cls, channels: Sequence[ChannelDict], board: str = "board") -> FsrCalibration:
        """One ``{"kind": "fsr_power_law", ...}`` dict per channel, in channel order."""
        rows = []
        for i, entry in enumerate(_channel_list(channels, board)):
            where = f"{board} channel {i}"
            row = _fields(entry, where, FSR_POWER_LAW, FSR_FIELDS)
            _check_fsr_channel(where, *row)
            rows.append(row)
        gain, exponent, adc_max = zip(*rows, strict=True)
        return cls(np.array(gain), np.array(exponent), np.array(adc_max))

    def to_dicts(self) -> list[dict[str, Any]]:
        return [{"kind": FSR_POWER_LAW, "gain_n": float(a), "exponent": float(b),
                 "adc_max": _plain(float(m))}
                for a, b, m in zip(self.gain_n, self.exponent, self.adc_max, strict=True)]


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
