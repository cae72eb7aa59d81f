"""The chess gallery graph: python-chess checks every move, an illegal or unreadable move
goes back to its player with the reason, and a match killed mid-game resumes into the
same game an uninterrupted run plays."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from graphflow import Store, load
from graphflow.models.reply_script import ScriptRequest
from graphflow.testing import ModelServer

from .gallery_helpers import GALLERY, MODEL_ENV, needs, offline, run_offline

GRAPH = GALLERY / "chess.yaml"


@pytest.fixture(autouse=True)
def _chess() -> None:
    needs("chess")


def test_the_scripted_match_ends_in_scholars_mate(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    offline(monkeypatch)
    result, store = run_offline("chess", tmp_path, "Play a game.")
    store.close()
    assert result.status == "completed", (result.reason, result.error)
    assert result.reason == "checkmate: white wins (1-0)"
    assert result.variables["moves"] == ["e4", "e5", "Bc4", "Nc6", "Qh5", "Nf6", "Qxf7#"]
    said = [(m.node, m.text) for m in result.messages if m.node]
    # black's illegal Nf3 goes back to black with python-chess's reason, and black moves again
    illegal = next(i for i, (node, text) in enumerate(said) if node == "black" and "Nf3" in text)
    assert said[illegal + 1][0] == "referee"
    assert "'Nf3' is not a legal move for black: illegal san" in said[illegal + 1][1]
    assert said[illegal + 2] == ("black", "MOVE: Nc6")
    unreadable = next(i for i, (_, text) in enumerate(said) if text.startswith("I will develop"))
    assert said[unreadable + 1][1].startswith("No move found in your reply")
    assert said[unreadable + 2] == ("black", "MOVE: Nf6")
    board = next(m.text for m in result.messages if m.role == "tool")
    assert "4 . . B . P . . ." in board and "Qh5" in board


def test_three_bad_moves_in_a_row_forfeit() -> None:
    from graphflow.bundled.nodes.gallery.chess_match import referee
    from graphflow.bundled.nodes.tools.chessboard import START_FEN

    failures = 0
    for text in ("MOVE: Ke2", "pass", "MOVE: e5"):
        update = referee(text, START_FEN, [], failures)
        failures = update.variables["failures"]
    assert update.variables["outcome"] == ("forfeit: white sent 3 illegal or unreadable moves "
                                           "in a row; black wins (0-1)")  # fmt: skip


def test_moves_in_uci_and_draws_by_the_move_limit() -> None:
    from graphflow.bundled.nodes.gallery.chess_match import referee
    from graphflow.bundled.nodes.tools.chessboard import START_FEN

    update = referee("MOVE: g1f3", START_FEN, [], max_plies=2)
    assert update.variables["moves"] == ["Nf3"] and update.variables["outcome"] is None
    update = referee("Nf6", START_FEN, ["Nf3"], max_plies=2)
    assert update.variables["outcome"] == "draw: the move limit of 2 plies was reached (1/2-1/2)"


def test_a_bad_start_position_is_a_clear_error() -> None:
    from graphflow.bundled.nodes.gallery.chess_match import start_game

    with pytest.raises(ValueError, match="is not a valid FEN"):
        start_game("not a position")


def engine(request: ScriptRequest) -> str:
    """A deterministic player for the loopback server: from the last position the referee
    announced, a mate, else a capture that gives check, … else the first move by name."""
    import chess

    fen = next(line[5:] for message in reversed(request.messages)
               for line in str(message.get("content") or "").splitlines()
               if line.startswith("FEN: "))  # fmt: skip
    board = chess.Board(fen)

    def score(move: chess.Move) -> tuple[bool, bool, bool, str]:
        after = board.copy()
        after.push(move)
        return (not after.is_checkmate(), not board.is_capture(move),
                not after.is_check(), board.san(move))  # fmt: skip

    return f"MOVE: {board.san(min(board.legal_moves, key=score))}"


def cli(*args: str, cwd: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in MODEL_ENV}
    return subprocess.Popen([sys.executable, "-m", "graphflow.cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip


def moves_played(db: Path, run_id: str) -> int:
    if not db.exists():
        return 0
    try:
        with Store(db) as store:
            return sum(1 for m in store.load_messages(run_id)
                       if m.node == "referee" and " played " in (m.content or ""))  # fmt: skip
    except Exception:  # the run is not created yet
        return 0


def test_a_match_killed_mid_game_resumes_into_the_same_game(tmp_path: Path) -> None:
    with ModelServer(engine, latency=0.05) as server:
        common = ["--model", "player", "--base-url", server.base_url, "--var", "max_plies=24",
                  "--no-interactive", "--quiet", "-i", "Play a game."]  # fmt: skip
        whole = cli("run", str(GRAPH), "--db", str(tmp_path / "whole.db"), "--run-id", "g",
                    *common, cwd=tmp_path)  # fmt: skip
        assert whole.wait(120) == 0, whole.stderr.read() if whole.stderr else ""
        db = tmp_path / "killed.db"
        killed = cli("run", str(GRAPH), "--db", str(db), "--run-id", "g", *common, cwd=tmp_path)
        deadline = time.monotonic() + 60
        while moves_played(db, "g") < 8:
            assert killed.poll() is None, "the match ended before it could be killed"
            assert time.monotonic() < deadline, "no moves were stored"
            time.sleep(0.02)
        killed.send_signal(signal.SIGKILL)
        killed.wait(30)
        with Store(db) as store:
            record = store.get_run("g")
            assert record.status == "running"
            at_kill = store.load_messages("g")
        assert 8 <= sum(1 for m in at_kill if m.node == "referee" and " played " in m.text) < 24
        resumed = subprocess.run([sys.executable, "-m", "graphflow.cli", "resume", "g", "--db",
                                  str(db), "--quiet", "--no-interactive"], cwd=tmp_path,
                                 capture_output=True, text=True, timeout=120)  # fmt: skip
        assert resumed.returncode == 0, resumed.stderr
    with Store(tmp_path / "whole.db") as a, Store(db) as b:
        first, second = a.get_run("g"), b.get_run("g")
        assert first.status == second.status == "completed"
        games = [store.load_variables("g", run.last_step)[0] for store, run in ((a, first), (b, second))]
        conversations = [[(m.node, m.content) for m in store.load_messages("g")]
                         for store in (a, b)]  # fmt: skip
    assert games[0]["moves"] == games[1]["moves"] and len(games[0]["moves"]) >= 8
    assert games[0]["fen"] == games[1]["fen"] and games[0]["outcome"] == games[1]["outcome"]
    assert conversations[0] == conversations[1]


def test_the_graph_renders_both_players_and_the_referee() -> None:
    dot = str(load(str(GRAPH)).to_dot())
    for edge in ("white -> referee", "black -> referee", "referee -> white", "referee -> black",
                 "white -> white_board", "referee -> game_over"):  # fmt: skip
        assert edge in dot
