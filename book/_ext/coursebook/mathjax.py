"""MathJax served by the book itself: a pinned release from the npm registry, checked and unpacked once.

The site then loads nothing from a CDN. `npm pack` fetches the package tarball (the registry is the only
network a build needs); its sha512 must match the pinned one before anything is unpacked.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

__all__ = ["MATHJAX_VERSION", "MathJaxUnavailable", "vendor_mathjax"]

MATHJAX_VERSION = "3.2.2"
# the registry's `dist.integrity` of mathjax@3.2.2
MATHJAX_INTEGRITY = ("sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==")
# the combined TeX -> HTML component and what it may load later: fonts, TeX extensions (autoloaded by
# macros such as \require), the menu and the accessibility tools; not the other combined builds
_KEEP = ("tex-chtml.js", "output/chtml/", "input/tex/extensions/", "ui/", "a11y/", "sre/")


class MathJaxUnavailable(RuntimeError):
    """MathJax could not be fetched or failed its check; the message says what to do."""


def _integrity(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def _pack(destination: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise MathJaxUnavailable("the book serves its own copy of MathJax, fetched with npm, and npm is not "
                                 "installed: install Node.js's npm (Debian: apt-get install npm), then build again")
    done = subprocess.run([npm, "pack", f"mathjax@{MATHJAX_VERSION}", "--json", "--pack-destination",
                           str(destination)], capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise MathJaxUnavailable(f"`npm pack mathjax@{MATHJAX_VERSION}` failed (exit {done.returncode}):\n"
                                 f"{done.stderr.strip()[-2000:]}")
    filename = json.loads(done.stdout)[0]["filename"]
    return destination / filename


def vendor_mathjax(cache: Path) -> Path:
    """A folder holding `mathjax/tex-chtml.js` and the files it loads, made under `cache` on first use."""
    folder = cache / f"mathjax-{MATHJAX_VERSION}"
    if (folder / "mathjax" / "tex-chtml.js").is_file():
        return folder
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as scratch:
        tarball = _pack(Path(scratch))
        found = _integrity(tarball)
        if found != MATHJAX_INTEGRITY:
            raise MathJaxUnavailable(f"{tarball.name} is not the pinned release: its integrity is {found}, "
                                     f"expected {MATHJAX_INTEGRITY}")
        unpacked = Path(scratch) / "unpacked" / "mathjax"
        with tarfile.open(tarball) as archive:
            members = [m for m in archive.getmembers() if m.isfile() and m.name.startswith("package/es5/")
                       and m.name.removeprefix("package/es5/").startswith(_KEEP)]
            for member in members:
                member.name = member.name.removeprefix("package/es5/")
            archive.extractall(unpacked, members=members, filter="data")
        shutil.copy2(_license(tarball, Path(scratch)), unpacked / "LICENSE")
        (Path(scratch) / "unpacked").rename(folder)
    return folder


def _license(tarball: Path, scratch: Path) -> Path:
    with tarfile.open(tarball) as archive:
        archive.extractall(scratch / "license", members=[archive.getmember("package/LICENSE")], filter="data")
    return scratch / "license" / "package" / "LICENSE"
