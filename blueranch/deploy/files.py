"""Writing generated files without ever overwriting one, and generating passwords."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

#: 32 random bytes, URL-safe base64 (43 characters): no shell, YAML or env-file quoting needed.
PASSWORD_BYTES = 32


def new_password() -> str:
    return secrets.token_urlsafe(PASSWORD_BYTES)


def write_once(path: Path, data: str | bytes, mode: int = 0o600) -> bool:
    """Create ``path`` holding ``data`` with ``mode``; False (and nothing written) if it exists.

    The file is created with ``O_EXCL`` and its final mode at once, so a secret is never readable by others,
    not even for an instant, and two concurrent runs cannot both write it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode() if isinstance(data, str) else data
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as f:
        f.write(raw)
    os.chmod(path, mode)  # O_CREAT's mode is filtered by the umask
    return True


def secret_once(path: Path) -> tuple[str, bool]:
    """The password stored in ``path`` (first line), creating it with a new one if it does not exist."""
    created = write_once(path, new_password() + "\n")
    return path.read_text().splitlines()[0], created


def replace_secret(path: Path, data: str | bytes, mode: int = 0o600) -> None:
    """Atomically replace ``path`` (rotation only): a new file beside it, renamed over the old one."""
    tmp = path.with_name(path.name + ".new")
    tmp.unlink(missing_ok=True)
    write_once(tmp, data, mode)
    os.replace(tmp, path)
