"""The storage codec: safe text is stored as itself; anything else round-trips via base64."""

from __future__ import annotations

import pytest

from emily.memory._text import decode_text, encode_text


@pytest.mark.parametrize("text", ["plain", "", "quote ' \" \\", "😀", "x\ny"])
def test_safe_text_is_stored_as_itself(text: str) -> None:
    assert encode_text(text) == text
    assert decode_text(text) == text


@pytest.mark.parametrize("text", ["\x00", "a\udcffb", "\x01emily-b64:Zm9v"])
def test_unsafe_text_is_encoded_and_round_trips(text: str) -> None:
    stored = encode_text(text)
    assert stored != text
    assert "\x00" not in stored
    stored.encode("utf-8")  # storable as UTF-8
    assert decode_text(stored) == text
