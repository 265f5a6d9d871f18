"""Sensor physics of the virtual rig: force in, raw counts out, exactly as the boards read them.

FSR insoles
-----------
Each force-sensing resistor sits in a voltage divider read by the AVR's 10-bit ADC::

    R    = K · F^(-beta)                 (FSR resistance, ohm; F in N)
    Vout = Vcc · Rm / (Rm + R)           (Rm: divider resistor to ground, ohm)
    c    = round(1023 · Vout / Vcc + noise), clipped to 0..1023

With the defaults (K = 300 kΩ·N, beta = 1, Rm = 10 kΩ) 1 N reads about 33 counts, 100 N about
787 (mid-high scale), 400 N about 952 and 1000 N about 993, so a 120 kg patient's heel strike
(~300-450 N on each heel sensor) stays below full scale. 0 N reads 0 (plus noise, clipped).
Inverting the noiseless curve: R = Rm·(1023 - c)/c, so

    F = (K / Rm)^(1/beta) · (c / (1023 - c))^(1/beta)

which is the ``fsr_power_law`` calibration ``F = gain_n · (c / (adc_max - c)) ** exponent``.

Load cells and HX711 (bars)
---------------------------
Each bar post stands on a 100 kg (981 N) load cell, 2 mV/V, read by an HX711 at gain 128 with the
bridge excited from the HX711's own supply (ratiometric). The HX711's full-scale differential input
is ±0.5·AVDD/128 over ±2^23 counts, so::

    counts per newton = 2^23 · 2 · 128 · 0.002 / (100 kg · 9.80665 N/kg) ≈ 4380 counts/N

(about 0.23 mN per count; a real cell's input noise, ~90 nV rms at 80 Hz, is ~45 counts rms).
Readings are ``offset + F · counts_per_newton + noise``, clipped to the signed 24-bit range
(the HX711 saturates at 0x7FFFFF / 0x800000, reached at roughly 1850 N on one post). The default
offsets are the bridge's zero offset plus the dead weight of the bar on the post.

Per-unit variation (the sensors of a real rig differ from their datasheets) is off by default and
seeded when on; :meth:`true_calibration` then returns what each unit really does, while
:meth:`nominal_calibration` keeps the datasheet values the host starts from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from gaitrig.processing.units import STANDARD_GRAVITY

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

ADC_MAX = 1023
HX711_MIN = -(1 << 23)
HX711_MAX = (1 << 23) - 1


@dataclass(frozen=True, slots=True)
class FsrParameters:
    """One insole's FSRs and dividers (ohm, N, counts)."""

    resistance_at_1n_ohm: float = 300_000.0  # K in R = K · F^(-beta)
    beta: float = 1.0
    divider_ohm: float = 10_000.0  # Rm
    noise_counts: float = 0.7  # rms ADC noise
    gain_variation: float = 0.0  # relative spread (1 sd) of K between sensors
    beta_variation: float = 0.0  # absolute spread (1 sd) of beta between sensors


def fsr_nominal_calibration(channel_count: int,
                            params: FsrParameters | None = None) -> list[dict[str, Any]]:
    """Datasheet calibration of every channel: ``F = gain_n · (c / (adc_max - c)) ** exponent``."""
    p = params or FsrParameters()
    return [_fsr_calibration(p.resistance_at_1n_ohm, p.beta, p.divider_ohm)
            for _ in range(channel_count)]


def _fsr_calibration(k_ohm: float, beta: float, divider_ohm: float) -> dict[str, Any]:
    return {"kind": "fsr_power_law", "gain_n": (k_ohm / divider_ohm) ** (1.0 / beta),
            "exponent": 1.0 / beta, "adc_max": ADC_MAX}


class FsrChannels:
    """``channel_count`` FSRs of one insole, each in its divider on one ADC input."""

    def __init__(self, channel_count: int, params: FsrParameters | None = None,
                 seed: int = 0) -> None:
        self.params = params or FsrParameters()
        self.channel_count = channel_count
        rng = np.random.default_rng([seed, 2])
        p = self.params
        self.resistance_at_1n_ohm = p.resistance_at_1n_ohm * np.exp(
            p.gain_variation * rng.standard_normal(channel_count))
        self.beta = p.beta + p.beta_variation * rng.standard_normal(channel_count)
        self._noise = np.random.default_rng([seed, 3])

    def ideal_counts(self, force_n: npt.ArrayLike) -> FloatArray:
        """Noiseless, unrounded, unclipped ADC reading for forces (n, k) in N."""
        force = np.maximum(np.asarray(force_n, dtype=np.float64), 0.0)
        conductance = force ** self.beta  # ∝ 1/R; exactly 0 at 0 N
        ratio = self.resistance_at_1n_ohm / self.params.divider_ohm
        counts: FloatArray = ADC_MAX * conductance / (conductance + ratio)
        return counts

    def counts(self, force_n: npt.ArrayLike) -> IntArray:
        """ADC counts (n, k) the board reads: rounded, with noise, clipped to 0..1023."""
        ideal = self.ideal_counts(force_n)
        if self.params.noise_counts > 0:
            ideal = ideal + self.params.noise_counts * self._noise.standard_normal(ideal.shape)
        return np.clip(np.rint(ideal), 0, ADC_MAX).astype(np.int64)

    def nominal_calibration(self) -> list[dict[str, Any]]:
        return fsr_nominal_calibration(self.channel_count, self.params)

    def true_calibration(self) -> list[dict[str, Any]]:
        """What each sensor really does (differs from nominal only with per-unit variation)."""
        return [_fsr_calibration(float(k), float(b), self.params.divider_ohm)
                for k, b in zip(self.resistance_at_1n_ohm, self.beta, strict=True)]


def fsr_force_from_counts(counts: npt.ArrayLike, calibration: dict[str, Any]) -> FloatArray:
    """Invert one channel's ``fsr_power_law`` calibration (N); a reference for tests."""
    c = np.asarray(counts, dtype=np.float64)
    adc_max = float(calibration["adc_max"])
    with np.errstate(divide="ignore"):
        force: FloatArray = calibration["gain_n"] * (c / (adc_max - c)) ** calibration["exponent"]
    return force


@dataclass(frozen=True, slots=True)
class LoadCellParameters:
    """The four bar-post load cells and their HX711 amplifiers."""

    capacity_kg: float = 100.0
    sensitivity_mv_per_v: float = 2.0
    amplifier_gain: int = 128
    #: Reading with no patient (bridge zero offset + bar dead weight), counts, channel order
    #: [left front, left rear, right front, right rear].
    offset_counts: tuple[int, int, int, int] = (251_000, 268_500, 243_700, 259_300)
    noise_counts: float = 45.0  # rms
    gain_variation: float = 0.0  # relative spread (1 sd) of the sensitivity between cells
    offset_variation_counts: float = 0.0  # spread (1 sd) of the offsets between cells

    @property
    def counts_per_newton(self) -> float:
        full_scale_input = 0.5 / self.amplifier_gain  # fraction of the excitation voltage
        output_per_newton = self.sensitivity_mv_per_v * 1e-3 / (
            self.capacity_kg * STANDARD_GRAVITY)
        return float((1 << 23) * output_per_newton / full_scale_input)


def load_cell_nominal_calibration(params: LoadCellParameters | None = None
                                  ) -> list[dict[str, Any]]:
    """Datasheet calibration of the posts: ``F = (counts - offset_counts) · newtons_per_count``."""
    p = params or LoadCellParameters()
    return [{"kind": "linear", "offset_counts": float(offset),
             "newtons_per_count": 1.0 / p.counts_per_newton} for offset in p.offset_counts]


class LoadCellChannels:
    """The bars board's four HX711 channels."""

    channel_count = 4

    def __init__(self, params: LoadCellParameters | None = None, seed: int = 0) -> None:
        self.params = params or LoadCellParameters()
        p = self.params
        rng = np.random.default_rng([seed, 4])
        self.counts_per_newton = p.counts_per_newton * np.exp(
            p.gain_variation * rng.standard_normal(4))
        self.offset_counts = np.asarray(p.offset_counts, dtype=np.float64) + (
            p.offset_variation_counts * rng.standard_normal(4))
        self._noise = np.random.default_rng([seed, 5])

    def ideal_counts(self, force_n: npt.ArrayLike) -> FloatArray:
        """Noiseless, unrounded, unclipped reading for post forces (n, 4) in N."""
        counts: FloatArray = self.offset_counts + np.asarray(force_n, dtype=np.float64) * (
            self.counts_per_newton)
        return counts

    def counts(self, force_n: npt.ArrayLike) -> IntArray:
        """HX711 readings (n, 4): rounded, with noise, clipped to the signed 24-bit range."""
        ideal = self.ideal_counts(force_n)
        if self.params.noise_counts > 0:
            ideal = ideal + self.params.noise_counts * self._noise.standard_normal(ideal.shape)
        return np.clip(np.rint(ideal), HX711_MIN, HX711_MAX).astype(np.int64)

    def nominal_calibration(self) -> list[dict[str, Any]]:
        return load_cell_nominal_calibration(self.params)

    def true_calibration(self) -> list[dict[str, Any]]:
        return [{"kind": "linear", "offset_counts": float(o), "newtons_per_count": 1.0 / float(g)}
                for o, g in zip(self.offset_counts, self.counts_per_newton, strict=True)]
