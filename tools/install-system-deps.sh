#!/usr/bin/env bash
# Install the Debian packages the tests need, when some are missing and we may (root or sudo).
# Lists: Chromium and the Liberation fonts (the display is laid out for them) for the browser tests, firmware/apt-packages.txt for the AVR build and simavr.
set -uo pipefail
cd "$(dirname "$0")/.."
wanted=(chromium fonts-liberation)
[ -f firmware/apt-packages.txt ] && mapfile -t -O ${#wanted[@]} wanted < <(grep -v '^\s*#' firmware/apt-packages.txt | grep -v '^\s*$')
find_missing() {
    missing=()
    for pkg in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
}
# Under CI=true nothing may be missing: say what and fail (tests may not skip for a missing tool).
give_up() {
    echo "$1" >&2
    [ "${CI:-}" = "true" ] && { echo "CI=true: failing, the tests need these packages" >&2; exit 1; }
    exit 0
}
find_missing
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
    give_up "not Debian/Ubuntu: install these yourself: ${missing[*]}"
fi
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
if [ -n "$sudo" ] && ! $sudo true 2>/dev/null; then
    give_up "missing Debian packages (tests that need them will say so): sudo apt-get install ${missing[*]}"
fi
echo "installing Debian packages: ${missing[*]}"
$sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || echo "apt-get could not install: ${missing[*]}" >&2
find_missing
[ ${#missing[@]} -eq 0 ] || give_up "still missing after apt-get: ${missing[*]}"
exit 0
