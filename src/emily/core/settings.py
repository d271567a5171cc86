"""One settings object for the whole project: ``EMILY_*`` variables over an optional ``emily.toml``.

Why one object: every engine (graph, vectors, tracking, bus) is embedded by default and becomes
a server when a URL is configured; keeping all of those choices in one validated place means
``emily doctor`` can check exactly what the runtime will use. Precedence, highest first:
explicit keyword arguments, environment variables, ``emily.toml`` (path from ``EMILY_CONFIG``,
else ``./emily.toml``), defaults.

Bad values fail here, before any command touches a store: one line per problem, naming the
variable (or the file's key), the value and the expected form. :func:`load_settings` also checks
that ``EMILY_HOME`` is (or can become) a folder, so an unusable path is one line, not an
``OSError`` from whichever store happens to open first.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
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
MIN_HDC_DIM = 128
"""The default level encoder uses 64 levels, and ``L`` levels need ``D >= 2 (L - 1)`` bits."""
MAX_HDC_DIM = 1_000_000
"""125 kB per hypervector: far past any accuracy gain, and still allocatable per codebook."""


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
        ge=MIN_HDC_DIM,
        le=MAX_HDC_DIM,
        multiple_of=8,
        description="EMILY_HDC_DIM: hypervector dimension (bits; a multiple of 8 for packing, "
        "128 to 1,000,000). A home's stores keep the dimension they were built with.",
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

    @field_validator("home", mode="before")
    @classmethod
    def _home_not_empty(cls, value: Any) -> Any:
        # An empty EMILY_HOME would be Path(""), i.e. the working folder: never what was meant.
        if isinstance(value, str) and not value.strip():
            raise ValueError("it is set but empty; expected a folder path (unset it for ./.emily)")
        return value

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


def _describe(error: dict[str, Any], config_file: Path, from_file: dict[str, Any]) -> str:
    """One problem as one line: the variable (or the file's key), its value, what is expected."""
    key = ".".join(str(part) for part in error["loc"]) or "settings"
    value = error.get("input")
    expected = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return (
            f"unknown setting {key!r} in {config_file} (value {value!r}); see README for valid keys"
        )
    variable = f"{ENV_PREFIX}{key.upper()}"
    if variable not in os.environ and key in from_file:
        return f"{key} = {value!r} in {config_file} is invalid: {expected}"
    return f"{variable}={value!r} is invalid: {expected}"


def _read_toml(config_file: Path) -> dict[str, Any]:
    """The config file's table (empty when there is none), or a ``ConfigError`` saying why not."""
    if not config_file.exists():
        return {}
    try:
        with config_file.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"cannot read {config_file}: not valid TOML ({exc}); expected `key = value` "
            "lines, e.g. hdc_dim = 10000 (EMILY_CONFIG names the file)"
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(f"cannot read {config_file}: not UTF-8; expected a TOML file") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {config_file}: {exc.strerror or exc}") from None


def check_home(home: Path) -> None:
    """Refuse an ``EMILY_HOME`` that is not a folder and cannot become one, with the reason.

    Creates nothing: a home that does not exist yet is probed by making (and removing) a
    temporary folder in its nearest existing ancestor, the one call that tells a read-only or
    pseudo file system (``/proc``) from a writable one, whoever runs it.
    """
    where = f"EMILY_HOME={str(home)!r}"
    fix = "point EMILY_HOME at a folder you can write (e.g. export EMILY_HOME=$PWD/.emily)"
    if home.exists():
        if not home.is_dir():
            raise ConfigError(f"{where} is not a folder (it is a file or device); {fix}")
        if not os.access(home, os.W_OK | os.X_OK):
            raise ConfigError(f"{where} is not writable; {fix}")
        return
    ancestor = home.absolute().parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ConfigError(f"{where} cannot be created: {ancestor} is a file, not a folder; {fix}")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".emily-probe-", dir=ancestor))
    except OSError as exc:
        raise ConfigError(
            f"{where} cannot be created in {ancestor} ({exc.strerror or exc}); {fix}"
        ) from None


def load_settings(*, check_home_folder: bool = True, **overrides: Any) -> EmilySettings:
    """Build the settings, turning a validation failure into one clear ``ConfigError``.

    ``check_home_folder=False`` skips :func:`check_home`, for ``emily doctor``, which reports an
    unusable home as a failed check with its fix instead of stopping at it.
    """
    config_file = _config_file()
    from_file = _read_toml(config_file)
    try:
        settings = EmilySettings(**overrides)
    except ValidationError as exc:
        lines = [_describe(dict(err), config_file, from_file) for err in exc.errors()]
        raise ConfigError("\n".join(lines)) from None
    except (OSError, ValueError) as exc:  # the file changed between the two reads
        raise ConfigError(f"cannot read {config_file}: {exc}") from None
    if check_home_folder:
        check_home(settings.home)
    return settings
