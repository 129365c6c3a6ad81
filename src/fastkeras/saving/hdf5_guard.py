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
- every global heap collection (where variable-length strings live) is well formed, and
  every variable-length string attribute read refers to an object in one, no longer than
  it (hdf5_bytes parses both from the bytes: HDF5 1.14 loops forever on a zeroed heap
  object and allocates up to 4 GiB for a corrupted reference).

Attributes are read only by name, where the format needs them, after their type,
dataspace, size and heap references are checked (``CheckedFile.text_attr``). Datasets are
read only after their shape, dtype and stored size are compared with what the model
expects (``CheckedFile.dataset``).
"""
import mmap
import os
import stat
import struct

import numpy as np

from fastkeras.saving.errors import FileFormatError
from fastkeras.saving.hdf5_bytes import check_string_refs, heap_objects, string_attribute_refs

__all__ = ["open_regular_file", "check_file", "open_checked", "CheckedFile", "MAX_ATTR_BYTES"]

MAX_DEPTH = 64
MAX_OBJECTS = 1_000_000
MAX_RANK = 32
MAX_ATTR_BYTES = 64 << 20  # a model_config attribute is kilobytes; 64 MB is generous
_SIGNATURE = b"\x89HDF\r\n\x1a\n"


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


def _file_bytes(fileobj, name):
    """The file's bytes (a read-only map) after its superblock was checked."""
    fileobj.seek(0, os.SEEK_END)
    if fileobj.tell() == 0:
        raise FileFormatError(f"{name} is empty")
    fileobj.seek(0)
    try:
        view = mmap.mmap(fileobj.fileno(), 0, access=mmap.ACCESS_READ)
    except (AttributeError, OSError, ValueError):  # not mmap-able: read it
        view = fileobj.read()
        fileobj.seek(0)
    try:
        _superblock_sizes(bytes(view[:16]), name)
    except BaseException:
        if isinstance(view, mmap.mmap):
            view.close()
        raise
    return view


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


class CheckedFile:
    """An h5py File (``.file``) whose bytes and structure passed the checks above, with
    the readers that keep to them: ``text_attr`` / ``text_list_attr`` (attributes by name,
    checked first) and ``dataset`` (values, after their shape)."""

    def __init__(self, file, name, view, heaps):
        self.file, self.name = file, name
        self._view, self._heaps = view, heaps

    def _attribute(self, obj, key, where):
        h5py = _h5py()
        if not h5py.h5a.exists(obj.id, key.encode()):
            return None
        attr = h5py.h5a.open(obj.id, key.encode())
        space = attr.get_space()
        if space.get_simple_extent_type() not in (h5py.h5s.SIMPLE, h5py.h5s.SCALAR) \
                or space.get_simple_extent_ndims() > 1:
            raise FileFormatError(f"{self.name}: attribute {key!r} of {where} is not a scalar "
                                  "or a list")
        if attr.get_type().get_class() != h5py.h5t.STRING:
            raise FileFormatError(f"{self.name}: attribute {key!r} of {where} is not text")
        if attr.get_storage_size() > MAX_ATTR_BYTES:
            raise FileFormatError(f"{self.name}: attribute {key!r} of {where} is larger than "
                                  f"{MAX_ATTR_BYTES:,} bytes")
        if attr.get_type().is_variable_str():  # its bytes live in a global heap: check them
            refs = string_attribute_refs(self._view, _object_id(h5py, obj), key, self.name,
                                         where)
            if refs is not None:
                check_string_refs(refs, self._heaps, MAX_ATTR_BYTES, self.name, key, where)
        return obj.attrs[key]

    def text_attr(self, obj, key, where):
        """A text attribute (None when absent), checked before it is read."""
        value = self._attribute(obj, key, where)
        if value is None:
            return None
        if isinstance(value, np.ndarray):
            if value.size != 1:
                raise FileFormatError(f"{self.name}: attribute {key!r} of {where} holds "
                                      f"{value.size} values, expected one")
            value = value.reshape(())[()]
        return _text(value)

    def text_list_attr(self, obj, key, where):
        """A list-of-text attribute (None when absent), checked before it is read."""
        value = self._attribute(obj, key, where)
        if value is None:
            return None
        return [_text(v) for v in np.atleast_1d(value).tolist()]

    def dataset(self, ds, shape, what):
        """The dataset's values, read only once its shape is `shape` and its stored size
        is at most twice the values' bytes (deflate and fletcher32 add a little)."""
        if tuple(ds.shape) != tuple(shape):
            raise FileFormatError(f"{self.name}: {what} has shape {tuple(shape)}, the file "
                                  f"holds {tuple(ds.shape)} {ds.dtype}")
        nbytes = int(np.prod(shape, dtype=np.int64)) * ds.dtype.itemsize
        stored = ds.id.get_storage_size()
        if stored > 2 * nbytes + 65536:
            raise FileFormatError(f"{self.name}: {what} stores {stored:,} bytes for "
                                  f"{nbytes:,} bytes of values")
        return ds[()]


class open_checked:
    """``with open_checked(path_or_fileobj, name) as checked``: a CheckedFile."""

    def __init__(self, source, name):
        self.source, self.name = source, str(name)
        self._own = self._view = self._file = None

    def __enter__(self):
        h5py = _h5py()
        fileobj = self.source
        if isinstance(fileobj, (str, bytes, os.PathLike)):
            fileobj = self._own = open_regular_file(fileobj)
        try:
            self._view = _file_bytes(fileobj, self.name)
            heaps = heap_objects(self._view, self.name)
            self._file = h5py.File(fileobj, "r", locking=False)
            check_file(self._file, self.name)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return CheckedFile(self._file, self.name, self._view, heaps)

    def __exit__(self, *exc):
        if self._file is not None:
            self._file.close()
            self._file = None
        if isinstance(self._view, mmap.mmap):
            self._view.close()
        self._view = None
        if self._own is not None:
            self._own.close()
            self._own = None
        return False


def _text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
