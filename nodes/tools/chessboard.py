"""A chess board for models: the position of a FEN drawn as text, with its legal moves.

Graphs offer it as ``tools: [chessboard]`` (or ``chess_board``). Needs python-chess:
``pip install 'graphflow[gallery]'``.
"""

from __future__ import annotations

from typing import Annotated, Any

__all__ = ["chess_board"]

START_FEN = "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1"


def python_chess() -> Any:
    """The ``chess`` module (python-chess), or an ImportError that says how to install it."""
    try:
        import chess
    except ImportError:  # pragma: no cover - depends on the installation
        raise ImportError("the chess tools need python-chess: pip install 'graphflow[gallery]'"
                          ) from None  # fmt: skip
    return chess


def board_from_fen(fen: str) -> Any:
    """A ``chess.Board`` for ``fen``.

    Raises:
        ValueError: the FEN is not a valid position (the message quotes it and says why).
    """
    chess = python_chess()
    try:
        board = chess.Board(fen.strip())
    except ValueError as exc:
        raise ValueError(f"{fen!r} is not a valid FEN ({exc})") from None
    if not board.is_valid():
        raise ValueError(f"{fen!r} is not a legal position ({board.status()!r})")
    return board


def describe(board: Any) -> str:
    """The board as text: who moves, check, the diagram (white at the bottom, ranks and
    files marked) and the legal moves in SAN."""
    side = "White" if board.turn else "Black"
    rows = str(board).splitlines()
    drawn = "\n".join(f"{8 - i} {row}" for i, row in enumerate(rows)) + "\n  a b c d e f g h"
    legal = sorted(board.san(move) for move in board.legal_moves)
    state = " (in check)" if board.is_check() else ""
    return (f"{side} to move{state}.\nFEN: {board.fen()}\n{drawn}\n"
            f"Legal moves: {', '.join(legal) if legal else 'none'}")


def chess_board(
    fen: Annotated[str, "the position in Forsyth-Edwards Notation (FEN)"] = START_FEN,
) -> str:
    """Show a chess position as a text diagram (uppercase = white, lowercase = black,
    . = empty) with the side to move and every legal move in standard algebraic notation.

    Example:
        >>> print(chess_board().splitlines()[0])
        White to move.
        >>> "Nf3" in chess_board()
        True
    """
    return describe(board_from_fen(fen))
