"""Soak: 50 websocket clients and both virtual boards at full rate for 10 minutes.

One ``rig serve`` (the real command, as in :mod:`benchmarks.end_to_end`) on the virtual rig's
ptys, insoles at 1000 Hz and bars at 80 Hz, for ``duration_s`` of measuring; the 50 clients
(:mod:`benchmarks.ws_clients`, 10 per process) connect in rounds of ``round_s`` back to back. A
round is shorter than the 65.5 s after which the boards' 16-bit frame numbers, and the record of
when each frame was written, wrap; so every round's latencies are measured like the end-to-end
benchmark's, and reconnecting 50 clients every round also exercises connection set-up and
teardown.

Per round: updates received per client and updates lost (gaps in each update's ``seq``: states
the server published that a client did not get), display latency, server CPU and RSS. The
baseline in the same run is the first round: RSS growth and the latency ratio are against it.
"""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path

from benchmarks.end_to_end import LoadResult, machine_load, make_rig, measure, serve

CLIENTS = 50
DURATION_S = 600.0
ROUND_S = 50.0
#: Issue 7's limit on the server's memory growth over the soak.
RSS_GROWTH_LIMIT_MB = 10.0


def run(duration_s: float = DURATION_S, clients: int = CLIENTS, round_s: float = ROUND_S
        ) -> list[LoadResult]:
    results: list[LoadResult] = []
    with tempfile.TemporaryDirectory() as tmp, make_rig(1000) as rig, \
            serve(rig, {}, Path(tmp)) as server:
        started_s = time.monotonic()
        for _ in range(max(1, math.ceil(duration_s / round_s))):
            result = measure(server, rig, "soak", clients, round_s, 1000)
            result.extra["elapsed_s"] = time.monotonic() - started_s
            results.append(result)
    return results


def markdown(results: list[LoadResult]) -> str:
    lines = ["| round | ends at (min) | updates/s per client | updates lost (all clients) | "
             "display latency p50 / p99 / max (ms) | server CPU (% of a core) | RSS (MB) | "
             "frames lost |", "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for i, r in enumerate(results, start=1):
        lines.append(f"| {i} | {r.extra['elapsed_s'] / 60:.1f} | {r.updates_per_client_s:.1f} | "
                     f"{r.extra['updates_lost']:.0f} | {r.display_ms['p50']:.2f} / "
                     f"{r.display_ms['p99']:.2f} / {r.display_ms['max']:.1f} | {r.cpu_pct:.1f} | "
                     f"{r.rss_mb:.1f} | {r.frames_lost} |")
    first, last = results[0], results[-1]
    growth_mb = last.rss_mb - first.rss_mb
    lost = sum(r.extra["updates_lost"] for r in results)
    received = sum(r.updates_per_client_s * r.clients for r in results)
    lines += [
        "",
        f"{first.clients} clients for {last.extra['elapsed_s'] / 60:.1f} min. Server RSS after "
        f"the first round {first.rss_mb:.1f} MB, after the last {last.rss_mb:.1f} MB: growth "
        f"{growth_mb:+.1f} MB (limit {RSS_GROWTH_LIMIT_MB:.0f} MB: "
        f"{'met' if growth_mb < RSS_GROWTH_LIMIT_MB else 'MISSED'}). Peak RSS "
        f"{max(r.rss_mb for r in results):.1f} MB.",
        f"Updates lost by the clients over the whole soak: {lost:.0f} (about {received:.0f} "
        "updates per second were delivered, summed over clients and rounds).",
        f"Display latency p50 in the last round against the first: {last.display_ms['p50']:.2f} "
        f"/ {first.display_ms['p50']:.2f} ms (ratio "
        f"{last.display_ms['p50'] / first.display_ms['p50']:.2f}); p99 "
        f"{last.display_ms['p99']:.2f} / {first.display_ms['p99']:.2f} ms.",
        "",
        machine_load(results),
    ]
    return "\n".join(lines)
