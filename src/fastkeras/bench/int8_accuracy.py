"""Accuracy of int8 inference against float32 (``compile_for_inference(quantize="int8")``)
on scikit-learn's digits: the quick-start CNN (8x8x1) and the benchmark's MLP 784-128-64-10
(each 8x8 digit upsampled 3x to 24x24 and zero-padded to 28x28, so the MLP sees MNIST's
shape). Each model is trained in float32 on 80% of the images, then the held-out 20% are
classified by the float32 runner, the int8 runner with static input scales (calibrated on
256 training images) and the int8 runner with per-row scales.

    python -m fastkeras.bench.int8_accuracy [--epochs 30]
"""
import argparse
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Int8Accuracy:
    model: str
    float32: float            # test accuracy of the float32 runner
    int8_static: float        # ... of the int8 runner, calibrated scales
    int8_dynamic: float       # ... of the int8 runner, per-row scales
    agreement_static: float   # share of test images where int8 and float32 agree
    max_prob_diff: float      # max |p_int8 - p_float32| over the test set (static)


def digits_split(flat784=False, seed=0):
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)
    if flat784:
        x = np.pad(np.kron(x, np.ones((3, 3), np.float32)), ((0, 0), (2, 2), (2, 2)))
        x = x.reshape(len(x), 784)
    else:
        x = x[..., None]
    y = d.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    x, y = x[order], y[order]
    split = int(0.8 * len(y))
    return (x[:split], y[:split]), (x[split:], y[split:])


def build(kind):
    import fastkeras as keras
    from fastkeras import layers as L

    if kind == "mlp":
        return keras.Sequential([keras.Input((784,)), L.Dense(128, activation="relu"),
                                 L.Dense(64, activation="relu"),
                                 L.Dense(10, activation="softmax")])
    return keras.Sequential([
        keras.Input((8, 8, 1)), L.Conv2D(32, 3, padding="same", activation="relu"),
        L.Conv2D(32, 3, padding="same", activation="relu"), L.MaxPooling2D(2),
        L.Conv2D(64, 3, padding="same", activation="relu"), L.GlobalAveragePooling2D(),
        L.Dropout(0.2), L.Dense(10, activation="softmax")])


def measure(kind, epochs=30, seed=0):
    """Train `kind` ("mlp" or "cnn") in float32 and compare its runners on the test split."""
    import fastkeras as keras

    keras.utils.set_random_seed(seed)
    (xt, yt), (xv, yv) = digits_split(flat784=kind == "mlp", seed=seed)
    model = build(kind)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    model.fit(xt, yt, batch_size=32, epochs=epochs, verbose=0)
    pf = model.compile_for_inference()(xv)
    ps = model.compile_for_inference(quantize="int8", calibration=xt[:256])(xv)
    pd = model.compile_for_inference(quantize="int8")(xv)

    def acc(p):
        return float((p.argmax(1) == yv).mean())

    return Int8Accuracy(kind, acc(pf), acc(ps), acc(pd),
                        float((ps.argmax(1) == pf.argmax(1)).mean()),
                        float(np.abs(ps - pf).max()))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=30)
    args = ap.parse_args(argv)
    from fastkeras._kernels import chain

    print(f"int8 kernel: {chain.qdense_kernel()}; {args.epochs} epochs; 360 test digits")
    print("| model | float32 | int8, calibrated | int8, per-row | agreement | max |dp| |")
    print("|---|---:|---:|---:|---:|---:|")
    for kind in ("mlp", "cnn"):
        r = measure(kind, args.epochs)
        print(f"| {r.model} | {r.float32:.2%} | {r.int8_static:.2%} | {r.int8_dynamic:.2%} | "
              f"{r.agreement_static:.2%} | {r.max_prob_diff:.4f} |")


if __name__ == "__main__":
    main()
