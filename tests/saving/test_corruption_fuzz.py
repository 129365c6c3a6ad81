"""Byte-corruption fuzz of saved files: a few hundred mutants of a `.weights.h5`, a `.keras`
and a legacy `.h5` file (zeroed runs, random runs, bit flips, truncations; for `.keras`
also mutations of the members inside a valid archive, whose CRCs would otherwise catch
them). Each mutant must load (whatever values the mutation left) or raise FileFormatError;
no other exception, no load running past FASTKERAS_FUZZ_FILE_HANG_S (20 s: a hang,
not a timing), and no weight holding the value a
neighbouring "secret" file is filled with (bytes read from outside the file).

    FASTKERAS_FUZZ_FILES=5000 pytest tests/saving/test_corruption_fuzz.py

runs that many mutants per format (default 150)."""
import io
import os
import selectors
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest

pytest.importorskip("h5py")

MUTANTS = int(os.environ.get("FASTKERAS_FUZZ_FILES", "150"))
HANG_S = float(os.environ.get("FASTKERAS_FUZZ_FILE_HANG_S", "20"))
SECRET = 4242.4242
WORKER = os.path.join(os.path.dirname(__file__), "_corrupt_worker.py")


def _saved(tmp_path, fmt):
    sys.path.insert(0, os.path.dirname(__file__))
    try:
        from _corrupt_worker import fresh_model
    finally:
        sys.path.pop(0)
    rng = np.random.default_rng(0)
    model = fresh_model()
    x = rng.normal(size=(32, 6)).astype("float32")
    y = rng.integers(0, 3, size=32)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)  # optimizer state in the file
    path = tmp_path / {"weights": "m.weights.h5", "keras": "m.keras", "h5": "m.h5"}[fmt]
    (model.save_weights if fmt == "weights" else model.save)(path)
    return path


def _mutate(data, rng):
    d = bytearray(data)
    kind = rng.integers(5)
    at = int(rng.integers(len(d)))
    if kind == 0:  # a zeroed run (what broke HDF5's heap parser)
        n = int(rng.integers(1, 65))
        d[at:at + n] = bytes(len(d[at:at + n]))
    elif kind == 1:
        n = int(rng.integers(1, 33))
        d[at:at + n] = rng.integers(0, 256, size=len(d[at:at + n]), dtype=np.uint8).tobytes()
    elif kind == 2:
        for _ in range(int(rng.integers(1, 9))):
            p = int(rng.integers(len(d)))
            d[p] ^= 1 << int(rng.integers(8))
    elif kind == 3:
        d = d[:at]
    else:  # 0xff runs: huge sizes and addresses
        n = int(rng.integers(1, 17))
        d[at:at + n] = b"\xff" * len(d[at:at + n])
    return bytes(d)


def _mutate_archive(data, rng):
    """A valid zip whose config.json or model.weights.h5 is mutated."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        members = {n: z.read(n) for n in z.namelist()}
    name = "config.json" if rng.random() < 0.3 else "model.weights.h5"
    members[name] = _mutate(members[name], rng)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for n, v in members.items():
            z.writestr(n, v)
    return out.getvalue()


def _run_worker(fmt, original, mutants):
    """Outcomes per mutant; a mutant that runs past HANG_S fails the test."""
    proc = subprocess.Popen([sys.executable, WORKER, fmt, str(original), repr(SECRET)]
                            + [str(m) for m in mutants], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1)
    outcomes, running, started = {}, None, time.monotonic()
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    try:
        while True:
            limit = HANG_S if running is not None else 120
            if not sel.select(timeout=max(0.0, started + limit - time.monotonic())):
                pytest.fail(f"{fmt}: loading mutant {running} ({mutants[running]}) ran past "
                            f"{limit} s" if running is not None else f"{fmt}: worker silent")
            line = proc.stdout.readline()
            if not line:
                break
            words = line.split()
            if words[:1] == ["start"]:
                running, started = int(words[1]), time.monotonic()
            elif words[:1] == ["done"]:
                outcomes[int(words[1])] = (words[2], float(words[-1]))
                running = None
                started = time.monotonic()
    finally:
        proc.kill()
        proc.wait()
    assert len(outcomes) == len(mutants), f"{fmt}: the worker stopped after {len(outcomes)}"
    return outcomes


@pytest.mark.parametrize("fmt", ["weights", "keras", "h5"])
def test_corrupted_files_load_or_raise_file_format_error(tmp_path, fmt):
    original = _saved(tmp_path, fmt)
    np.full(4096, SECRET, "float32").tofile(tmp_path / "secret.bin")
    np.full(4096, SECRET, "float64").tofile(tmp_path / "secret64.bin")
    data = original.read_bytes()
    rng = np.random.default_rng(["weights", "keras", "h5"].index(fmt) + 1)
    mutants = []
    for i in range(MUTANTS):
        inner = fmt == "keras" and i % 2 == 0
        body = _mutate_archive(data, rng) if inner else _mutate(data, rng)
        path = tmp_path / f"mutant{i}{original.name[1:]}"
        path.write_bytes(body)
        mutants.append(path)
    outcomes = _run_worker(fmt, original, mutants)
    escaped = {i: o for i, (o, _) in outcomes.items() if o not in ("loaded", "refused")}
    assert not escaped, f"{fmt}: {len(escaped)} mutants escaped: " + "; ".join(
        f"{mutants[i].name}: {o}" for i, o in list(escaped.items())[:5])
    kinds = [o for o, _ in outcomes.values()]
    print(f"{fmt}: {len(kinds)} mutants, {kinds.count('loaded')} loaded, "
          f"{kinds.count('refused')} refused, slowest {max(s for _, s in outcomes.values()):.3f} s")
    assert kinds.count("refused") > MUTANTS // 10  # the mutations do reach the parser
