"""The board source the settings ask for: the virtual rig (``--simulate``) or the serial boards
(``gaitrig.rig.live.board_source``). Chosen here, on the top floor, so that the controller never
imports the simulator."""

from __future__ import annotations

from gaitrig.rig.live.board_source import BoardSource, SerialBoards
from gaitrig.rig.settings import Settings
from gaitrig.sim.source import VirtualBoards


def board_source(settings: Settings) -> BoardSource:
    """The virtual rig when ``settings.simulate``, else the serial ports in ``settings`` (none on a
    history server, ``devices=False``)."""
    if settings.simulate and settings.devices:
        follows = settings.simulate_follows_targets
        return VirtualBoards(settings.body_mass_kg, settings.prosthetic_side,
                             settings.simulate_activity, settings.insole_rate_hz,
                             settings.insole_sensors,
                             follows_targets=settings.demo if follows is None else follows)
    return SerialBoards(list(settings.serial_ports) if settings.devices else [],
                        settings.insole_sensors)
