"""The few HDF5 structures fastkeras parses itself, from the file's bytes, because HDF5
1.14 mishandles them when they are corrupt (format: the HDF5 File Format Specification v3):

- global heap collections ("GCOL"), where variable-length strings live: a zeroed heap
  object makes HDF5's parser loop forever;
- variable-length string attributes (a layer's ``name``, ``model_config``): a corrupted
  reference (sequence length, collection address, object index) makes HDF5 allocate and
  touch up to 4 GiB, and spin for seconds, before it fails.

``heap_objects`` parses the collections as HDF5 does; ``string_attribute_refs`` finds an
attribute's message in its object header (version 1 or 2, continuation blocks included)
and returns its heap references, which ``check_string_refs`` checks against the heaps."""
import struct

from fastkeras.saving.errors import FileFormatError

__all__ = ["heap_objects", "string_attribute_refs", "check_string_refs"]

_HEAP_SIGNATURE = b"GCOL\x01\x00\x00\x00"  # signature, version 1, three reserved zeros
_HEAP_HEADER = 16  # signature, version, reserved, collection size (8-byte length)
_OBJECT_HEADER = 16  # index (2), reference count (2), reserved (4), size (8)
_MSG_CONTINUATION = 0x10
_MSG_ATTRIBUTE = 0x0C
_MSG_ATTRIBUTE_INFO = 0x15
_MAX_BLOCKS = 256
_MAX_MESSAGES = 65536
_UNDEFINED = (1 << 64) - 1


def _u(buf, at, size):
    if at < 0 or at + size > len(buf):
        raise FileFormatError("a structure runs past the end of the file")
    return int.from_bytes(buf[at:at + size], "little")


def heap_objects(buf, name):
    """{collection address: {object index: object size}} of every global heap collection,
    refusing malformed ones (an object that does not advance the parser, or that ends past
    its collection)."""
    heaps = {}
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
        objects = heaps[at] = {}
        p = at + _HEAP_HEADER
        while p + _OBJECT_HEADER <= end:
            index = struct.unpack_from("<H", buf, p)[0]
            (osize,) = struct.unpack_from("<Q", buf, p + 8)
            need = _OBJECT_HEADER + (osize + 7) // 8 * 8 if index else osize
            if need < _OBJECT_HEADER or p + need > end:
                raise FileFormatError(f"{name}: malformed object {index} in the global heap "
                                      f"collection at byte {at} (size {osize:,})")
            if index:
                objects[index] = osize
            p += need
        at = buf.find(_HEAP_SIGNATURE, at + 1)
    return heaps


def _v1_messages(buf, at):
    blocks = [(at + 16, _u(buf, at + 8, 4))]
    while blocks:
        p, size = blocks.pop()
        end = p + size
        if end > len(buf):
            raise FileFormatError("an object header block runs past the end of the file")
        while p + 8 <= end:
            mtype, msize = _u(buf, p, 2), _u(buf, p + 2, 2)
            data = p + 8
            if data + msize > end:
                raise FileFormatError("an object header message runs past its block")
            yield mtype, data, msize, blocks
            p = data + msize


def _v2_messages(buf, at):
    flags = _u(buf, at + 5, 1)
    p = at + 6 + (16 if flags & 0x20 else 0) + (4 if flags & 0x10 else 0)
    width = 1 << (flags & 0x03)
    blocks = [(p + width, _u(buf, p, width))]
    header = 4 + (2 if flags & 0x04 else 0)
    first = True
    while blocks:
        p, size = blocks.pop()
        if not first:
            if buf[p:p + 4] != b"OCHK":
                raise FileFormatError("an object header continuation lacks its signature")
            p, size = p + 4, size - 8  # signature before, checksum after
        first = False
        end = p + size
        if end > len(buf) or size < 0:
            raise FileFormatError("an object header block runs past the end of the file")
        while p + header <= end:
            mtype, msize = _u(buf, p, 1), _u(buf, p + 1, 2)
            data = p + header
            if data + msize > end:
                raise FileFormatError("an object header message runs past its block")
            yield mtype, data, msize, blocks
            p = data + msize


def _messages(buf, at):
    """(type, data offset, size) of every message of the object header at `at`."""
    if buf[at:at + 4] == b"OHDR" and _u(buf, at + 4, 1) == 2:
        walk = _v2_messages(buf, at)
    elif _u(buf, at, 1) == 1:
        walk = _v1_messages(buf, at)
    else:
        raise FileFormatError(f"unknown object header at byte {at}")
    count = blocks_seen = 0
    for mtype, data, msize, blocks in walk:
        count += 1
        if count > _MAX_MESSAGES:
            raise FileFormatError("an object header holds too many messages")
        if mtype == _MSG_CONTINUATION:
            blocks_seen += 1
            if blocks_seen > _MAX_BLOCKS:
                raise FileFormatError("an object header has too many continuation blocks")
            blocks.append((_u(buf, data, 8), _u(buf, data + 8, 8)))
        yield mtype, data, msize


def _pad8(n):
    return (n + 7) // 8 * 8


def _attribute_parts(buf, d):
    """(name, datatype offset, dataspace offset, data offset) of the attribute message at d."""
    version, flags = _u(buf, d, 1), _u(buf, d + 1, 1)
    name_size, type_size, space_size = _u(buf, d + 2, 2), _u(buf, d + 4, 2), _u(buf, d + 6, 2)
    if version == 1:
        p = d + 8
        pad = _pad8
    elif version in (2, 3):
        p = d + 8 + (1 if version == 3 else 0)
        pad = int
    else:
        raise FileFormatError(f"unknown attribute message version {version}")
    if version > 1 and flags & 0x03:
        raise FileFormatError("attributes with shared datatypes or dataspaces are not read")
    name = bytes(buf[p:p + name_size]).rstrip(b"\0")
    dtype_at = p + pad(name_size)
    space_at = dtype_at + pad(type_size)
    return name, dtype_at, space_at, space_at + pad(space_size)


def _elements(buf, s):
    version, rank = _u(buf, s, 1), _u(buf, s + 1, 1)
    if version == 1:
        dims_at = s + 8
    elif version == 2:
        kind = _u(buf, s + 3, 1)
        if kind == 2:  # null dataspace
            return 0
        dims_at = s + 4
    else:
        raise FileFormatError(f"unknown dataspace message version {version}")
    count = 1
    for i in range(rank):
        count *= _u(buf, dims_at + 8 * i, 8)
    return count


def string_attribute_refs(buf, header_at, key, name, where):
    """The heap references (sequence length, collection address, object index) of the
    variable-length string attribute `key` of the object whose header is at `header_at`;
    None when the attribute is stored inline (fixed-length strings)."""
    want = key.encode()
    try:
        for mtype, d, msize in _messages(buf, header_at):
            if mtype == _MSG_ATTRIBUTE_INFO and msize >= 10:
                flags = _u(buf, d + 1, 1)
                heap_at = _u(buf, d + 2 + (2 if flags & 0x01 else 0), 8)
                if heap_at != _UNDEFINED:
                    raise FileFormatError("attributes in dense storage are not read")
            if mtype != _MSG_ATTRIBUTE:
                continue
            attr_name, dtype_at, space_at, data_at = _attribute_parts(buf, d)
            if attr_name != want:
                continue
            if _u(buf, dtype_at, 1) & 0x0F != 9:  # not variable-length: inline, bounded
                return None
            count = _elements(buf, space_at)
            if data_at + 16 * count > d + msize:
                raise FileFormatError("the attribute's values run past its message")
            return [(_u(buf, data_at + 16 * i, 4), _u(buf, data_at + 16 * i + 4, 8),
                     _u(buf, data_at + 16 * i + 12, 4)) for i in range(count)]
    except FileFormatError as e:
        raise FileFormatError(f"{name}: attribute {key!r} of {where}: {e}") from None
    raise FileFormatError(f"{name}: attribute {key!r} of {where} is not in its object header")


def check_string_refs(refs, heaps, limit, name, key, where):
    """Refuse references to no heap object, or longer than their object or `limit`."""
    total = 0
    for length, heap_at, index in refs:
        if length == 0:
            continue
        size = heaps.get(heap_at, {}).get(index)
        if size is None or length > size:
            raise FileFormatError(f"{name}: attribute {key!r} of {where} refers to no valid "
                                  f"global heap object (collection {heap_at}, object {index}, "
                                  f"{length:,} bytes)")
        total += length
    if total > limit:
        raise FileFormatError(f"{name}: attribute {key!r} of {where} holds {total:,} bytes "
                              f"(at most {limit:,})")
