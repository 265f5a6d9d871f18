#!/usr/bin/env bash
# Create the project's virtual environment with Python >= 3.11, installing python3-venv when
# Debian/Ubuntu lacks it and we may (root or sudo).
set -euo pipefail
venv=${1:-.venv}
python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "gaitrig needs Python 3.11 or newer; $python is $("$python" --version 2>&1)." >&2
    exit 1
fi
if "$python" -m venv "$venv" 2>/dev/null; then exit 0; fi
rm -rf "$venv"
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
if command -v apt-get >/dev/null && { [ -z "$sudo" ] || $sudo true 2>/dev/null; }; then
    ver=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python${ver}-venv" \
        || $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
    "$python" -m venv "$venv"
else
    echo "cannot create $venv: install python3-venv (sudo apt-get install python3-venv)" >&2
    exit 1
fi
