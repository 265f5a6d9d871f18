"""The rig controller: owns the boards and the processing loop, and publishes the live state.

Boards are serial links (real boards, or the virtual rig's pseudo-terminals: the same code path).
Reader threads put DATA frames into a :class:`FrameCollector`; one processing thread takes what
arrived as a block, runs the numba pipeline over it, and hands the newest state, already encoded
as JSON, to ``publish`` (the web hub), at most ``live_update_hz`` times per second.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from drivers import protocol as p
from drivers.serial_link import BoardLink
from drivers.virtual.rig import VirtualRig
from processing import pipeline
from processing.calibration import RigCalibration
from processing.layouts import load_bar_layout, load_insole_layout
from rig.live_message import LoadSnapshot, PatientOnRig, TargetBand, live_message
from rig.settings import Settings
from rig.timeline import ROLES, FrameCollector

log = logging.getLogger(__name__)

#: A board that has sent nothing for this long is shown as silent (s).
SILENT_AFTER_S = 0.5
#: Even with no data, the state (device status) is republished this often (s).
IDLE_PUBLISH_S = 0.1
#: The processing loop works on blocks at least this long (s): batching for the numba kernels.
MIN_BLOCK_S = 0.002


class RigController:
    """Boards in, live state out. ``start()`` connects and begins; ``stop()`` ends everything."""

    def __init__(self, settings: Settings, publish: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.publish = publish
        self.patient = PatientOnRig(settings.display_name, settings.body_mass_kg,
                                    settings.prosthetic_side)
        self.band = TargetBand(settings.target_low_pct_bw, settings.target_high_pct_bw)
        self.layout = pipeline.RigLayout(
            left=load_insole_layout(settings.insole_sensors, settings.shoe_size_eu, "left"),
            right=load_insole_layout(settings.insole_sensors, settings.shoe_size_eu, "right"),
            bars=load_bar_layout(),
        )
        self.virtual_rig: VirtualRig | None = None
        self.links: list[BoardLink] = []
        self.calibration: RigCalibration | None = None
        self.processor: pipeline.BlockProcessor | None = None
        self.collector: FrameCollector | None = None
        self.latest: dict[str, Any] | None = None
        self.latest_json = ""
        self._seq = 0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        pipeline.warm_up()
        ports = list(self.settings.serial_ports)
        if self.settings.simulate:
            self.virtual_rig = VirtualRig(
                body_mass_kg=self.settings.body_mass_kg,
                prosthetic_side=self.settings.prosthetic_side,
                activity=self.settings.simulate_activity,
                insole_positions_mm={"left": self.layout.left.positions_mm,
                                     "right": self.layout.right.positions_mm},
                bar_posts_mm=(self.layout.bars.rear_post_mm, self.layout.bars.front_post_mm),
                insole_rate_hz=self.settings.insole_rate_hz,
            )
            self.virtual_rig.start()
            ports = list(self.virtual_rig.ports.values())
            calibration_dicts = self.virtual_rig.nominal_calibration()
        else:
            calibration_dicts = default_calibration(self.settings.insole_sensors)
        self.calibration = RigCalibration.from_dicts(calibration_dicts)
        self.processor = pipeline.BlockProcessor(self.calibration, self.layout,
                                                 self.patient.body_mass_kg)
        self.collector = FrameCollector(
            channels={role: len(calibration_dicts[role]) for role in ROLES},
            idle_counts={role: idle_counts(calibration_dicts[role]) for role in ROLES},
        )
        rates = {p.BoardRole.INSOLE_LEFT: self.settings.insole_rate_hz,
                 p.BoardRole.INSOLE_RIGHT: self.settings.insole_rate_hz}
        for port in ports:
            link = BoardLink(port, self._on_message, name=port, sample_rates_hz=rates)
            link.start()
            self.links.append(link)
        self._thread = threading.Thread(target=self._loop, name="processing", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        for link in self.links:
            link.close()
        if self.virtual_rig is not None:
            self.virtual_rig.stop()

    def wait_until_streaming(self, timeout_s: float = 10.0) -> bool:
        """True once every board is connected and the state carries processed loads."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            state = self.latest
            if state is not None and "left_foot_n" in state and all(
                    link.connected for link in self.links):
                return True
            time.sleep(0.02)
        return False

    # -- data path -----------------------------------------------------------------------------

    def _on_message(self, link: BoardLink, message: p.Message, sample_time_s: float) -> None:
        """Reader thread: hand DATA to the collector, stamped with the sample's host time (s)."""
        if isinstance(message, p.Data) and link.hello is not None and self.collector:
            role = link.hello.role.name.lower()
            self.collector.add(role, sample_time_s, message.seq, message.timestamp_us,
                               message.values)

    def _loop(self) -> None:
        assert self.collector is not None and self.processor is not None
        collector, processor = self.collector, self.processor
        interval_s = 1.0 / self.settings.live_update_hz
        last_publish = 0.0
        last_block = 0.0
        load: LoadSnapshot | None = None
        pending = False
        while not self._stopping.is_set():
            collector.new_data.wait(IDLE_PUBLISH_S)
            now = time.monotonic()
            if now - last_block < MIN_BLOCK_S:
                time.sleep(MIN_BLOCK_S - (now - last_block))
            last_block = time.monotonic()
            block = collector.take_block()
            if block is not None:
                result = processor.process(block.counts["insole_left"],
                                           block.counts["insole_right"], block.counts["bars"])
                load = newest_load(block.host_time_s[-1], result)
                pending = True
            now = time.monotonic()
            due = now - last_publish >= (interval_s if pending else IDLE_PUBLISH_S)
            if due:
                self._publish(now, load, collector)
                last_publish = now
                pending = False

    def _publish(self, now: float, load: LoadSnapshot | None, collector: FrameCollector) -> None:
        self._seq += 1
        message = live_message(
            self._seq, now, self.settings.rig_id, self.patient, self.band, load,
            self.device_status(), dict(collector.newest_seq), dict(collector.newest_device_time))
        text = json.dumps(message, separators=(",", ":"))
        self.latest, self.latest_json = message, text
        if self.publish is not None:
            self.publish(text)

    def device_status(self) -> list[dict[str, Any]]:
        devices = []
        for link in self.links:
            status = link.status()
            age = status.last_frame_age_s
            devices.append({
                "role": status.role, "port": status.port, "connected": status.connected,
                "silent": age is None or age > SILENT_AFTER_S,
                "serial_number": status.serial_number,
                "firmware_version": status.firmware_version,
                "sample_rate_hz": status.sample_rate_hz,
                "last_frame_age_s": None if age is None else round(age, 4),
                "reconnects": status.reconnects, "status_flags": status.status_flags,
                "last_error": status.last_error,
                "clock_drift_ppm": round(status.clock_drift_ppm, 1), **status.counters,
            })
        return devices


def newest_load(sample_time_s: float, result: pipeline.BlockResult) -> LoadSnapshot:
    """The last row of a processed block."""
    def four(values: np.ndarray) -> tuple[float, float, float, float]:
        a, b, c, d = (float(v) for v in values)
        return a, b, c, d

    return LoadSnapshot(
        sample_time_s=float(sample_time_s),
        force_n=(float(result.left_foot_n[-1]), float(result.right_foot_n[-1]),
                 float(result.left_bar_n[-1]), float(result.right_bar_n[-1])),
        pct_bw=four(result.pct_bw[-1]),
        share_pct=four(result.share_pct[-1]),
        left_cop_mm=(float(result.left_cop_mm[-1, 0]), float(result.left_cop_mm[-1, 1])),
        right_cop_mm=(float(result.right_cop_mm[-1, 0]), float(result.right_cop_mm[-1, 1])),
        left_hand_position_mm=float(result.hand_position_mm[-1, 0]),
        right_hand_position_mm=float(result.hand_position_mm[-1, 1]),
    )


def idle_counts(channel_calibrations: list[dict[str, Any]]) -> np.ndarray:
    """Counts that mean "no load" on each channel, held until a board's first frame arrives."""
    return np.array([round(float(c.get("offset_counts", 0))) for c in channel_calibrations],
                    dtype=np.int64)


def default_calibration(insole_sensors: int) -> dict[str, list[dict[str, Any]]]:
    """Nominal (uncalibrated) factory values for real boards until the clinic calibrates them."""
    return VirtualRig.nominal_calibration_for(insole_sensors)
