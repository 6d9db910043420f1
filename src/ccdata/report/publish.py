"""Publishing a batch run's output folder safely: ownership, lock, atomic swap.

The scheduled job runs unattended on a shared server, so the output folder is
handled as carefully as the data:

* **Ownership.** ccdata replaces a folder only if it carries ccdata's own
  marker, :data:`MARKER_NAME` (a small JSON file with ``"tool": "ccdata"`` and
  the output format version, written only by ccdata), or is empty. Anything
  else -- a web app's folder that happens to hold a ``manifest.json``, say --
  is refused with a message before any data is read.
* **Lock.** A lock file beside the output (``.<name>.ccdata-lock``, holding the
  PID, host and start time) stops a second run on the same output with a
  clear message. A lock left by a process that no longer runs on this host is
  taken over. A lock held by a run on *another* host (a shared network
  folder) is never taken over silently -- ccdata cannot see whether that run
  is alive -- and only an explicit ``ccdata run --break-lock``
  (``break_lock=True``) takes it over; a live run's lock on this host is
  never broken, not even then.
* **Atomic publish.** Everything is written into a temporary folder beside
  the output; the path checks of :func:`check_inside` refuse any write that
  would land outside it. When the run is complete, the output is published
  with one atomic step:

  - a new output is a symbolic link to a version folder
    (``.<name>.v-<stamp>``) and is retargeted with one :func:`os.replace` of
    a new link over it;
  - an existing real folder (an output of an older ccdata) is exchanged with
    the new one by ``renameat2(RENAME_EXCHANGE)`` where the kernel and file
    system offer it (Linux >= 3.15, glibc >= 2.28); elsewhere by two renames,
    keeping the previous version until the second is done;
  - a symbolic link the user made (``outputs -> /srv/www/ccdata``) is
    respected: the new version is written beside its target and the link is
    retargeted; the link is never replaced by a folder and the old target is
    left as it was.

  At every instant the output path shows either the previous run or the new
  one, complete. The previous version is removed after the swap.
* **Tidy.** Temporary, old and superseded version folders of ccdata's own
  (named ``.<name>.tmp-*``, ``.<name>.old-*``, ``.<name>.v-*``, carrying the
  marker) left by a killed run are removed at the start of the next run.
* **Workers die with the parent.** :func:`die_with_parent`, called in each
  figure worker, asks the kernel to kill the worker when its parent dies
  (``PR_SET_PDEATHSIG``) and polls the parent as a fallback, so that no
  worker outlives a killed run or waits forever for work.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ccdata.errors import ConfigError

__all__ = [
    "FORMAT_VERSION",
    "MARKER_NAME",
    "OutputLock",
    "atomic_output_dir",
    "check_inside",
    "check_output_dir",
    "cleanup_leftovers",
    "current_root",
    "die_with_parent",
    "is_ccdata_output",
    "write_marker",
]

log = logging.getLogger("ccdata.report")

#: The ownership marker at the root of every output folder ccdata writes.
MARKER_NAME = ".ccdata-output"
#: Version of the output folder's layout, recorded in the marker.
FORMAT_VERSION = 2
_LEGACY_MANIFEST = "manifest.json"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100

_ROOT: Path | None = None


# --------------------------------------------------------------------------- #
# Ownership marker
# --------------------------------------------------------------------------- #


def write_marker(folder: Path) -> Path:
    """Write ccdata's ownership marker into ``folder``."""
    path = folder / MARKER_NAME
    path.write_text(
        json.dumps(
            {
                "tool": "ccdata",
                "format_version": FORMAT_VERSION,
                "note": "written by ccdata run; do not edit",
            },
            sort_keys=True,
        )
        + "\n",
        encoding="utf-8",
    )
    return path


def _read_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.loads(fh.read(65536))
    except (OSError, ValueError):
        return None


def is_ccdata_output(folder: str | Path) -> bool:
    """Tell whether ``folder`` carries ccdata's marker (or is an older ccdata output).

    An output written before the marker existed is recognised by its
    ``manifest.json`` saying ``"tool": "ccdata run"`` with a format version;
    a ``manifest.json`` of anything else is not enough.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "manifest.json").write_text('{"name": "my web app"}')
    >>> is_ccdata_output(d)
    False
    >>> _ = write_marker(d)
    >>> is_ccdata_output(d)
    True
    """
    folder = Path(folder)
    marker = _read_json(folder / MARKER_NAME)
    if (
        isinstance(marker, dict)
        and marker.get("tool") == "ccdata"
        and isinstance(marker.get("format_version"), int)
    ):
        return True
    legacy = _read_json(folder / _LEGACY_MANIFEST)
    return (
        isinstance(legacy, dict)
        and legacy.get("tool") == "ccdata run"
        and isinstance(legacy.get("format_version"), int)
    )


def _target(out: Path) -> Path:
    """Return the folder the output path shows (a link's target, or the path itself)."""
    if out.is_symlink():
        return Path(os.path.realpath(out))
    return out


def check_output_dir(out: str | Path) -> None:
    """Raise ConfigError unless ``out`` is new, empty or ccdata's own output.

    A symbolic link is judged by the folder it points to.
    """
    out = Path(out)
    if out.is_symlink() and not out.exists():
        return  # a dangling link: it will be pointed at the new output
    target = _target(out)
    if not target.exists():
        return
    if not target.is_dir():
        raise ConfigError(
            f"Output folder {str(out)!r} exists and is not a folder; choose another "
            "path with --out or [run] output."
        )
    if any(target.iterdir()) and not is_ccdata_output(target):
        raise ConfigError(
            f"Output folder {str(out)!r} exists, is not empty and carries no ccdata "
            f"marker ({MARKER_NAME}): it was not written by ccdata run, so it is "
            "left alone. Choose an empty or new folder with --out or [run] output."
        )


# --------------------------------------------------------------------------- #
# Lock
# --------------------------------------------------------------------------- #


def _as_pid(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    if sys.platform.startswith("linux"):  # a zombie is not running
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            return state != "Z"
        except (OSError, IndexError):
            return True
    return True


class OutputLock:
    """A lock file beside the output folder: one run at a time per output.

    The file ``.<name>.ccdata-lock`` holds the PID, host and start time of the
    run. A second run finds it and stops with a message naming them; a lock
    whose PID is no longer running on this host (a killed run) is taken over.
    A lock from another host is taken over only with ``break_lock=True``
    (``ccdata run --break-lock``), an explicit action of the analyst who has
    checked that no run is active there; a lock whose PID is alive on this
    host is never taken over.

    Parameters
    ----------
    out : path-like
        The output folder.
    break_lock : bool, default False
        Take over a lock left by a run on another host.
    """

    def __init__(self, out: str | Path, *, break_lock: bool = False):
        out = Path(out).absolute()
        self.path = out.parent / f".{out.name}.ccdata-lock"
        self.out = out
        self.break_lock = break_lock
        self._mine: str | None = None

    def _info(self) -> dict[str, Any] | None:
        info = _read_json(self.path)
        return info if isinstance(info, dict) else None

    def acquire(self) -> None:
        """Take the lock or raise ConfigError naming the run that holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        me = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "output": self.out.as_posix(),
        }
        text = json.dumps(me, sort_keys=True) + "\n"
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                info = self._info()
                if info is None:
                    # unreadable: a lock being written right now, or debris
                    age = (
                        time.time() - self.path.stat().st_mtime
                        if self.path.exists()
                        else 0
                    )
                    if age < 5:
                        time.sleep(0.2)
                        continue
                elif info.get("host") == me["host"] and not _pid_alive(
                    _as_pid(info.get("pid"))
                ):
                    log.warning(
                        "taking over the lock %s of a run that is no longer "
                        "running (PID %s, started %s)",
                        self.path,
                        info.get("pid"),
                        info.get("started"),
                    )
                elif info.get("host") != me["host"] and self.break_lock:
                    log.warning(
                        "--break-lock: taking over the lock %s of a run on host "
                        "%r (PID %s, started %s)",
                        self.path,
                        info.get("host"),
                        info.get("pid"),
                        info.get("started"),
                    )
                elif info.get("host") != me["host"]:
                    raise ConfigError(
                        f"Output folder {str(self.out)!r} is locked by a ccdata run "
                        f"on another host ({info.get('host')!r}, PID "
                        f"{info.get('pid')}, started {info.get('started')}). ccdata "
                        "cannot tell whether a run on another host is still "
                        "running, so it never takes such a lock over by itself. "
                        "If no ccdata run is active there, run again with "
                        "--break-lock (ccdata run --break-lock CONFIG)."
                    ) from None
                else:
                    raise ConfigError(
                        f"Output folder {str(self.out)!r} is being written by another "
                        f"ccdata run (PID {info.get('pid')} on host "
                        f"{info.get('host')!r}, started {info.get('started')}). Wait "
                        "for it to finish (a live run's lock is never broken, "
                        "not even with --break-lock)."
                    ) from None
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.path)
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            self._mine = text
            return
        raise ConfigError(
            f"Cannot take the lock {str(self.path)!r} of output folder "
            f"{str(self.out)!r}; remove it if no ccdata run is active."
        )

    def release(self) -> None:
        """Remove the lock file if it is still this run's."""
        if self._mine is None:
            return
        try:
            if self.path.read_text(encoding="utf-8") == self._mine:
                os.unlink(self.path)
        except OSError:
            pass
        self._mine = None

    def __enter__(self) -> OutputLock:
        """Take the lock."""
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        """Release the lock."""
        self.release()


# --------------------------------------------------------------------------- #
# Paths inside the temporary folder
# --------------------------------------------------------------------------- #


def current_root() -> Path | None:
    """Return the temporary output folder being written (None outside a run)."""
    return _ROOT


def check_inside(path: str | Path) -> Path:
    """Refuse a path that would write outside the temporary output folder.

    The path is resolved (``..`` and symbolic links of its parent folders
    followed); an existing symbolic link at the path itself is refused too.
    Outside :func:`atomic_output_dir` nothing is checked.

    Raises
    ------
    ConfigError
        If the path lies outside the folder.
    """
    p = Path(path)
    root = _ROOT
    if root is None:
        return p
    resolved = Path(os.path.realpath(p.parent)) / p.name
    if p.is_symlink() or not (resolved == root or resolved.is_relative_to(root)):
        raise ConfigError(
            f"Refusing to write {str(p)!r}: it is outside the output folder being "
            f"written ({str(root)!r}). A name in the configuration or the data "
            "must not name a path."
        )
    return p


# --------------------------------------------------------------------------- #
# Leftovers
# --------------------------------------------------------------------------- #


def _prefixes(name: str) -> tuple[str, ...]:
    return (f".{name}.tmp-", f".{name}.old-", f".{name}.v-", f".{name}.link-")


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


def cleanup_leftovers(out: str | Path) -> list[Path]:
    """Remove ccdata's own temporary/old folders left beside ``out`` by a killed run.

    Only entries named like ccdata's (``.<name>.tmp-*``, ``.<name>.old-*``,
    ``.<name>.v-*``, ``.<name>.link-*``) are considered; a folder must carry
    the marker or be empty, and the version the output currently shows is
    kept. Call it while holding the :class:`OutputLock`.

    Returns
    -------
    list of Path
        What was removed.
    """
    out = Path(out).absolute()
    keep = Path(os.path.realpath(out)) if out.is_symlink() else None
    folders = {out.parent}
    if keep is not None:
        folders.add(keep.parent)
    removed = []
    for folder in folders:
        names = {out.name} | ({keep.name} if keep is not None else set())
        for name in names:
            prefixes = _prefixes(name)
            try:
                entries = list(folder.iterdir())
            except OSError:
                continue
            for entry in entries:
                if not entry.name.startswith(prefixes):
                    continue
                if keep is not None and entry.absolute() == keep:
                    continue
                if entry.name.startswith(f".{name}.link-"):
                    if entry.is_symlink():
                        _remove(entry)
                        removed.append(entry)
                    continue
                if entry.is_symlink() or not entry.is_dir():
                    continue
                if is_ccdata_output(entry) or not any(entry.iterdir()):
                    _remove(entry)
                    removed.append(entry)
    for r in removed:
        log.info("removed %s left by an earlier run", r)
    return removed


# --------------------------------------------------------------------------- #
# Atomic publish
# --------------------------------------------------------------------------- #


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths with renameat2(RENAME_EXCHANGE); False if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    rc = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (
        errno.ENOSYS,
        errno.EINVAL,
        errno.ENOTSUP,
        errno.EOPNOTSUPP,
        errno.EXDEV,
    ):
        return False
    raise OSError(err, os.strerror(err), str(a))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S")


def _is_our_version(target: Path) -> bool:
    return (
        ".v-" in target.name
        and target.name.startswith(".")
        and is_ccdata_output(target)
    )


def _publish(tmp: Path, out: Path, home: Path) -> None:
    """Make ``out`` show the complete folder ``tmp`` in one atomic step."""
    os.chmod(tmp, 0o755 & ~_umask())
    if out.is_symlink():
        old = Path(os.path.realpath(out))
        new = Path(
            tempfile.mkdtemp(prefix=f".{home.name}.v-{_stamp()}-", dir=home.parent)
        )
        os.rmdir(new)
        os.replace(tmp, new)
        _swap_link(out, new)
        if old.exists() and _is_our_version(old):
            shutil.rmtree(old, ignore_errors=True)
        elif old.exists():
            log.info(
                "output link %s now points to %s; its previous target %s is "
                "left as it was",
                out,
                new,
                old,
            )
        return
    if out.exists():
        if _exchange(tmp, out):
            shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the old version
            return
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.rmdir(old)
        os.replace(out, old)
        try:
            os.replace(tmp, out)
        except BaseException:
            os.replace(old, out)
            raise
        shutil.rmtree(old, ignore_errors=True)
        return
    if os.name == "nt":  # pragma: no cover - no symbolic links for everyone
        os.replace(tmp, out)
        return
    new = Path(tempfile.mkdtemp(prefix=f".{out.name}.v-{_stamp()}-", dir=out.parent))
    os.rmdir(new)
    os.replace(tmp, new)
    _swap_link(out, new)


def _swap_link(out: Path, target: Path) -> None:
    """Point the link ``out`` at ``target`` with one rename of a new link over it."""
    rel = os.path.relpath(target, out.parent)
    for _ in range(5):
        link = out.parent / f".{out.name}.link-{os.getpid()}-{time.monotonic_ns()}"
        try:
            os.symlink(rel, link)
        except FileExistsError:
            continue
        try:
            os.replace(link, out)
        except BaseException:
            link.unlink(missing_ok=True)
            raise
        return
    raise OSError(f"cannot create a link beside {out}")  # pragma: no cover


@contextlib.contextmanager
def atomic_output_dir(
    out_dir: str | Path, *, break_lock: bool = False
) -> Iterator[Path]:
    """Write a folder atomically: yield a temporary folder, publish it on success.

    Takes the :class:`OutputLock`, refuses a folder that is not ccdata's
    (:func:`check_output_dir`), removes leftovers of killed runs
    (:func:`cleanup_leftovers`), and yields a temporary folder (beside the
    output or beside the target of a symbolic link, so that the final rename
    stays on one file system) carrying the ownership marker. While the block
    runs, :func:`check_inside` refuses writes outside it. When the block
    finishes without an exception the folder is published atomically (see the
    module notes); if it raises, the temporary folder is removed and the
    previous output is untouched.

    Parameters
    ----------
    out_dir : path-like
        The output folder (or a symbolic link to one).
    break_lock : bool, default False
        Take over a lock left by a run on another host (:class:`OutputLock`).

    Yields
    ------
    Path
        The temporary folder to write into.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_output_dir(root / "out") as tmp:
    ...     _ = (tmp / "a.txt").write_text("hi")
    >>> (root / "out" / "a.txt").read_text(), (root / "out").is_symlink()
    ('hi', True)
    >>> sorted(p.name for p in root.iterdir() if not p.name.startswith(".out.v-"))
    ['out']
    """
    global _ROOT
    out = Path(out_dir).absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    with OutputLock(out, break_lock=break_lock):
        check_output_dir(out)
        cleanup_leftovers(out)
        home = out
        if out.is_symlink():
            home = Path(os.path.realpath(out))
            home.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{home.name}.tmp-", dir=home.parent))
        previous = _ROOT
        try:
            write_marker(tmp)
            _ROOT = Path(os.path.realpath(tmp))
            yield tmp
            _ROOT = previous
            write_marker(tmp)  # the block must not have removed it
            _publish(tmp, out, home)
        finally:
            _ROOT = previous
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------- #
# Worker processes
# --------------------------------------------------------------------------- #

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int | None = None, poll_seconds: float = 1.0) -> None:
    """Make this (worker) process die when its parent does.

    On Linux the kernel is asked to send SIGKILL when the parent dies
    (``prctl(PR_SET_PDEATHSIG)``); everywhere, a daemon thread polls the
    parent's PID and exits the process when it changes (the process was
    re-parented because its parent died). A worker therefore never outlives
    a killed run, and never waits forever for work that will not come.

    Parameters
    ----------
    parent : int, optional
        The PID of the parent as the parent saw it (default: the current
        parent PID); a worker whose parent already died exits at once.
    poll_seconds : float, default 1.0
    """
    if parent is None:
        parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover
            pass
    if os.getppid() != parent:  # the parent died before prctl
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(poll_seconds)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="ccdata-parent-watch", daemon=True).start()
