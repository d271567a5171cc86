"""MkDocs hook: render ``[[wiki links]]`` in the knowledge notes (and any page) as real links.

``[[Page Name]]`` links to the page whose title (first ``# `` heading) or file name matches
``Page Name`` (case, spaces, ``-`` and ``_`` ignored); ``[[Page Name|label]]`` shows ``label``
instead; ``[[Page Name#Section]]`` keeps the anchor. The link is written as a relative ``.md``
link, so MkDocs itself turns it into the page's URL and checks it. A link that matches no page is
logged as a warning, which fails ``mkdocs build --strict``: a note cannot point into the void.
Links inside fenced code blocks and inline code are left alone.
"""

from __future__ import annotations

import logging
import posixpath
import re
from collections.abc import Iterable
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

log = logging.getLogger("mkdocs.hooks.wikilinks")

WIKILINK = re.compile(r"\[\[([^\[\]|#]+)(#[^\[\]|]*)?(?:\|([^\[\]]+))?\]\]")
FENCE = re.compile(r"^(\s*)(```|~~~)")
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+\1")
HEADING = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)

_index: dict[str, str] = {}


def normalise(name: str) -> str:
    """The key a page name is matched by: lower case, without spaces, ``-`` or ``_``."""
    return re.sub(r"[\s_\-]+", "", name.strip().lower())


def build_index(pages: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Map every page's title and file stem (normalised) to its ``src_uri``.

    Args:
        pages: ``(src_uri, markdown source)`` of each documentation page.
    """
    index: dict[str, str] = {}
    for uri, text in pages:
        stem = posixpath.splitext(posixpath.basename(uri))[0]
        names = [stem, posixpath.splitext(uri)[0]]
        if stem == "index":
            names.append(posixpath.dirname(uri) or "home")
        heading = HEADING.search(text)
        if heading:
            names.append(heading.group(1))
        for name in names:
            index.setdefault(normalise(name), uri)
    return index


def render(markdown: str, current_uri: str, index: dict[str, str]) -> tuple[str, list[str]]:
    """Replace wiki links by relative Markdown links; return the text and the dangling targets."""
    dangling: list[str] = []
    base = posixpath.dirname(current_uri)

    def link(match: re.Match[str]) -> str:
        target, anchor, label = match.group(1).strip(), match.group(2) or "", match.group(3)
        uri = index.get(normalise(target))
        if uri is None:
            dangling.append(target)
            return match.group(0)
        rel = posixpath.relpath(uri, base or ".")
        return f"[{(label or target).strip()}]({rel}{anchor.replace(' ', '-').lower()})"

    def outside_code(line: str) -> str:
        pieces, last = [], 0
        for code in INLINE_CODE.finditer(line):
            pieces += [WIKILINK.sub(link, line[last : code.start()]), code.group(0)]
            last = code.end()
        return "".join([*pieces, WIKILINK.sub(link, line[last:])])

    out, fence = [], None
    for line in markdown.split("\n"):
        opened = FENCE.match(line)
        if fence is None and opened:
            fence = opened.group(2)
            out.append(line)
        elif fence is not None:
            if line.strip().startswith(fence):
                fence = None
            out.append(line)
        else:
            out.append(outside_code(line))
    return "\n".join(out), dangling


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Index every page by title and file name before any page is rendered."""
    pages = [
        (f.src_uri, Path(f.abs_src_path).read_text(encoding="utf-8"))
        for f in files.documentation_pages()
        if f.abs_src_path
    ]
    _index.clear()
    _index.update(build_index(pages))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Render the page's wiki links; warn (fails ``--strict``) on each one that matches no page."""
    text, dangling = render(markdown, page.file.src_uri, _index)
    for target in dangling:
        log.warning("%s: wiki link [[%s]] matches no page", page.file.src_uri, target)
    return text
