"""``backup``, ``restore`` and ``verify``: discovery of stores, staging, restic, and the swap.

Flow of a backup: discover the stores under EMILY_HOME (a registry of snapshotters, most
specific first; plain files fall through to a checksummed copy), stage each by its own safe
method into ``<EMILY_HOME>.backup-staging`` beside the home, write the manifest, ``restic
backup`` the staged tree, apply retention, ``restic check``. A restore never touches the live
home until the restored copy has been verified: it restores beside the home, verifies every
store against the manifest, then moves the old home aside and the restored one into place.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from emily.core import Clock, ConfigError, EmilyError, system_clock
from emily.ops.backup._falkor import FalkorDBSnapshotter
from emily.ops.backup._lance import LanceDBSnapshotter
from emily.ops.backup._models import (
    MANIFEST_NAME,
    BackupManifest,
    BackupResult,
    BackupSettings,
    Mismatch,
    RestoreResult,
    StoreRecord,
    VerifyReport,
)
from emily.ops.backup._restic import Restic
from emily.ops.backup._restore_record import RestoreRecord, write_restore_record
from emily.ops.backup._snapshotters import (
    Snapshotter,
    SQLiteSnapshotter,
    sha256_file,
)

SKIPPED = frozenset({"backup"})  # restore bookkeeping and a pre-ADR-0016 key (useless inside)
FILES_KIND = "files"
RESTORED_MANIFEST = "restored-manifest.json"
# live state, not data: SQLite side files (the online backup folds them in), sockets, pids
VOLATILE = ("-wal", "-shm", "-journal", ".sock", ".pid")


class RestoreVerificationError(EmilyError):
    """A restored snapshot does not match its manifest; the live home was left untouched."""

    def __init__(self, report: VerifyReport, kept: Path) -> None:
        lines = [
            f"{m.store}: {m.what} expected {m.expected}, found {m.found}" for m in report.mismatches
        ]
        super().__init__(
            f"restored snapshot failed verification (kept at {kept}; live home untouched):\n"
            + "\n".join(lines)
        )
        self.report = report


def default_snapshotters() -> list[Snapshotter]:
    """Engine snapshotters, most specific first; plain files are handled after them."""
    return [LanceDBSnapshotter(), FalkorDBSnapshotter(), SQLiteSnapshotter()]


def discover(
    home: Path, snapshotters: Sequence[Snapshotter]
) -> tuple[list[tuple[Path, Snapshotter]], list[Path]]:
    """Stores under ``home`` with their snapshotter, and the plain files left over."""
    stores: list[tuple[Path, Snapshotter]] = []
    plain: list[Path] = []

    def walk(path: Path) -> None:
        for child in sorted(path.iterdir()):
            if child.is_symlink() or (path == home and child.name in SKIPPED):
                continue
            owner = next((s for s in snapshotters if s.claims(child)), None)
            if owner is not None:
                stores.append((child, owner))
            elif child.is_dir():
                walk(child)
            elif child.is_file() and not child.name.endswith(VOLATILE):
                plain.append(child)

    if home.is_dir():
        walk(home)
    return stores, plain


def stage(
    home: Path,
    staged: Path,
    clock: Clock,
    snapshotters: Sequence[Snapshotter] | None = None,
) -> BackupManifest:
    """Stage every store of ``home`` into ``staged`` (emptied first) and write the manifest."""
    found = list(snapshotters) if snapshotters is not None else default_snapshotters()
    if staged.exists():
        shutil.rmtree(staged)
    staged.mkdir(parents=True)
    created = clock.now()
    stores, plain = discover(home, found)
    records: list[StoreRecord] = []
    for path, snap in stores:
        rel = path.relative_to(home).as_posix()
        record = snap.snapshot(path, staged / rel)
        records.append(record.model_copy(update={"path": rel}))
    copied: dict[str, str] = {}
    for path in plain:
        rel = path.relative_to(home).as_posix()
        (staged / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, staged / rel)
        copied[rel] = sha256_file(staged / rel)
    if copied:
        records.append(StoreRecord(path=".", kind=FILES_KIND, files=copied))
    manifest = BackupManifest(created_at=created, home=str(home), stores=records)
    (staged / MANIFEST_NAME).write_text(manifest.model_dump_json(indent=2))
    return manifest


def verify_tree(root: Path, snapshotters: Sequence[Snapshotter] | None = None) -> VerifyReport:
    """Recompute every store's figures under a restored ``root`` and compare to its manifest."""
    manifest_path = root / MANIFEST_NAME
    if not manifest_path.is_file():
        return VerifyReport(
            stores=0,
            mismatches=[
                Mismatch(store=".", what="manifest", expected=MANIFEST_NAME, found="missing")
            ],
        )
    manifest = BackupManifest.model_validate_json(manifest_path.read_text())
    by_kind = {s.kind: s for s in (snapshotters or default_snapshotters())}
    mismatches: list[Mismatch] = []
    for record in manifest.stores:
        if record.kind == FILES_KIND:
            found = StoreRecord(
                path=record.path,
                kind=FILES_KIND,
                files={
                    rel: sha256_file(root / rel) for rel in record.files if (root / rel).is_file()
                },
            )
        elif not (root / record.path).exists():
            found = StoreRecord(path=record.path, kind=record.kind, files={})
        else:
            found = by_kind[record.kind].describe(root / record.path, record.path)
        mismatches.extend(_compare(record, found))
    return VerifyReport(stores=len(manifest.stores), mismatches=mismatches)


def _compare(expected: StoreRecord, found: StoreRecord) -> list[Mismatch]:
    out: list[Mismatch] = []
    for what, exp, got in (
        ("file", expected.files, found.files),
        ("count", expected.counts, found.counts),
        ("digest", expected.digests, found.digests),
    ):
        for key in sorted(set(exp) | set(got)):
            e, g = exp.get(key), got.get(key)
            if e != g:
                out.append(
                    Mismatch(
                        store=expected.path,
                        what=f"{what} {key}",
                        expected="absent" if e is None else str(e),
                        found="missing" if g is None else str(g),
                    )
                )
    return out


def _staging(home: Path, suffix: str) -> Path:
    return home.parent / f"{home.name}.{suffix}"


def backup(
    settings: BackupSettings | None = None,
    *,
    clock: Clock | None = None,
    read_data: bool = False,
    snapshotters: Sequence[Snapshotter] | None = None,
) -> BackupResult:
    """Snapshot EMILY_HOME into the restic repository, apply retention, run ``restic check``.

    A home with nothing in it (missing, empty, or only ``backup/``) raises ``ConfigError``
    before the repository is touched: it nearly always means the wrong home (``EMILY_HOME``
    unset and ``emily.toml`` not read), and a "successful" empty snapshot would let the
    operator believe the data was protected. Retention is skipped for an append-only
    repository (it cannot delete); ``restic check`` only reads, so it runs on every kind.
    """
    cfg = settings or BackupSettings.from_env()
    found = list(snapshotters) if snapshotters is not None else default_snapshotters()
    stores, plain = discover(cfg.home, found)
    if not stores and not plain:
        state = "does not exist" if not cfg.home.is_dir() else "holds no stores or files"
        raise ConfigError(
            f"nothing to back up: EMILY_HOME {cfg.home} {state}; expected the folder Emily runs "
            "with (set EMILY_HOME, or home in emily.toml)"
        )
    restic = Restic(cfg)
    restic.ensure_repository()
    staged = _staging(cfg.home, "backup-staging")
    try:
        manifest = stage(cfg.home, staged, clock or system_clock(), found)
        snapshot_id = restic.backup(staged)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    if not cfg.append_only:
        restic.forget()
    restic.check(read_data=read_data)
    return BackupResult(
        snapshot_id=snapshot_id,
        manifest=manifest,
        checked=True,
        key_file=str(restic.key_file) if restic.key_file is not None else None,
        key_created=restic.key_created,
    )


def restore(
    settings: BackupSettings | None = None,
    *,
    snapshot: str = "latest",
    clock: Clock | None = None,
    verify: bool = True,
    snapshotters: Sequence[Snapshotter] | None = None,
) -> RestoreResult:
    """Restore a snapshot as EMILY_HOME, keeping the current home aside.

    The snapshot is restored and (with ``verify``) checked beside the home first; on a
    mismatch ``RestoreVerificationError`` is raised and the live home is untouched. On success
    the current home moves to ``<EMILY_HOME>.pre-restore-<timestamp>`` (never deleted), after
    its embedded FalkorDB server is stopped (else it would keep serving, and writing to, the
    home set aside). Restore needs the repository's key and never makes one
    (``BackupKeyError`` says how to give it).
    """
    cfg = settings or BackupSettings.from_env()
    restic = Restic(cfg)
    restic.require_key()  # never a new key here: it could not open the repository
    tick = clock or system_clock()
    stamp = tick.now().strftime("%Y%m%dT%H%M%S%f")
    target = _staging(cfg.home, f"restore-{stamp}")
    snapshot_id, root = restic.restore(snapshot, target)
    report = verify_tree(root, snapshotters) if verify else VerifyReport(stores=0, mismatches=[])
    if not report.ok:
        raise RestoreVerificationError(report, target)
    keep = cfg.home / "backup"
    if keep.is_dir():  # restore bookkeeping (and a pre-ADR-0016 key) stay with the live home
        shutil.copytree(keep, root / "backup", dirs_exist_ok=True)
    (root / "backup").mkdir(exist_ok=True)
    (root / MANIFEST_NAME).replace(root / "backup" / RESTORED_MANIFEST)
    if verify:  # `emily report` reads this instead of saying "not measured"
        write_restore_record(
            root,
            RestoreRecord(
                snapshot_id=snapshot_id,
                verified_at=tick.now(),
                stores=report.stores,
                mismatches=len(report.mismatches),
                by="emily restore",
            ),
        )
    previous: Path | None = None
    stop_graph_servers(cfg.home)  # real time: a process's exit, not a timestamp
    if cfg.home.exists():
        previous = _staging(cfg.home, f"pre-restore-{stamp}")
        cfg.home.rename(previous)
    root.rename(cfg.home)
    if target.exists():
        shutil.rmtree(target, ignore_errors=True)
    return RestoreResult(
        snapshot_id=snapshot_id,
        home=str(cfg.home),
        previous_home=str(previous) if previous else None,
        report=report,
    )


def stop_graph_servers(home: Path, clock: Clock | None = None, timeout_s: float = 60.0) -> None:
    """Stop every embedded FalkorDB server running on a ``falkordb`` folder under ``home``.

    SIGTERM first (Redis flushes its AOF, which matters under ``appendfsync everysec``), SIGKILL
    if it lingers, so the home set aside loses nothing.
    """
    from emily.memory import stop_server

    tick = clock or system_clock()
    if not home.is_dir():
        return
    for state in sorted(home.rglob("server.json")):
        folder = state.parent
        if folder.name != "falkordb":
            continue
        deadline = tick.monotonic() + timeout_s
        while stop_server(folder, tick) is not None:
            if tick.monotonic() >= deadline:
                raise EmilyError(
                    f"the FalkorDB server of {folder} did not stop within {timeout_s:.0f} s; "
                    "stop it (see server.json) and run emily restore again"
                )
            tick.sleep(0.05)
