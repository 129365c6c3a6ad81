"""Atomic file writes that leave nothing behind, even after SIGKILL.

The new file is written as an anonymous file in the target's folder (Linux O_TMPFILE: it
has no name, so a killed process leaves nothing), then linked under a recognisable
temporary name and renamed onto the target in one step; a reader sees the old file or the
new one, never half of either. Where O_TMPFILE is not available the file has the
temporary name from the start. Either way a kill can leave at most a file named
``.<target>.fastkeras-tmp-<pid>-<random>``; every save and load in that folder removes
those whose process is gone. The target keeps its permission bits; a new file gets the
umask's (as ``open()`` would give it)."""
import contextlib
import os
import secrets
import shutil

__all__ = ["atomic_file", "remove_stale_temporaries", "TEMPORARY_MARK"]

TEMPORARY_MARK = ".fastkeras-tmp-"


def _temporary_name(filepath):
    folder, base = os.path.split(os.path.abspath(filepath))
    return os.path.join(folder, f".{base}{TEMPORARY_MARK}{os.getpid()}-{secrets.token_hex(4)}")


def _process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # another user's process (or we cannot tell): leave its file
    return True


def remove_stale_temporaries(folder):
    """Remove the temporary files of saves whose process is gone, in `folder`."""
    try:
        entries = list(os.scandir(folder or "."))
    except OSError:
        return
    for entry in entries:
        name = entry.name
        if not name.startswith(".") or TEMPORARY_MARK not in name:
            continue
        pid_part = name.rsplit(TEMPORARY_MARK, 1)[1].split("-", 1)[0]
        if not pid_part.isdigit() or int(pid_part) == os.getpid() \
                or _process_alive(int(pid_part)):
            continue
        try:
            if entry.is_file(follow_symlinks=False):
                os.remove(entry.path)
        except OSError:
            pass


def _anonymous_file(folder):
    """A descriptor of a new file with no name in `folder`, or None where unsupported."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not os.path.isdir("/proc/self/fd"):
        return None
    try:
        return os.open(folder, flag | os.O_RDWR | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError:  # the file system does not support it
        return None


@contextlib.contextmanager
def atomic_file(filepath):
    """``with atomic_file(path) as fh``: a binary file object, open for reading and
    writing, that replaces `path` when the block succeeds and vanishes when it fails."""
    filepath = os.path.abspath(os.fspath(filepath))
    folder = os.path.dirname(filepath)
    os.makedirs(folder, exist_ok=True)
    remove_stale_temporaries(folder)
    try:
        mode = os.stat(filepath).st_mode & 0o7777
    except OSError:
        mode = None
    named = None
    fd = _anonymous_file(folder)
    if fd is None:
        named = _temporary_name(filepath)
        fd = os.open(named, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
                     | getattr(os, "O_BINARY", 0), 0o666)
    fh = os.fdopen(fd, "w+b")
    try:
        yield fh
        fh.flush()
        if mode is not None:
            os.chmod(fh.fileno(), mode)
        os.fsync(fh.fileno())
        if named is None:
            named = _temporary_name(filepath)
            try:
                os.link(f"/proc/self/fd/{fh.fileno()}", named)
            except OSError:  # e.g. /proc hidden: write the bytes under the name instead
                fh.seek(0)
                with open(named, "xb") as out:
                    shutil.copyfileobj(fh, out, 1 << 20)
                if mode is not None:
                    os.chmod(named, mode)
        os.replace(named, filepath)
        named = None
    finally:
        fh.close()
        if named is not None:
            with contextlib.suppress(OSError):
                os.remove(named)
