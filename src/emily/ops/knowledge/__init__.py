"""Operations knowledge: ``emily ask`` over the documentation and ``emily report`` of the metrics.

``ask`` splits the site's Markdown (``docs/`` and ``ops/runbooks/``) into passages by heading,
embeds them with the offline sentence model into LanceDB under ``EMILY_HOME/knowledge`` (rebuilt
when the docs change), and answers a question with the closest passages, citing their pages.
``report`` prints the seed's success metrics from what the test script, coverage, restic and the
stores recorded. ``runbook_commands`` lists the commands a runbook tells an operator to run, so a
test can run every one of them.

Public names are imported on first use (PEP 562): LanceDB loads when a question is
asked, not when ``emily --help`` starts.

Example:
    >>> from emily.ops.knowledge import DocsIndex, ask, find_docs_root  # doctest: +SKIP
    >>> from emily.memory import SentenceEmbedder  # doctest: +SKIP
    >>> index = DocsIndex(find_docs_root(), knowledge_dir, SentenceEmbedder())  # doctest: +SKIP
    >>> ask(index, "what happens when the bus is down?").sources[0]  # doctest: +SKIP
    'ops/runbooks/bus-router-down.md'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emily.core.lazy import lazy_package

if TYPE_CHECKING:
    from emily.ops.knowledge._answer import Answer, ask, sentences
    from emily.ops.knowledge._index import DocsIndex, Hit, IndexState
    from emily.ops.knowledge._metric import Metric, Report
    from emily.ops.knowledge._report import build_report
    from emily.ops.knowledge._runbooks import (
        REQUIRED_SECTIONS,
        RunbookCommand,
        runbook_commands,
        runbook_sections,
    )
    from emily.ops.knowledge._sources import Passage, collect, find_docs_root, split_page

_HOMES = {
    "emily.ops.knowledge._answer": ("Answer", "ask", "sentences"),
    "emily.ops.knowledge._index": ("DocsIndex", "Hit", "IndexState"),
    "emily.ops.knowledge._metric": ("Metric", "Report"),
    "emily.ops.knowledge._report": ("build_report",),
    "emily.ops.knowledge._runbooks": (
        "REQUIRED_SECTIONS", "RunbookCommand", "runbook_commands", "runbook_sections",
    ),
    "emily.ops.knowledge._sources": ("Passage", "collect", "find_docs_root", "split_page"),
}  # fmt: skip
if not TYPE_CHECKING:  # hidden from mypy, which then checks names against the imports above
    __getattr__, __dir__ = lazy_package(__name__, _HOMES)


__all__ = [
    "REQUIRED_SECTIONS",
    "Answer",
    "DocsIndex",
    "Hit",
    "IndexState",
    "Metric",
    "Passage",
    "Report",
    "RunbookCommand",
    "ask",
    "build_report",
    "collect",
    "find_docs_root",
    "runbook_commands",
    "runbook_sections",
    "sentences",
    "split_page",
]
