"""Loads mutated model files one by one and reports each outcome on stdout, so that the
test driving it (test_corruption_fuzz.py) can kill it when one load hangs.

    python _corrupt_worker.py FORMAT ORIGINAL SECRET_VALUE MUTANT...

FORMAT is weights (load_weights into a fresh model of the same architecture), keras or
h5 (load_model). For each mutant one line: ``start i`` before, then ``done i OUTCOME
SECONDS`` with OUTCOME ``loaded`` / ``refused`` / ``escaped:<type>:<message>`` /
``secret`` (a loaded weight holds the secret file's value: bytes read from elsewhere)."""
import sys
import time

import numpy as np

import fastkeras as fk
from fastkeras.saving import FileFormatError


def fresh_model():
    """The architecture test_corruption_fuzz saves (kept in one place: here)."""
    model = fk.Sequential([fk.Input((6,), name="x"), fk.layers.Dense(5, name="hidden"),
                           fk.layers.BatchNormalization(name="norm"),
                           fk.layers.Dense(3, activation="softmax", name="out")], name="clf")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def main():
    fmt, _original, secret = sys.argv[1], sys.argv[2], float(sys.argv[3])
    target = fresh_model() if fmt == "weights" else None
    if target is not None:
        target.build((None, 6))
    print("ready", flush=True)
    for i, path in enumerate(sys.argv[4:]):
        print(f"start {i}", flush=True)
        t0 = time.perf_counter()
        try:
            if fmt == "weights":
                target.load_weights(path)
                model = target
            else:
                model = fk.models.load_model(path)
            values = [np.asarray(w.numpy(), np.float64) for w in model.weights]
            hit = any(np.any(np.isclose(v, secret, rtol=0, atol=1e-3)) for v in values)
            outcome = "secret" if hit else "loaded"
        except FileFormatError:
            outcome = "refused"
        except Exception as e:  # noqa: BLE001 - exactly what the test looks for
            outcome = f"escaped:{type(e).__name__}:{str(e)[:200]}".replace("\n", " ")
        print(f"done {i} {outcome} {time.perf_counter() - t0:.3f}", flush=True)


if __name__ == "__main__":
    main()
