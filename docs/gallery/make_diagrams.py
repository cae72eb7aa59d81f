"""Draw the gallery graphs for the docs: each graph, and the path its offline run takes.

For every graph file named (default: all of ``graphs/gallery/``) this writes
``docs/gallery/images/NAME.svg`` (the graph) and ``NAME-run.svg`` (the graph with its
offline run overlaid: the path taken and how often each node ran), with graphflow's own
renderer. The runs use the graphs' scripted models, so no model is needed; the
optiguide graph needs the bubblewrap sandbox. Needs graphviz's ``dot``::

    python docs/gallery/make_diagrams.py                 # every gallery graph
    python docs/gallery/make_diagrams.py chess math      # some of them
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GALLERY = ROOT / "graphs" / "gallery"
IMAGES = Path(__file__).resolve().parent / "images"
INPUTS = {
    "math": "What is the area between y = x^2 and y = 2x + 3?",
    "chess": "Play a game.",
    "web_search": "When was Python first released?",
    "optiguide": "What if roastery1's roasting costs doubled?",
}


def draw(name: str, out: Path) -> None:
    """Write ``NAME.svg`` and ``NAME-run.svg`` for ``graphs/gallery/NAME.yaml`` into ``out``."""
    from graphflow import Store, load
    from graphflow.render.dot import render_run, render_to_file

    graph = load(str(GALLERY / f"{name}.yaml"))
    render_to_file(graph, out / f"{name}.svg")
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "runs.db")
        result = graph.run_sync(INPUTS.get(name, "Solve the task."), store=store,
                                run_id=f"{name}-offline", work_dir=Path(tmp) / "work")  # fmt: skip
        if result.status != "completed":
            sys.exit(f"{name}: the offline run ended {result.status} ({result.reason})")
        render_run(store, result.run_id, out / f"{name}-run.svg", graph=graph)
        store.close()
    print(f"wrote {out / f'{name}.svg'} and {name}-run.svg")


def main(names: list[str]) -> None:
    for variable in ("OAI_CONFIG_LIST", "OPENAI_API_KEY", "OPENAI_BASE_URL", "GRAPHFLOW_MODEL",
                     "GRAPHFLOW_SEARCH_URL"):  # fmt: skip
        os.environ.pop(variable, None)  # the graphs' scripted models answer
    IMAGES.mkdir(parents=True, exist_ok=True)
    for name in names or sorted(p.stem for p in GALLERY.glob("*.yaml")):
        draw(name, IMAGES)


if __name__ == "__main__":
    main(sys.argv[1:])
