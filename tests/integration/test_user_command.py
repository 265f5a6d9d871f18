"""`rig user add|passwd|disable`, and demo mode (`rig serve --simulate --demo`, `make run`)."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest

from gaitrig.cli import main as cli
from gaitrig.cli import serve
from gaitrig.rig.access.accounts import Accounts, LoginRefusedError
from gaitrig.rig.records import Records
from gaitrig.testing import rig_api
from gaitrig.testing.rig_process import rig_serve, wait_healthy


def run(monkeypatch: pytest.MonkeyPatch, password: str | None, *args: str) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO("" if password is None else password + "\n"))
    return cli.main(["user", *args])


@pytest.fixture
def accounts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Accounts:
    monkeypatch.setenv("GAITRIG_DATA_DIR", str(tmp_path))
    return Accounts(Records.open(f"sqlite:///{tmp_path / 'gaitrig.sqlite3'}"))


def test_user_add_passwd_disable(accounts: Accounts, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert run(monkeypatch, "first password 1", "add", "maria", "--name", "Maria Alves",
               "--role", "therapist", "--password-stdin") == 0
    assert "account maria (therapist) created" in capsys.readouterr().out
    assert accounts.login("maria", "first password 1").account_role == "therapist"

    assert run(monkeypatch, "other password 2", "add", "maria", "--name", "Someone",
               "--password-stdin") == 2
    assert "taken" in capsys.readouterr().err
    assert run(monkeypatch, "short", "add", "pedro", "--name", "Pedro", "--password-stdin") == 2
    assert "at least 10 characters" in capsys.readouterr().err
    assert accounts.find("pedro") is None

    assert run(monkeypatch, "second password 2", "passwd", "maria", "--password-stdin") == 0
    with pytest.raises(LoginRefusedError):
        accounts.login("maria", "first password 1")
    assert accounts.login("maria", "second password 2").username == "maria"
    assert run(monkeypatch, "whatever password", "passwd", "nobody", "--password-stdin") == 2
    assert "no account 'nobody'" in capsys.readouterr().err

    assert run(monkeypatch, None, "disable", "maria") == 0
    with pytest.raises(LoginRefusedError, match="disabled"):
        accounts.login("maria", "second password 2")


def test_demo_mode_is_refused_on_a_network_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GAITRIG_DATA_DIR", str(tmp_path))
    assert cli.main(["serve", "--simulate", "--demo", "--host", "0.0.0.0",
                     "--allow-network"]) == 2
    error = capsys.readouterr().err
    assert "refusing demo mode on 0.0.0.0" in error and "rig user add" in error


def test_demo_mode_makes_an_account_and_prints_it_and_a_display_link(tmp_path: Path) -> None:
    with rig_serve(tmp_path, "--demo") as (port, output):
        banner = "".join(output)
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url)
        assert (f"Demo login:        user {serve.DEMO_USERNAME}, password {serve.DEMO_PASSWORD} "
                "(created now)") in banner
        link = next(line.split()[-1] for line in output if "Patient display:" in line)
        assert link.startswith(f"{url}/display?token=")
        assert httpx.get(link).status_code == 200  # the display link works without a login
        demo = rig_api.login(url, serve.DEMO_USERNAME, serve.DEMO_PASSWORD)
        assert demo.get("/api/session").json()["role"] == "admin"
        assert demo.get("/api/display-link").json()["url"].endswith(link.split("/", 3)[3])
        assert httpx.get(f"{url}/api/rig").status_code == 401  # nobody else gets in


def test_demo_mode_keeps_the_display_link_across_restarts(tmp_path: Path) -> None:
    """A restarted demo must not revoke the link the patient's screen already has open."""
    from gaitrig.rig.settings import Settings

    settings = Settings(data_dir=tmp_path, simulate=True)
    first, first_banner = serve.demo_setup(settings)
    second, second_banner = serve.demo_setup(settings)
    assert first and second == first
    assert "(created now)" in first_banner and "(created now)" not in second_banner
