"""Where the documentation lives and how its Markdown splits into passages.

Why chunks by heading: a runbook's "Diagnosis" or an ADR's "Decision" is the unit a reader asks
about, so each section becomes one passage, cited by its page and heading. The site's own
sources are read (``docs/`` and ``ops/runbooks/`` of the repository), so ``emily ask`` answers
from exactly what ``mkdocs build`` publishes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path

import emily
from emily.core import ConfigError, SovereignModel

SKIPPED_DIRS = frozenset({"hooks", "interactive", "reference"})
"""Folders of ``docs/`` that hold no prose (site hooks, notebooks, generated API pages)."""
SKIPPED_FILES = frozenset({"template.md"})
MAX_CHARS = 2_000
"""A section longer than this is split at paragraph boundaries (the model reads 256 tokens)."""

_HEADING = re.compile(r"^(#{1,3})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_WIKILINK = re.compile(r"\[\[([^\[\]|#]+)(?:#[^\[\]|]*)?(?:\|([^\[\]]+))?\]\]")
_MDLINK = re.compile(r"\[([^\]]+)\]\([^)]+\)")


class Passage(SovereignModel):
    """One section of one page: what ``emily ask`` embeds, finds and cites.

    Attributes:
        id: ``path#n``, unique within the index.
        path: Page path relative to the repository root (``ops/runbooks/disk-full.md``).
        title: The page's title (its first ``#`` heading, else its file name).
        heading: The section's heading (the title for text before the first subheading).
        text: The section's Markdown, wiki links reduced to their labels.
    """

    id: str
    path: str
    title: str
    heading: str
    text: str


def _is_root(path: Path) -> bool:
    return (path / "mkdocs.yml").is_file() and (path / "docs").is_dir()


def find_docs_root(start: Path | None = None) -> Path:
    """The repository root holding ``mkdocs.yml``, ``docs/`` and ``ops/runbooks/``.

    With ``start`` (``--docs``), searched upwards from it only. Otherwise from the installed
    package first (an editable install from a clone lives in ``<clone>/src/emily``, so the docs
    are those of the code that runs), then from the working directory.

    Raises:
        ConfigError: no such folder was found (a wheel install ships no docs).
    """
    candidates = [start] if start is not None else [Path(emily.__file__).parent, Path.cwd()]
    for origin in candidates:
        for folder in [origin.resolve(), *origin.resolve().parents]:
            if _is_root(folder):
                return folder
    where = " or ".join(str(c) for c in candidates)
    raise ConfigError(
        "documentation not found: expected a folder with mkdocs.yml and docs/ (the repository "
        f"root) at or above {where}; run from a clone of emily-sovereign (pip install -e .) "
        "or pass --docs PATH_TO_CLONE"
    )


def page_files(root: Path) -> list[Path]:
    """Every Markdown page of the site, sorted: ``docs/**`` (no hooks or API pages) and runbooks."""
    docs = root / "docs"
    pages = [
        p
        for p in docs.rglob("*.md")
        if not SKIPPED_DIRS.intersection(p.relative_to(docs).parts[:-1])
        and p.name not in SKIPPED_FILES
    ]
    runbooks = root / "ops" / "runbooks"
    if runbooks.is_dir():
        pages += runbooks.glob("*.md")
    return sorted(pages)


def _plain(text: str) -> str:
    text = _WIKILINK.sub(lambda m: (m.group(2) or m.group(1)).strip(), text)
    return _MDLINK.sub(r"\1", text)


def _split_long(text: str) -> list[str]:
    if len(text) <= MAX_CHARS:
        return [text]
    parts: list[str] = []
    current = ""
    for para in text.split("\n\n"):
        if current and len(current) + len(para) > MAX_CHARS:
            parts.append(current)
            current = ""
        current = f"{current}\n\n{para}" if current else para
    return [*parts, current] if current else parts


def split_page(rel_path: str, markdown: str) -> list[Passage]:
    """Split one page into passages at ``#``, ``##`` and ``###`` headings (not inside code)."""
    title = Path(rel_path).stem.replace("-", " ")
    sections: list[tuple[str, list[str]]] = [(title, [])]
    fence: str | None = None
    for line in markdown.splitlines():
        opened = _FENCE.match(line)
        if opened:
            fence = None if fence else opened.group(1)
        heading = None if fence or opened else _HEADING.match(line)
        if heading:
            text = _plain(heading.group(2))
            preamble = len(sections) == 1 and not "".join(sections[0][1]).strip()
            if len(heading.group(1)) == 1 and preamble:
                title = text
                sections = [(title, [])]
            else:
                sections.append((text, []))
        elif not line.startswith(":::"):
            sections[-1][1].append(line)
    out: list[Passage] = []
    for heading_text, lines in sections:
        body = _plain("\n".join(lines)).strip()
        for piece in _split_long(body) if body else []:
            out.append(
                Passage(
                    id=f"{rel_path}#{len(out)}",
                    path=rel_path,
                    title=title,
                    heading=heading_text,
                    text=piece,
                )
            )
    return out


def collect(root: Path) -> list[Passage]:
    """Every passage of every page under ``root`` (see ``page_files``)."""
    passages: list[Passage] = []
    for page in page_files(root):
        rel = page.relative_to(root).as_posix()
        passages += split_page(rel, page.read_text(encoding="utf-8"))
    return passages


def digest(passages: Iterable[Passage], model: str) -> str:
    """sha256 of the passages and the embedding model: the index is rebuilt when it changes."""
    h = hashlib.sha256(model.encode())
    for p in passages:
        h.update(p.model_dump_json().encode())
    return h.hexdigest()
