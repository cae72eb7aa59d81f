"""Keeping secrets out of what graphflow stores and prints.

:func:`redact` replaces, in any text:

- the values of the configured key variables: ``OPENAI_API_KEY``,
  ``AZURE_OPENAI_API_KEY``, every variable registered with :func:`register_key_variable`
  (the model layer registers each config's ``api_key_env``), and every environment
  variable whose *name* looks like a secret (``*KEY*``, ``*TOKEN*``, ``*SECRET*``,
  ``*PASSWORD*``, ``*_PAT`` …) and whose value looks like one (at least 8 characters,
  no spaces, not a path or a plain word);
- the ``api_key`` values of ``OAI_CONFIG_LIST`` (the variable's JSON, or the file it
  names);
- values registered with :func:`register_secret`;
- strings shaped like keys: ``sk-…``, ``ghp_…``/``github_pat_…``, ``xoxb-…``/``xoxp-…``,
  ``AKIA…``, ``AIza…``, ``hf_…``, ``sk_live_…``, ``Bearer …``, ``Authorization: Basic …`` and
  ``"api_key": "…"``-style assignments.

Each is replaced by ``[redacted]``. graphflow applies it where a failed node's error is
stored (and so in the run's events and result), where ``show`` and the report print
errors, in the text of tool errors sent back to a model and in code output.

Example:
    >>> redact("401: Incorrect API key provided: sk-abcdefghijklmnopqrstuvwx")
    '401: Incorrect API key provided: [redacted]'
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "CONFIG_LIST_VARIABLE",
    "KEY_VARIABLES",
    "REDACTED",
    "SECRET_NAME",
    "key_variables",
    "looks_secret",
    "named_credentials",
    "redact",
    "register_key_variable",
    "register_secret",
    "secret_values",
]

REDACTED = "[redacted]"
#: The variable AutoGen's config lists are read from (JSON, or the name of a file).
CONFIG_LIST_VARIABLE = "OAI_CONFIG_LIST"
#: Variables that hold model keys by convention.
KEY_VARIABLES = ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY")
#: Variable names containing one of these words are taken to hold secrets.
SECRET_NAME = re.compile(
    r"KEY|TOKEN|SECRET|PASSW|PASSPHRASE|CREDENTIAL|AUTH|COOKIE|SESSION|PRIVATE|"
    r"DSN|CONNECTION_STRING|DATABASE_URL|WEBHOOK|SIGNATURE|SALT|\bPAT\b|_PAT$|^PAT_",
    re.IGNORECASE,
)
_MIN_SECRET = 8
_MAX_CONFIG_FILE = 1_000_000

_KEY_SHAPES = re.compile(
    r"\bsk-[A-Za-z0-9_-]{16,}"  # OpenAI, Anthropic (sk-ant-…), project keys (sk-proj-…)
    r"|\bgh[pousr]_[A-Za-z0-9]{20,}|\bgithub_pat_[A-Za-z0-9_]{20,}"  # GitHub
    r"|\bxox[abposr]-[A-Za-z0-9-]{10,}"  # Slack
    r"|\bAKIA[0-9A-Z]{16}\b"  # AWS access key ids
    r"|\bAIza[0-9A-Za-z_-]{35}"  # Google API keys
    r"|\bhf_[A-Za-z0-9]{30,}"  # Hugging Face
    r"|\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}"  # Stripe
)
_BEARER = re.compile(r"(?i)\b(Bearer|Authorization:\s*Basic)(\s+)[A-Za-z0-9._~+/=-]{8,}")
_ASSIGNED = re.compile(
    r"""(?ix)(["']?(?:api[_-]?key|access[_-]?token|auth[_-]?token|secret|password|passwd)
    ["']?\s*[:=]\s*["']?)([^\s"',;}]{8,})"""
)

#: A credential named in prose: "my API key is X", "password: X", "the token = X" ...
_NAMED_CREDENTIAL = re.compile(
    r"""(?ix)\b(?:(?:api|access|secret|private|auth)[\s_-]?key|key|token|password|passwd
    |passphrase|passcode|secret|credentials?|pin)\b
    (?:\s+(?:is|was|are|=|:)\s*|\s*[:=]\s*|\s+)[`"'(]?(?P<value>[^\s`"',;()]{8,})"""
)

_registered_values: set[str] = set()
_registered_names: set[str] = set()


def register_secret(value: str | None) -> None:
    """Redact ``value`` from now on (values shorter than 8 characters are ignored: they
    would redact ordinary words).

    Example:
        >>> register_secret("correct-horse-battery")
        >>> redact("the key is correct-horse-battery")
        'the key is [redacted]'
    """
    if value and len(value) >= _MIN_SECRET:
        _registered_values.add(value)


def register_key_variable(name: str | None) -> None:
    """Treat environment variable ``name`` as a model key: its value is redacted, and it
    is never passed to executed code, even when named in ``pass_env``."""
    if name:
        _registered_names.add(name)


def key_variables() -> frozenset[str]:
    """The names of the variables that hold model keys (conventional and registered),
    and ``OAI_CONFIG_LIST``.

    Example:
        >>> "OAI_CONFIG_LIST" in key_variables() and "OPENAI_API_KEY" in key_variables()
        True
    """
    return frozenset({*KEY_VARIABLES, CONFIG_LIST_VARIABLE, *_registered_names})


def looks_secret(name: str) -> bool:
    """Whether a variable name looks like it holds a secret.

    Example:
        >>> looks_secret("GITHUB_TOKEN"), looks_secret("GITHUB_PAT"), looks_secret("LANG")
        (True, True, False)
    """
    return bool(SECRET_NAME.search(name))


def _config_list_keys(environ: Mapping[str, str]) -> set[str]:
    raw = environ.get(CONFIG_LIST_VARIABLE, "").strip()
    if not raw:
        return set()
    if not raw.startswith(("[", "{")):
        try:
            path = Path(raw)
            if not path.is_file() or path.stat().st_size > _MAX_CONFIG_FILE:
                return set()
            raw = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return set()
    try:
        data = json.loads(raw)
    except ValueError:
        return set()
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "api_key" and isinstance(item, str):
                    found.add(item)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(data)
    return found


def secret_values(environ: Mapping[str, str] | None = None) -> set[str]:
    """The secret values :func:`redact` replaces verbatim (see the module docstring).

    Example:
        >>> found = secret_values({"OPENAI_API_KEY": "k-123456789", "LANG": "C.UTF-8"})
        >>> "k-123456789" in found, "C.UTF-8" in found
        (True, False)
    """
    env = os.environ if environ is None else environ
    names = key_variables()
    values = {v for k, v in env.items() if k in names}
    # By name only: skip values that are paths, words or sentences rather than secrets.
    values |= {v for k, v in env.items() if looks_secret(k) and not v.startswith("/")
               and not v.isalpha() and not any(c.isspace() for c in v)}  # fmt: skip
    values |= _config_list_keys(env)
    values |= _registered_values
    return {v for v in values if len(v) >= _MIN_SECRET}


def named_credentials(text: str) -> set[str]:
    """The values ``text`` names as credentials in prose — what follows "API key",
    "token", "password", "secret", "credentials" … (with "is", ":" or "=" or nothing
    between) when it is at least 8 characters, not a plain word and not a path.

    For text kept long after it was said (a teachable agent's memos): pass them to
    :func:`redact` with :func:`secret_values`, so that a credential restated in other
    words is still replaced.

    Example:
        >>> sorted(named_credentials("My API key is 9f8e7d6c5b4a. The key milestone is Friday."))
        ['9f8e7d6c5b4a']
    """
    found = set()
    for match in _NAMED_CREDENTIAL.finditer(text or ""):
        value = match.group("value").rstrip(".!?:")
        if len(value) >= _MIN_SECRET and not value.isalpha() and not value.startswith("/") \
                and "://" not in value:  # fmt: skip
            found.add(value)
    return found


def redact(text: str, *, secrets: Iterable[str] | None = None) -> str:
    """``text`` with secret values and key-shaped strings replaced by ``[redacted]``.

    Args:
        text: any text (an error, an output, a report field).
        secrets: the values to replace verbatim (default: :func:`secret_values` now).

    Example:
        >>> redact("Authorization: Bearer abc.def.ghi-jkl")
        'Authorization: Bearer [redacted]'
        >>> redact('{"api_key": "x1y2z3w4v5"}')
        '{"api_key": "[redacted]"}'
    """
    if not text:
        return text
    values = secret_values() if secrets is None else set(secrets)
    for value in sorted(values, key=len, reverse=True):
        if value in text:
            text = text.replace(value, REDACTED)
    text = _KEY_SHAPES.sub(REDACTED, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}"
                       if m.group(0)[len(m.group(1)) + len(m.group(2)):] != REDACTED
                       else m.group(0), text)  # fmt: skip
    return _ASSIGNED.sub(lambda m: m.group(1) + REDACTED if m.group(2) != REDACTED
                         else m.group(0), text)  # fmt: skip
