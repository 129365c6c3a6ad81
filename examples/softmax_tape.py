"""Train a softmax classifier by hand: GradientTape, the fused C loss kernel, Adam.

Three Gaussian clouds in 2-D, a linear model (W, b) trained with Adam on
SparseCategoricalCrossentropy(from_logits=True). The loss and its gradient come
from one pass of the C/OpenMP kernel; GradientTape routes the gradient to the
Variables through the matmul; the optimizer updates both in one fused C call.

Run:  python examples/softmax_tape.py
"""
import numpy as np

import fastkeras as keras
from fastkeras import ops


def make_blobs(n_per_class=300, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 2.0], [-2.0, -1.0], [2.0, -1.0]])
    x = np.concatenate([c + rng.normal(scale=0.8, size=(n_per_class, 2)) for c in centers])
    y = np.repeat(np.arange(3), n_per_class)
    order = rng.permutation(len(y))
    return x[order].astype("float32"), y[order]


def main():
    print(keras.build_info(), "\n")
    x, y = make_blobs()
    w = keras.Variable(np.zeros((2, 3)), dtype="float32", name="W")
    b = keras.Variable(np.zeros(3), dtype="float32", name="b")
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer = keras.optimizers.Adam(learning_rate=0.1)

    for step in range(201):
        with keras.GradientTape() as tape:
            logits = ops.matmul(x, w) + b
            loss = loss_fn(y, logits)
        grads = tape.gradient(loss, [w, b])
        optimizer.apply_gradients(zip(grads, [w, b]))
        if step % 50 == 0:
            accuracy = np.mean(np.argmax(logits.numpy(), axis=1) == y)
            print(f"step {step:3d}  loss {float(loss):.4f}  accuracy {accuracy:.1%}")

    per_sample = keras.losses.sparse_categorical_crossentropy(y, ops.matmul(x, w) + b,
                                                              from_logits=True)
    print(f"\nfinal mean loss {float(np.mean(per_sample.numpy())):.4f} on {len(y)} points")


if __name__ == "__main__":
    main()
