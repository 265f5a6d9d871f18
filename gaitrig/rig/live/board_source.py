"""Where the controller's boards come from: serial ports to open, and the calibration they
start with. The command line chooses the source (``gaitrig.cli.sources.board_source``): the
rig's own boards (:class:`SerialBoards`) or the virtual rig (``gaitrig.sim.source``), so the
controller never knows a simulator. A source also hears what the therapist chooses (exercise,
targets, the posture a calibration asks for); real boards have no one to tell.
"""

from __future__ import annotations

from typing import Any, Protocol

from gaitrig.processing.calibration import nominal_calibration
from gaitrig.processing.layouts import RigLayout


class BoardSource(Protocol):
    #: The simulator behind the boards (its ground truth, for tests and the demo routes), or
    #: None on a real rig.
    virtual_rig: Any

    def start(self, layout: RigLayout) -> list[str]:
        """Make the boards ready; the serial ports (device paths) to open."""

    def nominal_calibration(self) -> dict[str, list[dict[str, Any]]]:
        """The calibration the boards start with, per role name (plain dicts per channel)."""

    def stop(self) -> None:
        """After the controller closed its links."""

    def exercise_chosen(self, exercise: str) -> None:
        """The exercise now chosen (``gaitrig.rig.model.Exercise`` value)."""

    def targets_set(self, band_low_pct_bw: float, band_high_pct_bw: float,
                    limit_pct_bw: float | None, shift_period_s: float) -> None:
        """The targets now set (% body weight, s)."""

    def posture_asked(self, phase: str | None, exercise: str) -> None:
        """The insole calibration asks for a posture (``both``, ``left``, ``right``; None: done,
        back to ``exercise``)."""


class SerialBoards:
    """The rig's own boards on ``ports`` (none: a history server, or no board found yet)."""

    virtual_rig = None

    def __init__(self, ports: list[str], insole_sensors: int = 8) -> None:
        self.ports = list(ports)
        self.insole_sensors = insole_sensors

    def start(self, layout: RigLayout) -> list[str]:
        return list(self.ports)

    def nominal_calibration(self) -> dict[str, list[dict[str, Any]]]:
        return nominal_calibration(self.insole_sensors)

    def stop(self) -> None:
        pass

    def exercise_chosen(self, exercise: str) -> None:
        pass

    def targets_set(self, band_low_pct_bw: float, band_high_pct_bw: float,
                    limit_pct_bw: float | None, shift_period_s: float) -> None:
        pass

    def posture_asked(self, phase: str | None, exercise: str) -> None:
        pass
