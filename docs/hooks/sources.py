"""MkDocs hook: pull the runbooks into the site and expand ``*`` patterns in the nav.

Why a hook: the runbooks live in ``ops/runbooks/`` beside the code they describe (operators and
tests read them there), so the site includes them from that folder instead of keeping a copy
that could drift. Nav entries such as ``adr/0*.md`` expand to the matching pages, sorted, so a
new ADR, note or runbook appears without editing ``mkdocs.yml``; a page already listed
explicitly in the same section is not repeated.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

RUNBOOKS_URI = "runbooks"
"""Where the runbooks appear in the site (``runbooks/<name>.md``)."""


def runbooks_dir(config: MkDocsConfig) -> Path:
    """``ops/runbooks`` beside ``mkdocs.yml``."""
    return Path(config.config_file_path).parent / "ops" / "runbooks"


def _available(config: MkDocsConfig) -> list[str]:
    docs = Path(config.docs_dir)
    uris = [p.relative_to(docs).as_posix() for p in docs.rglob("*.md")]
    folder = runbooks_dir(config)
    if folder.is_dir():
        uris += [f"{RUNBOOKS_URI}/{p.name}" for p in folder.glob("*.md")]
    return sorted(set(uris))


def _expand(items: list[Any], available: list[str]) -> list[Any]:
    listed = {i for i in items if isinstance(i, str)}
    listed |= {v for i in items if isinstance(i, dict) for v in i.values() if isinstance(v, str)}
    out: list[Any] = []
    for item in items:
        if isinstance(item, str) and "*" in item:
            out += [u for u in available if fnmatch.fnmatch(u, item) and u not in listed]
        elif isinstance(item, dict):
            out.append(
                {k: _expand(v, available) if isinstance(v, list) else v for k, v in item.items()}
            )
        else:
            out.append(item)
    return out


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    """Expand ``*`` patterns in the nav against the docs folder and the runbooks."""
    if config.nav:
        config.nav = _expand(list(config.nav), _available(config))
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add every ``ops/runbooks/*.md`` as ``runbooks/<name>.md``."""
    folder = runbooks_dir(config)
    for path in sorted(folder.glob("*.md")) if folder.is_dir() else []:
        files.append(
            File(
                f"{RUNBOOKS_URI}/{path.name}",
                src_dir=str(folder.parent),
                dest_dir=config.site_dir,
                use_directory_urls=config.use_directory_urls,
            )
        )
    return files


def on_serve(server: Any, config: MkDocsConfig, builder: Any) -> Any:
    """Rebuild on edits to the runbooks during ``mkdocs serve``."""
    server.watch(str(runbooks_dir(config)))
    return server
