"""A thin, typed wrapper over the ``restic`` command line (Debian package ``restic``).

Why the command line and not a library: restic has no stable API besides its CLI and JSON
output, and the CLI is what an operator runs by hand during an incident, so Emily runs exactly
the commands a runbook shows. Every call names the repository and the password file explicitly.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from pathlib import Path

from emily.core import EmilyError, InputError
from emily.ops.backup._models import BackupSettings

HOST = "emily-sovereign"
TAG = "emily-home"
RETENTION = (
    "--keep-daily",
    "7",
    "--keep-weekly",
    "4",
    "--keep-monthly",
    "12",
    "--keep-yearly",
    "3",
)


class ResticError(EmilyError):
    """restic is missing or a restic command failed (its stderr is in the message)."""


class Restic:
    """One restic repository, with its password resolved once.

    Args:
        settings: Repository and password file; see ``BackupSettings``.
    """

    def __init__(self, settings: BackupSettings) -> None:
        self.binary = shutil.which("restic")
        if self.binary is None:
            raise ResticError("restic not found on PATH; install it: apt-get install -y restic")
        self.settings = settings
        self.env = dict(os.environ)
        self.env["RESTIC_REPOSITORY"] = settings.repository
        if settings.password_file is not None:
            self.env["RESTIC_PASSWORD_FILE"] = str(settings.password_file)
        elif not os.environ.get("RESTIC_PASSWORD"):
            self.env["RESTIC_PASSWORD_FILE"] = str(self._generated_password())

    def _generated_password(self) -> Path:
        """``EMILY_HOME/backup/restic-password``, created (0600) on first use."""
        path = self.settings.home / "backup" / "restic-password"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(32) + "\n")
        return path

    def run(self, *args: str, cwd: Path | None = None) -> str:
        """Run ``restic ARGS``; stdout on success, ``ResticError`` with stderr otherwise."""
        cmd = [str(self.binary), "--no-cache", *args]
        proc = subprocess.run(
            cmd, cwd=cwd, env=self.env, capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise ResticError(f"restic {args[0]} failed ({proc.returncode}): {proc.stderr.strip()}")
        return proc.stdout

    def ensure_repository(self) -> None:
        """``restic init`` unless the repository already answers; clear locks of dead runs.

        ``unlock`` removes only stale locks (their process is gone), so a backup killed with
        kill -9 does not block the next one.
        """
        try:
            self.run("cat", "config")
        except ResticError:
            self.run("init")
        self.run("unlock")

    def backup(self, staged: Path) -> str:
        """Back up the staged tree (as ``.`` from inside it); returns the snapshot id."""
        out = self.run("backup", "--json", "--host", HOST, "--tag", TAG, ".", cwd=staged)
        for line in out.splitlines():
            msg = json.loads(line)
            if msg.get("message_type") == "summary":
                return str(msg["snapshot_id"])
        raise ResticError("restic backup printed no summary")

    def forget(self) -> None:
        """Apply the retention policy (7 daily, 4 weekly, 12 monthly, 3 yearly) and prune."""
        self.run("forget", "--host", HOST, "--tag", TAG, *RETENTION, "--prune")

    def check(self, read_data: bool = False) -> None:
        """``restic check`` (``--read-data`` re-reads and re-hashes every pack)."""
        self.run("check", *(["--read-data"] if read_data else []))

    def snapshots(self) -> list[dict[str, object]]:
        """Emily's snapshots, oldest first, as restic's JSON objects."""
        out = self.run("snapshots", "--json", "--host", HOST, "--tag", TAG)
        data: list[dict[str, object]] = json.loads(out) or []
        return data

    def restore(self, snapshot: str, target: Path) -> tuple[str, Path]:
        """Restore ``snapshot`` under ``target``; returns its id and the folder backed up.

        A snapshot of ``.`` restores its contents straight into ``target`` (restic 0.14); other
        snapshots recreate their absolute path below it, so both places are tried.
        """
        chosen = [s for s in self.snapshots() if snapshot in ("latest", s["id"], s["short_id"])]
        if not chosen:
            raise InputError(f"no Emily snapshot {snapshot!r} in {self.settings.repository}")
        snap = chosen[-1]
        paths = snap["paths"]
        first = paths[0] if isinstance(paths, list) and paths else ""
        self.run("restore", str(snap["id"]), "--target", str(target))
        nested = target / str(first).lstrip("/")
        return str(snap["id"]), nested if nested.is_dir() else target
