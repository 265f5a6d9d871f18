"""End to end: virtual boards -> ptys -> `rig serve` -> /ws/live -> websocket clients.

Three processes: this one runs the virtual rig (boards writing real frames into ptys, each DATA
frame's hand-over time stamped with the host monotonic clock, ``VirtualBoard.written_at_s``);
the server is ``python -m gaitrig.cli.main serve --serial PTY PTY PTY`` (the real command, pinned to
one core); a third process (:mod:`benchmarks.ws_clients`) holds the websocket clients and records
when each update arrives and which insole frames it names (``frame_seq``). CLOCK_MONOTONIC is
shared between processes on Linux, so arrival minus write time is the latency.

Two latencies per update and frame:

* **display latency**: for every insole frame an update names as its newest, arrival of the
  first update naming it minus the frame's write time. This is how old what the screen shows is.
* **every-frame latency**: for every insole frame written, arrival of the first update that
  includes it (newest seq >= its seq) minus its write time. With a display rate of 60
  updates/s this includes waiting for the next update (0-16.7 ms by design).

Server CPU (% of one core: user + system time of the server process over wall time) and its RSS
are read with psutil. Frames lost are the decoder's sequence-gap counts (``/api/devices``).

The baseline in the same run is the same pipeline without batching or conflation: a block per
arrival (``benchmarks/block_schedules.py`` with 0) and a JSON update per block to every client, up
to 1000 per second (``GAITRIG_LIVE_UPDATE_HZ=1000``).

The rate sweep raises the insole rate (both boards) until the host drops frames. The firmware's
and the settings' limit is 1000 Hz; above it the benchmark uses :class:`FixedRateInsoleBoard`, a
virtual board that keeps the rate the benchmark gave it (it ACKs the host's SET_RATE without
obeying it). The real serial link could not carry that: at 1 Mbaud (8N1, 100,000 bytes/s) and 29
bytes per 8-channel insole frame a board's link carries at most 3,448 frames/s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
import psutil

from gaitrig.drivers import protocol as p
from gaitrig.processing.layouts import RigLayout
from gaitrig.sim.boards import VirtualBoard, VirtualInsoleBoard
from gaitrig.sim.rig import VirtualRig
from gaitrig.testing import rig_api
from gaitrig.testing.rig_process import stop
from gaitrig.testing.server import ROOT, free_port

INSOLES = ("insole_left", "insole_right")
CLIENT_COUNTS = (1, 10, 50)
SWEEP_RATES_HZ = (1000, 2000, 3000, 4000, 6000, 8000, 10_000, 12_000, 16_000, 20_000, 25_000)
#: The insole frame on the wire: 8 header + 1 width + 8 x 2 values + 2 CRC, + COBS 1 + delimiter 1.
INSOLE_FRAME_BYTES = 29
SERIAL_BYTES_PER_S = 1_000_000 // 10  # 1 Mbaud, 8N1: 10 bits a byte
WARM_UP_S = 1.0
CLIENTS_PER_PROCESS = 10
SEQ_SLOTS = p.U16


class FixedRateInsoleBoard(VirtualInsoleBoard):
    """Benchmark only: an insole board at any rate up to 100 kHz that keeps it (SET_RATE is
    acknowledged and ignored), so the host can be driven beyond the firmware's 1000 Hz."""

    @classmethod
    def rate_is_valid(cls, rate_hz: int) -> bool:
        return 1 <= rate_hz <= 100_000

    def hello(self) -> p.Hello:
        """Declares the protocol's highest insole rate (1000 Hz, what the host accepts of a
        HELLO) while streaming at its own: the frames' clock steps tell the real rate."""
        hello = super().hello()
        return replace(hello, sample_rate_hz=min(hello.sample_rate_hz, 1000))

    def _obey(self, command: p.Command) -> None:
        if command.command != p.MessageType.CMD_SET_RATE:
            super()._obey(command)
            return
        self._send(p.Ack(self.device_id, self._seq, self.device_time_us(self._clock()),
                         command.command, command.seq, p.AckResult.OK))


def make_rig(insole_rate_hz: int) -> VirtualRig:
    layout = RigLayout.load(8, 42)
    rig = VirtualRig(insole_positions_mm={"left": layout.left.positions_mm,
                                          "right": layout.right.positions_mm},
                     insole_rate_hz=min(insole_rate_hz, 1000))
    if insole_rate_hz > 1000:
        for side in ("left", "right"):
            old: VirtualInsoleBoard = getattr(rig, f"insole_{side}")
            old.close()
            setattr(rig, f"insole_{side}", FixedRateInsoleBoard(
                side, rig._insole_reader(side), rate_hz=insole_rate_hz,
                clock_offset_us=old.clock_offset_us, drift_ppm=old.drift_ppm,
                boot_s=rig.start_s))
    return rig


@dataclass
class Server:
    """``rig serve --serial ...`` as a child process on one core."""

    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    @property
    def ps(self) -> psutil.Process:
        return psutil.Process(self.process.pid)

    def devices(self) -> dict[str, dict[str, Any]]:
        rows = rig_api.get(self.url + "/api/devices", timeout=10).json()
        return {row["role"]: row for row in rows if row["role"]}


@contextmanager
def serve(rig: VirtualRig, env: dict[str, str], workdir: Path, one_core: bool = False
          ) -> Iterator[Server]:
    """The server on the rig's ports; ``one_core``: pinned to the last core, and this process
    (boards) and the clients it starts to the others."""
    port = free_port()
    log_path = workdir / f"server-{port}.log"
    env = dict(env)
    block_s = env.pop(BLOCK_S, None)
    full_env = {**os.environ, "GAITRIG_DATA_DIR": str(workdir), "GAITRIG_RIG_ID": "bench",
                "PYTHONUNBUFFERED": "1", **env}
    entry = (["-m", "gaitrig.cli.main"] if block_s is None
             else ["-m", "benchmarks.block_schedules", block_s])
    rig_api.ensure_account_for(full_env)  # the benchmark logs in and watches as a display
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, *entry, "serve", "--port", str(port), "--serial",
             *rig.ports.values()], env=full_env, stdout=log, stderr=subprocess.STDOUT,
            cwd=ROOT)
    server = Server(process, f"http://127.0.0.1:{port}", log_path)
    cores = sorted(psutil.Process().cpu_affinity() or [0])
    try:
        if one_core and len(cores) > 1:
            server.ps.cpu_affinity([cores[-1]])
            psutil.Process().cpu_affinity(cores[:-1])
        wait_until_streaming(server)
        yield server
    finally:
        stop(process, timeout_s=15)
        psutil.Process().cpu_affinity(cores)


def wait_until_streaming(server: Server, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited: {server.log_path.read_text()[-2000:]}")
        try:
            live = rig_api.get(server.url + "/api/live", timeout=2)
            health = httpx.get(server.url + "/api/health", timeout=2).json()
            if (live.status_code == 200 and "left_foot_n" in live.json()
                    and health["boards_connected"] == 3):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not stream within {timeout_s} s: "
                       f"{server.log_path.read_text()[-2000:]}")


@dataclass
class LoadResult:
    """One load: latencies in ms (p50, p99, max, n), CPU in % of one core, RSS in MB."""

    mode: str
    clients: int
    insole_rate_hz: int
    updates_per_client_s: float
    display_ms: dict[str, float]
    every_frame_ms: dict[str, float]
    cpu_pct: float
    rss_mb: float
    frames_lost: int
    frames_sent: int
    frames_received: int
    extra: dict[str, float] = field(default_factory=dict)


def percentiles_ms(samples_s: npt.ArrayLike) -> dict[str, float]:
    """p50, p99, max and mean (ms) of the finite ``samples_s`` (s), and how many there were."""
    samples = np.asarray(samples_s, dtype=np.float64)
    samples = samples[np.isfinite(samples)] * 1e3
    if not len(samples):
        return {"p50": float("nan"), "p99": float("nan"), "max": float("nan"),
                "mean": float("nan"), "n": 0}
    return {"p50": float(np.percentile(samples, 50)), "p99": float(np.percentile(samples, 99)),
            "max": float(samples.max()), "mean": float(samples.mean()), "n": len(samples)}


def write_times_s(board: VirtualBoard, first: int, last: int) -> npt.NDArray[np.float64]:
    """Write time (s) of the frames with unwrapped sequence numbers first..last (NaN: unknown)."""
    return np.array([np.nan if (w := board.written_at_s(k % SEQ_SLOTS)) is None else w
                     for k in range(first, last + 1)])


def unwrap(seq: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Sequence numbers (u16) unwrapped; a step back (an older frame named after a newer one)
    is held at the newest so far, so the result never decreases."""
    steps = (np.diff(seq) + SEQ_SLOTS // 2) % SEQ_SLOTS - SEQ_SLOTS // 2
    unwrapped = np.concatenate([seq[:1], seq[0] + np.cumsum(steps)])
    return np.maximum.accumulate(unwrapped)


def latencies(rig: VirtualRig, clients: list[list[list[float]]], since_s: float
              ) -> dict[str, npt.NDArray[np.float64]]:
    """Latencies (s) over all clients and both insoles: ``display``, ``every_frame``, and the
    display latency split into ``to_built`` (frame written -> update built on the server) and
    ``built_to_arrival`` (update built -> arrived in the client)."""
    parts: dict[str, list[npt.NDArray[np.float64]]] = {
        "display": [], "every_frame": [], "to_built": [], "built_to_arrival": []}
    for rows in clients:
        table = np.array(rows, dtype=np.float64).reshape(-1, 5)
        table = table[table[:, 0] >= since_s]
        for column, role in enumerate(INSOLES, start=1):
            named = table[table[:, column] >= 0]
            if len(named) < 2:
                continue
            arrival, built = named[:, 0], named[:, 3]
            seq = unwrap(named[:, column].astype(np.int64))
            written = write_times_s(rig.boards[role], int(seq[0]), int(seq[-1]))
            first = np.flatnonzero(np.diff(seq, prepend=seq[0] - 1) > 0)  # first naming of each
            written_first = written[seq[first] - seq[0]]
            parts["display"].append(arrival[first] - written_first)
            parts["to_built"].append(built[first] - written_first)
            parts["built_to_arrival"].append(arrival[first] - built[first])
            frames = np.arange(seq[0] + 1, seq[-1] + 1)
            update = np.searchsorted(seq, frames, side="left")
            parts["every_frame"].append(arrival[update] - written[frames - seq[0]])
    return {name: np.concatenate(arrays) if arrays else np.empty(0)
            for name, arrays in parts.items()}


def measure(server: Server, rig: VirtualRig, mode: str, clients: int, duration_s: float,
            insole_rate_hz: int) -> LoadResult:
    token = rig_api.display_url(server.url).split("token=", 1)[1]
    ws_url = server.url.replace("http://", "ws://") + f"/ws/live?token={token}"
    before = server.devices()
    sent_before = {role: rig.boards[role].data_frames_sent for role in INSOLES}
    counted_from_s = time.monotonic()
    # At most CLIENTS_PER_PROCESS clients a process, so that the clients keep up with the server.
    shares = [min(CLIENTS_PER_PROCESS, clients - i) for i in range(0, clients, CLIENTS_PER_PROCESS)]
    runners = [subprocess.Popen([sys.executable, "-m", "benchmarks.ws_clients", ws_url,
                                 str(share), str(duration_s)], stdout=subprocess.PIPE, text=True)
               for share in shares]
    started_s = time.monotonic()
    time.sleep(WARM_UP_S)
    ps = server.ps
    cpu0, wall0 = ps.cpu_times(), time.monotonic()
    time.sleep(max(0.5, duration_s - WARM_UP_S - 0.5))
    cpu1, wall1 = ps.cpu_times(), time.monotonic()
    rss_mb = ps.memory_info().rss / 2**20
    rows = [client for runner in runners
            for client in json.loads(runner.communicate(timeout=duration_s + 60)[0])["clients"]]
    after = server.devices()
    sent = sum(rig.boards[role].data_frames_sent - sent_before[role] for role in INSOLES)
    counted_s = time.monotonic() - counted_from_s
    received = sum(after[role]["frames"] - before[role]["frames"] for role in INSOLES)
    lost = sum(after[role]["frames_lost"] - before[role]["frames_lost"] for role in INSOLES)
    found = latencies(rig, rows, started_s + WARM_UP_S)
    cpu_s = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
    counted = [[r for r in c if r[0] >= started_s + WARM_UP_S] for c in rows]
    updates = [len(c) for c in counted]
    last_s = max((r[0] for c in rows for r in c), default=started_s + duration_s)
    span_s = max(last_s - started_s - WARM_UP_S, 1e-3)  # the clients' window, as they saw it
    return LoadResult(mode, clients, insole_rate_hz, float(np.mean(updates)) / span_s,
                      percentiles_ms(found["display"]), percentiles_ms(found["every_frame"]),
                      100.0 * cpu_s / (wall1 - wall0), rss_mb, lost, sent, received,
                      {"board_rate_hz": sent / len(INSOLES) / counted_s,
                       "load_1min": os.getloadavg()[0],
                       "updates_lost": float(sum(updates_missed([r[4] for r in c])
                                                 for c in counted)),
                       **{f"{name}_p50_ms": percentiles_ms(found[name])["p50"]
                          for name in ("to_built", "built_to_arrival")}})


def updates_missed(update_seq: list[float]) -> int:
    """States the server published that a client did not receive: the gaps in the updates' seq."""
    steps = np.diff(np.asarray(update_seq, dtype=np.int64))
    return int(np.sum(steps[steps > 1] - 1))


#: Not an environment variable: the block schedule a mode runs the server with
#: (benchmarks/block_schedules.py), taken out of the environment before the server starts.
BLOCK_S = "block schedule (s)"
MODES: dict[str, dict[str, str]] = {
    "batched (default)": {},
    "batched, GIL switch 0.5 ms": {"GAITRIG_GIL_SWITCH_INTERVAL_S": "0.0005"},
    "batched, 250 updates/s": {"GAITRIG_LIVE_UPDATE_HZ": "250"},
    "as before issue 8 (2 ms blocks, deflate)": {BLOCK_S: "0.002",
                                                 "GAITRIG_LIVE_COMPRESSION": "1"},
    "baseline: JSON per arrival, no batching": {BLOCK_S: "0",
                                                "GAITRIG_LIVE_UPDATE_HZ": "1000"},
}


def run_loads(duration_s: float = 10.0, client_counts: tuple[int, ...] = CLIENT_COUNTS,
              modes: dict[str, dict[str, str]] | None = None) -> list[LoadResult]:
    results = []
    with tempfile.TemporaryDirectory() as tmp, make_rig(1000) as rig:
        for mode, env in (modes or MODES).items():
            with serve(rig, env, Path(tmp)) as server:
                for clients in client_counts:
                    results.append(measure(server, rig, mode, clients, duration_s, 1000))
    return results


def sweep(duration_s: float = 5.0, rates_hz: tuple[int, ...] = SWEEP_RATES_HZ,
          one_core: bool = False, attempts: int = 2) -> list[LoadResult]:
    """Raise the insole rate until the host drops frames (or cannot keep up); one client.

    A rate counts as sustained when one of ``attempts`` runs is clean (a shared machine can
    starve any process for long enough to overflow a pty once). ``one_core`` pins the server to
    one core (on a shared 2-core machine that measures the neighbours' load as much as ours).
    """
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for rate in rates_hz:
            for attempt in range(1, attempts + 1):
                with make_rig(rate) as rig, serve(rig, {}, Path(tmp), one_core) as server:
                    result = measure(server, rig, "sweep", 1, duration_s, rate)
                result.extra["attempt"] = attempt
                results.append(result)
                if sustained(result):
                    break
            if not sustained(results[-1]):
                break
    return results


def sustained(result: LoadResult) -> bool:
    """No frame lost, every frame sent was received, and the boards really ran at the rate."""
    return (result.frames_lost == 0 and result.frames_received >= 0.99 * result.frames_sent
            and result.extra.get("board_rate_hz", result.insole_rate_hz)
            >= 0.95 * result.insole_rate_hz)


def _ms(stats: dict[str, float]) -> str:
    return f"{stats['p50']:.2f} / {stats['p99']:.2f} / {stats['max']:.1f}"


def loads_markdown(results: list[LoadResult]) -> str:
    lines = ["| pipeline | clients | updates/s per client | display latency p50 / p99 / max "
             "(ms) | every-frame latency p50 / p99 / max (ms) | server CPU (% of a core) | "
             "RSS (MB) | frames lost | p50 written -> built / built -> arrived (ms) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r.mode} | {r.clients} | {r.updates_per_client_s:.0f} | "
                     f"{_ms(r.display_ms)} | {_ms(r.every_frame_ms)} | {r.cpu_pct:.1f} | "
                     f"{r.rss_mb:.0f} | {r.frames_lost} | {r.extra['to_built_p50_ms']:.2f} / "
                     f"{r.extra['built_to_arrival_p50_ms']:.2f} |")
    return "\n".join([*lines, "", machine_load(results)])


def machine_load(results: list[LoadResult]) -> str:
    loads = [r.extra["load_1min"] for r in results]
    return (f"Machine load during these runs (1-minute load average, {os.cpu_count()} cores, "
            f"shared with other work): {min(loads):.1f} to {max(loads):.1f}.")


def sweep_markdown(results: list[LoadResult]) -> str:
    lines = ["| insole rate (Hz, each board) | attempt | boards achieved (Hz) | frames received "
             "/ sent | frames lost | server CPU (% of a core) | display latency p50 / p99 (ms) | "
             "sustained |", "|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        lines.append(f"| {r.insole_rate_hz} | {r.extra['attempt']:.0f} | "
                     f"{r.extra['board_rate_hz']:.0f} | "
                     f"{r.frames_received} / {r.frames_sent} | {r.frames_lost} | "
                     f"{r.cpu_pct:.1f} | {r.display_ms['p50']:.2f} / {r.display_ms['p99']:.2f} | "
                     f"{'yes' if sustained(r) else 'no'} |")
    best = max((r.insole_rate_hz for r in results if sustained(r)), default=0)
    clean = [r for r in results if sustained(r)]
    if clean:  # CPU per insole frame at the highest clean rate, extrapolated to one whole core
        top = max(clean, key=lambda r: r.insole_rate_hz)
        lines.append(f"\nAt {top.insole_rate_hz} Hz the server used {top.cpu_pct:.1f} % of a "
                     f"core: one whole core would carry about "
                     f"{top.insole_rate_hz * 100 / top.cpu_pct:,.0f} Hz per board if the cost "
                     "stayed linear (an extrapolation, not a measurement).")
    lines.append(f"\nHighest insole rate sustained without dropping frames: {best} Hz per "
                 f"board ({2 * best} frames/s of insole data). For scale: a 1 Mbaud link "
                 f"carries at most {SERIAL_BYTES_PER_S // INSOLE_FRAME_BYTES} insole frames/s.")
    return "\n".join([*lines, "", machine_load(results)])
