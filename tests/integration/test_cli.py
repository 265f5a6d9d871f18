"""The `rig` command: help, and `rig serve --simulate` as a real process."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from gaitrig.testing import rig_api
from gaitrig.testing.rig_process import RIG, rig_serve, wait_healthy


def test_help_lists_the_commands() -> None:
    out = subprocess.run([*RIG, "--help"], capture_output=True, text=True, check=True).stdout
    assert "serve" in out and "db" in out
    serve = subprocess.run([*RIG, "serve", "--help"], capture_output=True, text=True,
                           check=True).stdout
    for option in ("--host", "--port", "--simulate", "--serial", "--no-devices"):
        assert option in serve


def test_serve_without_boards_says_what_to_do(tmp_path: Path) -> None:
    env = {**os.environ, "GAITRIG_DATA_DIR": str(tmp_path)}
    result = subprocess.run([*RIG, "serve"], capture_output=True, text=True, env=env)
    assert result.returncode == 2 and "--simulate" in result.stderr


def test_db_upgrade_then_status(tmp_path: Path) -> None:
    env = {**os.environ, "GAITRIG_DATA_DIR": str(tmp_path)}
    out = subprocess.run([*RIG, "db", "upgrade"], capture_output=True, text=True, env=env,
                         check=True).stdout
    from gaitrig.db.schema import head_revision

    assert f"schema revision: {head_revision()} (this program needs {head_revision()})" in out
    assert (tmp_path / "gaitrig.sqlite3").exists()


def test_serve_simulate_prints_urls_and_serves(tmp_path: Path) -> None:
    with rig_serve(tmp_path) as (port, output):
        banner = "".join(output)
        assert f"http://127.0.0.1:{port}/display" in banner
        assert f"http://127.0.0.1:{port}/console" in banner
        wait_healthy(f"http://127.0.0.1:{port}", boards=3)
        page = rig_api.get(f"http://127.0.0.1:{port}/display")
        assert page.status_code == 200 and "<html" in page.text.lower()
        live = rig_api.get(f"http://127.0.0.1:{port}/api/live").json()
        assert live["left_foot_n"] is not None
    # leaving rig_serve sends Ctrl-C and asserts the exit status is 0
