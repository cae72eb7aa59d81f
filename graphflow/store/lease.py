"""Leases: which process may advance a run, and whether a lease holder is still alive.

A lease owner is ``HOST:PID:NONCE``. A lease whose holder is a process on this host that
no longer exists is taken over at once (a resume right after a crash); others expire
after :data:`LEASE_SECONDS` unless renewed.
"""

from __future__ import annotations

import os
import socket

__all__ = ["HOST", "LEASE_SECONDS", "holder_is_gone"]

LEASE_SECONDS = 60.0
HOST = socket.gethostname()


def holder_is_gone(owner: str) -> bool:
    """True when the lease holder is a process on this host that no longer exists."""
    parts = owner.split(":")
    if len(parts) < 3 or parts[0] != HOST:
        return False
    try:
        pid = int(parts[1])
    except ValueError:
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False
