"""Operations knowledge: ``emily ask`` over the documentation and ``emily report`` of the metrics.

``ask`` splits the site's Markdown (``docs/`` and ``ops/runbooks/``) into passages by heading,
embeds them with the offline sentence model into LanceDB under ``EMILY_HOME/knowledge`` (rebuilt
when the docs change), and answers a question with the closest passages, citing their pages.
``report`` prints the seed's success metrics from what the test script, coverage, restic and the
stores recorded. ``runbook_commands`` lists the commands a runbook tells an operator to run, so a
test can run every one of them.

Example:
    >>> from emily.ops.knowledge import DocsIndex, ask, find_docs_root  # doctest: +SKIP
    >>> from emily.memory.embedding import SentenceEmbedder  # doctest: +SKIP
    >>> index = DocsIndex(find_docs_root(), knowledge_dir, SentenceEmbedder())  # doctest: +SKIP
    >>> ask(index, "what happens when the bus is down?").sources[0]  # doctest: +SKIP
    'ops/runbooks/bus-router-down.md'
"""

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
