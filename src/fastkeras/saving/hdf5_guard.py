"""Opening an HDF5 file that may be hostile: HDF5 is a rich format, and much of it
(external links, external raw storage, virtual datasets, filter plugins, user blocks) makes
the library read other files or load code. Weights files need none of that, so before any
object is read the whole file is walked with h5py's low-level API and refused
(FileFormatError naming the object) unless it is in the subset Keras and fastkeras write:

- the file is a regular file (never a FIFO, device or directory), opened by fastkeras and
  handed to HDF5 as a file object, the HDF5 signature at byte 0 (no user block), 8-byte
  offsets and lengths;
- every link is a hard link, to a group or a dataset, reached once (no shared objects, no
  cycles), at most ``MAX_DEPTH`` groups deep and ``MAX_OBJECTS`` objects in all;
- every dataset holds numbers (float, int, uint, bool) in a simple dataspace of at most
  ``MAX_RANK`` axes, stored compact, contiguous or chunked inside the file (no external
  storage, no virtual layout), filtered by nothing but deflate, shuffle and fletcher32,
  with chunks no larger than the dataset;
- every global heap collection (where variable-length strings live) is well formed: a
  zeroed heap object makes HDF5 1.14's heap parser loop forever, so the collections are
  parsed here first, the way HDF5 parses them, and a malformed one is refused.

Attributes are read only by name, where the format needs them, after their type,
dataspace and size are checked (``read_string_attr``). Datasets are read only after their
shape, dtype and stored size are compared with what the model expects (``read_dataset``).
"""
import mmap
import os
import stat
import struct

import numpy as np

from fastkeras.saving.errors import FileFormatError

__all__ = ["open_regular_file", "check_file", "read_string_attr", "read_string_list_attr",
           "read_dataset", "MAX_ATTR_BYTES"]

MAX_DEPTH = 64
MAX_OBJECTS = 1_000_000
MAX_RANK = 32
MAX_ATTR_BYTES = 64 << 20  # a model_config attribute is kilobytes; 64 MB is generous
_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_HEAP_SIGNATURE = b"GCOL\x01\x00\x00\x00"  # signature, version 1, three reserved zeros
_HEAP_HEADER = 16  # signature, version, reserved, collection size (8-byte length)
_HEAP_OBJECT_HEADER = 16  # index (2), reference count (2), reserved (4), size (8)


def _h5py():
    try:
        import h5py
    except ImportError:
        raise ImportError("Weights files are HDF5: pip install \"fastkeras[h5]\" (or pip install "
                          "h5py)") from None
    return h5py


def open_regular_file(filepath):
    """`filepath` opened for binary reading, refused unless it is a regular file. Opened
    non-blocking, so a FIFO never blocks the open; checked on the open descriptor, so the
    path cannot be swapped between the check and the read."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) \
        | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(filepath, flags)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = ("a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
                    else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                    else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
            raise FileFormatError(f"{filepath} is {kind}: model and weights files must be "
                                  "regular files")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _superblock_sizes(head, name):
    if head[:8] != _SIGNATURE:
        raise FileFormatError(f"{name}: the HDF5 signature is not at byte 0 (a user block or "
                              "not an HDF5 file); fastkeras reads files without user blocks")
    version = head[8] if len(head) > 8 else -1
    if version in (0, 1):
        at = 13
    elif version in (2, 3):
        at = 9
    else:
        raise FileFormatError(f"{name}: unknown HDF5 superblock version {version}")
    if len(head) < at + 2 or head[at] != 8 or head[at + 1] != 8:
        raise FileFormatError(f"{name}: fastkeras reads HDF5 files with 8-byte offsets and "
                              "lengths only")


def _check_heaps(buf, name):
    """Parse every global heap collection as HDF5 would and refuse malformed ones (an
    object that does not advance the parser hangs HDF5; one past the end overruns)."""
    size = len(buf)
    at = buf.find(_HEAP_SIGNATURE)
    while at >= 0:
        if at + _HEAP_HEADER > size:
            raise FileFormatError(f"{name}: a global heap collection at byte {at} is truncated")
        (length,) = struct.unpack_from("<Q", buf, at + 8)
        end = at + length
        if length < _HEAP_HEADER or end > size:
            raise FileFormatError(f"{name}: the global heap collection at byte {at} claims "
                                  f"{length:,} bytes; the file has {size - at:,} after it")
        p = at + _HEAP_HEADER
        while p + _HEAP_OBJECT_HEADER <= end:
            index = struct.unpack_from("<H", buf, p)[0]
            (osize,) = struct.unpack_from("<Q", buf, p + 8)
            need = _HEAP_OBJECT_HEADER + (osize + 7) // 8 * 8 if index else osize
            if need < _HEAP_OBJECT_HEADER or p + need > end:
                raise FileFormatError(f"{name}: malformed object {index} in the global heap "
                                      f"collection at byte {at} (size {osize:,})")
            p += need
        at = buf.find(_HEAP_SIGNATURE, at + 1)


def _check_bytes(fileobj, name):
    fileobj.seek(0, os.SEEK_END)
    if fileobj.tell() == 0:
        raise FileFormatError(f"{name} is empty")
    fileobj.seek(0)
    try:
        view = mmap.mmap(fileobj.fileno(), 0, access=mmap.ACCESS_READ)
    except (AttributeError, OSError, ValueError):  # not mmap-able: read it
        view = fileobj.read()
    try:
        _superblock_sizes(bytes(view[:16]), name)
        _check_heaps(view, name)
    finally:
        if isinstance(view, mmap.mmap):
            view.close()
        fileobj.seek(0)


def _object_id(h5py, obj):
    info = h5py.h5o.get_info(obj.id)
    return getattr(info, "addr", None) or getattr(info, "token", None)


def _check_dataset(h5py, ds, where, name):
    h5d, h5z = h5py.h5d, h5py.h5z
    space = ds.id.get_space()
    if space.get_simple_extent_type() not in (h5py.h5s.SIMPLE, h5py.h5s.SCALAR):
        raise FileFormatError(f"{name}: dataset {where} has no simple dataspace")
    if ds.ndim > MAX_RANK:
        raise FileFormatError(f"{name}: dataset {where} has {ds.ndim} axes (at most {MAX_RANK})")
    if ds.dtype.kind not in "fiub" or ds.dtype.fields is not None or ds.dtype.subdtype:
        raise FileFormatError(f"{name}: dataset {where} holds {ds.dtype}, not numbers")
    plist = ds.id.get_create_plist()
    layout = plist.get_layout()
    if layout == getattr(h5d, "VIRTUAL", -99):
        raise FileFormatError(f"{name}: dataset {where} is a virtual dataset (its data would "
                              "come from other files); refused")
    if layout not in (h5d.COMPACT, h5d.CONTIGUOUS, h5d.CHUNKED):
        raise FileFormatError(f"{name}: dataset {where} has an unknown storage layout {layout}")
    if plist.get_external_count():
        raise FileFormatError(f"{name}: dataset {where} keeps its data in external files; "
                              "refused (a loaded file never makes fastkeras read another)")
    allowed = {h5z.FILTER_DEFLATE, h5z.FILTER_SHUFFLE, h5z.FILTER_FLETCHER32}
    for i in range(plist.get_nfilters()):
        code = plist.get_filter(i)[0]
        if code not in allowed:
            raise FileFormatError(f"{name}: dataset {where} uses HDF5 filter {code}; only "
                                  "deflate, shuffle and fletcher32 are read (other filters "
                                  "are plugins: code)")
    if layout == h5d.CHUNKED:
        chunk = plist.get_chunk()
        if len(chunk) != ds.ndim or any(c > max(d, 1) for c, d in zip(chunk, ds.shape)):
            raise FileFormatError(f"{name}: dataset {where} has chunks {chunk} larger than "
                                  f"its shape {ds.shape}")


def check_file(f, name):
    """Walk the open h5py File `f` and refuse anything outside the subset (module doc)."""
    h5py = _h5py()
    if f.userblock_size:
        raise FileFormatError(f"{name} has a user block of {f.userblock_size} bytes; refused")
    seen = set()
    stack = [(f, "/", 0)]
    while stack:
        group, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise FileFormatError(f"{name}: groups nested deeper than {MAX_DEPTH} at {path}")
        for key in group:
            where = path.rstrip("/") + "/" + key
            link = group.get(key, getlink=True)
            if not isinstance(link, h5py.HardLink):
                kind = type(link).__name__
                raise FileFormatError(f"{name}: {where} is a {kind}; only hard links inside "
                                      "the file are read")
            obj = group[key]
            oid = _object_id(h5py, obj)
            if oid in seen:
                raise FileFormatError(f"{name}: {where} links to an object reached before "
                                      "(shared objects and cycles are refused)")
            seen.add(oid)
            if len(seen) > MAX_OBJECTS:
                raise FileFormatError(f"{name} holds more than {MAX_OBJECTS:,} objects")
            if isinstance(obj, h5py.Group):
                stack.append((obj, where, depth + 1))
            elif isinstance(obj, h5py.Dataset):
                _check_dataset(h5py, obj, where, name)
            else:
                raise FileFormatError(f"{name}: {where} is a {type(obj).__name__}; weights "
                                      "files hold groups and datasets only")


class open_checked:
    """``with open_checked(path_or_fileobj, name) as f``: an h5py File, read-only, whose
    bytes and structure passed the checks above."""

    def __init__(self, source, name):
        self.source, self.name = source, str(name)
        self._own = None
        self.file = None

    def __enter__(self):
        h5py = _h5py()
        fileobj = self.source
        if isinstance(fileobj, (str, bytes, os.PathLike)):
            fileobj = self._own = open_regular_file(fileobj)
        try:
            _check_bytes(fileobj, self.name)
            self.file = h5py.File(fileobj, "r", locking=False)
            check_file(self.file, self.name)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self.file

    def __exit__(self, *exc):
        if self.file is not None:
            self.file.close()
            self.file = None
        if self._own is not None:
            self._own.close()
            self._own = None
        return False


def _attribute(obj, key, name, where):
    h5py = _h5py()
    if not h5py.h5a.exists(obj.id, key.encode()):
        return None
    attr = h5py.h5a.open(obj.id, key.encode())
    space = attr.get_space()
    if space.get_simple_extent_type() not in (h5py.h5s.SIMPLE, h5py.h5s.SCALAR) \
            or space.get_simple_extent_ndims() > 1:
        raise FileFormatError(f"{name}: attribute {key!r} of {where} is not a scalar or list")
    cls = attr.get_type().get_class()
    if cls != h5py.h5t.STRING:
        raise FileFormatError(f"{name}: attribute {key!r} of {where} is not text")
    if attr.get_storage_size() > MAX_ATTR_BYTES:
        raise FileFormatError(f"{name}: attribute {key!r} of {where} is larger than "
                              f"{MAX_ATTR_BYTES:,} bytes")
    return obj.attrs[key]


def _text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def read_string_attr(obj, key, name, where):
    """A text attribute (None when absent), checked before it is read."""
    value = _attribute(obj, key, name, where)
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise FileFormatError(f"{name}: attribute {key!r} of {where} holds {value.size} "
                                  "values, expected one")
        value = value.reshape(())[()]
    return _text(value)


def read_string_list_attr(obj, key, name, where):
    """A list-of-text attribute (None when absent), checked before it is read."""
    value = _attribute(obj, key, name, where)
    if value is None:
        return None
    return [_text(v) for v in np.atleast_1d(value).tolist()]


def read_dataset(ds, shape, what, name):
    """The dataset's values, read only once its shape is `shape` and its stored size is
    no more than the values' bytes (compact and contiguous) or a compressed copy of them."""
    if tuple(ds.shape) != tuple(shape):
        raise FileFormatError(f"{name}: {what} has shape {tuple(shape)}, the file holds "
                              f"{tuple(ds.shape)} {ds.dtype}")
    nbytes = int(np.prod(shape, dtype=np.int64)) * ds.dtype.itemsize
    stored = ds.id.get_storage_size()
    if stored > nbytes + nbytes // 8 + 4096:  # deflate expands random data a little
        raise FileFormatError(f"{name}: {what} stores {stored:,} bytes for {nbytes:,} bytes "
                              "of values")
    return ds[()]
