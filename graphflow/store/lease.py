"""Leases: which process may advance a run, and whether a lease holder is still alive.

A lease owner is ``HOST:PID:NONCE:SPACE`` (one nonce per open store; ``SPACE`` names
where ``PID`` means something: the kernel's boot and the PID namespace, see
:data:`PID_SPACE`). A lease whose holder is a process of this host *and* this PID space
that no longer exists is taken over at once (a resume right after a crash); others
expire after :data:`LEASE_SECONDS` unless renewed. A host name alone is not enough:
containers sharing one (``--network host``, replicas given the same hostname) each have
their own process ids. Every store decides with :func:`check_lease`, so they all refuse
a second holder the same way.
"""

from __future__ import annotations

import os
import socket
import time

from graphflow.errors import RunInUse

__all__ = ["HOST", "LEASE_SECONDS", "check_lease", "holder_is_gone", "new_owner"]

LEASE_SECONDS = 60.0
HOST = socket.gethostname()


def _pid_space() -> str:
    """The kernel boot and PID namespace this process's ids belong to (``BOOT.NS``), or
    ``""`` where the system does not say (then the host name alone decides)."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as fh:
            boot = fh.read().strip().replace("-", "")[:12]
    except OSError:
        boot = ""
    try:
        namespace = str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        namespace = ""
    return f"{boot}.{namespace}" if boot or namespace else ""


#: Where this process's ids mean something (see :func:`_pid_space`).
PID_SPACE = _pid_space()


def new_owner(nonce: object) -> str:
    """A lease owner name for this process: ``HOST:PID:NONCE:SPACE`` (``HOST:PID:NONCE``
    where the system names no PID space)."""
    owner = f"{HOST}:{os.getpid()}:{id(nonce):x}"
    return f"{owner}:{PID_SPACE}" if PID_SPACE else owner


def check_lease(run_id: str, owner: str | None, until: float | None, me: str,
                now: float) -> None:  # fmt: skip
    """Raise RunInUse when ``owner`` (not ``me``) holds the run's lease: it has not
    expired at ``now`` and its holder is not known to be gone."""
    if not owner or owner == me or not until or until <= now or holder_is_gone(owner):
        return
    host, pid = [*owner.split(":"), "?", "?"][:2]
    raise RunInUse(
        f"run {run_id!r} is in use by process {pid} on {host} (lease until "
        f"{time.strftime('%H:%M:%S', time.localtime(until))}); wait for it to "
        "finish or stop that process, then resume"
    )


def holder_is_gone(owner: str) -> bool:
    """True when the lease holder is a process of this host and PID space (when the
    owner names one) that no longer exists."""
    parts = owner.split(":")
    if len(parts) < 3 or parts[0] != HOST:
        return False
    if len(parts) > 3 and parts[3] != PID_SPACE:  # its pid means nothing here
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
