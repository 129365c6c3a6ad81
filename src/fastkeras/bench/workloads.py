"""Benchmark workloads: each one sets up its data once and offers several
implementations of the same computation (NumPy, TensorFlow, fastkeras).

Later kernel families add their rows by appending a Workload to WORKLOADS.
"""
import numpy as np


class Workload:
    """One row of the table.

    make(): returns a dict {implementation name: zero-argument callable}.
    bytes_moved: the minimum memory traffic (reads + writes) of the computation,
    which with the measured bandwidth gives the bandwidth-bound time.
    """

    def __init__(self, name, make, bytes_moved, reference="fastkeras"):
        self.name = name
        self.make = make
        self.bytes_moved = bytes_moved
        self.reference = reference


def _xent_data(n, c, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((n, c), dtype=np.float32) * 3).astype(np.float32)
    y = rng.integers(0, c, size=n).astype(np.int64)
    return x, y


def make_xent(n=4096, c=1000):
    """Softmax cross-entropy, forward + backward, integer labels, mean reduction."""
    x, y = _xent_data(n, c)
    impls = {}
    rows = np.arange(n)
    buf = np.empty_like(x)

    def numpy_inplace():
        m = x.max(axis=1, keepdims=True)
        np.subtract(x, m, out=buf)
        np.exp(buf, out=buf)
        s = buf.sum(axis=1, keepdims=True)
        loss = float(np.mean(np.log(s[:, 0]) - (x[rows, y] - m[:, 0])))
        np.divide(buf, s, out=buf)
        buf[rows, y] -= 1.0
        np.multiply(buf, np.float32(1.0 / n), out=buf)
        return loss, buf

    impls["numpy"] = numpy_inplace

    try:
        import os

        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tensorflow as tf

        tx = tf.constant(x)
        ty = tf.constant(y)

        @tf.function
        def tf_step(logits, labels):
            with tf.GradientTape() as tape:
                tape.watch(logits)
                loss = tf.reduce_mean(
                    tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
            return loss, tape.gradient(loss, logits)

        tf_step(tx, ty)  # trace once, outside the timing

        def tensorflow():
            loss, grad = tf_step(tx, ty)
            return loss.numpy(), grad.numpy()

        impls["tensorflow"] = tensorflow
    except ImportError:
        pass

    import fastkeras as fk
    from fastkeras._kernels import softmax_xent as kx

    v = fk.Variable(x)
    loss_obj = fk.losses.SparseCategoricalCrossentropy(from_logits=True)

    def fastkeras_tape():
        with fk.GradientTape() as tape:
            loss = loss_obj(y, v)
        return loss, tape.gradient(loss, v)

    gscale = np.full(n, 1.0 / n, dtype=np.float32)

    def fastkeras_kernel():
        return kx.sparse(x, y, gscale, want_grad=True, n_threads=fk.config.get_num_threads())

    impls["fastkeras"] = fastkeras_tape
    impls["fastkeras (raw kernel)"] = fastkeras_kernel
    return impls


WORKLOADS = [
    Workload(
        "softmax xent fwd+bwd [4096,1000] f32, int labels",
        make_xent,
        bytes_moved=2 * 4096 * 1000 * 4 + 4096 * 8,
    ),
]
