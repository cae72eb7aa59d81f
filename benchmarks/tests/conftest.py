"""Make the benchmark modules importable the way the scripts import each other."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for folder in (HERE.parent, HERE.parent / "peers", HERE.parent.parent):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
