"""docs/visualizing.md: its Python examples run, its pictures exist and can be made again."""

# ruff: noqa: RUF001 - the multiplication sign marks visit counts in labels

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require
from tests.test_docs import python_blocks

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "visualizing.md"


def test_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, has_dot: None,
                      capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__doc_example__"}
    blocks = python_blocks(DOC)
    assert len(blocks) == 2
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)
    assert "{'writer': 2, 'critic': 2, 'done': 1}" in capsys.readouterr().out
    assert "writer ×2" in (tmp_path / "run.svg").read_text()
    assert "class writer visited" in (tmp_path / "run.mmd").read_text()
    assert "critic ×2" in (tmp_path / "run.html").read_text()


def test_pictures_exist_and_every_command_is_shown() -> None:
    text = DOC.read_text()
    pictures = re.findall(r"\]\((images/[^)]+\.png)\)", text)
    assert len(pictures) == 5
    for picture in pictures:
        data = (ROOT / "docs" / picture).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, picture
    for command in ("graphflow render", "graphflow report", "graphflow run", "graphflow resume"):
        assert command in text


@pytest.mark.browser
def test_make_images_writes_the_pictures(tmp_path: Path, has_dot: None) -> None:
    require(Path("/usr/bin/chromium").exists(), "/usr/bin/chromium is missing; install it "
            "with `bash .ci/browser.sh`")  # fmt: skip
    proc = subprocess.run([sys.executable, str(ROOT / "docs" / "make_images.py"), str(tmp_path)],
                          capture_output=True, text=True, timeout=180)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    made = sorted(p.name for p in tmp_path.glob("*.png"))
    # docs/serve.md's pictures (serve-*.png) are taken by tests/serve/test_serve_browser.py
    assert made == sorted(p.name for p in (ROOT / "docs" / "images").glob("*.png")
                          if not p.name.startswith("serve-"))  # fmt: skip
    for path in tmp_path.glob("*.png"):
        assert path.stat().st_size > 10_000
