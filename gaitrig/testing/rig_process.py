"""`rig serve --simulate` as a real process on a free port, stopped with Ctrl-C (SIGINT)."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from gaitrig.testing import rig_api
from gaitrig.testing.server import ROOT, free_port

RIG = [sys.executable, "-m", "gaitrig.cli.main"]


@contextmanager
def rig_serve(tmp_path: Path, *args: str) -> Iterator[tuple[int, list[str]]]:
    """A real `rig serve --simulate` on a free port; yields the port and its output so far.

    The output is read up to the banner ("Therapist console"); on leaving, the process gets
    SIGINT and must exit with status 0 (a clean shutdown), its remaining output appended.
    """
    port = free_port()
    env = {**os.environ, "GAITRIG_DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT),
           "PYTHONUNBUFFERED": "1"}
    rig_api.ensure_account_for(env)  # the account gaitrig.testing.rig_api logs in with
    process = subprocess.Popen([*RIG, "serve", "--simulate", "--port", str(port), *args],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    output: list[str] = []
    try:
        assert process.stdout is not None
        while not any("Therapist console" in line for line in output):
            line = process.stdout.readline()
            assert line, f"rig serve exited early:\n{''.join(output)}"
            output.append(line)
        yield port, output
    finally:
        rig_api.forget(f"http://127.0.0.1:{port}")
        rig_api.forget(f"https://127.0.0.1:{port}")
        output.extend(stop(process, signal.SIGINT, timeout_s=20).splitlines(keepends=True))
    assert process.returncode == 0, f"rig serve did not shut down cleanly on Ctrl-C:\n" \
        f"{''.join(output)}"


def stop(process: subprocess.Popen[Any], sig: int = signal.SIGTERM, timeout_s: float = 30
         ) -> str:
    """Send ``sig`` to ``process``, wait ``timeout_s`` (s) for it to exit (then kill it); the
    rest of its output (piped stdout), or "" when it was not piped."""
    process.send_signal(sig)
    try:
        return process.communicate(timeout=timeout_s)[0] or ""
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate()[0] or ""


def wait_healthy(url: str, process: subprocess.Popen[Any] | None = None, *,
                 boards: int | None = None, verify: ssl.SSLContext | bool = True,
                 timeout_s: float = 120) -> dict[str, Any]:
    """Poll ``url`` + ``/api/health`` until it answers 200 (with ``boards`` boards connected, when
    given) and return the answer; fail when ``process`` exits first, or after ``timeout_s`` (s)."""
    deadline = time.monotonic() + timeout_s
    while True:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"{url}: the server exited:\n{process.communicate()[0]}")
        try:
            answer = httpx.get(url + "/api/health", verify=verify, timeout=5)
            health: dict[str, Any] = answer.json()
            if answer.status_code == 200 and (boards is None
                                              or health["boards_connected"] == boards):
                return health
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, \
            f"{url} was not healthy (boards: {boards}) within {timeout_s} s"
        time.sleep(0.3)
