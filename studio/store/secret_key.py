"""The Fernet key of a home's encrypted connections and variables: kept by the OS keyring, or in a 0600 file.

One key per home (the store is per home). Reading looks, in order, at the key file ``<home>/fernet.key``
(if one was written) and at the keyring (service ``dagstudio``, user ``store-key:<home>``). A key is only
created when something is about to be encrypted (``connections add``, ``variables set``): in the keyring
when it works, otherwise in ``<home>/fernet.key`` with mode 0600 and a notice saying so — the store file
alone (copied, backed up, attached to a bug report) then does not reveal any secret, but the key file next
to it does. Stdlib, ``cryptography`` and ``keyring`` only (workers decrypt with it; no SQLAlchemy).
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

SERVICE = "dagstudio"
KEY_FILENAME = "fernet.key"


class SecretKeyError(RuntimeError):
    """The key needed to read or write encrypted values is missing, unreadable or wrong."""


def keyring_user(home: Path) -> str:
    return f"store-key:{Path(home).resolve()}"


def key_file(home: Path) -> Path:
    return Path(home) / KEY_FILENAME


def _keyring() -> tuple[Any, str]:
    """``(backend, "")`` when the OS keyring can be used, else ``(None, why not)``."""
    try:
        import keyring
        import keyring.backends.fail
    except ImportError as exc:  # pragma: no cover - keyring is a dependency
        return None, f"keyring is not installed ({exc})"
    try:
        backend = keyring.get_keyring()
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}"
    if isinstance(backend, keyring.backends.fail.Keyring) or getattr(backend, "priority", 1) <= 0:
        return None, "no OS keyring backend is available"
    return backend, ""


def _read_file(path: Path) -> bytes:
    mode = stat.S_IMODE(path.stat().st_mode)
    if os.name == "posix" and mode & 0o077:
        raise SecretKeyError(f"{path} is readable by other users (mode {mode:o}); run: chmod 600 {path}")
    return path.read_bytes().strip()


def load_key(home: Path) -> bytes | None:
    """The home's key, or None when none was ever created. Raises :class:`SecretKeyError` when the key
    file is open to other users or the keyring fails on a key it should hold."""
    path = key_file(home)
    if path.exists():
        return _read_file(path)
    backend, _why = _keyring()
    if backend is None:
        return None
    try:
        value = backend.get_password(SERVICE, keyring_user(home))
    except Exception as exc:
        raise SecretKeyError(f"the OS keyring failed to give the key of {home}: {type(exc).__name__}: {exc}") from None
    return value.encode() if value else None


def _notice(message: str) -> None:
    print(message, file=sys.stderr)


def ensure_key(home: Path, notice: Callable[[str], None] = _notice) -> bytes:
    """The home's key, created if there is none yet (keyring first, else the 0600 key file + ``notice``)."""
    found = load_key(home)
    if found:
        return found
    from cryptography.fernet import Fernet

    key = Fernet.generate_key()
    backend, why = _keyring()
    if backend is not None:
        try:
            backend.set_password(SERVICE, keyring_user(home), key.decode())
            return key
        except Exception as exc:
            why = f"the OS keyring refused the key: {type(exc).__name__}: {exc}"
    path = key_file(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process was first: use its key
        return _read_file(path)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
    notice(
        f"notice: {why}; the key that encrypts this home's connections and variables is kept in {path} "
        "(readable by you only). Anyone who can read that file and the store can read the secrets."
    )
    return key


def fernet(key: bytes) -> Any:
    """A ``cryptography`` Fernet for ``key``; :class:`SecretKeyError` if it is not a Fernet key."""
    from cryptography.fernet import Fernet

    try:
        return Fernet(key)
    except (ValueError, TypeError) as exc:
        raise SecretKeyError(f"the store key is not a valid Fernet key: {exc}") from None
