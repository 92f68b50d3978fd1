"""Where carecheck writes what it makes (reports, trackers, mappings, fleet overviews and packs):
never over evidence.

An output path is checked twice, after resolving symlinks: before the command does any work (so a
mistyped ``-o`` costs nothing), and again just before the file is written.

- A directory, a socket, a block device, any SQLite file (an evidence store, the fleet database,
  another application's database), a write-ahead log, or a store the command itself names (with
  its ``-wal`` and ``-shm``) is refused in one line.
- A character device or a FIFO (``/dev/null``, ``/dev/stdout``, a pipe) is written in place:
  opened for writing, never created, renamed over or chmod-ed.
- Anything else is written beside its destination and moved into place whole (an interrupted
  command leaves the old file), readable by its owner only (outputs cite record ids and may hold
  free text with ``--include-text``).
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Callable, Iterable, Iterator

from carecheck.errors import InputError
from carecheck.store.trust import SQLITE_MAGIC, WAL_MAGICS


def _resolved(path: Path | str) -> Path:
    return Path(os.path.realpath(path))


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a == b


def check_output(path: Path | str, stores: Iterable[Path | str] = (), what: str = "output") -> Path:
    """The path carecheck will write (``path`` with its symlinks resolved), or an
    :class:`InputError` in one line naming ``path``. ``stores``: the stores the command reads or
    writes, which it must never replace."""
    resolved = _resolved(path)
    try:
        status = os.stat(path)  # through its links: /dev/stdout is a link to a pipe no path names
        if stat.S_ISCHR(status.st_mode) or stat.S_ISFIFO(status.st_mode) or (
                _stream_alias(path) and stat.S_ISREG(status.st_mode)):
            return Path(path)
        status = os.stat(resolved)
    except FileNotFoundError:
        status = None
    except OSError as error:
        raise InputError(f"{path}: cannot write the {what} there ({error.strerror})") from None
    for store in stores:
        store_path = _resolved(store)
        for suffix in ("", "-wal", "-shm", "-journal"):
            if _same(resolved, Path(f"{store_path}{suffix}")):
                raise InputError(f"{path}: is the evidence store this command reads; write the {what} to another file")
    if status is None:
        if not resolved.parent.is_dir():
            raise InputError(f"{path}: the folder {resolved.parent} does not exist")
        return resolved
    mode = status.st_mode
    if stat.S_ISDIR(mode):
        raise InputError(f"{path}: is a folder; give a file for the {what}")
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return resolved
    if not stat.S_ISREG(mode):
        raise InputError(f"{path}: is not a regular file, a pipe or a terminal; carecheck will not write the {what} there")
    try:
        with open(resolved, "rb") as handle:
            head = handle.read(16)
    except OSError:
        head = b""
    if head.startswith(SQLITE_MAGIC):
        raise InputError(f"{path}: is a SQLite database (an evidence store, a fleet database or another "
                         f"application's); carecheck never writes the {what} over one")
    if head[:4] in WAL_MAGICS:
        raise InputError(f"{path}: is a SQLite write-ahead log; carecheck never writes the {what} over one")
    return resolved


@contextmanager
def _staged(path: Path | str, stores: list, what: str) -> Iterator[tuple[int, Path]]:
    """A new owner-only file (its descriptor and path) beside the destination, or in the temporary
    folder for a device; put in place when the block ends, removed whatever happens. An OS error
    (a full disk, say) is one line, and the destination stays as it was."""
    resolved = check_output(path, stores, what)
    folder = resolved.parent if not _device(resolved) else Path(tempfile.gettempdir())
    try:
        descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{resolved.name}.")  # mode 0600
    except OSError as error:
        raise InputError(f"{path}: cannot write the {what} ({error.strerror})") from None
    try:
        try:
            yield descriptor, Path(temporary)
            _place(Path(temporary), path, stores, what)
        except OSError as error:
            raise InputError(f"{path}: cannot write the {what} ({error.strerror or error})") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


@contextmanager
def output_file(path: Path | str, stores: Iterable[Path | str] = (), what: str = "output",
                binary: bool = False) -> Iterator[IO]:
    """A file to write ``path`` through (see the module's docstring): text in UTF-8 unless
    ``binary``. On an error inside the block nothing is written."""
    with _staged(path, list(stores), what) as (descriptor, _temporary):
        with open(descriptor, "wb" if binary else "w",
                  **({} if binary else {"encoding": "utf-8", "newline": ""})) as handle:
            yield handle


def write_output(path: Path | str, produce: Callable[[Path], None], stores: Iterable[Path | str] = (),
                 what: str = "output") -> None:
    """Write ``path`` through a function that writes a whole file at the path it is given (an XLSX
    workbook, say), by the same rules as :func:`output_file`."""
    with _staged(path, list(stores), what) as (descriptor, temporary):
        os.close(descriptor)
        produce(temporary)
        os.chmod(temporary, 0o600)  # our own new file: a library may have written it anew


def _stream_alias(path: Path | str) -> bool:
    """``/dev/stdout``, ``/dev/fd/3`` and the like: a stream the shell opened, written in place even
    when it is a regular file (``> out.csv``), since replacing that file would leave the shell's
    stream writing to a file no name reaches."""
    text = os.path.abspath(path)
    return text in ("/dev/stdout", "/dev/stderr") or text.startswith(("/dev/fd/", "/proc/self/fd/"))


def _mode(path: Path) -> int:
    try:
        return os.stat(path).st_mode
    except OSError:
        return 0


def _device(path: Path) -> bool:
    mode = _mode(path)
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode) or (_stream_alias(path) and stat.S_ISREG(mode))


def _place(temporary: Path, path: Path | str, stores: list, what: str) -> None:
    resolved = check_output(path, stores, what)  # again: the path may have changed while we worked
    if _device(resolved):
        # Written in place: a device or pipe is never created, replaced or chmod-ed.
        descriptor = os.open(resolved, os.O_WRONLY | os.O_NOCTTY)
        with open(descriptor, "wb") as sink, open(temporary, "rb") as source:
            shutil.copyfileobj(source, sink)
        return
    os.replace(temporary, resolved)  # whole or not at all


def check_folder(path: Path | str, what: str = "packs") -> Path:
    """A folder to write files into (created if missing): refused if it is a file."""
    resolved = _resolved(path)
    if resolved.exists() and not resolved.is_dir():
        raise InputError(f"{path}: is a file; --{what} needs a folder")
    if not resolved.parent.is_dir():
        raise InputError(f"{path}: the folder {resolved.parent} does not exist")
    resolved.mkdir(mode=0o700, exist_ok=True)
    return resolved
