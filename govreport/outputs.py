"""Output sets written as a whole: a fresh sibling directory swapped in under a lock.

The files of a run (results.json, report.html, checks.xml, report.pdf) are audit
evidence, so ``--out`` never holds a mix of two runs:

* :func:`probe_out_dir` runs before anything is loaded: ``--out`` must be a
  directory (or not exist yet), hold nothing but govreport's files, and its
  parent must take a file (created, written, deleted); no other run may hold
  the lock. Every failure is an :class:`OutputError` (exit 2) naming the path.
* :func:`write_outputs` takes the lock (``.<name>.lock`` beside ``--out``,
  ``fcntl.flock``, non-blocking: a concurrent run fails naming it), writes the
  whole set into a fresh sibling directory (``.<name>.govreport-new-*``),
  fsyncs every file and the directory, then swaps it in: one atomic exchange
  of the two directories (Linux ``renameat2(RENAME_EXCHANGE)``), or where the
  file system cannot exchange, renaming the old set aside and the new one in.
  The old set is then removed. Temp files are removed in ``finally``.

A run killed at any point leaves ``--out`` holding the previous complete set or
the new complete set. On the fallback path a kill between the two renames
leaves the previous set beside ``--out`` (``.<name>.govreport-old-*``); the next
run into that ``--out`` puts it back before doing anything else.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from govreport.errors import InputError

__all__ = ["OUTPUT_FILES", "OutputError", "probe_out_dir", "write_file", "write_outputs"]

OUTPUT_FILES = (
    "results.json",
    "report.html",
    "report.pdf",
    "checks.xml",
    # govreport diff (issue 14)
    "comparison.html",
    "comparison.pdf",
    "comparison.json",
    "changes.xml",
)

#: Test hook: called with the name of each step of the write phase ("written",
#: "aside", "swapped", "removed"), so a test can end the process there (os._exit).
step_hook: Callable[[str], None] | None = None

#: Whether to try the atomic exchange (tests turn it off to exercise the fallback).
use_exchange = True

_NEW = "govreport-new-"
_OLD = "govreport-old-"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


class OutputError(InputError):
    """``--out`` cannot take the output set (not a directory, read-only, full, locked…)."""


def _step(name: str) -> None:
    if step_hook is not None:
        step_hook(name)


def _reason(exc: OSError) -> str:
    code = errno.errorcode.get(exc.errno or 0, "")
    reason = exc.strerror or str(exc)
    return f"{reason} ({code})" if code else reason


def _places(out_dir: Path) -> tuple[Path, Path, str]:
    """``out_dir`` resolved, its parent, and its name (``--out .`` is refused)."""
    target = Path(os.path.abspath(out_dir))
    if target.is_symlink():
        target = target.resolve()
    cwd = Path.cwd()
    if target == cwd or target in cwd.parents or target.parent == target:
        raise OutputError(
            f"--out {out_dir}: is the current directory or one of its parents; "
            "give a subdirectory for the output set"
        )
    return target, target.parent, target.name


def _foreign(target: Path) -> list[str]:
    return sorted(entry.name for entry in target.iterdir() if entry.name not in OUTPUT_FILES)


@contextlib.contextmanager
def _locked(out_dir: Path, parent: Path, name: str) -> Iterator[None]:
    lock_path = parent / f".{name}.lock"
    try:
        handle = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise OutputError(
            f"--out {out_dir}: cannot create lock {lock_path}: {_reason(exc)}"
        ) from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputError(
                f"--out {out_dir}: another govreport run is writing there (lock {lock_path} "
                "is held); wait for it or choose another --out"
            ) from None
        yield
    finally:
        os.close(handle)  # closing releases the lock


def _recover(parent: Path, name: str) -> None:
    """Under the lock: restore a set left aside by a killed run, remove stale temp dirs."""
    target = parent / name
    for entry in sorted(parent.glob(f".{name}.{_OLD}*")):
        if not target.exists():
            os.rename(entry, target)
        else:
            shutil.rmtree(entry, ignore_errors=True)
    for entry in parent.glob(f".{name}.{_NEW}*"):
        shutil.rmtree(entry, ignore_errors=True)


def probe_out_dir(out_dir: Path) -> None:
    """Check that ``out_dir`` can take an output set, before anything is loaded.

    Creates nothing that stays (a probe file is created, written and deleted in
    the nearest existing directory and in ``out_dir`` if it exists).
    """
    target, parent, name = _places(out_dir)
    existing = parent
    while not existing.exists():
        existing = existing.parent
    try:
        if not existing.is_dir():
            raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
        if existing == parent:
            with _locked(out_dir, parent, name):
                _recover(parent, name)
                if target.exists() or target.is_symlink():
                    if not target.is_dir():
                        raise OutputError(f"--out {out_dir}: exists and is not a directory")
                    foreign = _foreign(target)
                    if foreign:
                        shown = ", ".join(repr(f) for f in foreign[:3])
                        raise OutputError(
                            f"--out {out_dir}: holds files govreport did not write ({shown}"
                            f"{', …' if len(foreign) > 3 else ''}); the output set replaces "
                            "the directory as a whole, so give an empty or new directory"
                        )
                    _probe_file(target)
        _probe_file(existing)
    except OSError as exc:
        where = exc.filename or existing
        raise OutputError(
            f"--out {out_dir}: cannot write there ({where}): {_reason(exc)}"
        ) from None


def _probe_file(directory: Path) -> None:
    handle, probe = tempfile.mkstemp(dir=directory, prefix=".govreport-probe-")
    try:
        os.write(handle, b"probe")
    finally:
        os.close(handle)
        os.unlink(probe)


def _write_file(path: Path, content: bytes, mode: int) -> None:
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(handle, view) :]
        os.fsync(handle)
    finally:
        os.close(handle)


def _fsync_dir(path: Path) -> None:
    handle = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap the directories ``a`` and ``b``; False if the system cannot."""
    if not use_exchange:
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(
        _AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), ctypes.c_uint(_RENAME_EXCHANGE)
    )
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def write_outputs(files: dict[str, bytes], out_dir: Path) -> list[Path]:
    """Replace the output set in ``out_dir`` by ``files``, as a whole (see the module).

    Returns the paths of the written files (``out_dir``/name, in ``files`` order).
    """
    out_dir = Path(out_dir)
    target, parent, name = _places(out_dir)
    umask = os.umask(0)
    os.umask(umask)
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"--out {out_dir}: cannot create {parent}: {_reason(exc)}") from None
    new: Path | None = None
    old: Path | None = None
    with _locked(out_dir, parent, name):
        try:
            _recover(parent, name)
            if target.exists() and not target.is_dir():
                raise OutputError(f"--out {out_dir}: exists and is not a directory")
            if target.is_dir() and _foreign(target):
                raise OutputError(f"--out {out_dir}: holds files govreport did not write")
            new = Path(tempfile.mkdtemp(dir=parent, prefix=f".{name}.{_NEW}"))
            os.chmod(new, 0o777 & ~umask)
            for file_name, content in files.items():
                _write_file(new / file_name, content, 0o666 & ~umask)
            _fsync_dir(new)
            _step("written")
            if not target.exists():
                os.rename(new, target)
                new = None
            elif _exchange(new, target):
                old, new = new, None  # the old set now sits at the temp name
            else:
                old = Path(tempfile.mkdtemp(dir=parent, prefix=f".{name}.{_OLD}"))
                os.rename(target, old)  # onto the empty directory just made
                _step("aside")
                os.rename(new, target)
                new = None
            _fsync_dir(parent)
            _step("swapped")
            if old is not None:
                shutil.rmtree(old)
                old = None
            _step("removed")
        except OSError as exc:
            where = exc.filename or parent
            raise OutputError(
                f"--out {out_dir}: cannot write the output set ({where}): {_reason(exc)}"
            ) from None
        finally:
            if new is not None:
                shutil.rmtree(new, ignore_errors=True)
            if old is not None:
                if target.exists():
                    shutil.rmtree(old, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        os.rename(old, target)
    return [out_dir / file_name for file_name in files]


def write_file(path: Path, content: bytes, *, option: str = "--out") -> None:
    """Write one file whole (temp file beside it, fsync, rename): ``govreport explain --out``.

    An existing directory at ``path`` or any OSError is an :class:`OutputError` naming it.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{option} {path}: is a directory; give a file name")
    umask = os.umask(0)
    os.umask(umask)
    temp: str | None = None
    try:
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(handle)
        os.unlink(temp)
        _write_file(Path(temp), content, 0o666 & ~umask)
        os.replace(temp, path)
        temp = None
    except OSError as exc:
        where = exc.filename or path.parent
        raise OutputError(f"{option} {path}: cannot write it ({where}): {_reason(exc)}") from None
    finally:
        if temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(temp)
