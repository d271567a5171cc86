"""``FlagStore``: the flags file under ``EMILY_HOME``, hot-reloaded, keeping the last good flags.

Why poll instead of a file watcher: a watcher is a thread and a platform dependency; reading a
file of a few hundred bytes at most once per ``check_interval_s`` (on the injected clock) costs
microseconds and works the same everywhere. A file that fails to parse or validate never
replaces good flags: the store keeps serving the last good set and reports the error in
``last_error`` (and the log) until the file is fixed.

Why a lock file: ``set_variant`` is a read-modify-write of the whole file, and its writers are
``PUT /flags/{name}`` handlers on FastAPI's thread pool and ``emily flags set`` in another
process. Without a lock the last writer wins and the other writers' flags vanish although each
was told "done". ``filelock`` takes an OS lock (``flock``) on ``.flags.yaml.lock`` beside the
file, which excludes other threads and other processes alike and is released by the kernel if
its holder dies; the write itself stays a replace of a fully written temporary file, so a reader
never sees half a file.

Why a thread lock in front of it: ``filelock`` waits by polling, so forty API threads waiting on
the file lock wake hundreds of times a second, each taking the GIL from the one thread that holds
the lock and is trying to finish its write; on a loaded machine a waiter then ran past the lock's
time limit. Threads of one process queue on a blocking ``threading.Lock`` per flags file, so at
most one thread per process polls the file lock (against the other processes only).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import threading
from pathlib import Path
from typing import Any

import yaml
from filelock import FileLock, Timeout
from pydantic import ValidationError

from emily.core import BusyError, Clock, InputError, system_clock
from emily.core.settings import EmilySettings, load_settings
from emily.ops.flags._schema import DEFAULT_FLAGS, FlagsFile, FlagSpec

log = logging.getLogger(__name__)

LOCK_TIMEOUT_S = 60.0
"""How long ``set_variant`` waits for another writer before giving up (a write takes ms)."""

_THREAD_LOCKS: dict[Path, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


def _thread_lock(lock_file: Path) -> threading.Lock:
    """The one in-process lock of a flags file, shared by every ``FlagStore`` on it."""
    with _THREAD_LOCKS_GUARD:
        return _THREAD_LOCKS.setdefault(lock_file.absolute(), threading.Lock())


class _Yaml12Loader(yaml.SafeLoader):
    """SafeLoader whose booleans are only ``true``/``false`` (YAML 1.2), so ``on``/``off`` stay
    variant names instead of turning into booleans as YAML 1.1 would have it."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def parse_flags(text: str) -> FlagsFile:
    """Parse and validate flags YAML, raising ``InputError`` with every problem named."""
    try:
        data = yaml.load(text, Loader=_Yaml12Loader)
    except yaml.YAMLError as exc:
        raise InputError(f"flags file is not valid YAML: {exc}") from None
    if data is None:
        return FlagsFile()
    if not isinstance(data, dict):
        raise InputError("flags file must be a mapping with a top-level `flags:` key")
    try:
        return FlagsFile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise InputError(f"flags file is invalid: {problems}") from None


def flags_path(settings: EmilySettings | None = None) -> Path:
    """``EMILY_HOME/flags.yaml``."""
    return (settings or load_settings()).path("flags.yaml")


def lock_path(path: Path) -> Path:
    """The lock file every writer of the flags file ``path`` holds: ``.flags.yaml.lock``."""
    return path.with_name(f".{path.name}.lock")


class FlagStore:
    """The current flags, re-read from ``path`` when it changes.

    Args:
        path: The flags file (it may not exist yet: then ``defaults`` apply).
        clock: Paces the checks for changes.
        check_interval_s: Minimum seconds between two looks at the file (0: every access).
        defaults: Flags served while no file exists.
    """

    def __init__(
        self,
        path: Path,
        *,
        clock: Clock | None = None,
        check_interval_s: float = 1.0,
        defaults: FlagsFile = DEFAULT_FLAGS,
    ) -> None:
        self.path = path
        self._clock = clock or system_clock()
        self._interval = check_interval_s
        self._defaults = defaults
        self._good = defaults
        self._digest: str | None = None
        self._checked_at: float | None = None
        self.last_error: str | None = None
        self._state = threading.Lock()  # reload's read-compare-update of the fields above
        self._writer = FileLock(lock_path(path))  # its wait is given per acquire
        self._queue = _thread_lock(Path(self._writer.lock_file))
        self.reload()

    def reload(self) -> bool:
        """Look at the file now; return whether the flags in force changed."""
        with self._state:
            return self._reload()

    def _reload(self) -> bool:
        self._checked_at = self._clock.monotonic()
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            changed = self._digest is not None
            self._good, self._digest, self.last_error = self._defaults, None, None
            return changed
        digest = hashlib.sha256(raw).hexdigest()
        if digest == self._digest:
            return False
        self._digest = digest
        try:
            flags = parse_flags(raw.decode("utf-8", errors="replace"))
        except InputError as exc:
            self.last_error = f"{self.path}: {exc}; keeping the last good flags"
            log.error("%s", self.last_error)
            return False
        self._good, self.last_error = flags, None
        log.info("flags reloaded from %s (%d flags)", self.path, len(flags.flags))
        return True

    def flags(self) -> FlagsFile:
        """The flags in force, re-reading the file if ``check_interval_s`` has passed."""
        if self._checked_at is None or self._clock.monotonic() - self._checked_at >= self._interval:
            self.reload()
        return self._good

    def set_variant(
        self,
        key: str,
        variant: str,
        *,
        percent: float | None = None,
        enabled: bool | None = None,
    ) -> FlagSpec:
        """Change one flag in the file, atomically, leaving every other flag as it was.

        Without ``percent`` the flag's default variant becomes ``variant`` (and any rollout
        ends); with ``percent`` a stable rollout of ``variant`` to that share of keys starts.
        An unknown flag is created as a boolean flag when ``variant`` is ``on`` or ``off``.

        Raises:
            InputError: The file on disk is malformed (fix it first: nothing is overwritten),
                the variant is not declared, or the percentage is out of range.
            BusyError: Other writers held the lock for ``LOCK_TIMEOUT_S`` seconds; nothing
                was written.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Lock waits are the operating system's time, not the agent's: a ManualClock that
        # never advances must not make a writer wait forever.
        os_clock = system_clock()
        started = os_clock.monotonic()
        if not self._queue.acquire(timeout=LOCK_TIMEOUT_S):
            raise self._busy()
        try:
            left = max(0.0, LOCK_TIMEOUT_S - (os_clock.monotonic() - started))
            with self._writer.acquire(timeout=left):  # held from the read to the replace
                return self._set_variant(key, variant, percent, enabled)
        except Timeout:
            raise self._busy() from None
        finally:
            self._queue.release()

    def _busy(self) -> BusyError:
        return BusyError(
            f"other writers have held {self._writer.lock_file} for over {LOCK_TIMEOUT_S:g} s; "
            "nothing was written: try again, and check for a hung `emily flags set`"
        )

    def _set_variant(
        self, key: str, variant: str, percent: float | None, enabled: bool | None
    ) -> FlagSpec:
        self.reload()
        if self.last_error is not None:
            raise InputError(f"refusing to rewrite a malformed flags file: {self.last_error}")
        current = dict(self._good.flags)
        spec = current.get(key)
        if spec is None:
            if variant not in ("on", "off"):
                raise InputError(f"unknown flag {key!r}: a new flag must be set to on or off")
            spec = FlagSpec(variants={"on": True, "off": False}, default_variant="off")
        data: dict[str, Any] = spec.model_dump()
        if percent is None:
            data["default_variant"], data["rollout"] = variant, None
        else:
            data["rollout"] = {"variant": variant, "percent": percent}
        if enabled is not None:
            data["enabled"] = enabled
        try:
            updated = FlagSpec.model_validate(data)
        except ValidationError as exc:
            raise InputError(
                f"cannot set {key!r} to {variant!r}: {exc.errors()[0]['msg']}"
            ) from None
        current[key] = updated
        self._write(FlagsFile(flags=current))
        self.reload()
        return updated

    def _write(self, flags: FlagsFile) -> None:
        text = yaml.safe_dump(flags.model_dump(mode="json", exclude_none=True), sort_keys=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".flags-", suffix=".yaml")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())  # the replace must not publish unwritten bytes
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
