"""Issue 21 item 4 measurement: one MLP epoch (784-128-64-10, Adam, batch 128, random
float32) at 1 and 2 fastkeras threads, on a quiet machine and with one foreign busy core
(a ``python -c "while True: pass"`` process). Rounds are interleaved; medians printed.

Run:  python bench/threads_mlp.py [--rows 60000] [--rounds 3] [--python OTHER_PY ...]
Each measurement runs in its own process (so its thread pools start fresh); with
--python the same configurations also run under other interpreters (another build, e.g.
main's), interleaved with this one's round by round.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

CHILD = r"""
import sys, time, json
import numpy as np
import fastkeras as keras
from fastkeras import layers
threads, rows = int(sys.argv[1]), int(sys.argv[2])
keras.config.set_num_threads(threads)
rng = np.random.default_rng(0)
x = rng.standard_normal((rows, 784)).astype("float32")
y = rng.integers(0, 10, rows)
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input(shape=(784,)), layers.Dense(128, activation="relu"),
                          layers.Dense(64, activation="relu"), layers.Dense(10, activation="softmax")])
model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
model.fit(x[:2560], y[:2560], batch_size=128, epochs=1, verbose=0)  # warm-up
t = time.perf_counter()
model.fit(x, y, batch_size=128, epochs=1, verbose=0)
print(json.dumps({"seconds": time.perf_counter() - t}))
"""


def run_one(py, threads, rows, busy):
    hog = None
    if busy:
        hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.3)
    try:
        env = dict(os.environ)
        env.pop("OPENBLAS_NUM_THREADS", None)
        env.pop("OMP_NUM_THREADS", None)
        out = subprocess.run([py, "-c", CHILD, str(threads), str(rows)],
                             capture_output=True, text=True, env=env, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])["seconds"]
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=60000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--python", action="append", default=[])
    args = p.parse_args()
    pys = [sys.executable] + args.python
    configs = [(py, t, busy) for py in pys for t in (1, 2) for busy in (False, True)]
    times = {c: [] for c in configs}
    for r in range(args.rounds):
        for c in configs:
            times[c].append(run_one(c[0], c[1], args.rows, c[2]))
            print(f"round {r} {c[0]} threads={c[1]} busy={c[2]}: {times[c][-1]:.3f} s",
                  flush=True)
    print(f"\nrows={args.rows} medians of {args.rounds}:")
    for c in configs:
        print(f"  {c[0]} threads={c[1]} {'one foreign busy core' if c[2] else 'quiet'}: "
              f"{statistics.median(times[c]):.3f} s  {[round(v, 3) for v in times[c]]}")


if __name__ == "__main__":
    main()
