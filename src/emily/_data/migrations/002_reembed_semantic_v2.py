"""002: re-embed semantic memory with scheme v2 (NFKC-normalised text), with zero downtime.

Demonstrates the path for any change of embedding model: dual-write old and new, backfill,
verify, switch reads, drop the old (see ``emily.memory.reembed``). ``down`` walks back to v1.
"""

from __future__ import annotations

from emily.memory.migrations import MigrationContext
from emily.memory.reembed import is_on, reembed
from emily.memory.semantic import V1, V2

DESCRIPTION = "Re-embed semantic memory from v1 to v2 (dual-write, backfill, verify, switch, drop)"


def up(ctx: MigrationContext) -> None:
    reembed(ctx.semantic, V2)


def down(ctx: MigrationContext) -> None:
    reembed(ctx.semantic, V1)


def verify(ctx: MigrationContext) -> bool:
    return is_on(ctx.semantic, V2)
