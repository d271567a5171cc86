"""Property: every Python string survives the storage codec unchanged."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from emily.memory._text import decode_text, encode_text

ANY_TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=200)


@settings(deadline=None, max_examples=200)
@given(ANY_TEXT)
def test_round_trip(text: str) -> None:
    stored = encode_text(text)
    assert "\x00" not in stored
    stored.encode("utf-8")
    assert decode_text(stored) == text


@settings(deadline=None, max_examples=100)
@given(st.binary(max_size=100))
def test_undecodable_bytes_round_trip(raw: bytes) -> None:
    text = raw.decode("utf-8", "surrogateescape")
    assert decode_text(encode_text(text)).encode("utf-8", "surrogateescape") == raw
