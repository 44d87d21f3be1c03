"""Writing an output file whole or not at all: a temporary file in the same directory,
renamed over the final name once complete (``OutputFileWriter``).

- A write that fails (a full disk, a value that cannot be pickled) removes its partial
  temporary file at once: a full disk is not left full.
- Temporary files that a killed writer left behind (``.<name>.<pid>-<n>.tmp``, or
  ``.<name>.<pid>.tmp`` from older versions) are removed the first time a writer writes
  into their directory, once untouched for ``STALE_TEMP_SECONDS`` (a live writer keeps
  touching its file as it writes).
- The temporary name fits in the file system's limit (255 bytes) whenever the final name
  does: a long name is cut and given a digest of the whole name.
- Private by default: directories 0700 and files 0600 (``private=False``: the umask's).
"""

from __future__ import annotations

import itertools
import os
import re
import time
from collections.abc import Callable
from typing import IO

STALE_TEMP_SECONDS = 15 * 60
NAME_MAX = 255  # bytes in one path component on Linux, macOS and Windows file systems
_TEMP_NAME = re.compile(r"^\..+\.\d+(?:-\d+)?\.tmp$", re.DOTALL)
_DIGEST_CHARS = 12
_sequence = itertools.count()


def temp_name(name: str, pid: int, number: int) -> str:
    """The temporary name under which ``name`` is written: ``.<name>.<pid>-<n>.tmp``,
    with ``name`` cut (and a digest of it added) when that would pass ``NAME_MAX``."""
    suffix = f".{pid}-{number}.tmp"
    full = f".{name}{suffix}"
    if len(os.fsencode(full)) <= NAME_MAX:
        return full
    import hashlib  # lazily: only long names need it (and it loads OpenSSL)

    digest = hashlib.sha256(os.fsencode(name)).hexdigest()[:_DIGEST_CHARS]
    room = NAME_MAX - len(os.fsencode(suffix)) - 2 - _DIGEST_CHARS  # the dot and the "~"
    head = os.fsencode(name)[:room].decode("utf-8", errors="ignore")
    while len(os.fsencode(head)) > room:  # a name that is not UTF-8 (surrogate escapes)
        head = head[:-1]
    return f".{head}~{digest}{suffix}"


def is_temp_name(name: str) -> bool:
    """Whether a file name is one of a writer's temporary files."""
    return bool(_TEMP_NAME.match(name))


def remove_stale_temp_files(directory: str, older_than: float = STALE_TEMP_SECONDS) -> int:
    """Remove the temporary files in ``directory`` that no writer has touched for
    ``older_than`` seconds; how many were removed."""
    cutoff = time.time() - older_than
    removed = 0
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return 0
    for entry in entries:
        if not entry.name.startswith(".") or not is_temp_name(entry.name):
            continue
        try:
            if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
                removed += 1
        except OSError:
            continue  # removed meanwhile, or not ours to remove
    return removed


class OutputFileWriter:
    """Writes files whole under ``base`` (see the module docstring); ``private`` makes
    the directories it creates 0700 and its files 0600."""

    def __init__(self, base: str, private: bool = True) -> None:
        self.base = base
        self.dir_mode = 0o700 if private else 0o777
        self.file_mode = 0o600 if private else 0o666
        self._ready_dirs: set[str] = set()  # created (or found) and swept by this writer

    def write(self, path: str, dump: Callable[[IO[bytes]], None]) -> None:
        """Call ``dump(file)`` on a new temporary file next to ``path`` and rename it to
        ``path`` once ``dump`` returned; on any failure the temporary file is removed."""
        parent, name = os.path.split(path)
        if parent not in self._ready_dirs:
            self.make_dirs(parent)
            remove_stale_temp_files(parent)
            self._ready_dirs.add(parent)
        tmp = os.path.join(parent, temp_name(name, os.getpid(), next(_sequence)))
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        try:
            fd = os.open(tmp, flags, self.file_mode)
        except FileNotFoundError:  # the directory was removed since we made it
            self.make_dirs(parent)
            fd = os.open(tmp, flags, self.file_mode)
        try:
            with os.fdopen(fd, "wb") as f:
                dump(f)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    def make_dirs(self, directory: str) -> None:
        """Create ``directory`` and its missing parents with this writer's mode."""
        try:
            os.mkdir(directory, self.dir_mode)
        except FileExistsError:
            if not os.path.isdir(directory):
                raise
        except FileNotFoundError:
            parent = os.path.dirname(directory)
            if parent == directory:
                raise
            self.make_dirs(parent)
            try:
                os.mkdir(directory, self.dir_mode)
            except FileExistsError:
                pass
