"""The detector against the gaitndd authors' own per-stride tables, over every record shared
(docs/accuracy.md): the issue's limits on mean absolute error and on intervals off by > 250 ms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from studies.accuracy import (
    DS_IDENTITY_S,
    LIMITS_S,
    OFF_FRACTION_LIMIT,
    consistent_rows,
    folder_errors,
    summarise,
)
from tests.shared_data import shared_data


@pytest.fixture(scope="module")
def summary() -> dict[str, dict[str, dict[str, float]]]:
    folder = shared_data("physionet-gaitndd")
    records = folder_errors(folder)
    assert len(records) == len(list(folder.glob("*.ts")))
    return summarise(records)


def test_every_group_is_present(summary: dict[str, dict[str, dict[str, float]]]) -> None:
    assert {"control", "park", "hunt", "als", "all"} <= set(summary)


@pytest.mark.parametrize("kind", sorted(LIMITS_S))
@pytest.mark.parametrize("group", ["control", "park", "hunt", "als", "all"])
def test_mean_absolute_error_within_the_limits(
        summary: dict[str, dict[str, dict[str, float]]], kind: str, group: str) -> None:
    """The issue's MAE limits, over all rows and over the self-consistent rows, every group."""
    assert summary[group][kind]["mae_ms"] <= 1000 * LIMITS_S[kind]
    assert summary[group][kind]["mae_consistent_ms"] <= 1000 * LIMITS_S[kind]


@pytest.mark.parametrize("kind", ["stride", "stance", "swing"])
def test_few_intervals_off(summary: dict[str, dict[str, dict[str, float]]], kind: str) -> None:
    assert summary["all"][kind]["off_pct"] <= 100 * OFF_FRACTION_LIMIT


@pytest.mark.parametrize("group", ["control", "park", "hunt", "als", "all"])
def test_double_support_off_on_self_consistent_rows(
        summary: dict[str, dict[str, dict[str, float]]], group: str) -> None:
    """On the rows whose double support follows the authors' own definition (every row but 128
    of 7,863), within the issue's 2 % in every group."""
    assert summary[group]["double_support"]["off_consistent_pct"] <= 100 * OFF_FRACTION_LIMIT


def test_double_support_off_over_all_rows_as_reported(
        summary: dict[str, dict[str, dict[str, float]]]) -> None:
    """Over all rows the issue's 2 % is NOT met (2.8 %: the 127 contradictory rows of als5 and
    als7, docs/accuracy.md); held to what the docs report, so that a regression shows."""
    assert summary["all"]["double_support"]["off_pct"] <= 3.0


def test_authors_double_support_is_left_stance_minus_right_swing() -> None:
    """The definition our double support follows, read off the authors' tables: in all but 128
    rows (127 in als5 and als7) it equals the row's left stance minus its right swing to one
    sample; besides those, only one row of park7 breaks it."""
    broken: dict[str, int] = {}
    rows = 0
    for path in sorted(Path(shared_data("physionet-gaitndd")).glob("*.ts")):
        table = np.loadtxt(path)
        rows += len(table)
        ds_rule = np.abs(table[:, 11] - (table[:, 7] - table[:, 4])) <= DS_IDENTITY_S
        if not ds_rule.all():
            broken[path.stem] = int((~ds_rule).sum())
    assert rows == 7863
    assert broken == {"als5": 91, "als7": 36, "park7": 1}


def test_the_table_consistency_check_sees_a_bad_row() -> None:
    good = [21.93, 1.0667, 1.06, 0.3633, 0.3833, 34, 36, 0.7033, 0.6767, 66, 64, 0.32, 30]
    bad_ds = list(good)
    bad_ds[11] = 2.8  # not the left stance minus the right swing (0.32 s)
    bad_stance = list(good)
    bad_stance[7] = 0.75  # left stance + swing no longer the left stride
    assert consistent_rows(np.array([good, bad_ds, bad_stance])).tolist() == [True, False, False]


def test_first_column_is_the_left_heel_strike_ending_the_stride() -> None:
    """The matching rests on this reading of the table: time[i] - time[i-1] = left stride[i]."""
    table = np.loadtxt(Path(shared_data("physionet-gaitndd")) / "control1.ts")
    step = np.diff(table[:, 0])
    agree = np.abs(step - table[1:, 1]) < 0.002
    assert agree.mean() > 0.95
