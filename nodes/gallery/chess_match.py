"""The referee of the chess gallery graph (``graphs/gallery/chess.yaml``).

The game's state is two run variables — ``start_fen`` and ``moves`` (the moves so far, in
standard algebraic notation) — so every step's checkpoint holds the whole game and a
resumed run continues the same game; ``fen``, ``turn`` and ``outcome`` are derived from
them for the players, the routing and the end status. python-chess checks every move:
an illegal or unreadable one goes back to the player who sent it with the reason, and
that player moves again. Three failures in a row forfeit the game.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from graphflow.messages import Message, Update

from ..tools.chessboard import START_FEN, board_from_fen, python_chess

__all__ = ["MAX_FAILURES", "extract_move", "game_pgn", "referee", "start_game"]

#: Illegal or unreadable moves in a row after which a player forfeits.
MAX_FAILURES = 3
_MOVE = re.compile(r"\bmove\s*:\s*\**\s*([A-Za-z0-9=+#\-]+)", re.IGNORECASE)
_MAX_TEXT = 20_000


def extract_move(text: str) -> str | None:
    """The move a reply names: the last ``MOVE: <move>``, else the whole reply when it is
    one word; ``None`` when there is none.

    Example:
        >>> extract_move("The knight is safer there. MOVE: Nf3")
        'Nf3'
        >>> extract_move("e4"), extract_move("I resign?")
        ('e4', None)
    """
    text = (text or "")[-_MAX_TEXT:]
    found = _MOVE.findall(text)
    if found:
        return str(found[-1]).rstrip("-")
    word = text.strip().strip("*`").rstrip(".!?")
    return word if word and " " not in word and len(word) <= 10 else None


def _replay(start_fen: str, moves: Sequence[str]) -> Any:
    board = board_from_fen(start_fen or START_FEN)
    for san in moves:
        board.push_san(san)
    return board


def game_pgn(start_fen: str, moves: Sequence[str]) -> str:
    """The moves as numbered text: ``1. e4 e5 2. Bc4``.

    Example:
        >>> game_pgn(START_FEN, ["e4", "e5", "Nf3"])
        '1. e4 e5 2. Nf3'
    """
    board = board_from_fen(start_fen or START_FEN)
    return str(board.variation_san(_moves(board, moves)))


def _moves(board: Any, moves: Sequence[str]) -> list[Any]:
    copy, out = board.copy(), []
    for san in moves:
        move = copy.parse_san(san)
        out.append(move)
        copy.push(move)
    return out


def _side(board: Any) -> str:
    return "white" if board.turn else "black"


def _position(board: Any) -> str:
    legal = sorted(board.san(move) for move in board.legal_moves)
    check = " (in check)" if board.is_check() else ""
    return (f"{_side(board).capitalize()} to move{check}.\nFEN: {board.fen()}\n"
            f"Legal moves: {', '.join(legal)}")


def _say(text: str) -> Message:
    return Message(role="user", name="referee", content=text)


def _outcome(board: Any, moves: Sequence[str], max_plies: int) -> str | None:
    result = board.outcome(claim_draw=True)
    if result is not None:
        how = result.termination.name.lower().replace("_", " ")
        if result.winner is None:
            return f"draw by {how} ({result.result()})"
        return f"{how}: {'white' if result.winner else 'black'} wins ({result.result()})"
    if len(moves) >= max_plies:
        return f"draw: the move limit of {max_plies} plies was reached (1/2-1/2)"
    return None


def start_game(start_fen: str | None = None, max_plies: int = 80) -> Update:
    """Set up the game from ``start_fen`` (default: the initial position) and announce it.

    Raises:
        ValueError: ``start_fen`` is not a valid position, or ``max_plies`` is below 1.
    """
    if int(max_plies) < 1:
        raise ValueError(f"max_plies must be at least 1, not {max_plies}")
    board = board_from_fen(start_fen or START_FEN)
    return Update(
        messages=[_say(f"New game. {_position(board)}\nReply with MOVE: <your move>.")],
        variables={"start_fen": board.fen(), "moves": [], "fen": board.fen(),
                   "turn": _side(board), "failures": 0, "outcome": None},
    )  # fmt: skip


def referee(text: str | None, start_fen: str, moves: Sequence[str], failures: int = 0,
            max_plies: int = 80) -> Update:  # fmt: skip
    """Check the move in ``text`` (the reply of the side to move) and play it, or send it
    back with the reason.

    Args:
        text: the player's reply; its move is found by :func:`extract_move`.
        start_fen: the position the game started from.
        moves: the moves played so far (SAN).
        failures: the mover's illegal or unreadable replies in a row so far.
        max_plies: the game is drawn after this many moves (half-moves).

    Returns:
        An Update that sets ``moves``, ``fen``, ``turn``, ``failures`` and, when the game
        is over, ``outcome`` (e.g. ``"checkmate: white wins (1-0)"``), with one message
        from the referee.
    """
    chess = python_chess()
    board = _replay(start_fen, moves)
    player = _side(board)
    move_text = extract_move(text or "")
    problem = None
    if move_text is None:
        problem = "no move found in your reply"
    else:
        try:
            move = board.parse_san(move_text)
        except ValueError as san_error:
            try:
                move = chess.Move.from_uci(move_text.lower())
                if move not in board.legal_moves:
                    raise ValueError(f"illegal move {move_text!r} in this position")
            except ValueError:
                problem = str(san_error)
    if problem is not None:
        failures = int(failures) + 1
        if failures >= MAX_FAILURES:
            winner = "black" if player == "white" else "white"
            result = "0-1" if player == "white" else "1-0"
            forfeit = (f"forfeit: {player} sent {failures} illegal or unreadable moves in a "
                       f"row; {winner} wins ({result})")  # fmt: skip
            return Update(messages=[_say(f"{problem}. {forfeit.capitalize()}.")],
                          variables={"failures": failures, "outcome": forfeit})  # fmt: skip
        why = (f"{move_text!r} is not a legal move for {player}: {problem}" if move_text
               else "No move found in your reply")  # fmt: skip
        return Update(
            messages=[_say(f"{why}. Move again "
                           f"({failures} of {MAX_FAILURES} tries used).\n{_position(board)}\n"
                           "Reply with MOVE: <your move>.")],
            variables={"failures": failures},
        )  # fmt: skip
    san = board.san(move)
    board.push(move)
    played = [*moves, san]
    outcome = _outcome(board, played, int(max_plies))
    variables: dict[str, Any] = {"moves": played, "fen": board.fen(), "turn": _side(board),
                                 "failures": 0, "outcome": outcome}  # fmt: skip
    if outcome is not None:
        said = (f"{player} played {san}. Game over: {outcome}.\n"
                f"Moves: {game_pgn(start_fen, played)}\nFEN: {board.fen()}")
    else:
        said = f"{player} played {san}. {_position(board)}"
    return Update(messages=[_say(said)], variables=variables)
