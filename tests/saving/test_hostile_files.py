"""Hostile model files (issue 18): an attacker's corpus, crafted at test time with h5py and
zipfile in tmp_path (no committed binaries).

Every file here is one a loader must refuse: ``load_weights`` (.weights.h5), ``load_model``
(.keras zip, legacy .h5) raise ``FileFormatError`` naming the file, quickly, without
reading other files, blocking on FIFOs or allocating what the file merely declares.
Most tests run for each of the three formats ("weights", "keras", "h5"); the HDF5 part of
a .keras file is its model.weights.h5 member, edited and zipped again. Loads that could
block run in a thread with a deadline (``_bounded``); loads whose memory is measured run
in a subprocess (``_measured``)."""
import json
import os
import re
import struct
import subprocess
import sys
import threading
import time
import warnings
import zipfile
import zlib

import numpy as np
import pytest

import fastkeras as fk
from fastkeras.saving import FileFormatError, set_load_budget
from fastkeras.saving.errors import MissingFileError

h5py = pytest.importorskip("h5py")

FORMATS = ("weights", "keras", "h5")
SUFFIX = {"weights": ".weights.h5", "keras": ".keras", "h5": ".h5"}
SECRET = b"SECRET!!" * 6  # 48 bytes: exactly the (4, 3) float32 kernel
SECRET_KERNEL = np.frombuffer(SECRET, "<f4").reshape(4, 3)
# where the victim's objects sit in each format's HDF5 file
PATHS = {
    "weights": {"kernel": "layers/dense/vars/0", "bias": "layers/dense/vars/1",
                "vars": "layers/dense/vars", "layer": "layers/dense",
                "slot": "optimizer/vars/3", "iterations": "optimizer/vars/0"},
    "h5": {"kernel": "model_weights/dense/dense/kernel:0",
           "bias": "model_weights/dense/dense/bias:0", "vars": "model_weights/dense/dense",
           "layer": "model_weights/dense", "slot": "optimizer_weights/optimizer/var_3:0",
           "iterations": "optimizer_weights/optimizer/var_0:0"},
}
PATHS["keras"] = PATHS["weights"]
DEADLINE = 10  # seconds a load may take before it counts as blocked


def _model():
    """The victim: Dense(3) on 4 inputs, compiled with Adam whose state exists."""
    m = fk.Sequential([fk.Input(shape=(4,)), fk.layers.Dense(3, name="dense")], name="victim")
    m.compile(optimizer="adam", loss="mse")
    m.optimizer.build(m.trainable_weights)
    return m


def _kernel(model):
    return model.layers[0].kernel.numpy()


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """The victim saved in each format: {"weights"/"keras"/"h5": bytes of the HDF5 part,
    "config": config.json of the .keras file, "metadata": its metadata.json}."""
    d = tmp_path_factory.mktemp("base")
    m = _model()
    m.layers[0].kernel.assign(np.arange(12, dtype="float32").reshape(4, 3))
    m.save_weights(d / "b.weights.h5")
    m.save(d / "b.keras")
    m.save(d / "b.h5")
    with zipfile.ZipFile(d / "b.keras") as z:
        keras_h5 = z.read("model.weights.h5")
        config, metadata = z.read("config.json"), z.read("metadata.json")
    return {"weights": (d / "b.weights.h5").read_bytes(), "keras": keras_h5,
            "h5": (d / "b.h5").read_bytes(), "config": config, "metadata": metadata,
            "dir": d}


# ----------------------------------------------------------------------- crafting files
def _zip(path, members, compression=zipfile.ZIP_DEFLATED):
    """A zip holding `members` [(name, bytes)] in order (repeated names allowed)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        with zipfile.ZipFile(path, "w", compression) as z:
            for name, data in members:
                z.writestr(name, data)
    return path


def _keras_members(base, config=None, weights=None, metadata=None):
    return [("config.json", base["config"] if config is None else config),
            ("metadata.json", base["metadata"] if metadata is None else metadata),
            ("model.weights.h5", base["keras"] if weights is None else weights)]


def _rebuild(h5path, **file_kwargs):
    """Copy the HDF5 file into a new one created with `file_kwargs` (e.g. a user block)."""
    tmp = h5path.with_name(h5path.name + ".rebuilt")
    with h5py.File(h5path, "r") as src, h5py.File(tmp, "w", **file_kwargs) as dst:
        for k, v in src.attrs.items():
            dst.attrs[k] = v
        for k in src:
            src.copy(src[k], dst, name=k)
    os.replace(tmp, h5path)


def _craft(fmt, base, tmp_path, edit=None, name="m", **file_kwargs):
    """The victim's file in format `fmt` with `edit(f, paths)` applied to its HDF5 part
    (opened r+), rebuilt with `file_kwargs` when given; returns its path."""
    h5path = tmp_path / f"{name}.part.h5"
    h5path.write_bytes(base[fmt])
    if edit is not None:
        with h5py.File(h5path, "r+") as f:
            edit(f, PATHS[fmt])
    if file_kwargs:
        _rebuild(h5path, **file_kwargs)
    path = tmp_path / (name + SUFFIX[fmt])
    if fmt == "keras":
        _zip(path, _keras_members(base, weights=h5path.read_bytes()))
        h5path.unlink()
    else:
        os.replace(h5path, path)
    return path


def _keras_with_config(base, tmp_path, config, name="m", weights=None):
    text = config if isinstance(config, (bytes, str)) else json.dumps(config)
    return _zip(tmp_path / f"{name}.keras", _keras_members(base, config=text, weights=weights))


def _h5_with_config(base, tmp_path, config, name="m"):
    path = tmp_path / f"{name}.h5"
    path.write_bytes(base["h5"])
    with h5py.File(path, "r+") as f:
        f.attrs["model_config"] = config if isinstance(config, str) else json.dumps(config)
    return path


def _with_config(fmt, base, tmp_path, config, name="m"):
    """A .keras or legacy .h5 model file whose model config is `config`."""
    if fmt == "keras":
        return _keras_with_config(base, tmp_path, config, name)
    return _h5_with_config(base, tmp_path, config, name)


def _victim_config(fmt, base):
    """The victim's model config, as the format stores it (keras: the whole config.json;
    h5: the model_config attribute)."""
    if fmt == "keras":
        return json.loads(base["config"])
    with h5py.File(base["dir"] / "b.h5", "r") as f:
        return json.loads(f.attrs["model_config"])


def _replace(f, where, **create_kwargs):
    del f[where]
    return f.create_dataset(where, **create_kwargs)


# ----------------------------------------------------------------------- loading files
def _load(fmt, path, model=None, **kwargs):
    if fmt == "weights":
        model = model or _model()
        model.load_weights(path)
        return model
    return fk.models.load_model(path, **kwargs)


def _refused(fmt, path, match=None, model=None, **kwargs):
    """Load `path`; it must raise FileFormatError (any other exception propagates and
    fails the test) naming the file; returns the error."""
    with pytest.raises(FileFormatError) as info:
        _load(fmt, path, model=model, **kwargs)
    message = str(info.value)
    assert str(path) in message, f"the message does not name {path}: {message}"
    if match is not None:
        assert re.search(match, message), message
    return info.value


def _unblock(fifo):
    """Give a thread blocked opening `fifo` its other end (then EOF)."""
    for flags in (os.O_WRONLY | os.O_NONBLOCK, os.O_RDONLY | os.O_NONBLOCK):
        try:
            os.close(os.open(fifo, flags))
        except OSError:
            pass


def _bounded(fn, fifos=(), seconds=DEADLINE):
    """fn() in a thread; fails the test if it is still running after `seconds` (a FIFO
    opened or a loop), after unblocking `fifos` so that the thread can end."""
    box = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as e:  # handed to the caller
            box["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    if t.is_alive():
        for fifo in fifos:
            _unblock(fifo)
        t.join(5)
        pytest.fail(f"the load was still running after {seconds} s (blocked on a FIFO or "
                    "looping)")
    if "error" in box:
        raise box["error"]
    return box.get("value")


_CHILD = r"""
import importlib.util, json, os, stat, sys, threading, time
spec = importlib.util.spec_from_file_location("hostile", sys.argv[1])
hostile = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hostile)
fmt, warm, paths = sys.argv[2], sys.argv[3], sys.argv[4:]
import fastkeras as fk
hostile._load(fmt, warm)
largest = [0]
skip = {os.stat(p).st_ino for p in paths}
done = threading.Event()

def watch():  # the largest regular file this process holds open (temporary files too)
    while not done.is_set():
        for fd in os.listdir("/proc/self/fd"):
            try:
                st = os.stat(f"/proc/self/fd/{fd}")
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode) and st.st_ino not in skip:
                largest[0] = max(largest[0], st.st_size)
        time.sleep(0.002)

def peak_rss():  # VmHWM: this process' peak since exec (ru_maxrss keeps the parent's)
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) * 1024 for l in fh if l.startswith("VmHWM:"))

for path in paths:
    model = hostile._model() if fmt == "weights" else None
    largest[0] = 0
    done.clear()
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:  # the peak restarts from the current RSS
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass
    before = peak_rss()
    t = time.monotonic()
    out = {"error": None}
    try:
        hostile._load(fmt, path, model=model)
    except BaseException as e:
        out = {"error": type(e).__name__, "file_format_error":
               isinstance(e, fk.saving.FileFormatError), "message": str(e)}
    out["seconds"] = time.monotonic() - t
    out["grew"] = peak_rss() - before
    done.set()
    watcher.join()
    out["largest_file"] = largest[0]
    print("RESULT " + json.dumps(out), flush=True)
"""


def _measured(fmt, paths, warm, timeout=60):
    """Load each of `paths` in a fresh interpreter (after loading the valid file `warm`
    once); for each a dict {"error", "file_format_error", "message", "seconds", "grew"
    (growth of the peak RSS, bytes), "largest_file" (bytes of the largest file the
    process held open, but `paths`)}."""
    if not sys.platform.startswith("linux"):
        pytest.skip("measures memory and open files through Linux's /proc")
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, __file__, fmt, str(warm)] + [str(p) for p in paths],
        capture_output=True, text=True, timeout=timeout)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
    assert proc.returncode == 0 and len(lines) == len(paths), proc.stderr[-3000:]
    return [json.loads(l[len("RESULT "):]) for l in lines]


MB = 1 << 20
HANG_S = 60  # a guard against hangs on a loaded machine, not a timing: refusals take ms


def _assert_refused_cheaply(result, path, match=None):
    assert result["error"] is not None, f"{path} was loaded"
    assert result["file_format_error"], f"{result['error']}: {result['message']}"
    assert str(path) in result["message"], result["message"]
    if match is not None:
        assert re.search(match, result["message"]), result["message"]
    assert result["grew"] < 100 * MB, f"RSS grew by {result['grew'] / MB:.0f} MB"
    assert result["largest_file"] < 100 * MB, \
        f"a {result['largest_file'] / MB:.0f} MB file was written"
    assert result["seconds"] < HANG_S, f"took {result['seconds']:.1f} s"


# ================================================================ 1. reads outside the file
@pytest.fixture
def secret(tmp_path):
    """A file outside the model holding recognisable bytes; and an HDF5 file holding them
    as a (4, 3) dataset "data" (the target of virtual datasets and external links)."""
    path = tmp_path / "secret.bin"
    path.write_bytes(SECRET)
    h5 = tmp_path / "secret.h5"
    with h5py.File(h5, "w") as f:
        f["data"] = SECRET_KERNEL
    return path, h5


def _external_storage(target):
    def edit(f, p):
        _replace(f, p["kernel"], shape=(4, 3), dtype="<f4", external=[(str(target), 0, 48)])
    return edit


def _virtual(target):
    def edit(f, p):
        layout = h5py.VirtualLayout(shape=(4, 3), dtype="<f4")
        layout[:] = h5py.VirtualSource(str(target), "data", shape=(4, 3))
        del f[p["kernel"]]
        f.create_virtual_dataset(p["kernel"], layout)
    return edit


def _external_link(target):
    def edit(f, p):
        del f[p["kernel"]]
        f[p["kernel"]] = h5py.ExternalLink(str(target), "/data")
    return edit


def _soft_link(_target):
    def edit(f, p):
        f["stolen"] = SECRET_KERNEL  # elsewhere in the file, e.g. another model's weights
        del f[p["kernel"]]
        f[p["kernel"]] = h5py.SoftLink("/stolen")
    return edit


ELSEWHERE = {"external_storage": _external_storage, "virtual_dataset": _virtual,
             "external_link": _external_link, "soft_link": _soft_link}
ELSEWHERE_REASON = {"external_storage": "external files", "virtual_dataset": "virtual dataset",
                    "external_link": "ExternalLink", "soft_link": "SoftLink"}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", sorted(ELSEWHERE))
def test_weight_read_from_elsewhere_is_refused(fmt, kind, base, tmp_path, secret):
    target = secret[0] if kind == "external_storage" else secret[1]
    path = _craft(fmt, base, tmp_path, ELSEWHERE[kind](target))
    if fmt != "keras":  # the attack is real: plain h5py reads the secret through it
        with h5py.File(path, "r") as f:
            np.testing.assert_array_equal(f[PATHS[fmt]["kernel"]][()], SECRET_KERNEL)
    model = _model() if fmt == "weights" else None
    _refused(fmt, path, match=ELSEWHERE_REASON[kind], model=model)
    if model is not None:
        assert not np.array_equal(_kernel(model), SECRET_KERNEL)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", ["external_storage", "virtual_dataset", "external_link"])
def test_fifo_targets_never_block(fmt, kind, base, tmp_path):
    """The other file is a FIFO: opening it would block forever (no writer)."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    path = _craft(fmt, base, tmp_path, ELSEWHERE[kind](fifo))
    with pytest.raises(FileFormatError, match=ELSEWHERE_REASON[kind]) as info:
        _bounded(lambda: _load(fmt, path), fifos=[fifo])
    assert str(path) in str(info.value)


def _special_files(tmp_path, fmt):
    name = "m" + SUFFIX[fmt]
    fifo = tmp_path / "fifo" / name
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    folder = tmp_path / "folder" / name
    folder.mkdir(parents=True)
    out = {"fifo": fifo, "directory": folder, "/dev/null": "/dev/null"}
    if os.path.exists("/dev/zero"):
        link = tmp_path / "zero" / name
        link.parent.mkdir()
        link.symlink_to("/dev/zero")
        out["symlink to /dev/zero"] = link
    link = tmp_path / "fifolink" / name
    link.parent.mkdir()
    link.symlink_to(fifo)
    out["symlink to a fifo"] = link
    for target in ("/proc/self/environ", "/proc/self/mem"):  # "regular", of size 0
        if os.path.exists(target):
            link = tmp_path / os.path.basename(target) / name
            link.parent.mkdir()
            link.symlink_to(target)
            out[target] = link
    return out


@pytest.mark.parametrize("fmt", FORMATS)
def test_model_path_that_is_not_a_regular_file(fmt, tmp_path):
    for kind, path in _special_files(tmp_path, fmt).items():
        with pytest.raises(FileFormatError) as info:
            _bounded(lambda: _load(fmt, path), fifos=[tmp_path / "fifo" / f"m{SUFFIX[fmt]}"])
        assert str(path) in str(info.value), (kind, str(info.value))
        assert not isinstance(info.value, FileNotFoundError), kind


@pytest.mark.parametrize("fmt", FORMATS)
def test_missing_and_dangling_paths(fmt, tmp_path):
    missing = tmp_path / ("none" + SUFFIX[fmt])
    with pytest.raises(MissingFileError) as info:
        _load(fmt, missing)
    assert isinstance(info.value, FileFormatError) and isinstance(info.value, FileNotFoundError)
    assert str(missing) in str(info.value)
    dangling = tmp_path / ("dangling" + SUFFIX[fmt])
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(FileFormatError) as info:
        _load(fmt, dangling)
    assert str(dangling) in str(info.value)


# ================================================================ 2. HDF5 features refused
def _lzf(f, p):
    _replace(f, p["kernel"], data=np.ones((4, 3), "f4"), compression="lzf", chunks=(2, 3))


def _scaleoffset(f, p):
    _replace(f, p["kernel"], data=np.ones((4, 3), "f4"), scaleoffset=2, chunks=(2, 3))


def _plugin_filter(f, p):
    """A filter HDF5 would look for as a plugin (307, bzip2), marked optional so that h5py
    writes the file even where the plugin is not installed."""
    del f[p["kernel"]]
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_chunk((4, 3))
    dcpl.set_filter(307, h5py.h5z.FLAG_OPTIONAL, (9,))
    space = h5py.h5s.create_simple((4, 3))
    h5py.h5d.create(f.id, p["kernel"].encode(), h5py.h5t.IEEE_F32LE, space, dcpl=dcpl)


def _committed_type(f, p):
    f["t"] = np.dtype("<f4")
    _replace(f, p["kernel"], data=np.ones((4, 3), "f4"), dtype=f["t"])


def _alias(f, p):
    f["alias"] = f[p["kernel"]]  # a second hard link to the same dataset


def _cycle(f, p):
    f[p["layer"] + "/loop"] = f[p["layer"]]  # a group inside itself


def _root_cycle(f, p):
    f[p["vars"] + "/root"] = f["/"]


def _deep_groups(f, p):
    g = f
    for i in range(100):
        g = g.create_group("g")


def _string_weight(f, p):
    _replace(f, p["kernel"], data=np.array([["a"] * 3] * 4, dtype=h5py.string_dtype()))


def _compound_weight(f, p):
    _replace(f, p["kernel"], shape=(4, 3), dtype=np.dtype([("a", "<f4")]))


def _oversized_chunks(f, p):
    """Chunks much larger than the dataset: HDF5 would allocate a chunk's buffer."""
    del f[p["kernel"]]
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_chunk((1 << 14, 1 << 14))  # 1 GiB of float32 per chunk
    dcpl.set_deflate(1)
    space = h5py.h5s.create_simple((4, 3), (h5py.h5s.UNLIMITED, h5py.h5s.UNLIMITED))
    h5py.h5d.create(f.id, p["kernel"].encode(), h5py.h5t.IEEE_F32LE, space, dcpl=dcpl)


FEATURES = {  # the crafted feature, the reason the loader must give
    "lzf filter": (_lzf, "filter 32000"), "scaleoffset filter": (_scaleoffset, "filter 6"),
    "plugin filter 307": (_plugin_filter, "filter 307"),
    "committed datatype": (_committed_type, "Datatype"),
    "hard link reached twice": (_alias, "reached before"),
    "group linked inside itself": (_cycle, "reached before"),
    "link back to the root": (_root_cycle, "reached before"),
    "groups 100 deep": (_deep_groups, "deeper than"),
    "string weight": (_string_weight, "not numbers"),
    "compound weight": (_compound_weight, "not numbers"),
    "chunks larger than the dataset": (_oversized_chunks, "chunks")}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("feature", sorted(FEATURES))
def test_hdf5_feature_outside_the_subset_is_refused(fmt, feature, base, tmp_path):
    edit, reason = FEATURES[feature]
    path = _craft(fmt, base, tmp_path, edit)
    with pytest.raises(FileFormatError, match=reason) as info:  # no hang, no RecursionError
        _bounded(lambda: _load(fmt, path))
    assert str(path) in str(info.value)


@pytest.mark.parametrize("fmt", FORMATS)
def test_user_block_is_refused(fmt, base, tmp_path):
    path = _craft(fmt, base, tmp_path, userblock_size=512)
    if fmt != "keras":
        with h5py.File(path, "r") as f:  # a valid HDF5 file to h5py
            assert f.userblock_size == 512
    _refused(fmt, path, match="user block" if fmt != "h5" else "user block|HDF5")


# ================================================================ 3. budgets before bytes
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("target", ["kernel", "slot", "iterations"])
def test_declared_giant_datasets_cost_nothing(fmt, target, base, tmp_path):
    """A weight or optimizer-state dataset declared (2**28,) or (2**40,) float32 (1 GiB,
    4 TiB; a few KB on disk: gzip chunks never written read as the fill value)."""
    paths = []
    for shape in [(1 << 28,), (1 << 40,)]:
        def edit(f, p, shape=shape):
            _replace(f, p[target], shape=shape, dtype="<f4", chunks=(1 << 20,),
                     compression="gzip", fillvalue=1.0)
        paths.append(_craft(fmt, base, tmp_path, edit, name=f"giant{len(paths)}"))
        assert paths[-1].stat().st_size < 1 * MB
    warm = _craft(fmt, base, tmp_path, name="warm")
    for path, result in zip(paths, _measured(fmt, paths, warm)):
        _assert_refused_cheaply(result, path)


def _deflate_zeros(nbytes):
    """(raw deflate stream, CRC-32) of `nbytes` zero bytes, without compressing them all:
    after a full flush deflate restarts, so every MiB compresses to the same block."""
    block = bytes(MB)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    assert nbytes % MB == 0 and c.compress(block) + c.flush(zlib.Z_FULL_FLUSH) == again
    crc = 0
    for _ in range(nbytes // MB):
        crc = zlib.crc32(block, crc)
    return first + again * (nbytes // MB - 1) + c.flush(), crc


def _raw_zip(path, members):
    """A zip written byte by byte: members [(name, data, method, crc, declared size[,
    flags])], `data` already compressed; declared sizes may lie."""
    body, central = b"", b""
    for name, data, method, crc, size, *flags in members:
        n, flag = name.encode(), flags[0] if flags else 0
        offset = len(body)
        body += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, flag, method, 0, 33, crc,
                            len(data), size, len(n), 0) + n + data
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, flag, method, 0, 33,
                               crc, len(data), size, len(n), 0, 0, 0, 0, 0, offset) + n
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members),
                      len(central), len(body), 0)
    path.write_bytes(body + central + end)
    return path


@pytest.fixture(scope="module")
def gigabyte_of_zeros():
    return _deflate_zeros(1 << 30)


def _stored(name, data):
    return (name, data, 0, zlib.crc32(data), len(data))


@pytest.mark.parametrize("member", ["model.weights.h5", "config.json"])
@pytest.mark.parametrize("header", ["honest", "lying"])
def test_zip_bomb_member_is_refused_while_streaming(member, header, base, tmp_path,
                                                    gigabyte_of_zeros):
    """A member that inflates to 1 GiB (about 1 MB in the zip); its header states the
    size (honest) or claims 40 KB (lying). Refused fast, without a large temporary file
    or memory."""
    data, crc = gigabyte_of_zeros
    bomb = (member, data, 8, crc, (1 << 30) if header == "honest" else 40_000)
    members = [_stored("config.json", base["config"]), _stored("metadata.json", base["metadata"]),
               _stored("model.weights.h5", base["keras"])]
    members = [bomb if m[0] == member else m for m in members]
    path = _raw_zip(tmp_path / "bomb.keras", members)
    assert path.stat().st_size < 2 * MB
    with zipfile.ZipFile(path) as z:  # a well-formed zip
        assert z.getinfo(member).file_size == bomb[4]
    warm = _zip(tmp_path / "warm.keras", _keras_members(base))
    _assert_refused_cheaply(_measured("keras", [path], warm)[0], path)


def _big_dense_config(fmt, base, units, inputs, dtype):
    config = _victim_config(fmt, base)
    layers = config["config"]["layers"]
    layers[0]["config"]["batch_shape"] = [None, inputs]
    layers[1]["config"]["units"] = units
    layers[1]["config"]["dtype"]["config"]["name"] = dtype
    layers[1].get("build_config", {})["input_shape"] = [None, inputs]
    config["config"].pop("build_input_shape", None)
    if "build_config" in config:
        config["build_config"]["input_shape"] = [None, inputs]
    return config


def _refused_within_budget(fmt, path, match):
    """Refused under a 100 MB load budget, well before the hang guard."""
    set_load_budget(100 << 20)
    try:
        t = time.monotonic()
        _refused(fmt, path, match=match)
        assert time.monotonic() - t < HANG_S
    finally:
        set_load_budget(None)


@pytest.mark.parametrize("fmt", ["keras", "h5"])
def test_config_declaring_12_gb_is_refused_by_the_budget(fmt, base, tmp_path):
    """Dense(40000) on 40,000 float64 inputs: 12.8 GB of weights in a 2 KB config."""
    config = _big_dense_config(fmt, base, 40_000, 40_000, "float64")
    path = _with_config(fmt, base, tmp_path, config)
    assert path.stat().st_size < 64 << 10
    _refused_within_budget(fmt, path, r"load budget of 104,857,600 bytes")


@pytest.mark.parametrize("fmt", FORMATS)
def test_initializers_do_not_run_at_load(fmt, base, tmp_path, monkeypatch):
    """Loading overwrites every weight from the file, so no initializer runs."""
    path = _craft(fmt, base, tmp_path)

    def refuse(*args, **kwargs):
        raise AssertionError("an initializer ran while loading")

    model = _model() if fmt == "weights" else None  # built (initialized) before the patch
    for cls in (fk.initializers.GlorotUniform, fk.initializers.Zeros):
        monkeypatch.setattr(cls, "__call__", refuse)
    loaded = _load(fmt, path, model=model)
    np.testing.assert_array_equal(_kernel(loaded if model is None else model),
                                  np.arange(12, dtype="float32").reshape(4, 3))


@pytest.mark.parametrize("fmt", ["keras", "h5"])
def test_config_declaring_1_6_gb_builds_without_touching_it(fmt, base, tmp_path):
    """Dense(20000) on 20,000 float32 inputs (1.6 GB) within the default budget: the model
    is built without running initializers over 1.6 GB; the file's (4, 3) kernel is then
    refused for its shape, the process having grown by less than 100 MB."""
    if fk.saving.get_load_budget() < 4 << 30:
        pytest.skip("the default load budget (half the available memory) is under 4 GB")
    config = _big_dense_config(fmt, base, 20_000, 20_000, "float32")
    path = _with_config(fmt, base, tmp_path, config)
    warm = _craft(fmt, base, tmp_path, name="warm")
    (result,) = _measured(fmt, [path], warm)
    _assert_refused_cheaply(result, path, match=r"shape")
    assert "budget" not in result["message"]


def _kt(name, shape):
    return {"class_name": "__keras_tensor__",
            "config": {"shape": shape, "dtype": "float32", "keras_history": [name, 0, 0]}}


def _input(name, shape):
    return {"module": "keras.layers", "class_name": "InputLayer",
            "config": {"batch_shape": [None] + shape, "dtype": "float32", "name": name},
            "registered_name": None, "name": name, "inbound_nodes": []}


def _op(name, cls, args, options=None, module="keras.src.ops.numpy"):
    return {"module": module, "class_name": cls, "config": dict(name=name, **(options or {})),
            "registered_name": cls, "name": name, "inbound_nodes": [{"args": args, "kwargs": {}}]}


def _functional(layers, inputs, outputs):
    return {"module": "keras.src.models.functional", "class_name": "Functional",
            "config": {"name": "f", "trainable": True, "layers": layers,
                       "input_layers": inputs, "output_layers": outputs},
            "registered_name": "Functional"}


N = 60_000
A, B = [["a", 0, 0]], [["a", 0, 0], ["b", 0, 0]]
COLUMN, ROW = _kt("a", [None, N, 1]), _kt("b", [None, 1, N])
TWO_INPUTS = [_input("a", [N, 1]), _input("b", [1, N])]
# each asks for 0.8 to 130 GB from a config of at most a few hundred KB: made by the op
# itself (Ones), or by broadcasting, outer products or repeated rows of the tensors met
# while the graph is built (symbolic inputs stand for zeros of their shape, constant
# arguments too; an op whose arguments are all constants is evaluated then)
OP_BOMBS = {
    "Ones": ([_input("a", [6]), _op("o", "Ones", [[N, N]])], A),
    "Full": ([_input("a", [6]), _op("o", "Full", [[N, N], 1.0])], A),
    "Eye": ([_input("a", [6]), _op("o", "Eye", [N])], A),
    "BroadcastTo": ([_input("a", [1]), _op("o", "BroadcastTo", [_kt("a", [None, 1])],
                                            {"shape": [3, N, N]})], A),
    "Tile (constants)": ([_input("a", [1]), _op("o", "Tile", [[[1.0]], [1, N * N]])], A),
    "Add (constants)": ([_input("a", [1]), _op("o", "Add", [[[0.0] * 30_000],
                                                             [[0.0]] * 30_000])], A),
    # (a list key is a tuple of indices, as Keras' GetItem reads it: one fancy index)
    "Getitem (constants)": ([_input("a", [1]), _op("o", "Getitem", [[[0.0] * 10_000],
                                                                     [[0] * 20_000]])], A),
    "Take (repeated rows)": ([_input("a", [N]), _op("o", "Take", [
        _kt("a", [None, N]), [0] * 10_000], {"axis": 0})], A),
    "TakeAlongAxis (broadcast)": ([_input("a", [N, 1]), _op("o", "TakeAlongAxis", [
        COLUMN, [[[0] * N]]], {"axis": 2})], A),
    "Add (broadcast)": (TWO_INPUTS + [_op("o", "Add", [COLUMN, ROW])], B),
    "Multiply (broadcast)": (TWO_INPUTS + [_op("o", "Multiply", [COLUMN, ROW])], B),
    "Greater (broadcast)": (TWO_INPUTS + [_op("o", "Greater", [COLUMN, ROW])], B),
    "Where (broadcast)": (TWO_INPUTS + [_op("o", "Where", [COLUMN, COLUMN, ROW])], B),
    "Matmul": (TWO_INPUTS + [_op("o", "Matmul", [COLUMN, ROW])], B),
    "Tensordot (outer)": ([_input("a", [N]), _op("o", "Tensordot", [
        _kt("a", [None, N]), _kt("a", [None, N])], {"axes": 0})], A),
    "Dot layer": (TWO_INPUTS + [{"module": "keras.layers", "class_name": "Dot",
                                 "config": {"name": "o", "axes": [2, 1]},
                                 "registered_name": None, "name": "o",
                                 "inbound_nodes": [{"args": [[COLUMN, ROW]], "kwargs": {}}]}],
                  B),
    "Concatenate of many": ([_input("a", [N])] + [_op("o", "Concatenate", [
        [_kt("a", [None, N])] * 4000], {"axis": 1})], A),
}


@pytest.mark.parametrize("fmt", ["keras", "h5"])
@pytest.mark.parametrize("op", sorted(OP_BOMBS))
def test_config_ops_are_refused_by_the_budget(fmt, op, base, tmp_path):
    layers, inputs = OP_BOMBS[op]
    config = _functional(layers, inputs, [["o", 0, 0]])
    path = _with_config(fmt, base, tmp_path, config)
    _refused_within_budget(fmt, path, r"load budget|memory")


# ================================================================ 4. one error type
TRUNCATIONS = [0, 1, 4, 8, 16, 64, 512, 2048, "half", "-100", "-1"]


def _cut(data, at):
    n = len(data)
    at = n // 2 if at == "half" else n + int(at) if isinstance(at, str) else at
    return data[:min(at, n - 1)]


@pytest.mark.parametrize("fmt", FORMATS + ("keras member",))
@pytest.mark.parametrize("at", TRUNCATIONS, ids=str)
def test_truncated_files(fmt, at, base, tmp_path):
    if fmt == "keras member":  # the zip is whole; its model.weights.h5 is cut
        path = _zip(tmp_path / "m.keras", _keras_members(base, weights=_cut(base["keras"], at)))
        fmt = "keras"
    else:
        whole = (_craft(fmt, base, tmp_path, name="whole")).read_bytes()
        path = tmp_path / ("m" + SUFFIX[fmt])
        path.write_bytes(_cut(whole, at))
    _bounded(lambda: _refused(fmt, path))


def _delete(key):
    def edit(f, p):
        del f[p[key] if key in p else key]
    return edit


MISSING = {
    "weights": {"bias": _delete("bias"), "kernel": _delete("kernel"),
                "layer's vars group": _delete("vars"), "layer group": _delete("layer"),
                "layers group": _delete("layers"), "optimizer slot 3": _delete("slot"),
                "optimizer iterations": _delete("iterations")},
    "h5": {"bias": _delete("bias"), "kernel": _delete("kernel"),
           "layer's weights group": _delete("vars"), "layer group": _delete("layer"),
           "model_weights": _delete("model_weights"), "optimizer slot 3": _delete("slot")},
}
MISSING["keras"] = MISSING["weights"]


@pytest.mark.parametrize("fmt,what", [(fmt, what) for fmt in FORMATS for what in MISSING[fmt]])
def test_missing_objects(fmt, what, base, tmp_path):
    path = _craft(fmt, base, tmp_path, MISSING[fmt][what])
    _refused(fmt, path)


def _set_attr(where, key, value):
    def edit(f, p):
        obj = f if where == "/" else f[p.get(where, where)]
        if key in obj.attrs:
            del obj.attrs[key]
        obj.attrs[key] = value
    return edit


WRONG_ATTRIBUTES = {
    "weights": {"vars name as an int array": _set_attr("vars", "name", np.arange(3)),
                "vars name as a float": _set_attr("vars", "name", 1.5),
                "vars name as two strings": _set_attr("vars", "name", ["dense", "other"]),
                "vars name as a 2-D string array": _set_attr(
                    "vars", "name", np.array([["dense"]], dtype=h5py.string_dtype()))},
    "h5": {"model_config as an int": _set_attr("/", "model_config", 7),
           "model_config as an int array": _set_attr("/", "model_config", np.arange(5)),
           "model_config as two strings": _set_attr("/", "model_config", ["{}", "{}"]),
           "weight_names as an int array": _set_attr("layer", "weight_names", np.arange(2)),
           "weight_names naming nothing": _set_attr("layer", "weight_names", ["x:0", "y:0"]),
           "weight_names naming a group": _set_attr("layer", "weight_names",
                                                    ["dense", "dense/bias:0"]),
           "training_config as a float": _set_attr("/", "training_config", 2.5),
           "optimizer weight_names as ints": _set_attr("optimizer_weights", "weight_names",
                                                       np.arange(6))},
}
WRONG_ATTRIBUTES["keras"] = WRONG_ATTRIBUTES["weights"]


@pytest.mark.parametrize("fmt,what", [(fmt, what) for fmt in FORMATS
                                      for what in WRONG_ATTRIBUTES[fmt]])
def test_wrong_attribute_types(fmt, what, base, tmp_path):
    path = _craft(fmt, base, tmp_path, WRONG_ATTRIBUTES[fmt][what])
    _refused(fmt, path)


@pytest.mark.parametrize("fmt", FORMATS)
def test_wrong_dataset_shape_and_dtype(fmt, base, tmp_path):
    for i, kw in enumerate([dict(data=np.ones((3, 4), "f4")), dict(data=np.ones((12,), "f4")),
                            dict(data=np.ones((4, 3, 1), "f4")), dict(data=np.float32(1))]):
        path = _craft(fmt, base, tmp_path, lambda f, p: _replace(f, p["kernel"], **kw),
                      name=f"m{i}")
        _refused(fmt, path, match="shape")


DEEP = "[" * 10_000 + "]" * 10_000
BAD_CONFIGS = {
    "10,000 nested lists": DEEP,
    "10,000 nested dicts in a model config": (
        '{"class_name": "Sequential", "config": ' + '{"a": ' * 10_000 + "{}"
        + "}" * 10_000 + "}"),
    "not JSON": "{'class_name': 'Sequential'}",
    "invalid UTF-8": b'{"class_name": "\xff\xfe"}',
    "empty": "",
    "a JSON list": json.dumps([{"class_name": "Sequential", "config": {}}]),
    "a JSON string": json.dumps("Sequential"),
    "a JSON number": "1e999",
    "null": "null",
    "no config key": json.dumps({"class_name": "Sequential"}),
    "unknown model class": json.dumps({"class_name": "os.system", "config": {}}),
    "unknown layer class": json.dumps({"class_name": "Sequential", "config": {
        "layers": [{"class_name": "Evil", "module": "os", "config": {}}]}}),
    "layers not a list": json.dumps({"class_name": "Sequential", "config": {"layers": 5}}),
    "layer config a list": json.dumps({"class_name": "Sequential", "config": {
        "layers": [{"class_name": "Dense", "config": [1, 2]}]}}),
    "negative units": json.dumps({"class_name": "Sequential", "config": {"layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 4]}},
        {"class_name": "Dense", "config": {"units": -5}}]}}),
    "a string of escaped quotes": '"' + '\\"' * 200_000,  # quadratic scans: a hang
    "an unterminated string of brackets": '{"class_name": "' + "[{" * 100_000,
}


@pytest.mark.parametrize("fmt", ["keras", "h5"])
@pytest.mark.parametrize("what", sorted(BAD_CONFIGS))
def test_bad_configs(fmt, what, base, tmp_path):
    config = BAD_CONFIGS[what]
    if fmt == "h5" and isinstance(config, bytes):
        path = _h5_with_config(base, tmp_path, "x")
        with h5py.File(path, "r+") as f:  # raw bytes: a fixed-length string attribute
            del f.attrs["model_config"]
            f.attrs["model_config"] = np.bytes_(config)
    else:
        path = _with_config(fmt, base, tmp_path, config)
    t = time.monotonic()
    _bounded(lambda: _refused(fmt, path))
    assert time.monotonic() - t < HANG_S


def test_long_config_string_costs_little_memory(base, tmp_path):
    """A config.json holding one 4 MB string (4 KB in the zip): scanning it for its depth
    must not keep state per character (a regex over strings took ~100 bytes each)."""
    path = _keras_with_config(base, tmp_path, '{"class_name": "' + "a" * (4 * MB) + '"}')
    assert path.stat().st_size < 64 << 10
    warm = _zip(tmp_path / "warm.keras", _keras_members(base))
    _assert_refused_cheaply(_measured("keras", [path], warm)[0], path)


def test_config_of_millions_of_values_is_refused_before_parsing(base, tmp_path):
    """60 MB of "{}," (60 KB in the zip) made json.loads build 1.3 GB of dicts: the scan
    counts containers and values first."""
    for name, body in (("dicts", b"{}," * (2 * MB)), ("numbers", b"1," * (5 * MB))):
        path = _keras_with_config(base, tmp_path, b"[" + body + b"1]", name=name)
        _refused("keras", path, match="values")


def test_deep_training_config_in_legacy_h5(base, tmp_path):
    path = tmp_path / "m.h5"
    path.write_bytes(base["h5"])
    with h5py.File(path, "r+") as f:
        f.attrs["training_config"] = DEEP
    _refused("h5", path, match="nests")


# ================================================================ 5. policy
def _lambda_model():
    from .test_weights_files import _lambda_model as build  # here: workers load this file alone

    return build()


def test_lambda_in_legacy_h5_needs_safe_mode_off(tmp_path):
    model, double = _lambda_model()
    path = tmp_path / "lam.h5"
    model.save(path)
    for kwargs in ({}, {"custom_objects": {"double": double}}):
        _refused("h5", path, match="safe_mode", **kwargs)
    _refused("h5", path, match="custom_objects", safe_mode=False)
    back = fk.models.load_model(path, safe_mode=False, custom_objects={"double": double})
    x = np.ones((2, 3), "float32")
    np.testing.assert_allclose(back.predict(x, verbose=0), model.predict(x, verbose=0))


def test_lambda_hidden_in_a_nested_model_config(tmp_path):
    """A Lambda entry nested inside a layer's config (not a layer of the model) is still
    refused in safe mode."""
    model, double = _lambda_model()
    path = tmp_path / "lam.keras"
    model.save(path)
    with zipfile.ZipFile(path) as z:
        members = [(n, z.read(n)) for n in z.namelist()]
    config = json.loads(dict(members)["config.json"])
    lam = next(l for l in config["config"]["layers"] if l["class_name"] == "Lambda")
    lam["class_name"] = "Dense"
    lam["config"] = {"name": "lam", "units": 3, "kernel_initializer": {
        "class_name": "__lambda__", "config": {"code": "print('owned')"}}}
    _zip(path, [(n, json.dumps(config) if n == "config.json" else d) for n, d in members])
    _refused("keras", path, match="safe_mode")


@pytest.mark.parametrize("order", ["benign first", "lambda first"])
def test_duplicate_zip_members_are_refused(order, base, tmp_path):
    """Two config.json members: readers disagree on which one counts, so neither does."""
    model, double = _lambda_model()
    lam_path = tmp_path / "lam.keras"
    model.save(lam_path)
    with zipfile.ZipFile(lam_path) as z:
        lambda_config = z.read("config.json")
    configs = [base["config"], lambda_config]
    if order == "lambda first":
        configs.reverse()
    path = _zip(tmp_path / "dup.keras", [("config.json", configs[0]),
                                         ("config.json", configs[1]),
                                         ("metadata.json", base["metadata"]),
                                         ("model.weights.h5", base["keras"])])
    for kwargs in ({}, {"safe_mode": False, "custom_objects": {"double": double}}):
        _refused("keras", path, match="twice", **kwargs)


def test_duplicate_weights_members_are_refused(base, tmp_path):
    path = _zip(tmp_path / "dup.keras", _keras_members(base) + [
        ("model.weights.h5", base["keras"])])
    _refused("keras", path, match="twice")


ZIP_LAYOUTS = {
    "a member leaving the archive": [("../evil.json", b"{}")],
    "an absolute member name": [("/etc/evil.json", b"{}")],
    "a drive-letter member name": [("C:evil.json", b"{}")],
    "5,000 members": [(f"assets/{i}", b"") for i in range(5000)],
}


@pytest.mark.parametrize("layout", sorted(ZIP_LAYOUTS))
def test_zip_layouts_are_refused(layout, base, tmp_path):
    path = _zip(tmp_path / "m.keras", _keras_members(base) + ZIP_LAYOUTS[layout],
                compression=zipfile.ZIP_STORED)
    _refused("keras", path)


@pytest.mark.parametrize("missing", ["config.json", "model.weights.h5"])
def test_zip_without_a_member(missing, base, tmp_path):
    path = _zip(tmp_path / "m.keras", [m for m in _keras_members(base) if m[0] != missing])
    _refused("keras", path)


@pytest.mark.parametrize("flag,method", [(1, 0), (0, 99), (0, 12), (0, 14)],
                         ids=["encrypted", "method 99", "bzip2 garbage", "lzma garbage"])
def test_encrypted_and_unknown_compression_members(flag, method, base, tmp_path):
    data = base["keras"]
    path = _raw_zip(tmp_path / "m.keras", [
        _stored("config.json", base["config"]), _stored("metadata.json", base["metadata"]),
        ("model.weights.h5", data, method, zlib.crc32(data), len(data), flag)])
    _refused("keras", path)


DTYPES = ["object", "str", "U8", "V8", "complex64", "datetime64[s]", "O", "S4",
          "not-a-dtype", "f4,f4"]


@pytest.mark.parametrize("fmt", ["keras", "h5"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_non_numeric_layer_dtypes_are_refused(fmt, dtype, base, tmp_path):
    config = _victim_config(fmt, base)
    config["config"]["layers"][1]["config"]["dtype"]["config"]["name"] = dtype
    _refused(fmt, _with_config(fmt, base, tmp_path, config), match="dtype")


@pytest.mark.parametrize("fmt", ["keras", "h5"])
@pytest.mark.parametrize("dtype", ["object", "complex64", "str"])
def test_non_numeric_input_dtypes_are_refused(fmt, dtype, base, tmp_path):
    config = _victim_config(fmt, base)
    config["config"]["layers"][0]["config"]["dtype"] = dtype
    _refused(fmt, _with_config(fmt, base, tmp_path, config), match="dtype")


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_valid_file_still_loads(fmt, base, tmp_path):
    """The corpus' starting point is accepted (so the refusals above are the edits')."""
    model = _model() if fmt == "weights" else None
    loaded = _load(fmt, _craft(fmt, base, tmp_path), model=model)
    np.testing.assert_array_equal(_kernel(model if model is not None else loaded),
                                  np.arange(12, dtype="float32").reshape(4, 3))
