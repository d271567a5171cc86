"""``emily backup`` and ``emily restore``: verified restic snapshots of EMILY_HOME.

The lead wires these into the main app with ``register_backup_commands(app)``. Both are thin
shells over ``emily.ops.backup``; a failed verification raises ``RestoreVerificationError``
(an ``EmilyError``), which the app prints as one line per mismatch and exits non-zero.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from emily.ops.backup import BackupSettings, backup, restore

RepoOption = Annotated[
    str | None,
    typer.Option("--repo", help="restic repository (folder or URL); default EMILY_BACKUP_REPO."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a summary.")]


def _settings(repo: str | None) -> BackupSettings:
    settings = BackupSettings.from_env()
    return settings.model_copy(update={"repository": repo}) if repo else settings


def backup_command(
    repo: RepoOption = None,
    read_data: Annotated[
        bool, typer.Option("--read-data", help="restic check --read-data after the backup.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Snapshot every store under EMILY_HOME into restic, apply retention, run restic check."""
    result = backup(_settings(repo), read_data=read_data)
    if as_json:
        typer.echo(result.model_dump_json())
        return
    typer.echo(f"snapshot {result.snapshot_id}: {len(result.manifest.stores)} stores, check ok")
    for store in result.manifest.stores:
        figures = ", ".join(f"{k}={v}" for k, v in sorted(store.counts.items()))
        typer.echo(f"  {store.kind:9} {store.path}  files={len(store.files)} {figures}")


def restore_command(
    snapshot: Annotated[str, typer.Argument(help="Snapshot id, or 'latest'.")] = "latest",
    repo: RepoOption = None,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify/--no-verify",
            help="Prove the restored stores match the manifest before they replace the home.",
        ),
    ] = True,
    as_json: JsonOption = False,
) -> None:
    """Restore a snapshot beside EMILY_HOME, verify it, then swap it in (old home kept aside)."""
    result = restore(_settings(repo), snapshot=snapshot, verify=verify)
    if as_json:
        typer.echo(json.dumps(result.model_dump()))
        return
    checked = f"verified {result.report.stores} stores" if verify else "not verified"
    typer.echo(f"restored {result.snapshot_id} into {result.home} ({checked})")
    if result.previous_home:
        typer.echo(f"previous home kept at {result.previous_home}")


def register_backup_commands(app: typer.Typer) -> None:
    """Add ``backup`` and ``restore`` to the ``emily`` app."""
    app.command("backup")(backup_command)
    app.command("restore")(restore_command)
