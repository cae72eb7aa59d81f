"""The environment code runs with: an allow-list, plus the variables a graph names.

Executed code gets only:

- ``PATH`` (the caller's, or the executor's own: the sandbox and docker set theirs);
- ``HOME``, set to the work dir;
- ``LANG``, ``LANGUAGE``, ``LC_*``, ``TZ``, ``TERM``, ``COLUMNS``, ``LINES``, ``NO_COLOR``
  and the harmless Python switches ``PYTHONIOENCODING``, ``PYTHONUTF8``,
  ``PYTHONDONTWRITEBYTECODE``, ``PYTHONHASHSEED``, ``PYTHONWARNINGS``,
  ``PYTHONFAULTHANDLER``; ``PYTHONUNBUFFERED=1`` is always set;
- the variables named in ``pass_env`` (an executor option, the explicit opt-in), except
  ``OAI_CONFIG_LIST`` and the model key variables (``OPENAI_API_KEY``,
  ``AZURE_OPENAI_API_KEY`` and every ``api_key_env`` the model layer registered), which
  are refused even when named;
- ``extra``: values the calling program sets itself.

Everything else — keys, tokens, sockets (``SSH_AUTH_SOCK``, ``DOCKER_HOST``), ``TMPDIR``,
``PYTHONPATH``, ``PYTHONSTARTUP`` — stays out, whatever its name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from graphflow.errors import ExecutionError
from graphflow.secrets import SECRET_NAME, key_variables

__all__ = ["SAFE_VARIABLES", "SECRET_PATTERN", "check_pass_env", "scrub_environment"]

#: Variables passed to executed code when they are set (``LC_*`` too).
SAFE_VARIABLES = frozenset({
    "LANG", "LANGUAGE", "TZ", "TERM", "COLUMNS", "LINES", "NO_COLOR",
    "PYTHONIOENCODING", "PYTHONUTF8", "PYTHONDONTWRITEBYTECODE", "PYTHONHASHSEED",
    "PYTHONWARNINGS", "PYTHONFAULTHANDLER",
})  # fmt: skip
#: Kept for callers that test names: variable names that look like secrets.
SECRET_PATTERN = SECRET_NAME
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_pass_env(names: Iterable[str]) -> tuple[str, ...]:
    """Validate the variable names of a ``pass_env`` option and return them as a tuple.

    Raises:
        ExecutionError: a name is not a variable name, or names the config list or a
            model key variable (those never reach executed code).

    Example:
        >>> check_pass_env(["MY_SETTING"])
        ('MY_SETTING',)
    """
    if isinstance(names, str):
        names = [names]
    checked = tuple(dict.fromkeys(names))
    bad = [n for n in checked if not isinstance(n, str) or not _NAME.match(n)]
    if bad:
        raise ExecutionError(f"pass_env: {bad} are not environment variable names; list names "
                             "such as MY_SETTING")  # fmt: skip
    refused = sorted(set(checked) & key_variables())
    if refused:
        raise ExecutionError(
            f"pass_env: {', '.join(refused)} is never passed to executed code (it holds a model "
            "key or the model config list); give the code a key of its own under another name "
            "if it really needs one"
        )
    return checked


def scrub_environment(
    work_dir: Path | str,
    base: Mapping[str, str] | None = None,
    extra: Mapping[str, str] | None = None,
    *,
    pass_env: Iterable[str] = (),
    path: str | None = None,
) -> dict[str, str]:
    """The environment for executed code, built from ``base`` (default ``os.environ``)
    by the allow-list in the module docstring.

    Args:
        work_dir: becomes ``HOME``.
        base: where allowed and passed variables are read from.
        extra: variables set as given, last.
        pass_env: names of further variables to copy from ``base`` (see
            :func:`check_pass_env`).
        path: ``PATH`` to set (default: ``base``'s, else ``os.defpath``).

    Raises:
        ExecutionError: ``pass_env`` names a refused variable.

    Example:
        >>> env = scrub_environment("/w", {"PATH": "/bin", "OPENAI_API_KEY": "sk-1",
        ...                                "GITHUB_PAT": "x", "LC_ALL": "C"})
        >>> sorted(env), env["HOME"]
        (['HOME', 'LANG', 'LC_ALL', 'PATH', 'PYTHONUNBUFFERED'], '/w')
    """
    source = os.environ if base is None else base
    names = check_pass_env(pass_env)
    env = {name: value for name, value in source.items()
           if name in SAFE_VARIABLES or name.startswith("LC_")}  # fmt: skip
    env["PATH"] = path or source.get("PATH") or os.defpath
    env["HOME"] = str(work_dir)
    env.setdefault("LANG", "C.UTF-8")
    env["PYTHONUNBUFFERED"] = "1"
    for name in names:
        if name in source:
            env[name] = source[name]
    env.update(extra or {})
    return env
