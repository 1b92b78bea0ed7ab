#!/usr/bin/env bash
# Installs Debian's Chromium for the browser test (Playwright drives it; it never downloads a browser),
# and a CJK font (Debian's fonts-noto-cjk) so the Chinese edition's pages and notebooks render their
# characters instead of empty boxes. Prints what it did. Exits 0 when /usr/bin/chromium is ready, 2 when
# it cannot be installed here. A missing CJK font that cannot be installed is reported, not fatal: the
# English tests still run, and the Chinese edition's browser test names the missing font.
set -uo pipefail
chromium=${COURSEKIT_CHROMIUM:-/usr/bin/chromium}
cjk_font=fonts-noto-cjk

has_cjk_font() {
    command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh-cn family 2>/dev/null)" ]
}

need=()
[ -x "$chromium" ] || need+=(chromium)
has_cjk_font || need+=("$cjk_font")
if [ ${#need[@]} -eq 0 ]; then
    echo "install_chromium: $chromium is already installed ($("$chromium" --version 2>/dev/null || echo 'version unknown')), with a CJK font"
    exit 0
fi

# cannot: say why; fatal only when Chromium itself is missing
cannot() {
    if [ -x "$chromium" ]; then
        echo "install_chromium: $chromium is installed, but no CJK font is, and it cannot be installed: $1." \
             "Chinese text will render as boxes; install it with: sudo apt-get install $cjk_font" >&2
        exit 0
    fi
    echo "install_chromium: cannot install Chromium: $1" >&2
    exit 2
}

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
    as_root=(sudo -n)
else
    cannot "this user is neither root nor allowed to use sudo without a password. Install it yourself with: sudo apt-get install ${need[*]}"
fi
if ! command -v apt-get >/dev/null 2>&1; then
    cannot "apt-get not found (not a Debian-like system). Install Chromium and a CJK font, and set COURSEKIT_CHROMIUM to Chromium's path."
fi

echo "install_chromium: installing Debian's ${need[*]} with apt-get"
export DEBIAN_FRONTEND=noninteractive
if ! "${as_root[@]}" apt-get update -qq; then
    cannot "'apt-get update' failed (no access to the package mirror?)"
fi
if ! "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; then
    cannot "'apt-get install ${need[*]}' failed"
fi
if [ ! -x "$chromium" ]; then
    echo "install_chromium: cannot install Chromium: the chromium package installed, but $chromium is missing" >&2
    exit 2
fi
has_cjk_font || echo "install_chromium: $cjk_font installed, but fontconfig lists no Chinese font" >&2
echo "install_chromium: installed; $("$chromium" --version 2>/dev/null || echo "$chromium"), CJK font: $(fc-list :lang=zh-cn family 2>/dev/null | head -1)"
