"""``emily backup`` and ``emily restore``: verified restic snapshots of EMILY_HOME.

The lead wires these into the main app with ``register_backup_commands(app)``. Both are thin
shells over ``emily.ops.backup``; a failed verification raises ``RestoreVerificationError``
and a missing or wrong key ``BackupKeyError`` (both ``EmilyError``), which the app prints as
one red line each and exits non-zero. The home is the project's (``EMILY_HOME``, else ``home``
in ``emily.toml``); the key lives outside it (ADR 0016).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from emily.ops.backup import KEEP_LAST, BackupResult, BackupSettings, backup, restore

RepoOption = Annotated[
    str | None,
    typer.Option(
        "--repo",
        help="restic repository (folder or URL); default EMILY_BACKUP_REPO, else "
        "<EMILY_HOME>.backups beside the home.",
    ),
]
PasswordFileOption = Annotated[
    Path | None,
    typer.Option(
        "--password-file",
        help="Key file that opens the repository; default EMILY_BACKUP_PASSWORD_FILE, "
        "RESTIC_PASSWORD_FILE, RESTIC_PASSWORD, else <EMILY_HOME>.backup-key (written by the "
        "first backup; keep a copy away from this machine).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a summary.")]


def _settings(
    repo: str | None, password_file: Path | None, keep_last: int | None = None
) -> BackupSettings:
    return BackupSettings.from_env(
        repository=repo, password_file=password_file, keep_last=keep_last
    )


def _key_notice(result: BackupResult) -> None:
    """Say once, loudly, which file the operator must keep: without it nothing restores."""
    if not result.key_created or result.key_file is None:
        return
    typer.secho(
        f"New backup key: {result.key_file}\n"
        "  Keep a copy of this file away from this machine (a password manager, a USB stick).\n"
        "  Without it no backup in the repository can be restored. To restore after losing "
        "the home:\n"
        f"  emily restore latest --password-file /path/to/your/copy",
        fg=typer.colors.YELLOW,
        err=True,
    )


def backup_command(
    repo: RepoOption = None,
    password_file: PasswordFileOption = None,
    keep_last: Annotated[
        int | None,
        typer.Option(
            "--keep-last",
            min=1,
            help=f"Retention keeps the newest N snapshots whatever their day (default "
            f"EMILY_BACKUP_KEEP_LAST, else {KEEP_LAST}) on top of 7 daily, 4 weekly, 12 "
            "monthly and 3 yearly.",
        ),
    ] = None,
    read_data: Annotated[
        bool, typer.Option("--read-data", help="restic check --read-data after the backup.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Snapshot every store under EMILY_HOME into restic, apply retention, run restic check.

    The home is EMILY_HOME, else home in emily.toml. A home with nothing to back up is an
    error (exit 2), not an empty snapshot. The first backup of a new repository writes a new
    key to <EMILY_HOME>.backup-key and says so: keep a copy of it elsewhere.
    """
    result = backup(_settings(repo, password_file, keep_last), read_data=read_data)
    _key_notice(result)
    if as_json:
        typer.echo(result.model_dump_json())
        return
    typer.echo(
        f"snapshot {result.snapshot_id} of {result.manifest.home}: "
        f"{len(result.manifest.stores)} stores, check ok"
    )
    for store in result.manifest.stores:
        figures = ", ".join(f"{k}={v}" for k, v in sorted(store.counts.items()))
        typer.echo(f"  {store.kind:9} {store.path}  files={len(store.files)} {figures}")


def restore_command(
    snapshot: Annotated[str, typer.Argument(help="Snapshot id, or 'latest'.")] = "latest",
    repo: RepoOption = None,
    password_file: PasswordFileOption = None,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify/--no-verify",
            help="Prove the restored stores match the manifest before they replace the home.",
        ),
    ] = True,
    as_json: JsonOption = False,
) -> None:
    """Restore a snapshot beside EMILY_HOME, verify it, then swap it in (old home kept aside).

    The old home's embedded FalkorDB server is stopped before the swap. Needs the key the
    first backup wrote (<EMILY_HOME>.backup-key, or your copy via --password-file); restore
    never makes a new one.
    """
    result = restore(_settings(repo, password_file), snapshot=snapshot, verify=verify)
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
