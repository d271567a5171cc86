"""Lossless storage form for arbitrary Python text in FalkorDB and Arrow (LanceDB).

Why: the FalkorDB client inlines query parameters into a ``CYPHER name=value`` prefix that the
server parses as a C string, so a NUL character truncates the query; Arrow strings must be valid
UTF-8, so a string carrying undecodable bytes (Python keeps them as lone surrogates, e.g. after
``bytes.decode("utf-8", "surrogateescape")``) cannot be written at all. Both are memories Emily
was handed and must give back unchanged. Text that is safe is stored as itself (so graph queries
and humans still read it); anything else is stored as a marked base64 of its
``surrogatepass`` UTF-8 bytes, which round-trips every ``str``.
"""

from __future__ import annotations

import base64

_MARK = "\x01emily-b64:"


def _is_plain(text: str) -> bool:
    if "\x00" in text or text.startswith(_MARK):
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def encode_text(text: str) -> str:
    """Storage form of ``text``: itself when safe, else the marked base64 form."""
    if _is_plain(text):
        return text
    raw = text.encode("utf-8", "surrogatepass")
    return _MARK + base64.b64encode(raw).decode("ascii")


def decode_text(stored: str) -> str:
    """Inverse of :func:`encode_text`."""
    if stored.startswith(_MARK):
        raw = base64.b64decode(stored[len(_MARK) :].encode("ascii"))
        return raw.decode("utf-8", "surrogatepass")
    return stored
