"""Assets in ``.keras`` files: what a layer's ``save_assets(dir)`` writes (a vocabulary, a
lookup table) is stored under ``assets/<layer path>/`` in the archive, and on loading the
layer's ``load_assets(dir)`` reads it back from a private temporary copy, as Keras 3 does.

Loading stays within what the archive holds: members were already checked by the loader
(no absolute paths, no ``..``, no repeats); each asset is streamed into a fresh temporary
directory with a byte limit, so a file never makes fastkeras write or read outside that
directory, and the directory is removed afterwards."""
import os
import tempfile

from fastkeras.saving.errors import FileFormatError

__all__ = ["write_assets", "read_assets", "MAX_ASSET_BYTES"]

PREFIX = "assets/"
MAX_ASSET_BYTES = 1 << 30  # all of a file's assets together


def _defines(layer, method):
    """Whether layer's class (not fastkeras' base classes) defines `method`."""
    from fastkeras.layers.base import Layer

    fn = getattr(type(layer), method, None)
    return fn is not None and fn is not getattr(Layer, method, None)


def _with_assets(model, method):
    """(path, layer) for the model and every sub-layer whose class defines `method`, paths
    as the weights file names them (``layers/<snake class>[_k]``, nested)."""
    from fastkeras.layers.base import Layer
    from fastkeras.saving.weights import _children

    out = []

    def walk(layer, path):
        if _defines(layer, method):
            out.append((path, layer))
        for sub_path, sub in _children(layer):
            if isinstance(sub, Layer):
                walk(sub, f"{path}/{sub_path}" if path else sub_path)

    walk(model, "")
    return out


def write_assets(model, z):
    """Add every layer's assets to the open ZipFile `z`."""
    layers = _with_assets(model, "save_assets")
    if not layers:
        return
    with tempfile.TemporaryDirectory(prefix="fastkeras-assets-") as root:
        for path, layer in layers:
            where = os.path.join(root, path) if path else root
            os.makedirs(where, exist_ok=True)
            layer.save_assets(where)
        for folder, _, files in os.walk(root):
            for name in sorted(files):
                full = os.path.join(folder, name)
                rel = os.path.relpath(full, root).replace(os.sep, "/")
                z.write(full, PREFIX + rel)


def read_assets(model, z, members, filepath, read_bounded):
    """Call load_assets(dir) of every layer that defines it with a temporary directory
    holding that layer's assets from the archive (``members``: name -> ZipInfo, already
    checked). ``read_bounded(z, info, limit, sink, what)`` streams one member."""
    layers = _with_assets(model, "load_assets")
    if not layers:
        return
    names = [n for n in members if n.startswith(PREFIX) and not n.endswith("/")]
    budget = MAX_ASSET_BYTES
    with tempfile.TemporaryDirectory(prefix="fastkeras-assets-") as root:
        for name in names:
            info = members[name]
            rel = name[len(PREFIX):]
            target = os.path.realpath(os.path.join(root, *rel.split("/")))
            if os.path.commonpath([target, os.path.realpath(root)]) != os.path.realpath(root):
                raise FileFormatError(f"{filepath}: refusing the asset {name!r}")
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "xb") as out:
                read_bounded(z, info, budget, out.write, f"{filepath}: {name}")
                budget -= out.tell()
        for path, layer in layers:
            where = os.path.join(root, path) if path else root
            os.makedirs(where, exist_ok=True)
            layer.load_assets(where)
