"""Runs after the other browser modules (pytest takes a folder's files in name order): none
of them may leave Playwright started, whose sync API marks an asyncio loop as running in the
main thread. With one browser per session, every later test saw that loop and Prefect's flows
and DBOS returned coroutines to the memory tests (15 failures on a clean clone)."""

from __future__ import annotations

import asyncio

import pytest


def test_no_event_loop_is_left_running_for_the_tests_after_the_browser_layer() -> None:
    with pytest.raises(RuntimeError, match="no running event loop"):
        asyncio.get_running_loop()
