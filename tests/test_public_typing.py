"""mypy sees the real type of every name ``graphflow`` exports, the lazily imported ones
too (``graphflow/py.typed`` marks the package as typed)."""

from __future__ import annotations

from pathlib import Path

import pytest

import graphflow

ROOT = Path(__file__).resolve().parent.parent
api = pytest.importorskip("mypy.api", reason="mypy is a dev dependency: pip install -e '.[dev]'")


def test_the_package_is_marked_typed() -> None:
    assert (ROOT / "graphflow" / "py.typed").is_file()


def test_every_exported_name_has_a_real_type(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    names = [n for n in graphflow.__all__ if n != "__version__"]
    script = tmp_path / "user.py"
    script.write_text("import graphflow\n" + "".join(
        f"reveal_type(graphflow.{name})\n" for name in names), encoding="utf-8")
    monkeypatch.setenv("MYPYPATH", str(ROOT))
    out, err, _ = api.run([str(script), "--ignore-missing-imports", "--no-incremental",
                           "--follow-imports=silent", "--cache-dir", str(tmp_path / "cache")])  # fmt: skip
    revealed = [line for line in out.splitlines() if "Revealed type is" in line]
    assert len(revealed) == len(names), out + err
    untyped = [names[i] for i, line in enumerate(revealed)
               if line.endswith(('"Any"', '"object"', '"builtins.object"'))]  # fmt: skip
    assert untyped == [], f"typed as Any/object for mypy: {untyped}"
