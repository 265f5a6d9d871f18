"""Insole and bar layouts: packaged data, frames, mirroring, sizes, and refusal of bad files."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

import numpy as np
import pytest

from gaitrig.processing.layouts import (
    REGIONS,
    BarLayout,
    RigLayout,
    bar_layout_from_dict,
    insole_layout_from_dict,
    insole_length_mm,
    load_bar_layout,
    load_insole_layout,
    points_in_polygon,
)

EIGHT = ("heel_medial", "heel_lateral", "midfoot_lateral", "metatarsal_1", "metatarsal_3",
         "metatarsal_5", "hallux", "toes_2_5")


def packaged(name: str) -> dict[str, Any]:
    text = resources.files("gaitrig.processing").joinpath("layouts", name).read_text(
        encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def signed_area(polygon: np.ndarray) -> float:
    x, y = polygon[:, 0], polygon[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def test_eight_sensor_layout_names_and_regions() -> None:
    layout = load_insole_layout(8, 42, "right")
    assert layout.names == EIGHT
    assert layout.regions == ("heel", "heel", "midfoot", "forefoot", "forefoot", "forefoot",
                              "toes", "toes")
    assert layout.positions_mm.shape == (8, 2) and layout.positions_mm.dtype == np.float64
    assert layout.sensor_count == 8 and layout.side == "right" and layout.size_eu == 42


def test_sixteen_sensor_layout() -> None:
    layout = load_insole_layout(16, 42, "left")
    assert layout.positions_mm.shape == (16, 2)
    assert len(set(layout.names)) == 16
    assert set(layout.regions) == set(REGIONS)
    for name in ("metatarsal_1", "metatarsal_5", "hallux"):
        assert name in layout.names


@pytest.mark.parametrize("sensors", [8, 16])
def test_reference_size_frame(sensors: int) -> None:
    right = load_insole_layout(sensors, 42, "right")
    # Origin at the heel centre, +y toward the toes: the heel is around y = 0, toes far ahead.
    assert right.length_mm == pytest.approx(270.0, abs=0.5)
    assert right.outline_mm[:, 1].min() < 0.0 < right.outline_mm[:, 1].max()
    mean_y = {region: right.positions_mm[list(right.region_channels(region)), 1].mean()
              for region in REGIONS}
    assert abs(mean_y["heel"]) < 25.0
    assert mean_y["heel"] < mean_y["midfoot"] < mean_y["forefoot"] < mean_y["toes"]
    # Right foot: +x is lateral. The 5th metatarsal head is lateral of the 1st.
    first = right.positions_mm[right.channel("metatarsal_1")]
    fifth = right.positions_mm[right.channel("metatarsal_5")]
    assert first[0] < 0.0 < fifth[0]
    assert signed_area(right.outline_mm) > 0.0  # counter-clockwise
    assert points_in_polygon(right.positions_mm, right.outline_mm).all()


@pytest.mark.parametrize("sensors", [8, 16])
@pytest.mark.parametrize("size", [36, 42, 46])
def test_left_is_the_mirror_of_right(sensors: int, size: int) -> None:
    right = load_insole_layout(sensors, size, "right")
    left = load_insole_layout(sensors, size, "left")
    assert left.names == right.names and left.regions == right.regions
    np.testing.assert_array_equal(left.positions_mm[:, 0], -right.positions_mm[:, 0])
    np.testing.assert_array_equal(left.positions_mm[:, 1], right.positions_mm[:, 1])
    # Both feet: +x to the patient's right, so the left foot's 5th metatarsal has x < 0.
    assert left.positions_mm[left.channel("metatarsal_5"), 0] < 0.0
    assert signed_area(left.outline_mm) == pytest.approx(signed_area(right.outline_mm))
    mirrored = right.outline_mm * [-1.0, 1.0]
    assert sorted(map(tuple, left.outline_mm)) == sorted(map(tuple, mirrored))
    assert points_in_polygon(left.positions_mm, left.outline_mm).all()


def test_sizes_scale_with_insole_length() -> None:
    assert insole_length_mm(42) == pytest.approx(270.0)
    assert insole_length_mm(36) == pytest.approx(230.0)
    reference = load_insole_layout(8, 42, "right")
    lengths = []
    for size in range(36, 47):
        layout = load_insole_layout(8, size, "right")
        scale = insole_length_mm(size) / 270.0
        np.testing.assert_allclose(layout.positions_mm, reference.positions_mm * scale,
                                   rtol=1e-12)
        assert layout.length_mm == pytest.approx(insole_length_mm(size), abs=0.5)
        lengths.append(layout.length_mm)
    assert lengths == sorted(lengths) and len(set(lengths)) == 11


def test_numpy_integers_are_accepted() -> None:
    layout = load_insole_layout(np.int64(16), np.int32(39), "left")  # type: ignore[arg-type]
    assert layout.size_eu == 39 and type(layout.size_eu) is int and layout.sensor_count == 16


def test_layout_arrays_are_read_only() -> None:
    layout = load_insole_layout(8, 42, "right")
    with pytest.raises(ValueError):
        layout.positions_mm[0, 0] = 1.0
    with pytest.raises(ValueError):
        layout.outline_mm[0, 0] = 1.0


def test_channel_and_region_lookup() -> None:
    layout = load_insole_layout(8, 42, "left")
    assert layout.channel("hallux") == 6
    assert layout.region_channels("heel") == (0, 1)
    assert layout.region_channels("forefoot") == (3, 4, 5)
    with pytest.raises(ValueError, match="no sensor named"):
        layout.channel("big_toe")
    with pytest.raises(ValueError, match="unknown region"):
        layout.region_channels("ankle")


@pytest.mark.parametrize("size", [35, 47, 0, 42.5, "42", True])
def test_unknown_size(size: Any) -> None:
    with pytest.raises(ValueError, match="unknown insole size"):
        load_insole_layout(8, size, "right")


@pytest.mark.parametrize("sensors", [0, 4, 12, 32, True])
def test_unknown_sensor_count(sensors: Any) -> None:
    with pytest.raises(ValueError, match="unknown insole sensor count"):
        load_insole_layout(sensors, 42, "right")


@pytest.mark.parametrize("side", ["both", "L", "Left", ""])
def test_bad_side(side: str) -> None:
    with pytest.raises(ValueError, match="side must be 'left' or 'right'"):
        load_insole_layout(8, 42, side)


def test_duplicate_channel() -> None:
    data = copy.deepcopy(packaged("insole_8.json"))
    data["sensors"][6]["channel"] = 3
    with pytest.raises(ValueError, match=r"duplicate channel 3.*'metatarsal_1'.*'hallux'"):
        insole_layout_from_dict(data, 42, "right")


def test_channel_gap() -> None:
    data = copy.deepcopy(packaged("insole_8.json"))
    data["sensors"][7]["channel"] = 9
    with pytest.raises(ValueError, match=r"channels must be 0\.\.7"):
        insole_layout_from_dict(data, 42, "right")


def test_sensor_outside_outline() -> None:
    data = copy.deepcopy(packaged("insole_8.json"))
    data["sensors"][5]["x_mm"] = 60.0  # metatarsal_5 beyond the lateral edge
    with pytest.raises(ValueError, match=r"'metatarsal_5' \(channel 5\).*outside the insole"):
        insole_layout_from_dict(data, 42, "left")


def test_bad_region_and_wrong_reference_length() -> None:
    data = copy.deepcopy(packaged("insole_16.json"))
    data["sensors"][0]["region"] = "ankle"
    with pytest.raises(ValueError, match="region must be one of"):
        insole_layout_from_dict(data, 42, "right")
    data = copy.deepcopy(packaged("insole_8.json"))
    data["outline_mm"] = [[x * 1.1, y * 1.1] for x, y in data["outline_mm"]]
    with pytest.raises(ValueError, match="mm long"):
        insole_layout_from_dict(data, 42, "right")


def test_packaged_files_are_consistent() -> None:
    for name in ("insole_8.json", "insole_16.json"):
        data = packaged(name)
        assert data["reference_size_eu"] == 42
        channels = [s["channel"] for s in data["sensors"]]
        assert channels == list(range(len(channels)))


def test_points_in_polygon() -> None:
    square = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]])
    points = np.array([[5.0, 5.0], [0.1, 9.9], [10.0, 5.0], [11.0, 5.0], [-1.0, -1.0],
                       [5.0, 0.0]])
    assert points_in_polygon(points, square).tolist() == [True, True, False, False, False,
                                                          False]


def test_bar_layout() -> None:
    bars = load_bar_layout()
    assert bars.bar_length_mm == pytest.approx(3000.0)
    assert 0.0 <= bars.rear_post_mm < bars.front_post_mm <= bars.bar_length_mm
    assert bars.bar_separation_mm > 0.0


def test_bad_bar_layouts() -> None:
    good = packaged("bars.json")
    with pytest.raises(ValueError, match="rear_post_mm < front_post_mm"):
        bar_layout_from_dict(good | {"rear_post_mm": 2800.0})
    with pytest.raises(ValueError, match="post_channels"):
        bar_layout_from_dict(good | {"post_channels": ["left_rear", "left_front", "right_front",
                                                       "right_rear"]})
    with pytest.raises(ValueError, match="'bar_separation_mm' must be a number"):
        bar_layout_from_dict({k: v for k, v in good.items() if k != "bar_separation_mm"})
    with pytest.raises(ValueError, match="bar_separation_mm must be positive"):
        BarLayout(3000.0, 250.0, 2750.0, 0.0)


def test_rig_layout_checks_sides() -> None:
    rig = RigLayout.load(16, 40)
    assert rig.left.side == "left" and rig.right.side == "right" and rig.left.size_eu == 40
    with pytest.raises(ValueError, match="left and a right insole"):
        RigLayout(left=rig.right, right=rig.left, bars=rig.bars)
