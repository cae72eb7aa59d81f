"""What the bubblewrap sandbox sees of the host, and the launcher that starts code in it.

The sandbox's file system is built from nothing (a fresh tmpfs root), then:

========================  =============================================================
``/usr``                  the host's, read-only (``/bin``, ``/lib*``, ``/sbin`` are the
                          usual links into it, or read-only binds where they are folders)
``/etc``                  only :data:`ETC_FILES`, read-only, plus a ``passwd``, ``group``,
                          ``hosts`` and ``hostname`` written for the sandbox
the interpreter           its installation and virtualenv (``sys.prefix``,
                          ``sys.base_prefix``, the interpreter's own prefix), read-only,
                          when they are not under ``/usr``
``read_only`` paths       extra host paths the executor was given, read-only
the work dir              read-write, at its own path
``/tmp``, ``/var/tmp``    fresh tmpfs (size-capped), private to the execution
``/run``                  fresh tmpfs: no host sockets (Docker, D-Bus, databases)
``/dev``, ``/proc``       a minimal ``/dev``; the sandbox's own ``/proc`` (PID namespace)
========================  =============================================================

Nothing else exists: no ``/home``, ``/root``, ``/mnt``, ``/opt``, ``/srv``, ``/sys``,
``/etc/shadow``, no host ``/tmp``, ``/var`` or ``/run``. Unix sockets are only reachable
through the file system (absent) or the abstract namespace (it belongs to the network
namespace, which is new and empty).

The code runs as the user running graphflow — or, when that is root, as the unprivileged
``nobody`` (65534), so that the kernel enforces the process cap (root ignores
``RLIMIT_NPROC``). The launcher (:data:`LAUNCHER`, run by the sandbox's interpreter with
``-I -S``) drops to that user, sets the limits and executes the code.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ETC_FILES", "LAUNCHER", "NOBODY", "SandboxLimits", "code_user", "view_args"]

#: The /etc entries bound read-only into the sandbox (when the host has them).
ETC_FILES = (
    "alternatives", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "timezone",
    "nsswitch.conf", "protocols", "services", "mime.types", "os-release", "debian_version",
    "fonts", f"python{sys.version_info.major}", f"python{sys.version_info[0]}.{sys.version_info[1]}",
)  # fmt: skip
#: The user code runs as when graphflow runs as root.
NOBODY = (65534, 65534)
_USR_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")

#: Runs first inside the sandbox: drop to the code's user, enter the work dir (as that
#: user: root without capabilities may not enter it), set the limits, exec the code.
#: argv: uid gid processes address_space cpu_seconds file_size work_dir -- command...
LAUNCHER = """import os, resource, sys
uid, gid, nproc, mem, cpu, fsize = (int(a) for a in sys.argv[1:7])
if uid >= 0 and os.getuid() != uid:
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
os.chdir(sys.argv[7])
for what, value in ((resource.RLIMIT_NPROC, nproc), (resource.RLIMIT_AS, mem),
                    (resource.RLIMIT_CPU, cpu), (resource.RLIMIT_FSIZE, fsize)):
    if value > 0:
        resource.setrlimit(what, (value, value))
os.execvp(sys.argv[9], sys.argv[9:])
"""


@dataclass(frozen=True)
class SandboxLimits:
    """Per-process limits inside the sandbox; 0 means no limit.

    Attributes:
        processes: processes (and threads) the code's user may have at once.
        memory: address space per process, in bytes.
        cpu_seconds: CPU time per process.
        file_size: the largest file a process may write, in bytes.
    """

    processes: int = 0
    memory: int = 0
    cpu_seconds: int = 0
    file_size: int = 0


def code_user() -> tuple[int, int] | None:
    """The ``(uid, gid)`` code runs as when it differs from graphflow's (root → nobody),
    else ``None``.

    Example:
        >>> code_user() in (None, NOBODY)
        True
    """
    return NOBODY if os.getuid() == 0 else None


def namespace_args() -> list[str]:
    """The namespace and privilege flags: every namespace new, no capabilities. As root,
    no user namespace (it would map the code back to root) and only the two capabilities
    the launcher needs to drop to ``nobody``, which it then loses."""
    common = ["--die-with-parent", "--new-session", "--unshare-ipc", "--unshare-pid",
              "--unshare-net", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox",
              "--cap-drop", "ALL"]  # fmt: skip
    if os.getuid() == 0:
        return [*common, "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    return [*common, "--unshare-user"]


def _interpreter_places(python: str) -> list[str]:
    real = Path(os.path.realpath(python))
    places = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
              str(real.parent.parent), str(Path(python).parent.parent)}  # fmt: skip
    return sorted(p for p in places if p not in ("/", "/usr") and not p.startswith("/usr/"))


def _dirs_for(path: str, made: set[str]) -> list[str]:
    """``--dir`` flags (mode 0755) for the parents of ``path`` not yet made, so that the
    code's user can walk to a bind mount whatever the host's modes are."""
    flags: list[str] = []
    parts = Path(path).parts
    for i in range(2, len(parts)):
        parent = str(Path(*parts[:i]))
        if parent not in made:
            made.add(parent)
            flags += ["--perms", "0755", "--dir", parent]
    return flags


def view_args(work_dir: Path, *, python: str, read_only: Sequence[str] = (),
              tmp_size: int = 0, data: Sequence[tuple[int, str]] = ()) -> list[str]:  # fmt: skip
    """The bwrap flags that build the sandbox's file system (see the module docstring).

    Args:
        work_dir: the work dir, bound read-write at its own path.
        python: the interpreter; its installation is bound read-only.
        read_only: further host paths to bind read-only (missing ones are skipped).
        tmp_size: size cap of ``/tmp``, ``/var/tmp`` and ``/run`` in bytes (0: none).
        data: ``(fd, path)`` pairs: files whose contents bwrap reads from ``fd``.
    """
    size = ["--size", str(tmp_size)] if tmp_size else []
    flags = ["--ro-bind", "/usr", "/usr"]
    for name in _USR_LINKS:
        host = Path("/") / name
        if host.is_symlink():
            flags += ["--symlink", os.readlink(host), str(host)]
        elif host.is_dir():
            flags += ["--ro-bind", str(host), str(host)]
    flags += ["--perms", "0755", "--dir", "/etc"]
    for name in ETC_FILES:
        flags += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    for fd, path in data:
        flags += ["--perms", "0644", "--ro-bind-data", str(fd), path]
    flags += ["--dev", "/dev", "--proc", "/proc",
              "--perms", "1777", *size, "--tmpfs", "/tmp",
              "--perms", "0755", *size, "--tmpfs", "/run",
              "--perms", "0755", "--dir", "/var",
              "--perms", "1777", *size, "--tmpfs", "/var/tmp"]  # fmt: skip
    made = {"/etc", "/tmp", "/run", "/var", "/var/tmp", "/usr", "/dev", "/proc"}
    for place in [*_interpreter_places(python), *read_only]:
        if os.path.exists(place):
            flags += [*_dirs_for(place, made), "--ro-bind", place, place]
    work = str(work_dir)
    flags += [*_dirs_for(work, made), "--bind", work, work]
    return flags


def etc_data(uid: int, gid: int, work_dir: Path) -> list[tuple[str, bytes]]:
    """The ``/etc`` files written for the sandbox: who is who, and localhost."""
    passwd = "root:x:0:0:root:/nonexistent:/usr/sbin/nologin\n"
    group = "root:x:0:\n"
    if uid != 0:
        passwd += f"sandbox:x:{uid}:{gid}:sandbox:{work_dir}:/bin/sh\n"
        group += f"sandbox:x:{gid}:\n"
    return [
        ("/etc/passwd", passwd.encode()),
        ("/etc/group", group.encode()),
        ("/etc/hosts", b"127.0.0.1\tlocalhost sandbox\n::1\tlocalhost ip6-localhost\n"),
        ("/etc/hostname", b"sandbox\n"),
    ]


def launcher_args(python: str, user: tuple[int, int] | None, limits: SandboxLimits,
                  work_dir: Path) -> list[str]:  # fmt: skip
    """The command prefix that runs :data:`LAUNCHER`; append ``--`` and the code's command."""
    uid, gid = user if user is not None else (-1, -1)
    return [python, "-I", "-S", "-c", LAUNCHER, str(uid), str(gid), str(limits.processes),
            str(limits.memory), str(limits.cpu_seconds), str(limits.file_size), str(work_dir)]  # fmt: skip
