"""The book's code lives outside the package: book/_ext (the Sphinx extension) and scripts/repository.py."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for folder in (ROOT / "book" / "_ext", ROOT / "scripts"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
