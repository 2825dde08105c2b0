#!/usr/bin/env bash
# Install Debian's chromium for the Playwright browser tests.
#
# Why Debian's package: this machine reaches only PyPI, Debian apt and npm, so
# `playwright install` (which downloads its own browser build from a CDN) fails.
# Playwright drives this chromium through executable_path="/usr/bin/chromium".
#
# Idempotent: does nothing when /usr/bin/chromium already exists. Quiet: apt's
# output goes to a log file that is printed only on failure. Needs root (as on
# the dev machines and CI); uses sudo if available otherwise.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install_browser.sh: need root (or sudo) to apt-get install chromium" >&2
        exit 2
    fi
fi

log="$(mktemp -t install_browser.XXXXXX.log)"
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive

run() {
    # keep the terminal quiet; show apt's own words only when something failed
    if ! "$@" >>"$log" 2>&1; then
        echo "install_browser.sh: failed: $*" >&2
        tail -n 40 "$log" >&2
        exit 2
    fi
}

# The package lists may be absent or stale on a fresh machine: update once, here only.
run $SUDO apt-get update -qq
run $SUDO apt-get install -y -qq chromium

if [ ! -x /usr/bin/chromium ]; then
    echo "install_browser.sh: chromium installed but /usr/bin/chromium is missing" >&2
    exit 2
fi
echo "install_browser.sh: installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
