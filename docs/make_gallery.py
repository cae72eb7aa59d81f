"""Draw the diagram of every gallery graph (graphs/gallery/*.yaml) for its docs page.

Each graph is drawn by graphflow's own renderer (graphviz's ``dot``) to
``docs/gallery/images/NAME.svg``, which ``docs/gallery/NAME.md`` shows. Run it from
anywhere after adding or changing a gallery graph::

    python docs/make_gallery.py            # writes docs/gallery/images/
    python docs/make_gallery.py OUT_DIR    # writes somewhere else (the tests do)
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GALLERY = ROOT / "graphs" / "gallery"


def main(out: Path) -> list[Path]:
    """Draw every gallery graph into ``out``; return the files written."""
    from graphflow import load
    from graphflow.render import to_svg

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(GALLERY.glob("*.yaml")):
        target = out / f"{path.stem}.svg"
        target.write_text(to_svg(load(str(path)), rankdir="TB"), encoding="utf-8")
        written.append(target)
        print(f"wrote {target}")
    return written


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else ROOT / "docs" / "gallery" / "images")
