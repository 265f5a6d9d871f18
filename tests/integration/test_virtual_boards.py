"""Sensor physics and virtual boards on real pseudo-terminals, read back with pyserial."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pytest
import serial

from gaitrig.drivers import protocol as p
from gaitrig.drivers.clock_sync import DeviceClock
from gaitrig.processing.units import STANDARD_GRAVITY
from gaitrig.sim.boards import VirtualBarsBoard, VirtualBoard, VirtualInsoleBoard, device_time_us
from gaitrig.sim.patient import PatientModel
from gaitrig.sim.rig import VirtualRig
from gaitrig.sim.sensors import (
    ADC_MAX,
    HX711_MAX,
    HX711_MIN,
    FsrChannels,
    FsrParameters,
    LoadCellChannels,
    LoadCellParameters,
    fsr_force_from_counts,
)

# -- sensor physics ----------------------------------------------------------------------------


def linear_force(counts: np.ndarray, calibration: dict[str, float]) -> np.ndarray:
    return (counts - calibration["offset_counts"]) * calibration["newtons_per_count"]


def test_fsr_calibration_exactly_inverts_the_noiseless_curve() -> None:
    fsr = FsrChannels(8, FsrParameters(noise_counts=0.0))
    force = np.geomspace(0.2, 3000.0, 400)[:, None] * np.ones(8)
    ideal = fsr.ideal_counts(force)
    for channel, calibration in enumerate(fsr.nominal_calibration()):
        assert calibration["kind"] == "fsr_power_law" and calibration["adc_max"] == 1023
        back = fsr_force_from_counts(ideal[:, channel], calibration)
        np.testing.assert_allclose(back, force[:, channel], rtol=1e-9)


def test_fsr_counts_reproduce_force_within_quantisation_and_noise() -> None:
    force = np.linspace(2.0, 600.0, 300)[:, None] * np.ones(8)
    quiet = FsrChannels(8, FsrParameters(noise_counts=0.0))
    counts = quiet.counts(force)
    assert counts.dtype == np.int64 and counts.max() < ADC_MAX
    calibration = quiet.nominal_calibration()[0]
    # Half a count either way bounds the error of the rounded reading.
    low = fsr_force_from_counts(counts - 0.5, calibration)
    high = fsr_force_from_counts(counts + 0.5, calibration)
    assert ((low <= force) & (force <= high)).all()
    noisy = FsrChannels(8, FsrParameters(noise_counts=0.7), seed=1)
    repeated = noisy.counts(np.full((4000, 8), 100.0))
    assert 0.5 < repeated.std() < 0.9
    back = fsr_force_from_counts(repeated.mean(), calibration)
    assert back == pytest.approx(100.0, rel=0.01)


def test_fsr_zero_force_reads_zero_and_huge_force_saturates() -> None:
    quiet = FsrChannels(8, FsrParameters(noise_counts=0.0))
    assert (quiet.counts(np.zeros((3, 8))) == 0).all()
    noisy = FsrChannels(8, seed=2)
    at_rest = noisy.counts(np.zeros((2000, 8)))
    assert at_rest.min() == 0 and at_rest.max() <= 4  # noise clipped at 0, never negative
    assert (quiet.counts(np.full((1, 8), 1e7)) == ADC_MAX).all()
    pressed = noisy.counts(np.full((1000, 8), 1e7))
    assert pressed.max() == ADC_MAX and (pressed >= ADC_MAX - 4).all()  # noise clipped at 1023
    # Mid-high scale around 100 N.
    assert 700 < quiet.counts(np.full((1, 8), 100.0))[0, 0] < 850


def test_a_heavy_patients_heel_strikes_do_not_saturate_the_insoles() -> None:
    model = PatientModel(120.0, "left", "walking", seed=1)
    fsr = FsrChannels(8, seed=1)
    t = np.arange(0.0, 20.0, 0.001)
    for side in ("left", "right"):
        counts = fsr.counts(model.sample_sensors(side, t))
        saturated_sensors = (counts >= ADC_MAX).any(axis=0).sum()
        assert saturated_sensors <= 1
        assert counts.max(axis=0).min() > 500  # every sensor does get loaded


def test_fsr_per_unit_variation_is_seen_by_the_true_not_the_nominal_calibration() -> None:
    fsr = FsrChannels(8, FsrParameters(noise_counts=0.0, gain_variation=0.2,
                                       beta_variation=0.05), seed=3)
    force = np.full((1, 8), 150.0)
    ideal = fsr.ideal_counts(force)[0]
    true_back = [fsr_force_from_counts(c, cal) for c, cal in zip(
        ideal, fsr.true_calibration(), strict=True)]
    nominal_back = [fsr_force_from_counts(c, cal) for c, cal in zip(
        ideal, fsr.nominal_calibration(), strict=True)]
    np.testing.assert_allclose(true_back, 150.0, rtol=1e-9)
    assert np.abs(np.array(nominal_back) - 150.0).max() > 5.0


def test_load_cell_counts_are_linear_and_clip_to_24_bits() -> None:
    params = LoadCellParameters(noise_counts=0.0)
    cells = LoadCellChannels(params)
    assert 4000 < params.counts_per_newton < 4800
    force = np.array([[0.0, 10.0, 250.0, 800.0]])
    counts = cells.counts(force)
    for channel, calibration in enumerate(cells.nominal_calibration()):
        assert calibration["kind"] == "linear"
        back = linear_force(counts[0, channel], calibration)
        assert back == pytest.approx(force[0, channel], abs=0.5 / params.counts_per_newton)
    assert counts[0, 0] == params.offset_counts[0]
    clipped = cells.counts(np.array([[5000.0, -5000.0, 1e6, -1e6]]))
    assert clipped.tolist() == [[HX711_MAX, HX711_MIN, HX711_MAX, HX711_MIN]]
    noisy = LoadCellChannels(LoadCellParameters(noise_counts=45.0), seed=4)
    spread = noisy.counts(np.zeros((4000, 4))) - np.array(params.offset_counts)
    assert 40 < spread.std() < 50


# -- boards on pseudo-terminals ------------------------------------------------------------------


@dataclass
class Host:
    """The host side of one port: pyserial, a protocol decoder and what arrived when."""

    port: str
    serial_port: serial.Serial = field(init=False)
    decoder: p.Decoder = field(default_factory=p.Decoder)
    received: list[tuple[float, p.Message]] = field(default_factory=list)
    seq: int = 0

    def __post_init__(self) -> None:
        self.serial_port = serial.Serial(self.port, 1_000_000, timeout=0.005)

    def send(self, kind: p.MessageType, rate_hz: int = 0, device_id: int = 0xFF) -> int:
        self.seq += 1
        self.serial_port.write(p.encode(p.Command(device_id, self.seq, 0, kind, rate_hz)))
        return self.seq

    def pump(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._read_once()

    def _read_once(self) -> None:
        chunk = self.serial_port.read(65536)
        now = time.monotonic()
        self.received.extend((now, message) for message in self.decoder.feed(chunk))

    def wait_for(self, wanted: Callable[[p.Message], bool], timeout_s: float = 1.0) -> p.Message:
        deadline = time.monotonic() + timeout_s
        checked = 0
        while time.monotonic() < deadline:
            for _, message in self.received[checked:]:
                if wanted(message):
                    return message
            checked = len(self.received)
            self._read_once()
        raise AssertionError(f"nothing wanted arrived within {timeout_s} s")

    def ack_for(self, command_seq: int) -> p.Ack:
        message = self.wait_for(lambda m: isinstance(m, p.Ack) and m.command_seq == command_seq)
        assert isinstance(message, p.Ack)
        return message

    def data(self) -> list[tuple[float, p.Data]]:
        return [(t, m) for t, m in self.received if isinstance(m, p.Data)]

    def close(self) -> None:
        self.serial_port.close()


def ramp_counts(channels: int, scale: int) -> Callable[[np.ndarray], np.ndarray]:
    """Counts that encode the sample's host time (ms), so a test can tell samples apart."""
    def read(t_s: np.ndarray) -> np.ndarray:
        ms = np.round(t_s * 1000.0).astype(np.int64) % scale
        return np.repeat(ms[:, None], channels, axis=1) + np.arange(channels)
    return read


@pytest.fixture
def insole() -> Iterator[VirtualInsoleBoard]:
    board = VirtualInsoleBoard("left", ramp_counts(8, 1000), channel_count=8,
                               clock_offset_us=p.U32 - 400_000)  # wraps during the test
    board.power_on()
    yield board
    board.close()


@pytest.fixture
def host_of(insole: VirtualInsoleBoard) -> Iterator[Host]:
    host = Host(insole.port)
    yield host
    host.close()


def identify(host: Host) -> tuple[p.Hello, p.Ack]:
    seq = host.send(p.MessageType.CMD_IDENTIFY)
    ack = host.ack_for(seq)
    messages = [m for _, m in host.received]
    position = next(i for i, m in enumerate(messages) if m is ack)
    assert isinstance(messages[position - 1], p.Hello), "IDENTIFY: HELLO comes before the ACK"
    hello = messages[position - 1]
    assert isinstance(hello, p.Hello)
    return hello, ack


def test_identify_answers_hello_then_ack_with_the_boards_identity(host_of: Host) -> None:
    assert os.path.exists(host_of.port) and host_of.port.startswith("/dev/")
    hello, ack = identify(host_of)
    assert hello.role == p.BoardRole.INSOLE_LEFT and hello.device_id == 2
    assert hello.channel_map == tuple(range(8)) and hello.sample_rate_hz == 1000
    assert hello.protocol_version == p.PROTOCOL_VERSION
    assert ack.command == p.MessageType.CMD_IDENTIFY and ack.result == p.AckResult.OK
    assert ack.seq == (hello.seq + 1) % p.U16
    host_of.pump(0.1)
    assert not host_of.data(), "a board boots stopped"


def test_bars_and_right_insole_identify_themselves() -> None:
    with VirtualBarsBoard(ramp_counts(4, 1000)) as bars, \
            VirtualInsoleBoard("right", ramp_counts(16, 1000), channel_count=16) as right:
        for board, role, channels, rate in ((bars, p.BoardRole.BARS, 4, 80),
                                            (right, p.BoardRole.INSOLE_RIGHT, 16, 1000)):
            host = Host(board.port)
            try:
                hello, _ = identify(host)
            finally:
                host.close()
            assert (hello.role, hello.channel_count, hello.sample_rate_hz) == (role, channels, rate)


def test_start_streams_continuous_data_at_the_set_rate_in_device_time(
        insole: VirtualInsoleBoard, host_of: Host) -> None:
    identify(host_of)
    assert host_of.ack_for(host_of.send(p.MessageType.CMD_START)).result == p.AckResult.OK
    host_of.pump(1.0)
    data = host_of.data()
    assert 900 < len(data) < 1100
    seqs = np.array([m.seq for _, m in data])
    assert ((np.diff(seqs) % p.U16) == 1).all()
    assert host_of.decoder.counters.sequence_gaps == 0
    assert host_of.decoder.counters.crc_errors == 0
    stamps = np.array([m.timestamp_us for _, m in data], dtype=np.int64)
    steps = np.diff(stamps) % p.U32  # the clock wrapped past 2**32 during the test
    assert (stamps[1:] < stamps[:-1]).any()
    rate = 1e6 / steps.mean()
    assert rate == pytest.approx(1000.0, rel=0.005)
    assert set(steps.tolist()) == {1000}
    # Values are the sensors' readings at the sample time: 2-byte, in channel order.
    first = data[0][1]
    assert first.value_bytes == 2 and len(first.values) == 8
    assert list(first.values) == [first.values[0] + i for i in range(8)]
    # The board remembers when it wrote each DATA frame.
    written = [insole.written_at_s(m.seq) for _, m in data]
    assert all(w is not None for w in written)
    arrival = np.array([t for t, _ in data])
    latency = arrival - np.array(written, dtype=float)
    assert (latency > 0).all() and np.median(latency) < 0.05


def test_set_rate_accepts_valid_rates_and_refuses_others(
        insole: VirtualInsoleBoard, host_of: Host) -> None:
    for bad in (0, 1001, 5000):
        ack = host_of.ack_for(host_of.send(p.MessageType.CMD_SET_RATE, bad))
        assert ack.result == p.AckResult.INVALID_ARGUMENT
    ack = host_of.ack_for(host_of.send(p.MessageType.CMD_SET_RATE, 250))
    assert ack.result == p.AckResult.OK and insole.rate_hz == 250
    host_of.ack_for(host_of.send(p.MessageType.CMD_START))
    host_of.pump(0.4)
    steps = np.diff([m.timestamp_us for _, m in host_of.data()]) % p.U32
    assert set(steps.tolist()) == {4000}
    hello, _ = identify(host_of)
    assert hello.sample_rate_hz == 250


def test_bars_board_only_takes_the_hx711_rates() -> None:
    with VirtualBarsBoard(ramp_counts(4, 1000)) as bars:
        host = Host(bars.port)
        try:
            for rate, result in ((50, p.AckResult.INVALID_ARGUMENT), (1000,
                                 p.AckResult.INVALID_ARGUMENT), (10, p.AckResult.OK),
                                 (80, p.AckResult.OK)):
                assert host.ack_for(host.send(p.MessageType.CMD_SET_RATE, rate)).result == result
            host.ack_for(host.send(p.MessageType.CMD_START))
            host.pump(0.5)
            data = host.data()
            assert 30 <= len(data) <= 50
            assert all(m.value_bytes == 4 and len(m.values) == 4 for _, m in data)
        finally:
            host.close()


def test_stop_stops_the_stream(host_of: Host) -> None:
    host_of.ack_for(host_of.send(p.MessageType.CMD_START))
    host_of.pump(0.2)
    stop_ack = host_of.ack_for(host_of.send(p.MessageType.CMD_STOP))
    assert stop_ack.result == p.AckResult.OK
    count = len(host_of.data())
    host_of.pump(0.3)
    assert len(host_of.data()) == count
    assert max(m.seq for _, m in host_of.data()) < stop_ack.seq


def test_commands_for_another_device_are_ignored(host_of: Host) -> None:
    seq = host_of.send(p.MessageType.CMD_IDENTIFY, device_id=3)
    host_of.pump(0.2)
    assert not any(isinstance(m, p.Ack) and m.command_seq == seq for _, m in host_of.received)
    host_of.ack_for(host_of.send(p.MessageType.CMD_IDENTIFY, device_id=2))


def test_a_host_that_restarts_its_command_counter_is_still_answered(host_of: Host) -> None:
    host_of.seq = 0
    host_of.ack_for(host_of.send(p.MessageType.CMD_IDENTIFY))
    host_of.seq = 0
    host_of.ack_for(host_of.send(p.MessageType.CMD_IDENTIFY))


def test_garbage_is_counted_and_the_next_frame_still_decodes(
        insole: VirtualInsoleBoard, host_of: Host) -> None:
    host_of.ack_for(host_of.send(p.MessageType.CMD_START))
    host_of.pump(0.1)
    insole.inject(b"\x07not a frame at all\x00")
    insole.inject(b"\x00\x00")  # empty frames are just delimiters
    host_of.pump(0.2)
    assert host_of.decoder.counters.crc_errors == 1
    assert host_of.decoder.counters.sequence_gaps == 0
    seqs = np.array([m.seq for _, m in host_of.data()])
    assert ((np.diff(seqs) % p.U16) == 1).all() and len(seqs) > 200


def test_a_malformed_command_is_reported_in_status(host_of: Host) -> None:
    host_of.serial_port.write(b"\x05junk\x00")
    status = host_of.wait_for(lambda m: isinstance(m, p.Status))
    assert isinstance(status, p.Status) and status.flags & p.StatusFlag.BAD_COMMAND


def test_a_full_transmit_buffer_drops_frames_and_says_so(insole: VirtualInsoleBoard) -> None:
    # A host that starts the board and then stops reading: the pty's buffer fills up.
    fd = os.open(insole.port, os.O_RDWR | os.O_NOCTTY)
    try:
        os.write(fd, p.encode(p.Command(0xFF, 1, 0, p.MessageType.CMD_START)))
        deadline = time.monotonic() + 5.0
        while insole.dropped_frames < 50 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert insole.dropped_frames >= 50
    finally:
        os.close(fd)
    host = Host(insole.port)  # opening flushes what was buffered, like a fresh connection
    try:
        status = host.wait_for(lambda m: isinstance(m, p.Status), timeout_s=1.0)
        assert isinstance(status, p.Status)
        assert status.flags & p.StatusFlag.TX_OVERFLOW and status.dropped_frames >= 50
        host.pump(0.2)
        assert len(host.data()) > 100
        # Flowing again: every frame (DATA and the STATUS among them) in sequence.
        seqs = [m.seq for _, m in host.received]
        assert ((np.diff(seqs) % p.U16) == 1).all()
    finally:
        host.close()


def test_board_clock_offset_and_drift() -> None:
    boot = 100.0
    for drift in (200.0, -200.0):
        stamps = device_time_us(np.array([boot, boot + 1000.0]), boot, 5_000, drift)
        expected = 1_000_000_000 + int(drift * 1000)
        assert abs(int(stamps[1] - stamps[0]) - expected) <= 1  # floored µs
    assert device_time_us(boot + 1.0, boot, p.U32 - 10, 0.0) == 1_000_000 - 10


def test_drift_shows_in_the_device_timestamps() -> None:
    drift_ppm = 20_000.0  # 2 %: large enough to see in one second of arrival jitter
    with VirtualInsoleBoard("right", ramp_counts(8, 1000), rate_hz=500,
                            drift_ppm=drift_ppm) as board:
        host = Host(board.port)
        try:
            host.ack_for(host.send(p.MessageType.CMD_START))
            host.pump(2.0)
        finally:
            host.close()
    data = host.data()
    arrival = np.array([t for t, _ in data])
    # Arrival times carry scheduling jitter (worse on a loaded machine); the least-delayed frames
    # trace the board's clock, which is what the host's clock mapping fits
    # (gaitrig.drivers.clock_sync). Its windows must be short enough for this drift (DeviceClock:
    # under FORGET_S over three windows); with 0.1 s windows 2 % is 6 ms over three, and the mapping
    # starts over each time.
    clock = DeviceClock(window_s=0.02)
    for t, m in data:
        clock.observe(m.timestamp_us, t)
    host_per_device_s = 1.0 + clock.drift_ppm * 1e-6
    assert 1.0 / host_per_device_s == pytest.approx(1.0 + drift_ppm * 1e-6, abs=0.005)
    # The board runs fast, so it sends more samples per host second than its nominal rate.
    host_rate = (len(data) - 1) / (arrival[-1] - arrival[0])
    assert host_rate > 500.0


def test_unplug_makes_the_port_vanish() -> None:
    board = VirtualBarsBoard(ramp_counts(4, 1000))
    board.power_on()
    host = Host(board.port)
    try:
        host.ack_for(host.send(p.MessageType.CMD_START))
        board.unplug()
        assert not os.path.exists(board.port)
        with pytest.raises(serial.SerialException):
            for _ in range(100):
                host.serial_port.read(4096)
    finally:
        host.close()
        board.close()  # closing twice is harmless


# -- the whole virtual rig -----------------------------------------------------------------------


def seconds_since_boot(board: VirtualBoard, stamps: np.ndarray) -> np.ndarray:
    """Host time of DATA samples from their device timestamps (the board's clock inverted)."""
    device_us = np.mod(stamps.astype(np.int64) - board.clock_offset_us, p.U32).astype(float)
    return board.boot_s + device_us / ((1 + board.drift_ppm * 1e-6) * 1e6)


def test_virtual_rig_bytes_carry_the_ground_truth() -> None:
    with VirtualRig(body_mass_kg=82.0, prosthetic_side="right", noise=False, seed=5,
                    insole_rate_hz=500) as rig:
        assert set(rig.ports) == {"bars", "insole_left", "insole_right"}
        hosts = {role: Host(port) for role, port in rig.ports.items()}
        try:
            for host in hosts.values():
                identify(host)
                host.ack_for(host.send(p.MessageType.CMD_START))
            deadline = time.monotonic() + 1.5
            while time.monotonic() < deadline:
                for host in hosts.values():
                    host.pump(0.01)
        finally:
            for host in hosts.values():
                host.close()
        calibration = rig.nominal_calibration()
        assert calibration == VirtualRig.nominal_calibration_for(8)
        for role, host in hosts.items():
            data = host.data()
            assert len(data) > (60 if role == "bars" else 400)
            board = rig.boards[role]
            t = seconds_since_boot(board, np.array([m.timestamp_us for _, m in data]))
            counts = np.array([m.values for _, m in data], dtype=float)
            truth = rig.ground_truth(t)
            if role == "bars":
                forces = np.column_stack([linear_force(counts[:, i], c)
                                          for i, c in enumerate(calibration[role])])
                np.testing.assert_allclose(forces, truth.bar_post_n, atol=1e-3)
            else:
                side = role.removeprefix("insole_")
                expected = truth.sensor_n(side)
                fsr = rig.fsr[side]
                low = np.column_stack([fsr_force_from_counts(counts[:, i] - 0.5, c)
                                       for i, c in enumerate(calibration[role])])
                high = np.column_stack([fsr_force_from_counts(counts[:, i] + 0.5, c)
                                        for i, c in enumerate(calibration[role])])
                assert ((low - 1e-9 <= expected) & (expected <= high + 1e-9)).all()
                assert fsr.params.noise_counts == 0.0
        weight = truth.body_weight_n
        assert weight == pytest.approx(82.0 * STANDARD_GRAVITY)


def test_frames_that_are_not_commands_are_acked_unsupported_like_the_firmware() -> None:
    with VirtualInsoleBoard("left", ramp_counts(8, 1000), rate_hz=100) as board:
        host = Host(board.port)
        try:
            data = p.Data(0xFF, 41, 0, (1, 2, 3), 2)  # a board-to-host message sent to a board
            body = p.HEADER.pack(0x7E, 0xFF, 42, 0)  # a type protocol v1 does not define
            unknown = p.cobs.encode(body + p.CRC.pack(p.crc16(body))) + b"\x00"
            host.serial_port.write(p.encode(data) + unknown)
            deadline = time.monotonic() + 2.0
            acks: list[p.Ack] = []
            while len(acks) < 2 and time.monotonic() < deadline:
                host.pump(0.05)
                acks = [m for _, m in host.received if isinstance(m, p.Ack)]
            assert sorted((a.command_seq, a.command, a.result) for a in acks) == [
                (41, p.MessageType.DATA, p.AckResult.UNSUPPORTED),
                (42, 0x7E, p.AckResult.UNSUPPORTED)]
        finally:
            host.close()
