"""One model endpoint's configuration, and AutoGen-style filtering of config lists.

A :class:`ModelConfig` names a model on an OpenAI-compatible endpoint. The API key is
never part of it: ``api_key_env`` names the environment variable that holds the key and
the key is read when a request is made. A literal ``api_key`` (as AutoGen's
OAI_CONFIG_LIST files carry) is accepted in memory but left out of every dump, repr and
cache key.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from graphflow.errors import ModelError
from graphflow.models.prices import list_price
from graphflow.secrets import register_key_variable, register_secret

__all__ = ["OPENAI_BASE_URL", "ModelConfig", "filter_configs", "strip_api_keys"]

OPENAI_BASE_URL = "https://api.openai.com/v1"
#: Placeholder key sent to endpoints that need none (Ollama, vLLM, llama.cpp, LM Studio).
NO_KEY = "not-needed"
_DEFAULT_KEY_ENV = {"openai": "OPENAI_API_KEY", "azure": "AZURE_OPENAI_API_KEY"}

C = TypeVar("C", "ModelConfig", Mapping[str, Any])


class ModelConfig(BaseModel):
    """A model on an OpenAI-compatible endpoint.

    Attributes:
        model: the model name sent in requests (for Azure, the model or deployment).
        base_url: the endpoint, e.g. ``http://localhost:11434/v1``; ``None`` is
            ``$OPENAI_BASE_URL`` when that is set (as the ``openai`` package reads it),
            else OpenAI's.
        api_key_env: the environment variable holding the key. Unset: ``OPENAI_API_KEY``
            (``AZURE_OPENAI_API_KEY`` for Azure) when present, otherwise no key (local
            servers need none).
        api_type: ``openai`` (any OpenAI-compatible server) or ``azure``.
        api_version: Azure's API version.
        azure_deployment: Azure's deployment name (defaults to ``model``).
        temperature, max_tokens: common sampling options.
        params: further request options (``top_p``, ``seed``, ``stop`` …).
        price: US dollars per 1k tokens as ``[prompt, completion]``; unset, the cost
            the server reports is used, else the provider's list price
            (:mod:`graphflow.models.prices`), else the cost is unknown.
        timeout: seconds for one request.
        max_retries: retries on this endpoint (429, 5xx, timeouts) before the next config.
        tags: labels for :func:`filter_configs`.

    Example:
        >>> cfg = ModelConfig(model="llama3", base_url="http://localhost:11434/v1/")
        >>> cfg.base_url, cfg.endpoint
        ('http://localhost:11434/v1', 'llama3 at http://localhost:11434/v1')
        >>> "secret" in repr(ModelConfig(model="m", api_key="secret"))
        False
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(min_length=1)
    base_url: str | None = None
    api_key_env: str | None = None
    api_type: Literal["openai", "azure"] = "openai"
    api_version: str | None = None
    azure_deployment: str | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1)
    params: dict[str, Any] = Field(default_factory=dict)
    price: tuple[float, float] | None = None
    timeout: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=2, ge=0)
    tags: tuple[str, ...] = ()
    api_key: SecretStr | None = Field(default=None, exclude=True, repr=False)

    def model_post_init(self, context: Any, /) -> None:
        """Register this config's key (its variable, or a literal key) for redaction, so
        that it never reaches stored errors, reports or executed code
        (:mod:`graphflow.secrets`)."""
        register_key_variable(self.api_key_env)
        if self.api_key is not None:
            register_secret(self.api_key.get_secret_value())

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else None

    @field_validator("price", mode="before")
    @classmethod
    def _price(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return (value.get("prompt", 0.0), value.get("completion", 0.0))
        if isinstance(value, (int, float)):
            return (value, value)
        return value

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @field_validator("params")
    @classmethod
    def _no_key_in_params(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in ("api_key", "model", "messages", "stream"):
            if key in value:
                raise ValueError(
                    f"params may not set {key!r}; it has its own field or is set per call"
                )
        return value

    @model_validator(mode="after")
    def _azure_needs_endpoint(self) -> ModelConfig:
        if self.api_type == "azure" and not self.base_url:
            raise ValueError(
                "an azure config needs base_url (the resource endpoint, "
                "https://NAME.openai.azure.com)"
            )
        return self

    @property
    def url(self) -> str:
        """The endpoint requests go to: ``base_url``, else ``$OPENAI_BASE_URL`` (read now,
        as the ``openai`` package does), else OpenAI's."""
        if self.base_url:
            return self.base_url
        if self.api_type == "openai":
            from_env = os.environ.get("OPENAI_BASE_URL", "").strip().rstrip("/")
            if from_env:
                return from_env
        return OPENAI_BASE_URL

    @property
    def provider(self) -> str:
        """The kind of endpoint: ``openai`` (OpenAI's own API), ``azure``, or
        ``openai-compatible`` (any other server speaking the API)."""
        if self.api_type == "azure":
            return "azure"
        return "openai" if self.url == OPENAI_BASE_URL else "openai-compatible"

    @property
    def endpoint(self) -> str:
        """``model at url``, the phrase error messages use."""
        return f"{self.model} at {self.url}"

    def request_params(self) -> dict[str, Any]:
        """The sampling options this config adds to every request."""
        out: dict[str, Any] = {}
        if self.temperature is not None:
            out["temperature"] = self.temperature
        if self.max_tokens is not None:
            out["max_tokens"] = self.max_tokens
        out.update(self.params)
        return out

    def key_env(self) -> str | None:
        """The environment variable the key is read from (``None``: no key is used)."""
        if self.api_key_env:
            return self.api_key_env
        default = _DEFAULT_KEY_ENV[self.api_type]
        return default if default in os.environ else None

    def resolve_key(self, env: Mapping[str, str] | None = None) -> str:
        """Read the API key now, from the environment (or the in-memory literal).

        Raises:
            ModelError: when ``api_key_env`` names a variable that is not set, or OpenAI's
                own endpoint is used with no key at all.
        """
        env = os.environ if env is None else env
        if self.api_key is not None:
            return self.api_key.get_secret_value()
        if self.api_key_env:
            if not env.get(self.api_key_env):
                raise ModelError(
                    f"model {self.endpoint}: the environment variable {self.api_key_env} "
                    f"(api_key_env) is not set; export {self.api_key_env}=... or change "
                    "api_key_env"
                )
            return env[self.api_key_env]
        default = _DEFAULT_KEY_ENV[self.api_type]
        if env.get(default):
            return env[default]
        if self.url == OPENAI_BASE_URL:
            raise ModelError(
                f"model {self.endpoint} needs an API key: export {default}=... , set "
                "api_key_env, or set base_url to a local server (e.g. "
                "http://localhost:11434/v1 for Ollama)"
            )
        return NO_KEY

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        """The price of a call with these token counts in US dollars: from ``price``,
        else the provider's list price for this model at this endpoint; ``None`` when
        neither is known (a local server, a proxy, an unlisted model).

        Example:
            >>> ModelConfig(model="m", price=[0.5, 1.0]).cost(1000, 2000)
            2.5
            >>> ModelConfig(model="llama3", base_url="http://localhost:11434/v1").cost(10, 5) is None
            True
        """
        if self.price is not None:
            prompt, completion = self.price
            return (prompt_tokens * prompt + completion_tokens * completion) / 1000.0
        return list_price(self.model, self.provider, self.url, prompt_tokens, completion_tokens)

    def identity(self) -> dict[str, Any]:
        """What the answer depends on, for cache keys: never the key, timeout or retries."""
        return {
            "model": self.model,
            "url": self.url,
            "api_type": self.api_type,
            "api_version": self.api_version,
            "azure_deployment": self.azure_deployment,
        }


def filter_configs(configs: Iterable[C], filter_dict: Mapping[str, Any] | None) -> list[C]:
    """Keep the configs matching ``filter_dict`` (AutoGen's ``filter_config`` rule).

    Each key names a field and maps to the accepted values (a list, or one value). A
    config passes when every key matches; for list fields such as ``tags`` one shared
    value is enough. Works on :class:`ModelConfig` objects and on raw dicts.

    Example:
        >>> configs = [ModelConfig(model="a", tags=["fast"]), ModelConfig(model="b")]
        >>> [c.model for c in filter_configs(configs, {"tags": ["fast"]})]
        ['a']
    """
    items = list(configs)
    if not filter_dict:
        return items
    return [c for c in items if all(_matches(c, k, v) for k, v in filter_dict.items())]


def _matches(config: ModelConfig | Mapping[str, Any], key: str, accepted: Any) -> bool:
    value = config.get(key) if isinstance(config, Mapping) else getattr(config, key, None)
    wanted: Sequence[Any] = (
        list(accepted) if isinstance(accepted, (list, tuple, set, frozenset)) else [accepted]
    )
    if isinstance(value, (list, tuple, set)):
        return any(v in wanted for v in value)
    return value in wanted


def strip_api_keys(data: Any) -> Any:
    """A copy of ``data`` (e.g. a graph's ``models:`` section) without any literal
    ``api_key`` entries, at any depth: what may be written to a file or a database.

    Example:
        >>> strip_api_keys({"default": [{"model": "m", "api_key": "sk-..."}]})
        {'default': [{'model': 'm'}]}
    """
    if isinstance(data, Mapping):
        return {k: strip_api_keys(v) for k, v in data.items() if k != "api_key"}
    if isinstance(data, (list, tuple)):
        return [strip_api_keys(v) for v in data]
    return data
