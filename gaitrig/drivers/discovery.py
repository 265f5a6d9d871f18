"""Find the rig's boards: USB serial ports with a known VID/PID that answer IDENTIFY with HELLO."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from serial.tools import list_ports
from serial.tools.list_ports_common import ListPortInfo

from gaitrig.drivers import protocol as p
from gaitrig.drivers.serial_link import BoardLink, HandshakeError

#: USB (vendor id, product id) pairs of the boards we ship or that clinics commonly use.
KNOWN_USB_IDS: dict[tuple[int, int], str] = {
    (0x2341, 0x0043): "Arduino Uno R3",
    (0x2341, 0x0001): "Arduino Uno",
    (0x2341, 0x0243): "Arduino Genuino Uno",
    (0x2A03, 0x0043): "Arduino Uno (arduino.org)",
    (0x1A86, 0x7523): "CH340 USB serial (Nano clones)",
    (0x0403, 0x6001): "FTDI FT232R (Nano)",
}


@dataclass(frozen=True, slots=True)
class FoundBoard:
    port: str
    hello: p.Hello

    @property
    def role(self) -> str:
        return self.hello.role.name.lower()


def candidate_ports(ports: Iterable[ListPortInfo] | None = None) -> list[str]:
    """Serial ports whose USB VID/PID is one of our boards', in a stable order."""
    infos = list_ports.comports() if ports is None else ports
    return sorted(info.device for info in infos if (info.vid, info.pid) in KNOWN_USB_IDS)


def identify(port: str, timeout_s: float = 1.0) -> p.Hello | None:
    """Ask ``port`` who it is (IDENTIFY -> HELLO); None when no gaitrig board answers."""
    link = BoardLink(port, handshake_timeout_s=timeout_s)
    try:
        return link.identify()
    except HandshakeError:
        return None


def discover(ports: Iterable[str] | None = None, timeout_s: float = 1.0) -> list[FoundBoard]:
    """The boards on ``ports`` (default: USB ports with a known VID/PID) that answer HELLO."""
    found = []
    for port in candidate_ports() if ports is None else ports:
        hello = identify(port, timeout_s)
        if hello is not None:
            found.append(FoundBoard(port, hello))
    return found
