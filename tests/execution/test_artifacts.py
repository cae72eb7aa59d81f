"""Artifacts: the files code produced in the work dir, kept per step in the run store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from graphflow import Graph
from graphflow.execution.artifacts import MAX_FILES, produced, scan
from graphflow.secrets import register_secret
from graphflow.store import MemoryStore, RunStore, Store

CODE = '''```python
import os, pathlib
pathlib.Path("out.csv").write_text("x,y\\n1,2\\n")
pathlib.Path("plots").mkdir(exist_ok=True)
pathlib.Path("plots/chart.png").write_bytes(b"\\x89PNG\\r\\n\\x1a\\n" + bytes(64))
pathlib.Path(".cache").mkdir(exist_ok=True)
pathlib.Path(".cache/fonts.json").write_text("{}")
os.symlink("/etc/hostname", "link.txt")
print("done")
```'''


def graph(code: str = CODE, **options: object) -> Graph:
    g = Graph("artifacts", entry="write")
    g.add_node("write", lambda state: code)
    g.add_node("run_code", kind="code", executor="local", **options)
    g.add_edge("write", "run_code")
    return g


@pytest.fixture(params=["sqlite", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> RunStore:
    return Store(tmp_path / "runs.db") if request.param == "sqlite" else MemoryStore()


def test_the_files_code_wrote_are_kept_with_their_step_and_node(store: RunStore,
                                                                tmp_path: Path) -> None:  # fmt: skip
    result = graph().compile().run_sync(store=store, work_dir=tmp_path / "work")
    assert result.status == "completed"
    rows = store.artifacts(result.run_id)
    # the block file, the hidden cache and the symbolic link are not artifacts
    assert [(r["step"], r["node"], r["name"], r["media_type"]) for r in rows] == [
        (1, "run_code", "out.csv", "text/csv"), (1, "run_code", "plots/chart.png", "image/png")]
    assert store.artifact_data(rows[0]["digest"]) == b"x,y\n1,2\n"
    assert store.artifact_data(rows[1]["digest"]).startswith(b"\x89PNG")


def test_only_new_or_changed_files_are_kept_at_each_execution(tmp_path: Path) -> None:
    store = MemoryStore()
    code = '```python\nimport pathlib\np = pathlib.Path("n.txt")\n' \
           'p.write_text(str(int(p.read_text()) + 1) if p.exists() else "1")\n' \
           'pathlib.Path("same.txt").write_text("same")\n```'
    g = Graph("twice", entry="write")
    g.add_node("write", lambda state: code)
    g.add_node("run_code", kind="code", executor="local")
    g.add_node("again", lambda state: code.replace("same.txt", "other.txt"))
    g.add_node("run_again", kind="code", executor="local")
    g.add_edge("write", "run_code")
    g.add_edge("run_code", "again")
    g.add_edge("again", "run_again")
    result = g.compile().run_sync(store=store, work_dir=tmp_path / "w")
    rows = store.artifacts(result.run_id)
    assert [(r["step"], r["name"]) for r in rows] == [
        (1, "n.txt"), (1, "same.txt"), (3, "n.txt"), (3, "other.txt")]
    assert [store.artifact_data(r["digest"]) for r in rows if r["name"] == "n.txt"] == [
        b"1", b"2"]


def test_keep_files_false_keeps_none(tmp_path: Path) -> None:
    store = MemoryStore()
    result = graph(keep_files=False).compile().run_sync(store=store, work_dir=tmp_path / "w")
    assert result.status == "completed" and store.artifacts(result.run_id) == []


def test_a_secret_in_a_text_artifact_is_redacted(tmp_path: Path) -> None:
    register_secret("sk-artifact-secret-0123456789")
    code = '```python\nopen("key.txt", "w").write("key=sk-artifact-secret-0123456789")\n```'
    store = MemoryStore()
    result = graph(code).compile().run_sync(store=store, work_dir=tmp_path / "w")
    (row,) = store.artifacts(result.run_id)
    data = store.artifact_data(row["digest"])
    assert b"sk-artifact-secret" not in data and b"[redacted]" in data


def test_a_fork_keeps_the_artifacts_of_the_steps_it_keeps(tmp_path: Path) -> None:
    store = Store(tmp_path / "runs.db")
    compiled = graph().compile()
    result = compiled.run_sync(store=store, work_dir=tmp_path / "w")
    store.fork_run(result.run_id, 2, "kept", {"run": ["write"], "wait": []})
    store.fork_run(result.run_id, 1, "before", {"run": ["write"], "wait": []})
    assert [r["name"] for r in store.artifacts("kept")] == ["out.csv", "plots/chart.png"]
    assert store.artifacts("before") == []


def test_files_too_large_or_not_regular_are_skipped_with_the_reason(tmp_path: Path) -> None:
    before = scan(tmp_path)
    (tmp_path / "big.bin").write_bytes(b"\0" * 200)
    (tmp_path / "ok.txt").write_text("fine")
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "secret").symlink_to("/etc/hostname")
    found = {f.name: f for f in produced(tmp_path, before, max_bytes=100)}
    assert sorted(found) == ["big.bin", "ok.txt"]  # a FIFO and a link are never read
    assert found["big.bin"].data is None and "200 bytes, more than the 100" in str(
        found["big.bin"].skipped)
    assert found["ok.txt"].data == b"fine"


def test_a_skipped_file_is_logged_and_the_others_kept(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    import graphflow.kinds.code as code_kind

    monkeypatch.setattr(code_kind, "MAX_ARTIFACT_BYTES", 10)
    store = MemoryStore()
    code = '```python\nopen("big.txt", "w").write("x" * 50)\nopen("s.txt", "w").write("s")\n```'
    with caplog.at_level("WARNING", logger="graphflow.execution.artifacts"):
        result = graph(code).compile().run_sync(store=store, work_dir=tmp_path / "w")
    assert [r["name"] for r in store.artifacts(result.run_id)] == ["s.txt"]
    assert "file big.txt is not kept as an artifact: 50 bytes, more than the 10" in caplog.text


def test_show_lists_artifacts_saves_them_and_the_report_shows_images(tmp_path: Path) -> None:
    import io

    from rich.console import Console

    from graphflow.report.write import build_report
    from graphflow.show import print_run, run_as_dict, save_artifacts

    store = Store(tmp_path / "runs.db")
    result = graph().compile().run_sync(store=store, work_dir=tmp_path / "w")
    out = io.StringIO()
    print_run(Console(file=out, width=200), store, result.run_id)
    assert "artifacts (2)" in out.getvalue() and "plots/chart.png image/png, 72 bytes" in out.getvalue()
    assert [a["name"] for a in run_as_dict(store, result.run_id)["artifacts"]] == [
        "out.csv", "plots/chart.png"]
    saved = save_artifacts(store, result.run_id, tmp_path / "saved")
    assert (tmp_path / "saved" / "plots" / "chart.png").read_bytes().startswith(b"\x89PNG")
    assert len(saved) == 2
    page = build_report(store, result.run_id)
    assert '<img class="artifact-image" alt="plots/chart.png" src="data:image/png;base64,iVBOR' in page
    assert "<pre>x,y\n1,2\n</pre>" in page


def test_a_hostile_artifact_name_is_escaped_in_the_report(tmp_path: Path) -> None:
    from graphflow.report.write import build_report

    store = MemoryStore()
    result = graph("no code").compile().run_sync(store=store, work_dir=tmp_path / "w")
    store.put_artifact(result.run_id, 1, "run_code", '<script>alert(1)</script>.svg',
                       "image/svg+xml", b'<svg xmlns="http://www.w3.org/2000/svg"><script>'
                       b"alert(1)</script></svg>")  # fmt: skip
    page = build_report(store, result.run_id)
    assert page.count("<script") == 1  # graphflow's own, at the end
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.svg" in page
    assert 'src="data:image/svg+xml;base64,' in page  # an <img>: its scripts never run


def test_the_report_names_long_text_and_other_files_without_their_content(tmp_path: Path) -> None:
    from graphflow.report.write import build_report

    store = MemoryStore()
    result = graph("no code").compile().run_sync(store=store, work_dir=tmp_path / "w")
    store.put_artifact(result.run_id, 1, "run_code", "long.txt", "text/plain", b"y" * 20_000)
    store.put_artifact(result.run_id, 1, "run_code", "data.zip", "application/zip", b"PK")
    page = build_report(store, result.run_id)
    assert "<b>long.txt</b>" in page and "<b>data.zip</b>" in page
    assert "y" * 100 not in page and "20,000 bytes" in page


def test_many_files_keep_the_top_level_ones_and_say_how_many_were_left(tmp_path: Path) -> None:
    before = scan(tmp_path)
    (tmp_path / "many").mkdir()
    for i in range(MAX_FILES + 30):
        (tmp_path / "many" / f"f{i:03d}.txt").write_text(str(i))
    (tmp_path / "result.csv").write_text("a,b\n")
    files = produced(tmp_path, before, max_bytes=100)
    kept = [f.name for f in files if f.data is not None]
    assert len(kept) == MAX_FILES and kept[0] == "result.csv"  # the top level first
    left = [f for f in files if f.data is None]
    assert len(left) == 1 and "30 other" in str(left[0].skipped)
    assert f"more than the {MAX_FILES} files kept per execution" in str(left[0].skipped)
