"""Firmware: the AVR build, the host-compiled unit tests, and hardware in the loop.

The HIL tests run the built firmware in simavr (``firmware/build/gaitsim``): each board's UART is
a pseudo-terminal that the unchanged Python driver, :class:`gaitrig.drivers.serial_link.BoardLink`,
opens exactly as it opens ``/dev/ttyACM0``. The harness drives the insole board's analog inputs with
FSR voltages and emulates the bars board's four HX711 chips on their GPIO pins (one can be
unplugged); what comes out of the driver must be those values, at the requested rate in the board's
own time, with every command acknowledged and nothing lost or damaged on the line.

Missing tools (gcc-avr, simavr, ...) skip these tests with the ``apt-get install`` line to run;
under ``CI=true`` they fail instead.
"""

from __future__ import annotations

import itertools
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gaitrig.drivers import protocol as p
from gaitrig.drivers.serial_link import BoardLink
from gaitrig.testing.links import LinkReader
from gaitrig.testing.server import ROOT, require_tool

pytestmark = pytest.mark.hil

FIRMWARE = ROOT / "firmware"
BUILD = FIRMWARE / "build"
GAITSIM = BUILD / "gaitsim"
APT_PACKAGES = (FIRMWARE / "apt-packages.txt").read_text().split()
INSTALL_HINT = "apt-get install -y " + " ".join(APT_PACKAGES)

#: simavr's ADC (avr_adc.c) converts a voltage as mV * 1023 / Vref (Vref = AVcc = 5000 mV).
ADC_REF_MV = 5000
RATE_TOLERANCE = 0.005  # the board's rate, measured in its own time: within 0.5 %
MAX_JITTER_US = 50.0
#: Generous ACK timeouts: on a busy host the simulation may run slower than real time.
TIMEOUT_S = 5.0


def adc_counts(millivolts: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(min(1023, mv * 1023 // ADC_REF_MV) for mv in millivolts)


def hello_wire_bytes(channels: int) -> int:
    """Length on the wire of a board's HELLO (COBS adds one byte below 254, plus the 0x00)."""
    hello = p.Hello(1, 0, 0, p.BoardRole.BARS, (1, 0, 0), 80, 0, tuple(range(channels)))
    return len(p.encode(hello))


# -- tools and build ---------------------------------------------------------------------------


def _missing_tools() -> list[str]:
    checks = {
        "make": shutil.which("make") is not None,
        "avr-g++ (gcc-avr)": shutil.which("avr-g++") is not None,
        "avr-size (binutils-avr)": shutil.which("avr-size") is not None,
        "avr-libc": Path("/usr/lib/avr/include/avr/io.h").exists(),
        "the Arduino AVR core (arduino-core-avr)":
            Path("/usr/share/arduino/hardware/arduino/avr/cores/arduino/Arduino.h").exists(),
        "g++": shutil.which("g++") is not None,
        "simavr headers (libsimavr-dev)": Path("/usr/include/simavr/sim_avr.h").exists(),
        "simavr parts (libsimavrparts1)": any(
            Path(d, "libsimavrparts.so.1").exists()
            for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib")),
        "libelf (libelf-dev)": Path("/usr/include/gelf.h").exists(),
    }
    return [what for what, ok in checks.items() if not ok]


def _make(*targets: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-C", str(FIRMWARE), "-j2", f"PYTHON={sys.executable}", *targets],
        capture_output=True, text=True, timeout=240, check=False)


@pytest.fixture(scope="session")
def firmware_build() -> str:
    """Builds both sketches and the simulator once; returns make's output (with the sizes)."""
    missing = _missing_tools()
    what = f"the firmware toolchain (missing: {', '.join(missing)})"
    require_tool(not missing, what, INSTALL_HINT)
    result = _make("all", "sim")
    assert result.returncode == 0, f"make -C firmware failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


# -- simulation and recording --------------------------------------------------------------------


def _fields(line: str) -> dict[str, float | str]:
    out: dict[str, float | str] = {}
    for key, value in re.findall(r"(\w+)=(\S+)", line):
        try:
            out[key] = float(value)
        except ValueError:
            out[key] = value
    return out


class Simulation:
    """One board's firmware in gaitsim; its UART is the pseudo-terminal ``self.pty``."""

    def __init__(self, elf: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [str(GAITSIM), *args, str(elf)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, bufsize=1)
        self.lines: queue.Queue[str] = queue.Queue()
        self.exit_fields: dict[str, float | str] | None = None
        threading.Thread(target=self._read, daemon=True, name=f"gaitsim-{elf.stem}").start()
        self.pty = self._expect("PTY", 10.0).split()[2]

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("GAITSIM "):
                self.lines.put(line.strip())

    def _expect(self, kind: str, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                ended = self.proc.poll() is not None and self.proc.stderr is not None
                stderr = self.proc.stderr.read() if ended and self.proc.stderr else ""
                raise AssertionError(
                    f"gaitsim printed no {kind} line within {timeout_s} s {stderr}")
            try:
                line = self.lines.get(timeout=min(remaining, 0.2))
            except queue.Empty:
                continue
            if line.startswith(f"GAITSIM {kind}"):
                return line

    def send(self, event: str) -> None:
        """An event line for the harness, e.g. ``now adc 0 100 ...`` (see sim/gaitsim.c)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(event + "\n")
        self.proc.stdin.flush()

    def stats(self) -> dict[str, float | str]:
        self.send("now stats")
        return _fields(self._expect("STATS", 5.0))

    def close(self) -> dict[str, float | str]:
        """Ends the simulation; returns its GAITSIM EXIT fields (empty if it had died)."""
        if self.exit_fields is None:
            if self.proc.poll() is None:
                self.proc.terminate()
            try:
                self.exit_fields = _fields(self._expect("EXIT", 5.0))
            except AssertionError:
                self.exit_fields = {}
            finally:
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        return self.exit_fields

    def __enter__(self) -> Simulation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class Recorder:
    """Collects every message a BoardLink's polls return (on a LinkReader's thread)."""

    messages: list[p.Message] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, link: BoardLink, message: p.Message, host_time_s: float) -> None:
        with self.lock:
            self.messages.append(message)

    def snapshot(self) -> list[p.Message]:
        with self.lock:
            return list(self.messages)

    def data(self) -> list[p.Data]:
        return [m for m in self.snapshot() if isinstance(m, p.Data)]

    def statuses(self) -> list[p.Status]:
        return [m for m in self.snapshot() if isinstance(m, p.Status)]

    def acks(self) -> list[p.Ack]:
        return [m for m in self.snapshot() if isinstance(m, p.Ack)]


@pytest.fixture
def simulations() -> Iterator[list[Simulation]]:
    started: list[Simulation] = []
    yield started
    for sim in started:
        sim.close()


def wait_booted(sim: Simulation, channels: int) -> None:
    """The board booted stopped: after 0.2 s of its time it has sent one HELLO and nothing else."""
    deadline = time.monotonic() + 5
    stats = sim.stats()
    while float(stats["t_ms"]) < 200 and time.monotonic() < deadline:
        time.sleep(0.05)
        stats = sim.stats()
    assert stats["uart_bytes"] == hello_wire_bytes(channels), stats


def device_rate_hz(frames: list[p.Data]) -> float:
    span_us = (frames[-1].timestamp_us - frames[0].timestamp_us) % p.U32
    return (len(frames) - 1) * 1e6 / span_us


def assert_clean_line(link: BoardLink, recorder: Recorder) -> None:
    counters = link.decoder.counters
    assert counters.crc_errors == 0, counters
    assert counters.malformed_frames == 0, counters
    assert counters.oversize_frames == 0, counters
    assert counters.sequence_gaps == 0 and counters.frames_lost == 0, counters
    assert counters.duplicates == 0, counters
    seqs = [m.seq for m in recorder.snapshot()]
    assert all((b - a) % p.U16 == 1 for a, b in itertools.pairwise(seqs)), seqs[:20]


def assert_acked(recorder: Recorder, command: p.MessageType, result: p.AckResult) -> p.Ack:
    acks = [a for a in recorder.acks() if a.command == command and a.result == result]
    assert acks, f"no {result.name} ACK for {command.name}: {recorder.acks()}"
    return acks[-1]


def assert_sim_healthy(stats: dict[str, float | str], exit_fields: dict[str, float | str]) -> None:
    """``stats`` taken while the driver was still reading, ``exit_fields`` when gaitsim ended."""
    assert exit_fields.get("reason") == "signal", f"gaitsim did not end cleanly: {exit_fields}"
    assert stats["pty_full"] == 0, f"output was lost between simavr and the pty: {stats}"
    # Throttled to wall time: never ahead of the wall clock (it may fall behind on a busy host).
    assert float(exit_fields["t_ms"]) / 1000 <= float(exit_fields["wall_s"]) * 1.02 + 0.02


# -- build and host tests ------------------------------------------------------------------------


def test_firmware_builds_for_the_atmega328p_within_budget(firmware_build: str) -> None:
    sizes = {}
    for line in firmware_build.splitlines():
        match = re.match(r"SIZE (\S+)\.elf\s+flash\s+(\d+) B .*RAM\s+(\d+) B", line)
        if match:
            sizes[match.group(1)] = (int(match.group(2)), int(match.group(3)))
    assert set(sizes) == {"bars", "insole_left", "insole_right"}, firmware_build
    for name, (flash, ram) in sizes.items():
        assert flash <= 30720, f"{name}: {flash} bytes of flash"
        assert ram <= 0.75 * 2048, f"{name}: {ram} bytes of RAM"
        assert (BUILD / f"{name}.elf").stat().st_size > 0
        assert (BUILD / f"{name}.hex").read_text().startswith(":")


def test_host_unit_tests_pass(firmware_build: str) -> None:
    result = _make("host-test")
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert re.search(r"host tests: \d+ run, 0 failed checks", result.stdout), result.stdout


# -- hardware in the loop: insole boards ---------------------------------------------------------

LEFT_MV = (0, 250, 1000, 2000, 2500, 3300, 4000, 5000)  # channel 7 at the 5 V limit: saturated
LEFT_MV_LATER = (1200, 1300, 1400, 1500, 0, 0, 4999, 2000)
RIGHT_MV = (4900, 10, 600, 1234, 2222, 3000, 4444, 100)


def test_two_insole_boards_stream_their_fsr_values_at_their_rates(
        firmware_build: str, simulations: list[Simulation]) -> None:
    """Left at 1000 Hz and right at 250 Hz, simulated at the same time on two ptys."""
    boards = {
        p.BoardRole.INSOLE_LEFT: (BUILD / "insole_left.elf", LEFT_MV, 1000, 2),
        p.BoardRole.INSOLE_RIGHT: (BUILD / "insole_right.elf", RIGHT_MV, 250, 3),
    }
    sims: dict[p.BoardRole, Simulation] = {}
    for role, (elf, mv, _, _) in boards.items():
        sims[role] = Simulation(elf, "-e", "0 adc " + " ".join(map(str, mv)))
        simulations.append(sims[role])
    assert sims[p.BoardRole.INSOLE_LEFT].pty != sims[p.BoardRole.INSOLE_RIGHT].pty
    for sim in sims.values():
        wait_booted(sim, 8)

    links: dict[p.BoardRole, BoardLink] = {}
    recorders: dict[p.BoardRole, Recorder] = {}
    readers: list[LinkReader] = []
    rates = {role: rate for role, (_, _, rate, _) in boards.items()}
    for role, sim in sims.items():
        recorders[role] = Recorder()
        links[role] = BoardLink(sim.pty, name=role.name, sample_rates_hz=rates,
                                handshake_timeout_s=TIMEOUT_S)
        readers.append(LinkReader([links[role]], recorders[role]).start())
        hello = links[role].open()  # IDENTIFY -> HELLO, SET_RATE, START
        assert hello.role == role
        assert hello.device_id == boards[role][3]
        assert hello.channel_map == tuple(range(8))
        assert hello.protocol_version == p.PROTOCOL_VERSION
        assert hello.firmware_version == (1, 0, 0)
    for sim in sims.values():
        sim.send("now stats-reset")  # jitter measured from here on, while streaming
    time.sleep(1.2)
    sims[p.BoardRole.INSOLE_LEFT].send("now adc " + " ".join(map(str, LEFT_MV_LATER)))
    time.sleep(0.5)
    sim_stats = {role: sim.stats() for role, sim in sims.items()}

    left = links[p.BoardRole.INSOLE_LEFT]
    # Commands while streaming: IDENTIFY answers; a rate out of range is refused and changes
    # nothing; a valid SET_RATE restarts the stream at the new rate.
    assert left.command(p.MessageType.CMD_IDENTIFY, 0, TIMEOUT_S).result == p.AckResult.OK
    assert (left.command(p.MessageType.CMD_SET_RATE, 5000, TIMEOUT_S).result
            == p.AckResult.INVALID_ARGUMENT)
    set_100 = left.command(p.MessageType.CMD_SET_RATE, 100, TIMEOUT_S)
    assert set_100.result == p.AckResult.OK
    time.sleep(0.4)
    stop_acks = {role: link.command(p.MessageType.CMD_STOP, 0, TIMEOUT_S)
                 for role, link in links.items()}
    time.sleep(0.15)
    for reader in readers:
        reader.stop()
    for link in links.values():
        link.close()
    exits = {role: sim.close() for role, sim in sims.items()}

    for role, recorder in recorders.items():
        _, mv, rate, _ = boards[role]
        link = links[role]
        assert_sim_healthy(sim_stats[role], exits[role])
        assert_clean_line(link, recorder)
        assert_acked(recorder, p.MessageType.CMD_IDENTIFY, p.AckResult.OK)
        assert_acked(recorder, p.MessageType.CMD_SET_RATE, p.AckResult.OK)
        start = assert_acked(recorder, p.MessageType.CMD_START, p.AckResult.OK)
        stop = stop_acks[role]
        assert stop.result == p.AckResult.OK
        assert all(start.seq < f.seq < stop.seq for f in recorder.data()), "DATA after STOP"
        frames = [f for f in recorder.data()
                  if role != p.BoardRole.INSOLE_LEFT or f.seq < set_100.seq]
        # At least 0.5 s of simulated streaming (about 1.7 s of wall time passed, but simavr
        # falls behind wall time on a loaded machine; that no frame it made was lost is
        # assert_clean_line's check).
        assert len(frames) >= 0.5 * rate, f"{role.name}: {len(frames)} frames"
        assert all(f.value_bytes == 2 and len(f.values) == 8 for f in frames)
        measured = device_rate_hz(frames)
        assert abs(measured - rate) <= RATE_TOLERANCE * rate, f"{role.name}: {measured} Hz"
        stats = sim_stats[role]
        assert abs(float(stats["adc_period_us"]) - 1e6 / rate) <= RATE_TOLERANCE * 1e6 / rate
        assert float(stats["adc_jitter_us"]) < MAX_JITTER_US, stats

    left_frames = recorders[p.BoardRole.INSOLE_LEFT].data()
    at_100 = [f for f in left_frames if f.seq > set_100.seq]
    assert len(at_100) >= 10
    assert abs(device_rate_hz(at_100) - 100) <= RATE_TOLERANCE * 100
    before, after = adc_counts(LEFT_MV), adc_counts(LEFT_MV_LATER)
    assert left_frames[0].values == before
    assert left_frames[-1].values == after
    for c in range(8):
        # Each channel switches over once, from the old count to the new (a scan that straddles
        # the change may carry some channels of each).
        column = [f.values[c] for f in left_frames]
        assert set(column) == {before[c], after[c]}, c
        assert sum(1 for a, b in itertools.pairwise(column) if a != b) == 1, c
    right_values = {f.values for f in recorders[p.BoardRole.INSOLE_RIGHT].data()}
    assert right_values == {adc_counts(RIGHT_MV)}

    # Channel 7 of the left insole sat at 5 V until the change: ADC_SATURATED, at most 10/s.
    left_status = recorders[p.BoardRole.INSOLE_LEFT].statuses()
    assert left_status and all(s.flags == p.StatusFlag.ADC_SATURATED for s in left_status)
    assert all(s.channel_mask == 0x80 for s in left_status)
    gaps = [(b.timestamp_us - a.timestamp_us) % p.U32 for a, b in itertools.pairwise(left_status)]
    assert all(gap >= 100_000 for gap in gaps), gaps
    assert recorders[p.BoardRole.INSOLE_RIGHT].statuses() == []


# -- hardware in the loop: bars board ------------------------------------------------------------

BAR_COUNTS = (100_000, -100_000, 8_388_607, -8_388_608)  # sign extension at both 24-bit limits
BAR_COUNTS_LATER = (1, -2, 3, -4)


def _statuses_between(recorder: Recorder, t0_us: int, t1_us: int) -> list[p.Status]:
    return [s for s in recorder.statuses() if t0_us <= s.timestamp_us < t1_us]


def test_bars_board_reads_four_hx711_and_reports_unplugged_ones(
        firmware_build: str, simulations: list[Simulation]) -> None:
    sim = Simulation(BUILD / "bars.elf", "--unplug", "3",
                     "-e", "0 hx " + " ".join(map(str, BAR_COUNTS)))
    simulations.append(sim)
    wait_booted(sim, 4)
    recorder = Recorder()
    link = BoardLink(sim.pty, name="bars", sample_rates_hz={p.BoardRole.BARS: 80},
                     handshake_timeout_s=TIMEOUT_S)
    reader = LinkReader([link], recorder).start()
    hello = link.open()
    assert hello.role == p.BoardRole.BARS and hello.device_id == 1
    assert hello.channel_map == (0, 1, 2, 3) and hello.sample_rate_hz == 80

    # Phase 1: channel 3 unplugged from power-up.
    time.sleep(0.8)
    t1 = recorder.data()[-1].timestamp_us
    # Phase 2: channel 2 unplugged while streaming, channel 3 plugged in.
    sim.send("now unplug 2")
    sim.send("now plug 3")
    time.sleep(0.8)
    t2 = recorder.data()[-1].timestamp_us
    # Phase 3: all four connected, new readings.
    sim.send("now plug 2")
    sim.send("now hx " + " ".join(map(str, BAR_COUNTS_LATER)))
    time.sleep(0.6)
    t3 = recorder.data()[-1].timestamp_us
    phase_stats = sim.stats()
    # Phase 4: the HX711 has two rates only; SET_RATE 10 restarts the stream with RATE low.
    refused = link.command(p.MessageType.CMD_SET_RATE, 100, TIMEOUT_S)
    assert refused.result == p.AckResult.INVALID_ARGUMENT
    sim.send("now stats-reset")
    set_10 = link.command(p.MessageType.CMD_SET_RATE, 10, TIMEOUT_S)
    assert set_10.result == p.AckResult.OK
    time.sleep(1.35)
    slow_stats = sim.stats()
    stop = link.command(p.MessageType.CMD_STOP, 0, TIMEOUT_S)
    assert stop.result == p.AckResult.OK
    time.sleep(0.15)
    reader.stop()
    link.close()
    exit_fields = sim.close()

    assert_sim_healthy(slow_stats, exit_fields)
    assert_clean_line(link, recorder)
    frames = recorder.data()
    fast = [f for f in frames if f.seq < set_10.seq]
    slow = [f for f in frames if f.seq > set_10.seq]
    assert all(f.seq < stop.seq for f in frames)
    assert all(f.value_bytes == 4 and len(f.values) == 4 for f in frames)
    rate = device_rate_hz(fast)
    assert abs(rate - 80) <= RATE_TOLERANCE * 80, rate
    assert len(slow) >= 5
    rate = device_rate_hz(slow)
    assert abs(rate - 10) <= RATE_TOLERANCE * 10, rate
    assert slow_stats["hx_rate_hz"] == 10 and phase_stats["hx_rate_hz"] == 80

    # Values: exactly the injected counts, sign-extended; an unplugged channel keeps its last value.
    phase1 = [f for f in fast if f.timestamp_us <= t1]
    assert all(f.values[:3] == BAR_COUNTS[:3] for f in phase1)
    assert all(f.values[3] == 0 for f in phase1)  # never read since power-up
    phase2 = [f for f in fast if t1 < f.timestamp_us <= t2]
    assert phase2[-1].values == BAR_COUNTS  # channel 3 read once plugged in
    assert all(f.values[2] == BAR_COUNTS[2] for f in phase2)
    assert fast[-1].values == BAR_COUNTS_LATER
    assert slow[-1].values == BAR_COUNTS_LATER

    # STATUS AMPLIFIER_NOT_READY names the unplugged channels, at most 10 times a second.
    statuses = [s for s in recorder.statuses() if s.seq < set_10.seq]
    assert statuses and all(s.flags == p.StatusFlag.AMPLIFIER_NOT_READY for s in statuses)
    first = [s for s in statuses if s.timestamp_us <= t1]
    assert first and all(s.channel_mask == 0x08 for s in first)
    assert first[0].timestamp_us - fast[0].timestamp_us <= 2 * 12_500 + 1000  # within 2 periods
    second = _statuses_between(recorder, t1 + 200_000, t2)
    assert second and all(s.channel_mask == 0x04 for s in second)
    assert not _statuses_between(recorder, t2 + 200_000, t3 + 1)  # all connected: no STATUS
    gaps = [(b.timestamp_us - a.timestamp_us) % p.U32 for a, b in itertools.pairwise(statuses)]
    assert all(gap >= 100_000 for gap in gaps), gaps
    assert not [s for s in recorder.statuses() if s.seq > set_10.seq]

    # The emulated HX711s saw the datasheet's timing and 25 pulses (channel A, gain 128) per read.
    for stats in (phase_stats, slow_stats):
        for c in range(4):
            for bad in ("bad_gain", "short_high", "short_low", "long_high", "powerdowns",
                        "busy_clocks"):
                assert stats[f"hx{c}_{bad}"] == 0, (c, bad, stats)
    assert all(float(phase_stats[f"hx{c}_reads"]) > 20 for c in range(4)), phase_stats
    # Every conversion of an amplifier that stayed connected was read (none overwritten unread).
    assert phase_stats["hx0_skipped"] == 0 and phase_stats["hx1_skipped"] == 0, phase_stats


def test_gaitsim_refuses_bad_arguments(firmware_build: str) -> None:
    result = subprocess.run([str(GAITSIM), "--unplug", "7", str(BUILD / "bars.elf")],
                            capture_output=True, text=True, timeout=10, check=False)
    assert result.returncode == 2 and "--unplug" in result.stderr
    result = subprocess.run([str(GAITSIM), "-n", "-e", "0 frobnicate", str(BUILD / "bars.elf")],
                            capture_output=True, text=True, timeout=10, check=False)
    assert result.returncode == 2 and "frobnicate" in result.stderr
    assert os.access(GAITSIM, os.X_OK)


def test_forces_injected_in_the_harness_come_out_of_the_pipeline_in_newtons(
        firmware_build: str, simulations: list[Simulation], tmp_path: Path) -> None:
    """All three boards in simavr, read by the rig controller: known forces in, newtons out.

    The harness is given the FSR divider voltages and HX711 readings that known forces produce
    (the virtual rig's sensor physics); the controller, with the boards' nominal calibration,
    must report those forces per foot and per bar.
    """
    import numpy as np

    from gaitrig.rig.live.controller import RigController
    from gaitrig.rig.settings import Settings
    from gaitrig.sim.sensors import FsrChannels, LoadCellChannels

    left_n = np.array([60.0, 45.0, 20.0, 35.0, 30.0, 25.0, 15.0, 10.0])  # 240 N on the left foot
    right_n = np.array([80.0, 70.0, 25.0, 40.0, 45.0, 30.0, 20.0, 10.0])  # 320 N on the right
    post_n = np.array([30.0, 20.0, 45.0, 25.0])  # left bar 50 N, right bar 70 N

    def millivolts(forces: np.ndarray) -> list[int]:
        counts = FsrChannels(8).ideal_counts(forces)
        return [round(float(c) * ADC_REF_MV / 1023) for c in counts]

    hx_counts = np.round(LoadCellChannels().ideal_counts(post_n)).astype(int)
    sims = [Simulation(BUILD / "bars.elf", "-e", "0 hx " + " ".join(map(str, hx_counts))),
            Simulation(BUILD / "insole_left.elf", "-e",
                       "0 adc " + " ".join(map(str, millivolts(left_n)))),
            Simulation(BUILD / "insole_right.elf", "-e",
                       "0 adc " + " ".join(map(str, millivolts(right_n))))]
    simulations.extend(sims)
    settings = Settings(data_dir=tmp_path, serial_ports=[s.pty for s in sims], body_mass_kg=70.0,
                        insole_rate_hz=200)
    controller = RigController(settings)
    controller.start()
    try:
        assert controller.wait_until_streaming(20), controller.device_status()
        time.sleep(0.5)
        state = controller.latest
        assert state is not None
    finally:
        controller.stop()
    roles = {d["role"] for d in state["devices"]}
    assert roles == {"bars", "insole_left", "insole_right"}
    # 10-bit ADC quantisation near mid-scale: well under 2 % of each foot's load.
    assert state["left_foot_n"] == pytest.approx(left_n.sum(), rel=0.02)
    assert state["right_foot_n"] == pytest.approx(right_n.sum(), rel=0.02)
    assert state["left_bar_n"] == pytest.approx(post_n[:2].sum(), abs=0.05)
    assert state["right_bar_n"] == pytest.approx(post_n[2:].sum(), abs=0.05)
    body_weight_n = 70.0 * 9.80665
    assert state["left_foot_pct_bw"] == pytest.approx(100 * left_n.sum() / body_weight_n,
                                                      rel=0.02)
