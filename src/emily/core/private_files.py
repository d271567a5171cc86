"""Files under ``EMILY_HOME`` belong to the user who runs Emily, and to nobody else.

Why: the home holds the episodic graph's log, LanceDB tables, the journal outbox, the workflow
database and the remediation log. With the usual umask (022) every engine created them
world-readable, so any local user could read Emily's memory (issue 16). Each engine creates its
own files, many in native code, so no single ``open`` call can set their modes; the process
umask can. :func:`use_private_umask` runs once at the CLI entry point and every file and folder
created afterwards — in this process or in a child server, which inherits the umask — is
``0600``/``0700``. :func:`exposed` finds what an older version (or a copy made by hand) left open,
for ``emily doctor``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077
"""Clear every group and other bit: files 0600, folders 0700."""


def use_private_umask() -> int:
    """Make files this process (and its children) creates private; returns the previous umask."""
    return os.umask(PRIVATE_UMASK)


def make_private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) if needed and make ``path`` itself mode 0700.

    The chmod also closes a folder that exists with wider bits (``mkdir``'s mode applies only to
    a folder it creates, and only after the umask).
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def write_private_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` as a 0600 file, whatever the umask and any earlier mode."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        os.fchmod(file.fileno(), 0o600)
        file.write(text)


def exposed(root: Path) -> list[tuple[Path, int]]:
    """Files and folders under ``root`` (itself included) that group or others may access.

    Returns (path, ``st_mode``) pairs, in walk order.

    Symbolic links are not followed (their own mode means nothing) and sockets are skipped (the
    graph server's socket is checked by the kernel against its 0700 folder). An unreadable
    sub-folder is skipped too: it is not open to others, whatever lies inside.
    """
    found: list[tuple[Path, int]] = []

    def visit(path: Path, mode: int) -> None:
        if not stat.S_ISSOCK(mode) and mode & 0o077:
            found.append((path, mode))

    try:
        visit(root, root.lstat().st_mode)
    except (FileNotFoundError, NotADirectoryError):  # no home yet: nothing to expose
        return found
    for folder, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            path = Path(folder, name)
            try:
                mode = path.lstat().st_mode
            except FileNotFoundError:  # removed while we walked (a live store)
                continue
            if not stat.S_ISLNK(mode):
                visit(path, mode)
    return found
