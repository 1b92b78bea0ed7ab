#!/usr/bin/env bash
# Installs Debian's Chromium for the browser test (Playwright drives it; it never downloads a browser).
# Prints what it did. Exits 0 when /usr/bin/chromium is ready, 2 when it cannot be installed here.
set -uo pipefail
chromium=${COURSEKIT_CHROMIUM:-/usr/bin/chromium}

if [ -x "$chromium" ]; then
    echo "install_chromium: $chromium is already installed ($("$chromium" --version 2>/dev/null || echo 'version unknown'))"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
    as_root=(sudo -n)
else
    echo "install_chromium: cannot install Chromium: $chromium is missing and this user is neither root" \
         "nor allowed to use sudo without a password. Install it yourself with:" \
         "sudo apt-get install chromium" >&2
    exit 2
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_chromium: cannot install Chromium: apt-get not found (not a Debian-like system)." \
         "Install Chromium and set COURSEKIT_CHROMIUM to its path." >&2
    exit 2
fi

echo "install_chromium: $chromium is missing; installing Debian's chromium package with apt-get"
export DEBIAN_FRONTEND=noninteractive
if ! "${as_root[@]}" apt-get update -qq; then
    echo "install_chromium: cannot install Chromium: 'apt-get update' failed (no access to the package mirror?)" >&2
    exit 2
fi
if ! "${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null; then
    echo "install_chromium: cannot install Chromium: 'apt-get install chromium' failed" >&2
    exit 2
fi
if [ ! -x "$chromium" ]; then
    echo "install_chromium: cannot install Chromium: the chromium package installed, but $chromium is missing" >&2
    exit 2
fi
echo "install_chromium: installed $("$chromium" --version 2>/dev/null || echo "$chromium")"
