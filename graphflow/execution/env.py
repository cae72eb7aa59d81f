"""The environment code runs with: the caller's, minus anything that looks like a secret."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

__all__ = ["SECRET_PATTERN", "scrub_environment"]

#: Variable names containing one of these words are never passed to executed code.
SECRET_PATTERN = re.compile(
    r"KEY|TOKEN|SECRET|PASSW|PASSPHRASE|CREDENTIAL|AUTH|COOKIE|SESSION|PRIVATE|"
    r"DSN|CONNECTION_STRING|DATABASE_URL|WEBHOOK|SIGNATURE|SALT",
    re.IGNORECASE,
)

# Variables that would point code back at the caller's home, tools or sockets.
_DROP = {"SSH_AUTH_SOCK", "DOCKER_HOST", "KUBECONFIG", "GNUPGHOME", "XDG_RUNTIME_DIR",
         "DBUS_SESSION_BUS_ADDRESS", "PYTHONSTARTUP", "PYTHONHOME"}  # fmt: skip


def scrub_environment(
    work_dir: Path | str,
    base: Mapping[str, str] | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Return a copy of ``base`` (default ``os.environ``) safe to hand to executed code.

    Variables whose names look like secrets (``*KEY*``, ``*TOKEN*``, ``*SECRET*``,
    ``*PASSWORD*``, ``*CREDENTIAL*``, ``*AUTH*`` …) and a few that reach back into the
    caller's session (``SSH_AUTH_SOCK``, ``DOCKER_HOST`` …) are dropped, as is ``TMPDIR``;
    ``HOME`` points at the work dir; ``PATH`` and ``LANG`` are kept.
    ``extra`` is added last and is not filtered (the caller chose it).

    Example:
        >>> env = scrub_environment("/w", {"PATH": "/bin", "OPENAI_API_KEY": "sk-1"})
        >>> sorted(env), env["HOME"]
        (['HOME', 'LANG', 'PATH', 'PYTHONUNBUFFERED'], '/w')
    """
    source = os.environ if base is None else base
    env = {name: value for name, value in source.items()
           if name not in _DROP and not SECRET_PATTERN.search(name)}  # fmt: skip
    env.pop("TMPDIR", None)
    env["HOME"] = str(work_dir)
    env.setdefault("PATH", os.defpath)
    env.setdefault("LANG", "C.UTF-8")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env
