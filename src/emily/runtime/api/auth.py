"""Bearer-token authentication for the HTTP API, with the token kept in ``EMILY_HOME``.

Why a file and not a setting: Alertmanager reads its bearer token from a file
(``credentials_file``), and a file with mode 0600 is the simplest secret store a single-user,
self-hosted machine has. The token is created on the first start with ``secrets.token_urlsafe``;
a token file other users can read is refused, because it may already have leaked.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path
from typing import Annotated

from fastapi import HTTPException, Security, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from emily.core import ConfigError

TOKEN_FILE = "api-token"
TOKEN_BYTES = 32


def token_path(home: Path) -> Path:
    """Where the API token lives: ``EMILY_HOME/api-token``."""
    return home / TOKEN_FILE


def ensure_token(home: Path) -> str:
    """Return the API token, creating it (mode 0600) on first use.

    Raises:
        ConfigError: the file is readable or writable by group/others, or is empty.
    """
    path = token_path(home)
    home.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_checked(path)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token)  # no newline: every reader (Alertmanager, curl) sees the same bytes
    return token


def _read_checked(path: Path) -> str:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(
            f"{path} has mode {mode:04o}: other users can read the API token, so it may have "
            f"leaked. Delete it to get a new token on the next start, or run `chmod 600 {path}` "
            "if you are sure nobody read it"
        )
    token = path.read_text(encoding="utf-8").strip()
    if not token:
        raise ConfigError(f"{path} is empty: delete it to get a new API token on the next start")
    return token


_SCHEME = HTTPBearer(
    auto_error=False, description=f"The token in EMILY_HOME/{TOKEN_FILE} (created on first start)."
)


class BearerAuth:
    """A FastAPI dependency that accepts ``Authorization: Bearer <token>`` (constant-time)."""

    def __init__(self, token: str) -> None:
        self._token = token.encode()

    def __call__(
        self, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_SCHEME)]
    ) -> None:
        if credentials is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "missing bearer token: send 'Authorization: Bearer <token>' (the token is in "
                f"EMILY_HOME/{TOKEN_FILE})",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not secrets.compare_digest(credentials.credentials.encode(), self._token):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                f"wrong bearer token: use the one in EMILY_HOME/{TOKEN_FILE}",
                headers={"WWW-Authenticate": "Bearer"},
            )
