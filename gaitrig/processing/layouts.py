"""Sensor layouts of the rig as data: FSR positions in the insoles, post positions under the bars.

Insole frame (mm), the same for both feet: origin at the heel centre (the centre of the heel's
rear arc), +y along the insole's long axis toward the toes, +x toward the patient's right. For the
right foot +x is lateral; the left foot is the mirror image (x -> -x), so there +x is medial.

The packaged files ``layouts/insole_8.json`` and ``layouts/insole_16.json`` give the right foot at
the reference size EU 42 (insole length 270 mm). Other sizes are the reference scaled uniformly
(x and y alike) about the origin by ``insole_length_mm(size) / insole_length_mm(42)``, where

    insole_length_mm(size_eu) = size_eu * 20/3 mm - 10 mm

(one Paris point is 2/3 cm of shoe-last length; an insole is about 10 mm shorter than its last).
That gives 230 mm at EU 36, 270 mm at EU 42 and 296.7 mm at EU 46.

Bar frame: along each bar, mm from the bar's rear end (the end the patient starts from).

Column ``i`` of an insole board's counts is the sensor with ``channel == i`` in the layout; the
rows of :attr:`InsoleLayout.positions_mm` are in that order.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
Side = Literal["left", "right"]

SIDES: tuple[Side, ...] = ("left", "right")
SENSOR_COUNTS = (8, 16)
SIZES_EU = range(36, 47)  # EU 36 to 46, whole sizes
REFERENCE_SIZE_EU = 42
REGIONS = ("heel", "midfoot", "forefoot", "toes")
#: Post (load cell) channels of the bars board, in channel order (docs/protocol.md).
BAR_POST_CHANNELS = ("left_front", "left_rear", "right_front", "right_rear")
#: The outline's length may differ from the size formula by this much (mm) in a layout file.
LENGTH_TOLERANCE_MM = 1.0


def insole_length_mm(size_eu: float) -> float:
    """Insole length (mm) for a shoe size in Paris points: ``size_eu * 20/3 - 10``."""
    return size_eu * 20.0 / 3.0 - 10.0


def size_scale(size_eu: int) -> float:
    """Factor from the reference EU 42 layout to ``size_eu`` (dimensionless)."""
    return insole_length_mm(size_eu) / insole_length_mm(REFERENCE_SIZE_EU)


def _readonly(values: Any) -> FloatArray:
    array = np.array(values, dtype=np.float64)
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False)
class InsoleLayout:
    """Where the FSR sensors of one insole are, in the insole frame (mm, see module docstring).

    ``positions_mm[i]`` (x, y) is the centre of the sensor on channel ``i``; ``names[i]`` and
    ``regions[i]`` name it. ``outline_mm`` is the insole's outline, counter-clockwise.
    """

    side: Side
    size_eu: int
    positions_mm: FloatArray  # (k, 2)
    names: tuple[str, ...]
    regions: tuple[str, ...]
    outline_mm: FloatArray  # (m, 2)

    @property
    def sensor_count(self) -> int:
        return len(self.names)

    @property
    def length_mm(self) -> float:
        """Insole length (mm): rearmost to foremost point of the outline."""
        y = self.outline_mm[:, 1]
        return float(y.max() - y.min())

    def channel(self, name: str) -> int:
        """The channel of the sensor called ``name``."""
        try:
            return self.names.index(name)
        except ValueError:
            raise ValueError(f"no sensor named {name!r} in this insole: {self.names}") from None

    def region_channels(self, region: str) -> tuple[int, ...]:
        """Channels of the sensors in a region ("heel", "midfoot", "forefoot" or "toes")."""
        if region not in REGIONS:
            raise ValueError(f"unknown region {region!r}: expected one of {REGIONS}")
        return tuple(i for i, r in enumerate(self.regions) if r == region)


@dataclass(frozen=True)
class BarLayout:
    """Geometry of the parallel bars (mm). Positions are along a bar from its rear end."""

    bar_length_mm: float
    rear_post_mm: float
    front_post_mm: float
    bar_separation_mm: float  # centre to centre, across the walkway

    def __post_init__(self) -> None:
        values = (self.bar_length_mm, self.rear_post_mm, self.front_post_mm,
                  self.bar_separation_mm)
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"bar layout values must be finite numbers, got {values}")
        if not 0.0 <= self.rear_post_mm < self.front_post_mm <= self.bar_length_mm:
            raise ValueError(
                "bar layout needs 0 <= rear_post_mm < front_post_mm <= bar_length_mm, got "
                f"{self.rear_post_mm}, {self.front_post_mm}, {self.bar_length_mm}")
        if self.bar_separation_mm <= 0.0:
            raise ValueError(f"bar_separation_mm must be positive, got {self.bar_separation_mm}")


@dataclass(frozen=True)
class RigLayout:
    """The whole rig's geometry: both insoles and the bars."""

    left: InsoleLayout
    right: InsoleLayout
    bars: BarLayout

    def __post_init__(self) -> None:
        if self.left.side != "left" or self.right.side != "right":
            raise ValueError(
                f"RigLayout needs a left and a right insole, got {self.left.side!r} as left and "
                f"{self.right.side!r} as right")

    @classmethod
    def load(cls, sensors: int, size_eu: int) -> RigLayout:
        """Both insoles with ``sensors`` sensors at shoe size ``size_eu``, and the bars."""
        return cls(left=load_insole_layout(sensors, size_eu, "left"),
                   right=load_insole_layout(sensors, size_eu, "right"),
                   bars=load_bar_layout())


# -- loading -------------------------------------------------------------------------------------


def _read_packaged(name: str) -> dict[str, Any]:
    text = resources.files("gaitrig.processing").joinpath("layouts", name).read_text(
        encoding="utf-8")
    return cast(dict[str, Any], json.loads(text))


def load_insole_layout(sensors: int, size_eu: int, side: str) -> InsoleLayout:
    """The packaged insole layout with ``sensors`` FSRs (8 or 16), scaled to shoe size ``size_eu``
    (EU 36-46) and mirrored for ``side`` ("left" or "right")."""
    if (isinstance(sensors, bool | np.bool_) or not isinstance(sensors, numbers.Integral)
            or int(sensors) not in SENSOR_COUNTS):
        raise ValueError(
            f"unknown insole sensor count {sensors!r}: available layouts have {SENSOR_COUNTS}")
    return insole_layout_from_dict(_read_packaged(f"insole_{int(sensors)}.json"), size_eu, side,
                                   expected_sensors=int(sensors))


def load_bar_layout() -> BarLayout:
    """The packaged bar layout (``layouts/bars.json``)."""
    return bar_layout_from_dict(_read_packaged("bars.json"))


def insole_layout_from_dict(data: Mapping[str, Any], size_eu: int, side: str,
                            expected_sensors: int | None = None) -> InsoleLayout:
    """Validate a reference (EU 42, right foot) layout document, then scale and mirror it."""
    if side not in SIDES:
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    if (isinstance(size_eu, bool | np.bool_) or not isinstance(size_eu, numbers.Integral)
            or int(size_eu) not in SIZES_EU):
        raise ValueError(f"unknown insole size EU {size_eu!r}: sizes are EU "
                         f"{SIZES_EU.start}-{SIZES_EU.stop - 1} (whole sizes)")
    size_eu = int(size_eu)
    if data.get("reference_size_eu") != REFERENCE_SIZE_EU:
        raise ValueError(f"layout reference_size_eu must be {REFERENCE_SIZE_EU}, "
                         f"got {data.get('reference_size_eu')!r}")
    outline = _outline(data.get("outline_mm"))
    length = float(outline[:, 1].max() - outline[:, 1].min())
    if abs(length - insole_length_mm(REFERENCE_SIZE_EU)) > LENGTH_TOLERANCE_MM:
        raise ValueError(f"layout outline is {length:.1f} mm long, expected "
                         f"{insole_length_mm(REFERENCE_SIZE_EU):.1f} mm at EU {REFERENCE_SIZE_EU}")
    channels, names, regions, positions = _sensors(data.get("sensors"), expected_sensors)
    inside = points_in_polygon(positions, outline)
    for i in np.flatnonzero(~inside):
        x, y = positions[i]
        raise ValueError(f"sensor {names[i]!r} (channel {channels[i]}) at ({x:g}, {y:g}) mm lies "
                         "outside the insole outline")
    scale = size_scale(size_eu)
    positions = positions * scale
    outline = outline * scale
    if side == "left":
        positions[:, 0] *= -1.0
        outline[:, 0] *= -1.0
        outline = outline[::-1]  # mirroring reverses the winding: keep it counter-clockwise
    return InsoleLayout(side=side, size_eu=size_eu, positions_mm=_readonly(positions),
                        names=names, regions=regions, outline_mm=_readonly(outline))


def bar_layout_from_dict(data: Mapping[str, Any]) -> BarLayout:
    """Validate a bar layout document."""
    posts = data.get("post_channels")
    if posts is None or tuple(posts) != BAR_POST_CHANNELS:
        raise ValueError(f"bar layout post_channels must be {list(BAR_POST_CHANNELS)}, "
                         f"got {posts!r}")
    values = []
    for field in ("bar_length_mm", "rear_post_mm", "front_post_mm", "bar_separation_mm"):
        value = data.get(field)
        if not _is_number(value):
            raise ValueError(f"bar layout field {field!r} must be a number, got {value!r}")
        values.append(float(cast(float, value)))
    return BarLayout(*values)


# -- helpers -------------------------------------------------------------------------------------


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _outline(points: object) -> FloatArray:
    if not isinstance(points, list) or len(points) < 3 or not all(
            isinstance(p, list) and len(p) == 2 and all(_is_number(v) for v in p)
            for p in points):
        raise ValueError("layout outline_mm must be a list of at least 3 [x, y] points (mm)")
    outline = np.array(points, dtype=np.float64)
    if not np.isfinite(outline).all():
        raise ValueError("layout outline_mm must hold finite numbers")
    if _signed_area(outline) <= 0.0:
        raise ValueError("layout outline_mm must run counter-clockwise and enclose an area")
    return outline


def _sensors(entries: object, expected: int | None
             ) -> tuple[list[int], tuple[str, ...], tuple[str, ...], FloatArray]:
    if not isinstance(entries, list) or not entries:
        raise ValueError("layout sensors must be a non-empty list")
    if expected is not None and len(entries) != expected:
        raise ValueError(f"layout lists {len(entries)} sensors, expected {expected}")
    by_channel: dict[int, tuple[str, str, float, float]] = {}
    for number, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ValueError(f"layout sensor #{number} must be an object")
        channel, name, region = entry.get("channel"), entry.get("name"), entry.get("region")
        x, y = entry.get("x_mm"), entry.get("y_mm")
        if isinstance(channel, bool) or not isinstance(channel, int):
            raise ValueError(f"layout sensor #{number}: channel must be an integer, "
                             f"got {channel!r}")
        if not isinstance(name, str) or not name:
            raise ValueError(f"layout sensor channel {channel}: name must be a non-empty string")
        if region not in REGIONS:
            raise ValueError(f"layout sensor {name!r} (channel {channel}): region must be one "
                             f"of {REGIONS}, got {region!r}")
        if not (_is_number(x) and _is_number(y) and math.isfinite(cast(float, x))
                and math.isfinite(cast(float, y))):
            raise ValueError(f"layout sensor {name!r} (channel {channel}): x_mm and y_mm must "
                             f"be finite numbers, got {x!r}, {y!r}")
        if channel in by_channel:
            raise ValueError(f"duplicate channel {channel} in layout: sensors "
                             f"{by_channel[channel][0]!r} and {name!r}")
        by_channel[channel] = (name, cast(str, region), float(cast(float, x)),
                               float(cast(float, y)))
    channels = sorted(by_channel)
    if channels != list(range(len(channels))):
        raise ValueError(f"layout channels must be 0..{len(channels) - 1}, got {channels}")
    names = tuple(by_channel[c][0] for c in channels)
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"duplicate sensor name(s) in layout: {duplicated}")
    regions = tuple(by_channel[c][1] for c in channels)
    positions = np.array([by_channel[c][2:] for c in channels], dtype=np.float64)
    return channels, names, regions, positions


def _signed_area(polygon: FloatArray) -> float:
    x, y = polygon[:, 0], polygon[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def points_in_polygon(points: FloatArray, polygon: FloatArray) -> npt.NDArray[np.bool_]:
    """Which ``points`` (n, 2) lie strictly inside ``polygon`` (m, 2) (even-odd rule).

    Points on an edge count as outside: a sensor centre must not sit on the insole's edge.
    """
    px, py = points[:, 0:1], points[:, 1:2]
    x0, y0 = polygon[:, 0], polygon[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    crosses = (y0 > py) != (y1 > py)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = x0 + (py - y0) * (x1 - x0) / (y1 - y0)
    inside = np.count_nonzero(crosses & (px < x_at), axis=1) % 2 == 1
    # Distance to each edge segment: on (or within 1 µm of) the edge counts as outside.
    dx, dy = x1 - x0, y1 - y0
    length2 = dx * dx + dy * dy
    t = np.clip(((px - x0) * dx + (py - y0) * dy) / np.where(length2 > 0, length2, 1.0), 0, 1)
    distance = np.hypot(px - (x0 + t * dx), py - (y0 + t * dy)).min(axis=1)
    return cast(npt.NDArray[np.bool_], inside & (distance > 1e-3))
