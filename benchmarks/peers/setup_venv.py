"""Create and check the separate virtual environment the peer frameworks run in.

LangGraph and AutoGen are measured in their own environment so that their
dependencies never mix with graphflow's. The environment lives at ``.bench-venv/`` in the
repository root unless ``GRAPHFLOW_BENCH_VENV`` names another folder. Setting it up is
idempotent: a stamp file records the hash of ``requirements.txt``, and a matching stamp
plus a passing smoke test skips the install.

    python benchmarks/peers/setup_venv.py          # set up (or check) and print versions
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["PeerSetupError", "ensure_peer_venv", "peer_python", "venv_path"]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
REQUIREMENTS = HERE / "requirements.txt"
STAMP = ".graphflow-bench-stamp"


class PeerSetupError(RuntimeError):
    """The peer environment could not be created, installed or checked."""


def venv_path() -> Path:
    """Where the peer environment lives (``GRAPHFLOW_BENCH_VENV`` or ``.bench-venv``).

    Example:
        >>> venv_path().name in {".bench-venv", os.environ.get("GRAPHFLOW_BENCH_VENV", "")}
        True
    """
    override = os.environ.get("GRAPHFLOW_BENCH_VENV")
    return Path(override).expanduser().resolve() if override else ROOT / ".bench-venv"


def peer_python(venv: Path | None = None) -> Path:
    """The interpreter of the peer environment (it may not exist yet).

    Example:
        >>> peer_python(Path("env")).as_posix().endswith("bin/python")
        True
    """
    folder = venv or venv_path()
    if os.name == "nt":
        return folder / "Scripts" / "python.exe"
    return folder / "bin" / "python"


def _requirements_hash() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def _run(cmd: list[str], what: str, log: bool) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PeerSetupError(f"{what} failed to start: {exc}") from None
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-15:]
        raise PeerSetupError(f"{what} failed (exit {done.returncode}):\n  " + "\n  ".join(tail))
    if log and done.stderr.strip():
        print(done.stderr.strip(), file=sys.stderr)
    return done.stdout


def smoke_test(python: Path, offline: bool = True) -> dict[str, str]:
    """Run the peers' smoke test in the environment, without network when possible.

    Returns the installed versions. ``offline`` runs it in a new network namespace
    (``unshare --net``) when this machine allows it, proving that nothing reaches out.
    """
    cmd = [str(python), str(HERE / "smoke.py")]
    if offline and shutil.which("unshare"):
        probe = subprocess.run(["unshare", "--net", "true"], capture_output=True)
        if probe.returncode == 0:
            cmd = ["unshare", "--net", *cmd]
    out = _run(cmd, "the peer smoke test (benchmarks/peers/smoke.py)", log=False)
    try:
        versions: dict[str, str] = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise PeerSetupError(f"the peer smoke test printed no versions: {out[-300:]!r}") from None
    return versions


def ensure_peer_venv(venv: Path | None = None, *, log: bool = True) -> dict[str, str]:
    """Create the peer environment if needed, install the peers, check them offline.

    Args:
        venv: the folder (default :func:`venv_path`).
        log: print progress on stderr.

    Returns:
        The installed versions of the peer distributions.

    Raises:
        PeerSetupError: creating, installing or checking failed; the message says which.

    Example:
        >>> versions = ensure_peer_venv()  # doctest: +SKIP
        >>> sorted(versions)  # doctest: +SKIP
        ['autogen-agentchat', 'autogen-ext', 'langgraph', 'langgraph-checkpoint-sqlite']
    """
    folder = venv or venv_path()
    python = peer_python(folder)
    stamp = folder / STAMP
    wanted = _requirements_hash()
    if python.exists() and stamp.exists() and stamp.read_text().strip() == wanted:
        try:
            return smoke_test(python)
        except PeerSetupError:
            if log:
                print("peer environment is broken; reinstalling", file=sys.stderr)
    if not python.exists():
        if log:
            print(f"creating the peer environment in {folder}", file=sys.stderr)
        _run([sys.executable, "-m", "venv", str(folder)], "creating the virtualenv", log)
    if log:
        print("installing LangGraph and AutoGen from PyPI (first time: ~1 min)", file=sys.stderr)
    _run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-r", str(REQUIREMENTS)],
        "pip install -r benchmarks/peers/requirements.txt (is PyPI reachable?)",
        log=False,
    )  # fmt: skip
    versions = smoke_test(python)
    stamp.write_text(wanted + "\n")
    return versions


def main() -> None:
    try:
        versions = ensure_peer_venv()
    except PeerSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    print(f"peer environment ready: {venv_path()}")
    for name, value in versions.items():
        print(f"  {name} {value}")


if __name__ == "__main__":
    main()
