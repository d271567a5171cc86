"""``ask``: a question in, the best passages and a short extractive answer out.

Why extractive: the answer must come from the docs and cite them, never be invented, and run
offline with no generative model. The answer is the few sentences of the top passages closest to
the question (same sentence model), in the order they appear, each with the page it came from.
"""

from __future__ import annotations

import re

import numpy as np

from emily.core import InputError, SovereignModel
from emily.memory import TextEmbedder
from emily.ops.knowledge._index import DocsIndex, Hit

ANSWER_SENTENCES = 2
"""Sentences in the extractive answer."""
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z`(\"])")
_MARKUP = re.compile(r"```.*?```", re.DOTALL)


class Answer(SovereignModel):
    """The reply to ``emily ask``: the question, a short answer, and the passages it cites."""

    question: str
    answer: str
    sources: list[str]
    hits: list[Hit]


def sentences(text: str) -> list[str]:
    """Prose sentences of a passage: code blocks dropped, list markers and line breaks removed."""
    prose = _MARKUP.sub(" ", text)
    lines = [re.sub(r"^\s*(?:[-*+]|\d+\.)\s+", "", line) for line in prose.splitlines()]
    flat = " ".join(line.strip() for line in lines if line.strip() and not line.startswith("|"))
    return [s.strip() for s in _SENTENCE.split(flat) if len(s.strip()) > 20]


def ask(index: DocsIndex, question: str, k: int = 5) -> Answer:
    """Answer ``question`` from the docs.

    Raises:
        InputError: the question is empty or ``k`` is not positive.
    """
    if not question.strip():
        raise InputError('ask: the question is empty; expected e.g. emily ask "what is a reflex?"')
    if k < 1:
        raise InputError(f"ask: --top must be at least 1, got {k}")
    hits = index.search(question, k)
    embedder: TextEmbedder = index.embedder
    candidates = [(h.passage.path, s) for h in hits[:2] for s in sentences(h.passage.text)]
    answer = ""
    if candidates:
        q = embedder.embed([question])[0]
        scores = embedder.embed([s for _, s in candidates]) @ q
        best = sorted(np.argsort(-scores)[:ANSWER_SENTENCES].tolist())
        answer = " ".join(candidates[i][1] for i in best)
    sources = list(dict.fromkeys(h.passage.path for h in hits))
    return Answer(question=question, answer=answer, sources=sources, hits=hits)
