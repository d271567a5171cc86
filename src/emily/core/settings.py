"""One settings object for the whole project: ``EMILY_*`` variables over an optional ``emily.toml``.

Why one object: every engine (graph, vectors, tracking, bus) is embedded by default and becomes
a server when a URL is configured; keeping all of those choices in one validated place means
``emily doctor`` can check exactly what the runtime will use. Precedence, highest first:
explicit keyword arguments, environment variables, ``emily.toml`` (path from ``EMILY_CONFIG``,
else ``./emily.toml``), defaults.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from emily.core.errors import ConfigError

ENV_PREFIX = "EMILY_"


def _config_file() -> Path:
    return Path(os.environ.get("EMILY_CONFIG", "emily.toml"))


class EmilySettings(BaseSettings):
    """Every knob of Emily Sovereign; each field documents its environment variable."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="forbid",
        frozen=True,
        validate_default=True,
    )

    home: Path = Field(
        default=Path(".emily"),
        description="EMILY_HOME: folder holding all state (stores, models, flags, logs).",
    )
    seed: int = Field(default=0, ge=0, description="EMILY_SEED: seed for codebooks and samplers.")
    latency_budget_ms: float = Field(
        default=50.0,
        gt=0,
        description="EMILY_LATENCY_BUDGET_MS: reflex-path budget before fallback to Tier 0.",
    )
    hdc_dim: int = Field(
        default=10_000,
        ge=64,
        multiple_of=8,
        description="EMILY_HDC_DIM: hypervector dimension (bits; a multiple of 8 for packing).",
    )
    alpha_frequency_hz: float = Field(
        default=8.0, gt=0, description="EMILY_ALPHA_FREQUENCY_HZ: alpha oscillator frequency."
    )
    falkordb_url: str | None = Field(
        default=None,
        description="EMILY_FALKORDB_URL: redis://host:port of a FalkorDB server; unset = embedded.",
    )
    lancedb_uri: str | None = Field(
        default=None,
        description="EMILY_LANCEDB_URI: LanceDB folder or object-store URI; unset = HOME/lancedb.",
    )
    mlflow_uri: str | None = Field(
        default=None,
        description="EMILY_MLFLOW_URI: http:// or postgresql:// tracking URI; unset = SQLite file.",
    )
    workflow_db_url: str | None = Field(
        default=None,
        description="EMILY_WORKFLOW_DB_URL: postgresql:// system database of the durable "
        "workflows (sleep consolidation); unset = SQLite file under HOME/dbos.",
    )
    redis_url: str | None = Field(
        default=None,
        description="EMILY_REDIS_URL: Redis for the feature store's online store; unset = SQLite.",
    )
    zenoh_endpoint: str = Field(
        default="tcp/127.0.0.1:7447",
        description="EMILY_ZENOH_ENDPOINT: loopback endpoint the bus peers listen/connect on.",
    )

    @field_validator("falkordb_url", "redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("expected a URL starting with redis://, rediss:// or unix://")
        return value

    @field_validator("workflow_db_url")
    @classmethod
    def _workflow_db_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "sqlite:///")):
            raise ValueError("expected a URL starting with postgresql:// (or sqlite:///)")
        return value

    @field_validator("zenoh_endpoint")
    @classmethod
    def _zenoh_endpoint(cls, value: str) -> str:
        if not value.startswith(("tcp/", "udp/", "unixsock-stream/")):
            raise ValueError("expected a Zenoh endpoint such as tcp/127.0.0.1:7447")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_config_file())
        return (init_settings, env_settings, toml)

    def path(self, *parts: str) -> Path:
        """A path inside ``EMILY_HOME`` (not created)."""
        return self.home.joinpath(*parts)


def _describe(error: dict[str, Any]) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "settings"
    value = error.get("input")
    expected = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return f"unknown setting {key!r} (value {value!r}); see README for valid keys"
    return f"{ENV_PREFIX}{key.upper()}={value!r} is invalid: {expected}"


def load_settings(**overrides: Any) -> EmilySettings:
    """Build the settings, turning a validation failure into one clear ``ConfigError``."""
    config_file = _config_file()
    try:
        return EmilySettings(**overrides)
    except ValidationError as exc:
        lines = [_describe(dict(err)) for err in exc.errors()]
        source = f" (sources: environment and {config_file})"
        raise ConfigError("; ".join(lines) + source) from None
    except (OSError, ValueError) as exc:  # an unreadable or malformed emily.toml
        raise ConfigError(f"cannot read {config_file}: {exc}") from None
