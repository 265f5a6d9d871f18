"""Calibrations as plain data: round trips, and errors that name the channel and the field."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from gaitrig.processing.calibration import FsrCalibration, LinearCalibration, RigCalibration


def linear(offset: float = 1000.0, gain: float = 0.01) -> dict[str, Any]:
    return {"kind": "linear", "offset_counts": offset, "newtons_per_count": gain}


def fsr(gain: float = 60.0, exponent: float = 1.25, adc_max: int = 1023) -> dict[str, Any]:
    return {"kind": "fsr_power_law", "gain_n": gain, "exponent": exponent, "adc_max": adc_max}


def rig_dicts(sensors: int = 8) -> dict[str, list[dict[str, Any]]]:
    return {"insole_left": [fsr(gain=50.0 + i) for i in range(sensors)],
            "insole_right": [fsr(exponent=1.0 + i / 10) for i in range(sensors)],
            "bars": [linear(offset=100.0 * i, gain=0.01 + i / 1000) for i in range(4)]}


def test_linear_round_trip() -> None:
    dicts = [linear(-8000, 0.0123), linear(12.5, -0.02), linear(0, 1e-3)]
    calibration = LinearCalibration.from_dicts(dicts)
    assert calibration.channels == 3
    np.testing.assert_array_equal(calibration.offset_counts, [-8000.0, 12.5, 0.0])
    np.testing.assert_array_equal(calibration.newtons_per_count, [0.0123, -0.02, 1e-3])
    assert calibration.offset_counts.dtype == np.float64
    assert calibration.to_dicts() == dicts
    assert json.loads(json.dumps(calibration.to_dicts())) == dicts


def test_fsr_round_trip() -> None:
    dicts = [fsr(), fsr(12.0, 0.9, 4095)]
    calibration = FsrCalibration.from_dicts(dicts)
    assert calibration.channels == 2
    np.testing.assert_array_equal(calibration.adc_max, [1023.0, 4095.0])
    out = calibration.to_dicts()
    assert out == dicts
    assert isinstance(out[0]["adc_max"], int)


def test_arrays_are_read_only() -> None:
    calibration = FsrCalibration.from_dicts([fsr()])
    with pytest.raises(ValueError):
        calibration.gain_n[0] = 1.0
    bars = LinearCalibration.from_dicts([linear()])
    with pytest.raises(ValueError):
        bars.offset_counts[0] = 1.0


def test_tare_replaces_offsets_only() -> None:
    bars = LinearCalibration.from_dicts([linear(0, 0.01), linear(0, 0.02)])
    tared = bars.tared([1500, -20])
    np.testing.assert_array_equal(tared.offset_counts, [1500.0, -20.0])
    np.testing.assert_array_equal(tared.newtons_per_count, [0.01, 0.02])
    with pytest.raises(ValueError, match="tare needs 2 zero readings"):
        bars.tared([1, 2, 3])


@pytest.mark.parametrize(("entry", "message"), [
    ({"offset_counts": 0, "newtons_per_count": 0.01}, "bars channel 2: missing field 'kind'"),
    (fsr(), "bars channel 2: field 'kind' must be 'linear', got 'fsr_power_law'"),
    ({"kind": "linear", "offset_counts": 0}, "bars channel 2: missing field 'newtons_per_count'"),
    (linear() | {"gain": 2}, "bars channel 2: unknown field 'gain'"),
    (linear(gain="0.01"), "bars channel 2: field 'newtons_per_count' must be a number"),  # type: ignore[arg-type]
    (linear(offset=float("nan")), "bars channel 2: field 'offset_counts' must be finite"),
    (linear(offset=True), "bars channel 2: field 'offset_counts' must be a number"),
    (linear(gain=0.0), "bars channel 2: field 'newtons_per_count' must not be zero"),
    ([1, 2], "bars channel 2: calibration must be a dict"),
])
def test_linear_errors_name_channel_and_field(entry: Any, message: str) -> None:
    dicts = [linear(), linear(), entry, linear()]
    with pytest.raises(ValueError, match=f"^{message}"):
        LinearCalibration.from_dicts(dicts, board="bars")


@pytest.mark.parametrize(("entry", "message"), [
    (fsr(gain=0.0), "insole_left channel 1: field 'gain_n' must be a positive number"),
    (fsr(gain=-3.0), "insole_left channel 1: field 'gain_n' must be a positive number"),
    (fsr(exponent=0.0), "insole_left channel 1: field 'exponent' must be a positive number"),
    (fsr(exponent=float("inf")), "insole_left channel 1: field 'exponent' must be finite"),
    (fsr(adc_max=0), "insole_left channel 1: field 'adc_max' must be a number >= 1"),
    ({k: v for k, v in fsr().items() if k != "adc_max"},
     "insole_left channel 1: missing field 'adc_max'"),
    (linear(), "insole_left channel 1: field 'kind' must be 'fsr_power_law' or 'fsr_table', "
             "got 'linear'"),
])
def test_fsr_errors_name_channel_and_field(entry: Any, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}"):
        FsrCalibration.from_dicts([fsr(), entry], board="insole_left")


@pytest.mark.parametrize("channels", [[], "linear", {"kind": "linear"}])
def test_board_needs_a_list_of_channels(channels: Any) -> None:
    with pytest.raises(ValueError, match=r"^bars: calibration"):
        LinearCalibration.from_dicts(channels, board="bars")


def test_direct_construction_is_validated() -> None:
    with pytest.raises(ValueError, match="channels"):
        LinearCalibration(np.zeros(3), np.ones(4))
    with pytest.raises(ValueError, match="channel 1: field 'exponent'"):
        FsrCalibration(np.ones(2), np.array([1.0, -1.0]), np.full(2, 1023.0))


def test_rig_calibration_round_trip() -> None:
    dicts = rig_dicts(16)
    rig = RigCalibration.from_dicts(dicts)
    assert (rig.insole_left.channels, rig.insole_right.channels, rig.bars.channels) == (16, 16, 4)
    assert rig.to_dicts() == dicts
    again = RigCalibration.from_dicts(json.loads(json.dumps(rig.to_dicts())))
    np.testing.assert_array_equal(again.insole_right.exponent, rig.insole_right.exponent)


def test_rig_calibration_errors() -> None:
    dicts = rig_dicts()
    with pytest.raises(ValueError, match="exactly the boards"):
        RigCalibration.from_dicts({k: v for k, v in dicts.items() if k != "bars"})
    with pytest.raises(ValueError, match="bars: calibration needs 4 channels"):
        RigCalibration.from_dicts(dicts | {"bars": dicts["bars"][:3]})
    with pytest.raises(ValueError, match=r"^insole_right channel 0: field 'kind'"):
        RigCalibration.from_dicts(dicts | {"insole_right": [linear()] * 8})
    with pytest.raises(ValueError, match=r"^bars channel 3: field 'newtons_per_count'"):
        RigCalibration.from_dicts(dicts | {"bars": [linear()] * 3 + [linear(gain=0.0)]})


@pytest.mark.parametrize("insole_sensors", [8, 16])
def test_the_packaged_nominal_calibration_is_the_simulators_datasheet(insole_sensors: int) -> None:
    """Real boards and the virtual rig start from the same package data; it is what the
    simulated sensors' datasheet parameters give (``VirtualRig.nominal_calibration_for``)."""
    from gaitrig.processing.calibration import nominal_calibration
    from gaitrig.sim.rig import VirtualRig

    packaged = nominal_calibration(insole_sensors)
    assert packaged == VirtualRig.nominal_calibration_for(insole_sensors)
    assert len(packaged["insole_left"]) == len(packaged["insole_right"]) == insole_sensors
    RigCalibration.from_dicts(packaged)  # valid
    with pytest.raises(ValueError, match="8 or 16"):
        nominal_calibration(12)
