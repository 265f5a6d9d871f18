"""Who can reach the server: loopback by default, the network only when asked, TLS when given."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest
import trustme

from gaitrig.cli.main import main
from gaitrig.rig.access.network_access import check_access
from gaitrig.testing.rig_process import rig_serve, wait_healthy
from gaitrig.testing.server import ROOT, require_tool


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_this_machine_only_needs_no_flag_and_no_warning(host: str) -> None:
    assert check_access(host, False, None, None) == check_access(host, True, None, None)
    assert check_access(host, False, None, None).refusal is None
    assert check_access(host, False, None, None).warning is None


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "rig.clinic.lan"])
def test_network_address_is_refused_without_the_flag(host: str) -> None:
    check = check_access(host, False, None, None)
    assert check.refusal is not None
    assert "--allow-network" in check.refusal and host in check.refusal


def test_network_with_the_flag_warns_without_tls_only(tmp_path: Path) -> None:
    no_tls = check_access("0.0.0.0", True, None, None)
    assert no_tls.refusal is None
    assert no_tls.warning is not None and "without TLS" in no_tls.warning
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    key.write_text("k")
    cert.write_text("c")
    assert check_access("0.0.0.0", True, key, cert).warning is None


def test_half_or_missing_tls_files_are_refused(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("k")
    half = check_access("127.0.0.1", False, key, None).refusal
    assert half is not None and "--tls-cert" in half
    missing = check_access("127.0.0.1", False, key, tmp_path / "nope.pem").refusal
    assert missing is not None and "nope.pem" in missing


def test_rig_serve_refuses_a_network_host_and_names_the_flag(capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    monkeypatch.setenv("GAITRIG_DATA_DIR", str(tmp_path))
    assert main(["serve", "--simulate", "--host", "0.0.0.0"]) == 2
    assert "--allow-network" in capsys.readouterr().err
    monkeypatch.setenv("GAITRIG_HOST", "0.0.0.0")  # the same from the environment
    assert main(["serve", "--simulate"]) == 2
    assert "GAITRIG_ALLOW_NETWORK" in capsys.readouterr().err
    monkeypatch.setenv("GAITRIG_ALLOW_NETWORK", "true")
    monkeypatch.setenv("GAITRIG_TLS_KEYFILE", str(tmp_path / "key.pem"))
    assert main(["serve", "--simulate"]) == 2
    assert "--tls-cert" in capsys.readouterr().err


def test_makefile_passes_the_flag_for_a_network_host() -> None:
    require_tool(shutil.which("make") is not None, "make", "sudo apt-get install make")
    for host, flagged in (("127.0.0.1", False), ("0.0.0.0", True)):
        dry_run = subprocess.run(["make", "-n", "-W", ".venv/.installed", "run", f"HOST={host}"],
                                 cwd=ROOT, capture_output=True, text=True).stdout
        serve = next(line for line in dry_run.splitlines() if "rig serve" in line)
        assert f"--host {host}" in serve
        assert ("--allow-network" in serve) == flagged, serve


def test_rig_serve_on_the_network_warns_without_tls(tmp_path: Path) -> None:
    with rig_serve(tmp_path, "--host", "0.0.0.0", "--allow-network") as (port, output):
        assert wait_healthy(f"http://127.0.0.1:{port}")["status"] == "ok"
    warning = [line for line in output if line.startswith("WARNING")]
    assert warning and "without TLS" in warning[0] and "0.0.0.0" in warning[0]


def test_rig_serve_speaks_https_only_with_a_certificate(tmp_path: Path) -> None:
    """A real `rig serve` with a certificate: /api/health over https; plain http gets nothing."""
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    key, chain, ca = tmp_path / "key.pem", tmp_path / "cert.pem", tmp_path / "ca.pem"
    certificate.private_key_pem.write_to_path(str(key))
    certificate.cert_chain_pems[0].write_to_path(str(chain))
    authority.cert_pem.write_to_path(str(ca))
    trusted = ssl.create_default_context(cafile=str(ca))
    with rig_serve(tmp_path, "--tls-key", str(key), "--tls-cert", str(chain)) as (port, output):
        assert wait_healthy(f"https://127.0.0.1:{port}", verify=trusted)["status"] == "ok"
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=10)
        # The certificate is checked: a client that does not trust its authority is refused.
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"https://127.0.0.1:{port}/api/health", timeout=10)
    assert any(f"https://127.0.0.1:{port}/console" in line for line in output)
    assert not any("without TLS" in line for line in output)
