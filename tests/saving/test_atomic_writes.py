"""Saves are atomic and leave nothing behind: a process killed (SIGKILL) at random points
of its saves leaves the last complete file and no temporary file, in the target's folder or
in TMPDIR, once a later save or load ran there; the target keeps its permission bits and a
new file follows the umask."""
import os
import random
import stat
import subprocess
import sys
import time

import numpy as np
import pytest

import fastkeras as fk
from fastkeras.saving.atomic import TEMPORARY_MARK, atomic_file, remove_stale_temporaries

pytest.importorskip("h5py")

_SAVE_LOOP = r'''
import sys
import numpy as np
import fastkeras as fk
folder = sys.argv[1]
model = fk.Sequential([fk.Input(shape=(128,)), fk.layers.Dense(256), fk.layers.Dense(10)])
model.compile(optimizer="adam", loss="mse")
model.train_on_batch(np.zeros((4, 128), "float32"), np.zeros((4, 10), "float32"))
i = 0
print("ready", flush=True)
while True:
    i += 1
    model.set_weights([np.full(w.shape, float(i), "float32") for w in model.get_weights()])
    model.save(folder + "/m.keras")
    model.save_weights(folder + "/m.weights.h5")
    model.save(folder + "/m.h5")
'''


def _model():
    return fk.Sequential([fk.Input(shape=(128,)), fk.layers.Dense(256), fk.layers.Dense(10)])


def test_killed_saves_leave_no_temporary_files(tmp_path):
    folder, tmpdir = tmp_path / "models", tmp_path / "tmp"
    folder.mkdir()
    tmpdir.mkdir()
    script = tmp_path / "loop.py"
    script.write_text(_SAVE_LOOP)
    env = dict(os.environ, TMPDIR=str(tmpdir))
    rnd = random.Random(0)
    for _ in range(12):
        proc = subprocess.Popen([sys.executable, str(script), str(folder)], env=env,
                                stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline().strip() == "ready"
            time.sleep(rnd.uniform(0.05, 0.6))
        finally:
            proc.kill()  # SIGKILL, somewhere in a save
            proc.wait()
    assert list(tmpdir.iterdir()) == []  # nothing in TMPDIR, ever
    left = [p.name for p in folder.iterdir() if TEMPORARY_MARK in p.name]
    assert len(left) <= 12  # only a kill between link and rename leaves one, named
    model = fk.models.load_model(folder / "m.keras")  # a load removes the dead ones
    assert not [p.name for p in folder.iterdir() if TEMPORARY_MARK in p.name]
    assert {p.name for p in folder.iterdir()} <= {"m.keras", "m.weights.h5", "m.h5"}
    values = {float(w.reshape(-1)[0]) for w in model.get_weights()}
    assert len(values) == 1 and values.pop() >= 1  # one complete save
    for name in ("m.weights.h5", "m.h5"):
        if (folder / name).exists():
            other = _model() if name.endswith(".weights.h5") else None
            if other is not None:
                other.load_weights(folder / name)
            else:
                fk.models.load_model(folder / name)


def test_stale_temporaries_of_dead_processes_are_removed(tmp_path):
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead = int(proc.stdout)
    stale = tmp_path / f".m.keras{TEMPORARY_MARK}{dead}-00ff00ff"
    mine = tmp_path / f".m.keras{TEMPORARY_MARK}{os.getpid()}-00ff00ff"
    unrelated = tmp_path / ".m.keras.tmp"
    for p in (stale, mine, unrelated):
        p.write_bytes(b"partial")
    _model().save(tmp_path / "n.keras")
    assert not stale.exists() and mine.exists() and unrelated.exists()
    remove_stale_temporaries(tmp_path)
    assert mine.exists()


@pytest.mark.parametrize("name", ["m.keras", "m.weights.h5", "m.h5"])
def test_saves_keep_the_mode_and_follow_the_umask(tmp_path, name):
    model = _model()
    save = model.save_weights if name.endswith(".weights.h5") else model.save
    old = os.umask(0o022)
    try:
        save(tmp_path / name)
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o644
        os.chmod(tmp_path / name, 0o640)
        save(tmp_path / name)
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o640
        os.umask(0o077)
        save(tmp_path / ("b" + name))
        assert stat.S_IMODE(os.stat(tmp_path / ("b" + name)).st_mode) == 0o600
    finally:
        os.umask(old)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, "b" + name])


def test_a_failed_write_leaves_the_old_file(tmp_path):
    target = tmp_path / "t.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_file(target) as fh:
            fh.write(b"half")
            raise RuntimeError("killed midway")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["t.bin"]
    with atomic_file(target) as fh:
        fh.write(b"new")
    assert target.read_bytes() == b"new"
