"""Accuracy against independent references (docs/accuracy.md): the gaitpdb recordings (loads,
CoP, stride times) and the virtual rig's ground truth (loads, CoP, event timing)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gaitrig.io.recordings import read_gaitpdb, read_gaitrig
from gaitrig.processing.calibration import RigCalibration
from gaitrig.processing.layouts import RigLayout
from gaitrig.processing.pipeline import BlockProcessor
from gaitrig.rig.offline.analyze import analyze
from gaitrig.sim.recording import VirtualRecording, record_virtual
from gaitrig.sim.sensors import FsrParameters
from studies.accuracy import VirtualLoadErrors, virtual_load_errors
from tests.shared_data import shared_data

# -- gaitpdb ---------------------------------------------------------------------------------


def gaitpdb_files(prefix: str) -> list[Path]:
    files = sorted(shared_data("physionet-gaitpdb").glob(f"{prefix}*.txt.gz"))
    assert files, f"no {prefix} files"
    return files


def test_gaitpdb_foot_load_is_the_sum_of_its_sensors() -> None:
    for path in gaitpdb_files("Ga"):
        recording = read_gaitpdb(path)
        assert recording.left_total is not None and recording.right_total is not None
        np.testing.assert_allclose(recording.left_sensors.sum(axis=1), recording.left_total,
                                   atol=0.01)
        np.testing.assert_allclose(recording.right_sensors.sum(axis=1), recording.right_total,
                                   atol=0.01)


def test_gaitpdb_cop_matches_an_independent_computation() -> None:
    """Our CoP kernel against a weighted mean written with np.average over the documented
    positions, and the heel-to-toe roll-over it must show."""
    from gaitrig.processing import kernels

    path = gaitpdb_files("GaCo")[0]
    recording = read_gaitpdb(path)
    assert recording.left_positions is not None
    sensors = np.ascontiguousarray(recording.left_sensors)
    ours = kernels.centre_of_pressure(sensors, recording.left_positions, 20.0)
    loaded = sensors.sum(axis=1) >= 20.0
    independent = np.array([np.average(recording.left_positions, axis=0, weights=row)
                            for row in sensors[loaded]])
    np.testing.assert_allclose(ours[loaded], independent, rtol=1e-9, atol=1e-9)
    assert np.isnan(ours[~loaded]).all()
    steps = analyze(path)["feet"]["left"]["steps"]
    # the CoP travels from the heel sensor (y = -800) toward the toe sensor (y = +800)
    assert np.median([s["cop_progression_mm"] for s in steps]) > 800


def median_stride_s(path: Path) -> float:
    steps = analyze(path)["feet"]["left"]["steps"]
    return float(np.median([s["stride_time_s"] for s in steps if s["stride_time_s"]]))


def test_gaitpdb_control_stride_times_are_plausible() -> None:
    """Published group values for healthy older adults walking at their own pace: stride time
    about 1.0-1.2 s (Yogev et al. 2005; Hausdorff 2007)."""
    medians = [median_stride_s(p) for p in gaitpdb_files("GaCo")]
    assert all(0.95 <= m <= 1.30 for m in medians), medians
    assert 1.0 <= float(np.mean(medians)) <= 1.2


def test_gaitpdb_strides_agree_with_a_plain_threshold_on_the_files_own_totals() -> None:
    """Independent check of the stride times: rising crossings of half the range of the
    file's own per-foot total (numpy, no hysteresis), median stride within 20 ms of ours."""
    for path in gaitpdb_files("Ga")[:4]:
        recording = read_gaitpdb(path)
        total = recording.left_total
        assert total is not None
        level = np.percentile(total, 5) + 0.5 * np.ptp(np.percentile(total, [5, 95]))
        rising = np.flatnonzero((total[1:] > level) & (total[:-1] <= level)) / 100.0
        plain = np.diff(rising)
        plain = plain[(plain > 0.5) & (plain < 2.5)]
        assert abs(np.median(plain) - median_stride_s(path)) < 0.02


# -- virtual rig ground truth ----------------------------------------------------------------


@pytest.fixture(scope="module", params=[False, True], ids=["no_noise", "noise"])
def virtual(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> tuple[bool, VirtualRecording]:
    path = tmp_path_factory.mktemp("virtual") / "walk.npz"
    return request.param, record_virtual(path, 30.0, seed=11, noise=request.param)


def processed(made: VirtualRecording) -> object:
    raw = read_gaitrig(made.path)
    processor = BlockProcessor(RigCalibration.from_dicts(raw.calibration),
                               RigLayout.load(8, 42), raw.body_mass_kg)
    return processor.process(raw.left_counts, raw.right_counts, raw.bar_counts)


def load_errors(noise: bool, made: VirtualRecording) -> VirtualLoadErrors:
    raw = read_gaitrig(made.path)
    calibration = RigCalibration.from_dicts(raw.calibration)
    result = processed(made)
    return virtual_load_errors(made, result, calibration,
                               FsrParameters().noise_counts if noise else 0.0)


def test_virtual_rig_foot_load_within_1_pct_bw(virtual: tuple[bool, VirtualRecording]) -> None:
    """The issue's 1 % BW: on every sample without sensor noise; with it, on the load averaged
    over each 10 ms (docs/accuracy.md: single samples reach 1.56 % BW, the ADC's noise through
    the FSR divider's steep top, held here to what the docs report)."""
    noise, made = virtual
    loads = load_errors(noise, made)
    assert loads.frame_mean.max() <= 0.01
    assert loads.per_sample.mean() <= 0.002
    if noise:
        assert loads.per_sample.max() <= 0.02
    else:
        assert loads.per_sample.max() <= 0.01


def test_virtual_rig_single_sample_load_error_is_adc_noise(
        virtual: tuple[bool, VirtualRecording]) -> None:
    """Each sample's error, divided by the standard deviation that ADC noise (0.7 counts rms)
    and rounding to whole counts predict at that sample's sensor forces, is unbiased with unit
    spread and no outliers: nothing else (calibration, timing between boards) adds error."""
    noise, made = virtual
    z = load_errors(noise, made).z
    assert abs(z.mean()) <= 0.1
    assert 0.9 <= z.std() <= 1.1
    assert np.abs(z).max() <= 5.5


def test_virtual_rig_cop_error(virtual: tuple[bool, VirtualRecording]) -> None:
    noise, made = virtual
    result = processed(made)
    limit_mm = 5.0 if noise else 2.0
    for foot in ("left", "right"):
        ours = getattr(result, f"{foot}_cop_mm")
        truth = getattr(made.truth, f"{foot}_cop_mm")
        loaded = made.truth.foot_n(foot) > 0.05 * made.body_weight_n
        both = loaded & np.isfinite(ours).all(axis=1) & np.isfinite(truth).all(axis=1)
        assert both.sum() > 0.4 * both.size
        error = np.hypot(*(ours[both] - truth[both]).T)
        assert error.max() <= limit_mm


def test_virtual_rig_event_timing_within_5_ms(virtual: tuple[bool, VirtualRecording]) -> None:
    _, made = virtual
    result = analyze(made.path)
    errors = []
    for foot in ("left", "right"):
        contacts = np.array(result["feet"][foot]["contacts"])
        for column, kind in ((0, "heel_strike"), (1, "toe_off")):
            truth = np.array([e.t_s for e in made.events if e.side == foot and e.kind == kind])
            nearest = np.array([np.min(np.abs(truth - t)) for t in contacts[:, column]])
            assert nearest.max() < 0.02  # every detected event is a true one
            errors.extend(nearest)
        complete = [e for e in made.events if e.side == foot and e.kind == "toe_off"
                    and e.t_s > min(x.t_s for x in made.events
                                    if x.side == foot and x.kind == "heel_strike")]
        assert len(contacts) == len(complete)  # none missed
    assert np.mean(errors) <= 0.005
