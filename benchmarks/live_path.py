"""The host's per-frame work, now and before issue 8, interleaved in one process.

The baseline is the same module at :data:`BEFORE` (the commit before the live-path fixes), read
with ``git show`` and imported under another name: the wire decoder (``drivers/protocol.py``) on
20,000 insole frames read two at a time (a 2 ms USB burst at 1 kHz), and the frame collector
(``rig/timeline.py``) taking both insoles' frames and one block per 16.7 ms live update. Five
alternating rounds; the medians are reported. Before timing, both decoders must return the same
frames from the same bytes.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from gaitrig.drivers import protocol
from gaitrig.rig.live import timeline

BEFORE = "8835892"
ROOT = Path(__file__).resolve().parent.parent
FRAMES = 20_000
ROUNDS = 5


def module_at(commit: str, path: str, name: str, folder: Path) -> ModuleType:
    """The file ``path`` as it was at ``commit``, imported as module ``name``."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{commit}:{path}"],
                            capture_output=True, text=True)
    if source.returncode != 0:
        raise RuntimeError(f"cannot read {path} at {commit} (needs the git history): "
                           f"{source.stderr.strip()}")
    file = folder / f"{name}.py"
    file.write_text(source.stdout)
    spec = importlib.util.spec_from_file_location(name, file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def decode_us_per_frame(module: Any, bursts: list[bytes]) -> float:
    decoder = module.Decoder()
    start = time.perf_counter()
    for burst in bursts:
        decoder.feed(burst)
    return (time.perf_counter() - start) / FRAMES * 1e6


def collect_us_per_frame(module: Any, blocks: int = 1000, per_block: int = 17) -> float:
    """Two insoles at 1 kHz, one block per 60 Hz update (~17 frames of each)."""
    channels = {"insole_left": 8, "insole_right": 8, "bars": 4}
    collector = module.FrameCollector(channels, {r: np.zeros(n) for r, n in channels.items()})
    values = tuple(range(8))
    start = time.perf_counter()
    for block in range(blocks):
        for k in range(per_block):
            t_s = block * 0.0167 + k * 1e-3
            collector.add("insole_left", t_s, k, k, values)
            collector.add("insole_right", t_s, k, k, values)
        collector.take_block()
    return (time.perf_counter() - start) / (blocks * per_block * 2) * 1e6


def run(rounds: int = ROUNDS) -> dict[str, float]:
    stream = b"".join(protocol.encode(protocol.Data(2, i % protocol.U16, 1000 * i,
                                                    tuple(range(100, 108)), 2))
                      for i in range(FRAMES))
    size = len(protocol.encode(protocol.Data(2, 0, 0, tuple(range(8)), 2)))
    bursts = [stream[i:i + 2 * size] for i in range(0, len(stream), 2 * size)]
    with tempfile.TemporaryDirectory() as folder:
        old_protocol = module_at(BEFORE, "drivers/protocol.py", "protocol_before", Path(folder))
        old_timeline = module_at(BEFORE, "rig/timeline.py", "timeline_before", Path(folder))
        decoders: list[Any] = [old_protocol.Decoder(), protocol.Decoder()]
        same = [[(m.seq, m.timestamp_us, m.values) for b in bursts for m in decoder.feed(b)]
                for decoder in decoders]
        if same[0] != same[1] or len(same[1]) != FRAMES:
            raise AssertionError("the decoders before and now disagree on the same bytes")
        times: dict[str, list[float]] = {k: [] for k in ("decode_before", "decode_now",
                                                         "collect_before", "collect_now")}
        for _ in range(rounds):
            times["decode_before"].append(decode_us_per_frame(old_protocol, bursts))
            times["decode_now"].append(decode_us_per_frame(protocol, bursts))
            times["collect_before"].append(collect_us_per_frame(old_timeline))
            times["collect_now"].append(collect_us_per_frame(timeline))
    return {name: float(np.median(values)) for name, values in times.items()}


def markdown(result: dict[str, float]) -> str:
    rows = ["| per frame | before issue 8 (µs) | now (µs) | speed-up |", "|---|---:|---:|---:|"]
    for label, key in (("wire decoder (`Decoder.feed`)", "decode"),
                       ("frame collector (`add` + `take_block`)", "collect")):
        before, now = result[f"{key}_before"], result[f"{key}_now"]
        rows.append(f"| {label} | {before:.2f} | {now:.2f} | {before / now:.1f}x |")
    return "\n".join(rows)
