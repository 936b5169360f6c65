"""Where astroglia keeps files it makes or downloads, and how it checks them.

The cache root is ``$ASTROGLIA_CACHE`` when set, else ``$XDG_CACHE_HOME/astroglia``, else
``~/.cache/astroglia``; it is read at every call (so tests and users can redirect it) and not created here.
Each kind of data has its own folder below it (``series``, ``fashion-mnist``, ``cifar-10``).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

ENV_CACHE = "ASTROGLIA_CACHE"


def cache_root() -> Path:
    """The cache root folder (see the module docstring)."""
    root = os.environ.get(ENV_CACHE)
    if root:
        return Path(root).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "astroglia"


def md5_file(path: Path) -> str:
    """Hex MD5 of a file's bytes, read in 1 MiB chunks (an integrity check, not security)."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
