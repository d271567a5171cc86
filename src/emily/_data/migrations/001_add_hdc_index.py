"""001: the reflexive store's Hamming index (``idx_hdc_reflex``, IVF_FLAT over packed bits).

The seed's first migration. The index functions belong to the instinct tier; the memory tier
calls them through ``ctx.reflex_ops``. ``up`` first opens the instinct tier's store, which creates
the table if it does not exist yet (an index needs a table; an empty one is fine).
"""

from __future__ import annotations

from emily.instinct import LanceDBReflexStore
from emily.memory._lance import lance_uri
from emily.memory.migrations import MigrationContext

DESCRIPTION = "Add the Hamming IVF_FLAT index idx_hdc_reflex to the reflexive store"


def up(ctx: MigrationContext) -> None:
    LanceDBReflexStore(lance_uri(ctx.settings), ctx.settings.hdc_dim)
    ctx.reflex_ops.create_hdc_index(ctx.db)


def down(ctx: MigrationContext) -> None:
    ctx.reflex_ops.drop_hdc_index(ctx.db)


def verify(ctx: MigrationContext) -> bool:
    return ctx.reflex_ops.has_hdc_index(ctx.db)
