"""Where the feature store lives: a rendered Feast repo under ``EMILY_HOME/features/<project>``.

Why rendered: the definitions and ``feature_store.yaml`` templates ship in the package
(``emily/_data/feature_store``, found through ``importlib.resources``, so a wheel has them); the
per-machine parts (online store path or Redis URL, registry, the Parquet source of the DVC
``prepare`` stage) come from Emily's settings. SQLite is the default
online store; ``EMILY_REDIS_URL`` selects Redis. A project name (letters, digits, ``_``) keeps
runs that share a Redis database apart: Feast suffixes every Redis key with it.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path
from string import Template
from typing import Literal
from urllib.parse import unquote, urlsplit

from emily._data import data_path
from emily.core import ConfigError, SovereignModel
from emily.core.settings import EmilySettings, load_settings
from emily.ops.lineage import FEATURES_FILE

FEATURE_VIEW = "alpha_oscillation_features"
FEATURE_NAMES = ("alpha_power", "alpha_phase", "attention_score")
JOIN_KEY = "episode_id"
DEFAULT_PROJECT = "emily"
_PROJECT = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")


class FeatureStoreConfig(SovereignModel):
    """A resolved feature store: where its repo, registry, stores and tools are."""

    project: str
    repo_dir: str
    registry: str
    online: Literal["sqlite", "redis"]
    sqlite_path: str | None
    redis_url: str | None
    source: str
    infra_dir: str
    feast_python: str

    @property
    def table(self) -> str:
        """The SQLite table Feast keeps the feature view in."""
        return f"{self.project}_{FEATURE_VIEW}"


def feast_connection_string(url: str) -> str:
    """Feast's Redis ``host:port,db=N[,password=..][,ssl=true]`` for a ``redis://`` URL."""
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss"} or not parts.hostname:
        raise ConfigError(
            f"EMILY_REDIS_URL={url!r} cannot configure Feast: expected redis://HOST:PORT/DB"
        )
    db = parts.path.strip("/") or "0"
    if not db.isdigit():
        raise ConfigError(f"EMILY_REDIS_URL={url!r}: the database {db!r} must be a number")
    out = f"{parts.hostname}:{parts.port or 6379},db={db}"
    if parts.password:
        out += f",password={unquote(parts.password)}"
    return out + (",ssl=true" if parts.scheme == "rediss" else "")


def feature_store_config(
    settings: EmilySettings | None = None,
    *,
    project: str = DEFAULT_PROJECT,
    source: Path | None = None,
) -> FeatureStoreConfig:
    """Resolve the feature store from settings.

    Args:
        settings: Emily's settings (loaded from the environment when ``None``).
        project: Feast project name; unique names isolate test runs sharing a Redis db.
        source: The Parquet offline source (default: the DVC ``prepare`` output in the cwd).
            ``EMILY_FEAST_VENV`` and ``EMILY_FEAST_INFRA`` override the Feast environment and
            the templates' folder (defaults: ``.venv-feast`` beside the environment Emily runs
            in, where ``scripts/setup_feast.sh`` puts it, and the package's own templates).
    """
    settings = settings or load_settings()
    if not _PROJECT.match(project):
        raise ConfigError(
            f"feature store project {project!r} is invalid: expected a letter, then letters, "
            "digits or underscores (at most 63)"
        )
    home = settings.path("features", project).resolve()
    venv = Path(os.environ.get("EMILY_FEAST_VENV", Path(sys.prefix).parent / ".venv-feast"))
    infra = os.environ.get("EMILY_FEAST_INFRA") or str(data_path("feature_store"))
    return FeatureStoreConfig(
        project=project,
        repo_dir=str(home / "repo"),
        registry=str(home / "registry.db"),
        online="sqlite" if settings.redis_url is None else "redis",
        sqlite_path=str(home / "online.db") if settings.redis_url is None else None,
        redis_url=settings.redis_url,
        source=str((source or FEATURES_FILE).resolve()),
        infra_dir=infra,
        feast_python=str(venv / "bin" / "python"),
    )


def render_repo(config: FeatureStoreConfig) -> Path:
    """Write ``feature_store.yaml`` and ``definitions.py`` into ``config.repo_dir``."""
    infra = Path(config.infra_dir)
    template_file = infra / f"feature_store.{config.online}.yaml"
    if not template_file.is_file():
        raise ConfigError(f"no Feast template at {template_file}; set EMILY_FEAST_INFRA")
    values = {
        "project": config.project,
        "registry": config.registry,
        "online_path": config.sqlite_path or "",
    }
    if config.redis_url is not None:
        values["redis_connection"] = feast_connection_string(config.redis_url)
    repo = Path(config.repo_dir)
    repo.mkdir(parents=True, exist_ok=True)
    text = Template(template_file.read_text(encoding="utf-8")).substitute(values)
    (repo / "feature_store.yaml").write_text(text, encoding="utf-8")
    shutil.copyfile(infra / "definitions.py", repo / "definitions.py")
    return repo
