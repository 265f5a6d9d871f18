"""What a trial stores beside its recording: the setup fields it is reprocessed with, its boards
(serial numbers, firmware, rates, channel maps) and its alarm rows."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from gaitrig.drivers.serial_link import BoardLink
from gaitrig.processing.calibration import RigCalibration
from gaitrig.processing.layouts import RigLayout
from gaitrig.processing.timeline import ROLES
from gaitrig.rig.model import Alarm, PatientOnRig, Targets
from gaitrig.rig.offline.trial_setup import TrialSetup
from gaitrig.rig.settings import Settings

#: The bars board's rate when it does not say (Hz).
BARS_RATE_HZ = 80.0


def setup_fields(settings: Settings, patient: PatientOnRig, calibration: RigCalibration,
                 layout: RigLayout, targets: Targets, links: list[BoardLink],
                 feedback: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a trial stores to be reprocessed exactly (``gaitrig.db.trials.TRIAL_FIELDS``): the setup
    (:class:`gaitrig.rig.offline.trial_setup.TrialSetup`), calibration dicts, targets and firmware
    versions. ``feedback``: the display's feedback fading at the start (``mode``, ``fade_every_n``),
    stored in the targets as ``feedback`` (what the compliance with/without feedback reads)."""
    rates = {"insole_left": float(settings.insole_rate_hz),
             "insole_right": float(settings.insole_rate_hz), "bars": BARS_RATE_HZ}
    firmware = {}
    for status in (link.status() for link in links):
        if status.role is not None:
            firmware[status.role] = status.firmware_version
            if status.sample_rate_hz:
                rates[status.role] = float(status.sample_rate_hz)
    dicts = calibration.to_dicts()
    setup = TrialSetup(
        body_mass_kg=patient.body_mass_kg, prosthetic_side=patient.prosthetic_side,
        insole_sensors=settings.insole_sensors, shoe_size_eu=settings.shoe_size_eu,
        rates_hz=rates, layout=layout,
        idle_counts={role: [round(float(c.get("offset_counts", 0))) for c in dicts[role]]
                     for role in ROLES})
    return {"setup": setup.to_dict(), "calibration": dicts,
            "targets": {**asdict(targets), **({"feedback": feedback} if feedback else {})},
            "firmware_versions": firmware}


def board_devices(links: list[BoardLink]) -> dict[str, dict[str, Any]]:
    """The boards of a trial per role: serial number, firmware, rate (Hz), channel map."""
    devices = {}
    for link in links:
        hello = link.hello
        if hello is not None:
            devices[hello.role.name.lower()] = {
                "serial_number": hello.serial_number,
                "firmware_version": list(hello.firmware_version),
                "sample_rate_hz": link.status().sample_rate_hz,
                "channel_map": list(hello.channel_map)}
    return devices


def alarm_row(alarm: Alarm, started_s: float) -> dict[str, Any]:
    """An alarm episode as stored: ``at_s`` from the trial's start, ``value`` its peak (% BW)."""
    end = "" if alarm.end_s is None else f" for {alarm.end_s - alarm.start_s:.1f} s"
    what = "load on the prosthetic limb" if alarm.kind == "over_limit" else "hand support"
    return {"at_s": alarm.start_s - started_s, "kind": alarm.kind,
            "message": f"{what} above {alarm.limit_pct_bw:.0f} % BW{end} (peak "
                       f"{alarm.peak_pct_bw:.1f} % BW)",
            "value": alarm.peak_pct_bw, "created_at": datetime.now(UTC)}
