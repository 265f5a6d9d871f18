"""The serial link on real pseudo-terminals: handshake, streaming, clear errors, reconnect."""

from __future__ import annotations

import itertools
import os
import threading
import time
import tty
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from gaitrig.drivers import protocol as p
from gaitrig.drivers.serial_link import BoardLink, HandshakeError, Received
from gaitrig.sim.boards import VirtualInsoleBoard
from gaitrig.testing.links import LinkReader


def constant_counts(value: int, channels: int = 8):  # type: ignore[no-untyped-def]
    def read(t_s: np.ndarray) -> np.ndarray:
        return np.full((len(t_s), channels), value, dtype=np.int64)
    return read


class Inbox:
    """Collects the DATA a link's polls return (from a LinkReader's thread, or ``take``)."""

    def __init__(self) -> None:
        self.data: list[p.Data] = []
        self.lock = threading.Lock()

    def __call__(self, link: BoardLink, message: p.Message, host_time_s: float) -> None:
        if isinstance(message, p.Data):
            with self.lock:
                self.data.append(message)

    def take(self, link: BoardLink, received: list[Received]) -> list[Received]:
        """What one poll returned, collected; returned as it was."""
        for message, host_time_s in received:
            self(link, message, host_time_s)
        return received

    def count(self) -> int:
        with self.lock:
            return len(self.data)

    def wait_for(self, n: int, timeout_s: float = 3.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while self.count() < n:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True


@pytest.fixture
def board() -> Iterator[VirtualInsoleBoard]:
    with VirtualInsoleBoard("right", constant_counts(321), rate_hz=200) as b:
        yield b  # type: ignore[misc]


def test_handshake_sets_rate_and_streams(board: VirtualInsoleBoard) -> None:
    inbox = Inbox()
    link = BoardLink(board.port, sample_rates_hz={p.BoardRole.INSOLE_RIGHT: 500})
    reader = LinkReader([link], inbox).start()
    try:
        hello = link.open()
        assert hello.role == p.BoardRole.INSOLE_RIGHT and hello.channel_count == 8
        assert hello.sample_rate_hz == 500 and board.rate_hz == 500
        assert inbox.wait_for(250)
        assert all(m.values == (321,) * 8 for m in inbox.data)
        seqs = [m.seq for m in inbox.data]
        assert all((b - a) % p.U16 == 1 for a, b in itertools.pairwise(seqs))
        status = link.status()
        assert status.connected and status.role == "insole_right" and status.reconnects == 0
        assert status.counters["crc_errors"] == 0 and status.last_frame_age_s is not None
        assert link.command(p.MessageType.CMD_SET_RATE, 5000).result == (
            p.AckResult.INVALID_ARGUMENT)
    finally:
        reader.stop()
        link.close()
    time.sleep(0.1)
    assert not board.streaming, "closing the link stops the board's stream"


def test_a_link_reads_only_when_polled_and_reconnects_after_unplug(tmp_path: Path) -> None:
    """After the handshake no thread reads the port; each poll returns everything that arrived
    since the last one, in order; an unplug found by a poll is reconnected by the supervisor,
    and polling goes on."""
    stable = tmp_path / "gaitrig-insole-right"
    first = VirtualInsoleBoard("right", constant_counts(100), rate_hz=500)
    first.power_on()
    stable.symlink_to(first.port)
    inbox = Inbox()
    link = BoardLink(str(stable))
    second = None
    try:
        link.open()
        assert not any(t.name == f"reader-{link.name}" and t.is_alive()
                       for t in threading.enumerate()), "a streaming link has no reader thread"
        inbox.take(link, link.poll())  # what the handshake's thread read after START
        before = inbox.count()
        time.sleep(0.5)
        assert inbox.count() == before, "nothing is read between polls"
        # 0.5 s at 500 Hz, 7 KB: all of it in one poll (one read returns at most 4 KiB)
        assert len(inbox.take(link, link.poll())) >= 225
        assert inbox.count() >= before + 225
        time.sleep(0.02)
        inbox.take(link, link.poll())  # the next goes on where the last ended: none twice or lost
        seqs = [m.seq for m in inbox.data]
        assert all((b - a) % p.U16 == 1 for a, b in itertools.pairwise(seqs))
        first.unplug()
        stable.unlink()
        deadline = time.monotonic() + 1.0
        while link.connected:
            assert time.monotonic() < deadline, "a poll did not notice the unplug"
            inbox.take(link, link.poll())
            time.sleep(0.01)
        assert link.last_error is not None and str(stable) in link.last_error
        second = VirtualInsoleBoard("right", constant_counts(200), rate_hz=500)
        second.power_on()
        plugged_at = time.monotonic()
        stable.symlink_to(second.port)
        while not (inbox.data[-1].values[0] == 200 and link.reconnects == 1):
            assert time.monotonic() - plugged_at < 2.0, "no reconnect within 2 s"
            inbox.take(link, link.poll())
            time.sleep(0.01)
    finally:
        link.close()
        first.close()
        if second is not None:
            second.close()


def test_port_that_does_not_exist_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(HandshakeError, match=r"cannot open .*ttyNOPE"):
        BoardLink(str(tmp_path / "ttyNOPE")).open()


def test_silent_port_is_a_clear_error() -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        started = time.monotonic()
        with pytest.raises(HandshakeError, match=r"no HELLO .* within 0\.3 s"):
            BoardLink(os.ttyname(slave), handshake_timeout_s=0.3).open()
        assert time.monotonic() - started < 2.0
    finally:
        os.close(master)
        os.close(slave)


def test_reconnects_within_two_seconds_after_unplug(tmp_path: Path) -> None:
    """The board's port vanishes and comes back (a udev-style stable name pointing at it)."""
    stable = tmp_path / "gaitrig-insole-right"
    first = VirtualInsoleBoard("right", constant_counts(100), rate_hz=200)
    first.power_on()
    stable.symlink_to(first.port)
    inbox = Inbox()
    link = BoardLink(str(stable))
    reader = LinkReader([link], inbox).start()
    second = None
    try:
        link.open()
        assert inbox.wait_for(20)
        first.unplug()
        stable.unlink()
        time.sleep(0.3)
        assert not link.connected
        assert link.last_error is not None and str(stable) in link.last_error
        second = VirtualInsoleBoard("right", constant_counts(200), rate_hz=200)
        second.power_on()
        plugged_at = time.monotonic()
        stable.symlink_to(second.port)
        while not (link.connected and inbox.data[-1].values[0] == 200):
            assert time.monotonic() - plugged_at < 2.0, "no reconnect within 2 s"
            time.sleep(0.01)
        assert link.reconnects == 1
    finally:
        reader.stop()
        link.close()
        first.close()
        if second is not None:
            second.close()


def test_discovery_finds_boards_and_passes_over_other_ports() -> None:
    from serial.tools.list_ports_common import ListPortInfo

    from gaitrig.drivers.discovery import candidate_ports, discover

    uno = ListPortInfo("/dev/ttyACM7")
    uno.vid, uno.pid = 0x2341, 0x0043
    modem = ListPortInfo("/dev/ttyUSB3")
    modem.vid, modem.pid = 0x1234, 0x5678
    assert candidate_ports([modem, uno]) == ["/dev/ttyACM7"]

    master, slave = os.openpty()  # a port where nothing answers
    tty.setraw(slave)
    with VirtualInsoleBoard("left", constant_counts(0)) as left:
        found = discover([os.ttyname(slave), left.port], timeout_s=0.3)
        assert [(f.port, f.role) for f in found] == [(left.port, "insole_left")]
        assert not left.streaming, "discovery only asks who is there; it does not start streams"
    os.close(master)
    os.close(slave)


# -- HELLO validation on a real pty (issue 13) -------------------------------------------------

def test_a_board_whose_hello_is_outside_the_protocol_is_refused_by_name() -> None:
    """Something on the port answers IDENTIFY with a HELLO at 2 kHz: not a v1 insole board."""
    master, slave = os.openpty()
    tty.setraw(slave)
    tty.setraw(master)
    stop = threading.Event()
    bad = p.Hello(2, 0, 0, p.BoardRole.INSOLE_LEFT, (1, 0, 0), 2000, 9, tuple(range(8)))

    def answer() -> None:
        while not stop.is_set():
            os.write(master, p.encode(bad))
            stop.wait(0.05)

    writer = threading.Thread(target=answer, daemon=True)
    writer.start()
    link = BoardLink(os.ttyname(slave), handshake_timeout_s=0.5)
    try:
        with pytest.raises(HandshakeError, match=r"HELLO refused: .*1-1000 Hz.*2000 Hz"):
            link.open()
        assert link.decoder.counters.malformed_frames >= 1 and link.hello is None
    finally:
        stop.set()
        writer.join(1)
        link.close()
        os.close(master)
        os.close(slave)


def test_data_frames_with_other_channels_than_the_hello_are_counted_and_dropped(
        board: VirtualInsoleBoard) -> None:
    inbox = Inbox()
    link = BoardLink(board.port)
    reader = LinkReader([link], inbox).start()
    try:
        hello = link.open()
        assert hello.channel_count == 8 and inbox.wait_for(50)
        # a board that sends 7 channels after declaring 8 (firmware bug, half-flashed board)
        for seq in (60000, 60002, 60004):
            board.inject(p.encode(p.Data(hello.device_id, seq, 0, (5,) * 7)) +
                         p.encode(p.Data(hello.device_id, seq + 1, 0, (5,) * 9)))
        deadline = time.monotonic() + 3
        while link.status().counters["malformed_frames"] < 6 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert link.status().counters["malformed_frames"] == 6
        count = inbox.count()
        assert inbox.wait_for(count + 50)  # the good frames keep coming
        with inbox.lock:
            assert all(len(m.values) == 8 for m in inbox.data)  # none of the bad ones used
    finally:
        reader.stop()
        link.close()
