"""Benchmark workloads: each one sets up its data once and offers several
implementations of the same computation (NumPy, TensorFlow, PyTorch, ONNX Runtime,
fastkeras). The peers are imported through ``peers`` (thread counts pinned) and PyTorch's
implementations live in ``torch_peers`` (each checked against fastkeras on the same
weights before it is timed).

Later kernel families add their rows by appending a Workload to WORKLOADS.
"""
import numpy as np

from fastkeras.bench import peers, torch_peers
from fastkeras.bench import bandwidth as bw


class Workload:
    """One row of the table.

    make(): returns a dict {implementation name: zero-argument callable}.
    bytes_moved: the minimum memory traffic (reads + writes) of the computation,
    which with the measured bandwidth of its mix of streams (`traffic`) gives the bandwidth-bound time.
    """

    def __init__(self, name, make, bytes_moved=None, flops=None, reference="fastkeras",
                 cold=None, traffic=bw.COPY, repeats=None, blocked=False,
                 device_bandwidth=None, threads=None):
        self.name = name
        self.make = make
        self.bytes_moved = bytes_moved  # minimum memory traffic, for the bandwidth bound
        self.flops = flops  # arithmetic, for the compute bound
        self.reference = reference
        self.cold = cold  # None: the runner's mode; False: always warm (latency rows)
        # the mix of streams (bandwidth.Traffic) whose measured bandwidth bounds the row:
        # what it only reads, updates in place and only writes
        self.traffic = traffic
        self.repeats = repeats  # fewer timed runs for multi-second rows
        # microsecond latencies: each implementation's runs back to back after a pause, so
        # the thread pools another library leaves spinning (TensorFlow's, ONNX Runtime's)
        # do not land in the next one's timings
        self.blocked = blocked
        # GPU rows: the device's peak memory bandwidth (bytes/s) replaces the host's
        self.device_bandwidth = device_bandwidth
        # None: the run's thread count (--threads); a number: the row's own, for every
        # library in it (said in its header)
        self.threads = threads


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

    tf = peers.tensorflow()
    if tf is not None:
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
    want_loss, want_grad = fastkeras_tape()
    torch_step = torch_peers.xent(x, y, float(np.asarray(want_loss)), np.asarray(want_grad))
    if torch_step is not None:
        impls["pytorch"] = torch_step
    return impls


def _tf():
    return peers.tensorflow()


def _numpy_conv2d_same(x, w):
    """NHWC 'same' 3x3 convolution with NumPy: padded sliding windows + one matmul."""
    kh, kw = w.shape[:2]
    xp = np.pad(x, ((0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(1, 2))
    # win: [N, H, W, C, kh, kw] -> [N*H*W, kh*kw*C] in the kernel's (kh, kw, C) order
    cols = win.transpose(0, 1, 2, 4, 5, 3).reshape(-1, kh * kw * x.shape[3])
    return (cols @ w.reshape(-1, w.shape[3])).reshape(x.shape[:3] + (w.shape[3],)), cols


def make_conv(n=32, h=64, w=64, cin=32, cout=64, k=3):
    """Conv2D 3x3 'same' forward + backward (input and kernel gradients)."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, h, w, cin), dtype=np.float32)
    kern = (rng.standard_normal((k, k, cin, cout), dtype=np.float32) * 0.1).astype(np.float32)
    dy = rng.standard_normal((n, h, w, cout), dtype=np.float32)
    impls = {}

    def numpy_conv():
        y, cols = _numpy_conv2d_same(x, kern)
        dyf = dy.reshape(-1, cout)
        dw = (cols.T @ dyf).reshape(kern.shape)
        dcols = (dyf @ kern.reshape(-1, cout).T).reshape(n, h, w, k, k, cin)
        dxp = np.zeros((n, h + k - 1, w + k - 1, cin), np.float32)
        for i in range(k):
            for j in range(k):
                dxp[:, i:i + h, j:j + w, :] += dcols[:, :, :, i, j, :]
        return y, dw, dxp[:, k // 2:k // 2 + h, k // 2:k // 2 + w]

    impls["numpy"] = numpy_conv
    tf = _tf()
    if tf is not None:
        tx, tk, tdy = tf.constant(x), tf.Variable(kern), tf.constant(dy)

        @tf.function
        def tf_step(xx, dd):
            with tf.GradientTape() as tape:
                tape.watch(xx)
                y = tf.nn.conv2d(xx, tk, 1, "SAME")
            return tape.gradient(y, [xx, tk], output_gradients=dd)

        tf_step(tx, tdy)

        def tensorflow():
            gx, gk = tf_step(tx, tdy)
            return gx.numpy(), gk.numpy()

        impls["tensorflow"] = tensorflow

    import fastkeras as fk
    from fastkeras import ops

    vx, vk = fk.Variable(x), fk.Variable(kern)

    def fastkeras_conv():
        with fk.GradientTape() as tape:
            y = ops.conv(vx, vk, 1, "same")
        return tape.gradient(y, [vx, vk], output_gradients=[dy])

    import fastkeras.ops.convolution as conv_ops
    from fastkeras._kernels import conv as kc

    _, _, _, geom, _, _, _, _ = conv_ops._conv_problem(x, kern, 1, "same", None, 1)
    y_buf, dx_buf, dk_buf = np.empty(dy.shape, np.float32), np.empty_like(x), np.empty_like(kern)

    def fastkeras_kernels():
        nt = fk.config.get_num_threads()
        kc.forward(geom, x.reshape(-1), kern.reshape(-1), None, y_buf.reshape(-1), nt)
        kc.backward_data(geom, dy.reshape(-1), kern.reshape(-1), dx_buf.reshape(-1), nt)
        kc.backward_filter(geom, x.reshape(-1), dy.reshape(-1), dk_buf.reshape(-1), None, nt)
        return y_buf, dx_buf, dk_buf

    impls["fastkeras"] = fastkeras_conv
    impls["fastkeras (raw kernels, reused buffers)"] = fastkeras_kernels
    fastkeras_kernels()
    torch_step = torch_peers.conv(x, kern, dy, dx_buf, dk_buf)
    if torch_step is not None:
        impls["pytorch"] = torch_step
    return impls


def make_maxpool(n=32, h=64, w=64, c=64):
    """MaxPooling2D 2x2 forward + backward."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((n, h, w, c), dtype=np.float32)
    dy = rng.standard_normal((n, h // 2, w // 2, c), dtype=np.float32)
    impls = {}

    def numpy_pool():
        xr = x.reshape(n, h // 2, 2, w // 2, 2, c)
        y = xr.max(axis=(2, 4))
        mask = xr == y[:, :, None, :, None, :]
        dx = (mask * dy[:, :, None, :, None, :]).reshape(x.shape)
        return y, dx

    impls["numpy"] = numpy_pool
    tf = _tf()
    if tf is not None:
        tx, tdy = tf.constant(x), tf.constant(dy)

        @tf.function
        def tf_step(xx, dd):
            with tf.GradientTape() as tape:
                tape.watch(xx)
                y = tf.nn.max_pool2d(xx, 2, 2, "VALID")
            return y, tape.gradient(y, xx, output_gradients=dd)

        tf_step(tx, tdy)

        def tensorflow():
            y, gx = tf_step(tx, tdy)
            return y.numpy(), gx.numpy()

        impls["tensorflow"] = tensorflow

    import fastkeras as fk
    from fastkeras import ops

    vx = fk.Variable(x)

    def fastkeras_pool():
        with fk.GradientTape() as tape:
            y = ops.max_pool(vx, 2, 2, "valid")
        return y, tape.gradient(y, vx, output_gradients=dy)

    import fastkeras.ops.convolution as conv_ops
    from fastkeras._kernels import pool as kp

    _, _, geom, _, _, _, _ = conv_ops._pool_problem(x, 2, 2, "valid", None)
    y_buf = np.empty(dy.shape, np.float32)
    arg_buf = np.empty(dy.size, np.uint8)
    dx_buf = np.empty_like(x)

    def fastkeras_kernels():
        nt = fk.config.get_num_threads()
        kp.max_forward(geom, x.reshape(-1), y_buf.reshape(-1), arg_buf, nt)
        kp.max_backward(geom, dy.reshape(-1), arg_buf, dx_buf.reshape(-1), nt)
        return y_buf, dx_buf

    impls["fastkeras"] = fastkeras_pool
    impls["fastkeras (raw kernels, reused buffers)"] = fastkeras_kernels
    fastkeras_kernels()
    torch_step = torch_peers.maxpool(x, dy, y_buf, dx_buf)
    if torch_step is not None:
        impls["pytorch"] = torch_step
    return impls


def make_small_conv():
    """Conv2D 3x3, 32 filters, on one 28x28x1 image: forward latency (inference)."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 28, 28, 1), dtype=np.float32)
    kern = rng.standard_normal((3, 3, 1, 32), dtype=np.float32)
    bias = rng.standard_normal(32, dtype=np.float32)
    impls = {}

    def numpy_small():
        win = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))
        cols = win.transpose(0, 1, 2, 4, 5, 3).reshape(-1, 9)
        return cols @ kern.reshape(9, 32) + bias

    impls["numpy"] = numpy_small
    tf = _tf()
    if tf is not None:
        layer = tf.keras.layers.Conv2D(32, 3)
        layer(x)
        layer.set_weights([kern, bias])

        def tensorflow_eager():
            return layer(x).numpy()

        impls["tensorflow (eager layer)"] = tensorflow_eager

    from fastkeras import ops

    def fastkeras_small():
        return ops.conv(x, kern, bias=bias).numpy()

    impls["fastkeras"] = fastkeras_small
    return impls


def make_optimizer(kind, layout):
    """One optimizer step over 10M float32 parameters (one tensor, or 200 x 50k)."""
    rng = np.random.default_rng(4)
    shapes = [(10_000_000,)] if layout == "1x10M" else [(50_000,)] * 200
    params = [rng.standard_normal(s, dtype=np.float32) for s in shapes]
    grads = [rng.standard_normal(s, dtype=np.float32) for s in shapes]
    impls = {}
    lr, b1, b2, eps, mom, wd = 1e-3, 0.9, 0.999, 1e-7, 0.9, 0.004

    if kind == "sgd-momentum":
        ms = [np.zeros_like(p) for p in params]
        tmp = [np.empty_like(p) for p in params]

        def numpy_step():
            for p, g, m, t in zip(params, grads, ms, tmp):
                np.multiply(m, mom, out=m)
                np.multiply(g, lr, out=t)
                np.subtract(m, t, out=m)
                np.add(p, m, out=p)
    else:
        ms = [np.zeros_like(p) for p in params]
        vs = [np.zeros_like(p) for p in params]
        tmp = [np.empty_like(p) for p in params]
        state = {"t": 0}

        def numpy_step():
            state["t"] += 1
            t_ = state["t"]
            alpha = lr * np.sqrt(1 - b2**t_) / (1 - b1**t_)
            for p, g, m, v, t in zip(params, grads, ms, vs, tmp):
                if kind == "adamw":
                    np.multiply(p, 1 - wd * lr, out=p)
                np.subtract(g, m, out=t)
                np.multiply(t, 1 - b1, out=t)
                np.add(m, t, out=m)
                np.multiply(g, g, out=t)
                np.subtract(t, v, out=t)
                np.multiply(t, 1 - b2, out=t)
                np.add(v, t, out=v)
                np.sqrt(v, out=t)
                np.add(t, eps, out=t)
                np.divide(m, t, out=t)
                np.multiply(t, alpha, out=t)
                np.subtract(p, t, out=p)

    impls["numpy"] = numpy_step
    tf = _tf()
    ctor = {"adam": "Adam", "adamw": "AdamW", "sgd-momentum": "SGD"}[kind]
    kwargs = {"momentum": mom} if kind == "sgd-momentum" else {}
    if tf is not None:
        tvars = [tf.Variable(p) for p in params]
        tgrads = [tf.constant(g) for g in grads]
        topt = getattr(tf.keras.optimizers, ctor)(**kwargs)

        @tf.function
        def tf_step():
            topt.apply_gradients(zip(tgrads, tvars))

        tf_step()

        def tensorflow():
            tf_step()
            return tvars[0].numpy()[:1]  # force completion, copies one element

        impls["tensorflow"] = tensorflow

    import fastkeras as fk

    fvars = [fk.Variable(p) for p in params]
    fopt = getattr(fk.optimizers, ctor)(**kwargs)
    fopt.build(fvars)
    pairs = list(zip(grads, fvars))

    def fastkeras_step():
        fopt.apply_gradients(pairs)

    impls["fastkeras"] = fastkeras_step
    keras_lr = float(np.asarray(fopt.learning_rate))  # SGD's default is 0.01, Adam's 1e-3
    torch_step = torch_peers.optimizer(kind, params, grads, (keras_lr, b1, b2, eps, mom, wd),
                                       fastkeras_step, lambda: np.asarray(fvars[0]))
    if torch_step is not None:
        how, step = torch_step
        impls[f"pytorch ({how})"] = step
    return impls


def _optimizer_workloads():
    rows = []
    adam = bw.Traffic("gradient read, 3 updated", reads=1, updates=3)  # p, m, v in place
    sgd = bw.Traffic("gradient read, 2 updated", reads=1, updates=2)  # p, m in place
    for kind, traffic in (("adam", adam), ("adamw", adam), ("sgd-momentum", sgd)):
        for layout in ("1x10M", "200x50k"):
            rows.append(Workload(
                f"{kind} step, 10M f32 params ({layout})",
                lambda kind=kind, layout=layout: make_optimizer(kind, layout),
                bytes_moved=traffic.bytes_per_element(4) * 10_000_000,
                cold=False,  # 200+ MB per step: caches cannot hold it anyway
                traffic=traffic,
            ))
    return rows


WORKLOADS = [
    Workload(
        "softmax xent fwd+bwd [4096,1000] f32, int labels",
        make_xent,
        bytes_moved=2 * 4096 * 1000 * 4 + 4096 * 8,
    ),
    Workload(
        "Conv2D 3x3 same fwd+bwd [32,64,64,32]->64 f32",
        make_conv,
        flops=3 * 2 * 32 * 64 * 64 * 3 * 3 * 32 * 64,
    ),
    Workload(
        "MaxPooling2D 2x2 fwd+bwd [32,64,64,64] f32",
        make_maxpool,
        bytes_moved=4 * (2 * 32 * 64 * 64 * 64 + 2 * 32 * 32 * 32 * 64),
    ),
    Workload(
        "Conv2D 3x3 fwd [1,28,28,1]->32 f32, latency (warm)",
        make_small_conv,
        cold=False,  # a latency row: no throughput bound applies
    ),
]

def make_rank(n, which, with_slow_baselines):
    """AUC or KS over n float32 scores with int8 labels."""
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, size=n).astype(np.int8)
    s = np.clip(rng.uniform(size=n).astype(np.float32) * 0.8 + 0.2 * y, 0, 1).astype(np.float32)
    impls = {}

    def numpy_bincount():
        # the honest baseline: one histogram of (bucket, label) pairs, then the curve
        h = np.bincount((s * 199).astype(np.int64) * 2 + y, minlength=400).reshape(200, 2)
        pos, neg = np.cumsum(h[::-1, 1]), np.cumsum(h[::-1, 0])
        tpr, fpr = pos / pos[-1], neg / neg[-1]
        if which == "ks":
            return np.max(np.abs(tpr - fpr))
        return np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2)

    impls["numpy bincount"] = numpy_bincount
    if with_slow_baselines:
        if which == "auc":
            try:
                from sklearn.metrics import roc_auc_score as sk_auc

                impls["scikit-learn"] = lambda: sk_auc(y, s)
            except ImportError:
                pass
        else:
            try:
                from scipy.stats import ks_2samp

                impls["scipy ks_2samp"] = lambda: ks_2samp(s[y == 1], s[y == 0]).statistic
            except ImportError:
                pass
    tf = _tf()
    if tf is not None and which == "auc":
        ty, ts = tf.constant(y), tf.constant(s)

        def tensorflow():
            m = tf.keras.metrics.AUC()
            m.update_state(ty, ts)
            return float(m.result())

        impls["tensorflow"] = tensorflow

    import fastkeras as fk

    cls = fk.metrics.AUC if which == "auc" else fk.metrics.KS
    exact = fk.metrics.roc_auc_score if which == "auc" else fk.metrics.ks_statistic

    def fastkeras_binned():
        m = cls()
        m.update_state(y, s)
        return float(m.result())

    impls["fastkeras"] = fastkeras_binned
    impls["fastkeras exact"] = lambda: exact(y, s)
    return impls


def _rank_workloads():
    rows = []
    for n, label, slow, reps in ((10_000_000, "10M", True, 5), (100_000_000, "100M", False, 3)):
        for which in ("auc", "ks"):
            rows.append(Workload(
                f"{which.upper()} on {label} f32 scores, int8 labels (binned 200 thresholds)",
                lambda n=n, which=which, slow=slow: make_rank(n, which, slow),
                bytes_moved=5 * n, cold=False, repeats=reps, traffic=bw.READ2))
    return rows


WORKLOADS += _optimizer_workloads()
WORKLOADS += _rank_workloads()


def make_gpu_rank(n, which):
    """AUC / KS of n float32 scores already in GPU memory: binned where they are."""
    import fastkeras as fk
    from fastkeras import cuda

    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, size=n).astype(np.uint8)
    s = np.clip(rng.uniform(size=n).astype(np.float32) * 0.8 + 0.2 * y, 0, 1).astype(np.float32)
    dy, ds = cuda.to_device(y), cuda.to_device(s)
    cls = fk.metrics.AUC if which == "auc" else fk.metrics.KS

    def run(t, p):
        m = cls()
        m.update_state(t, p)
        return float(m.result())

    impls = {"fastkeras cuda": lambda: run(dy, ds), "fastkeras cpu": lambda: run(y, s)}
    try:
        import cupy as cp

        cy, cs = cp.asarray(y), cp.asarray(s)

        def cupy_bincount():
            h = cp.bincount((cs * 199).astype(cp.int64) * 2 + cy, minlength=400)
            return float(h.sum())  # the histogram alone, synchronised

        impls["cupy bincount"] = cupy_bincount
    except ImportError:
        pass
    return impls


def make_gpu_adam(total, tensors=10):
    """One fused Adam step over `tensors` device-resident float32 tensors."""
    from fastkeras import config, cuda
    from fastkeras._kernels import optim as ko

    rng = np.random.default_rng(6)
    size = total // tensors
    host = [[rng.normal(size=size).astype(np.float32) for _ in range(tensors)]
            for _ in range(4)]  # params, grads, m, v
    host[3] = [np.abs(v) for v in host[3]]
    dev = [[cuda.to_device(a) for a in group] for group in host]
    args = {"kind": "adam", "lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-7,
            "alpha": 1e-3}
    return {
        "fastkeras cuda": lambda: cuda.optimizer_step(args, dev[0], dev[1],
                                                      [dev[2], dev[3], None]),
        "fastkeras cpu": lambda: ko.step(args, host[0], host[1], [host[2], host[3], None],
                                         None, None, config.get_num_threads()),
    }


def make_gpu_xent(n, c):
    """Fused sparse softmax cross-entropy, loss and gradient, on logits in GPU memory."""
    from fastkeras import cuda
    from fastkeras.device import backends as dp

    rng = np.random.default_rng(7)
    ops = dp.CudaOps()
    x = cuda.to_device(rng.normal(size=(n, c)).astype(np.float32))
    labels = cuda.to_device(rng.integers(0, c, size=n))
    grad, loss = cuda.DeviceArray((n, c), np.float32), cuda.DeviceArray((n,), np.float32)
    opts = (True, 0.0, 1e-7, None, 1.0 / n)
    return {"fastkeras cuda": lambda: ops.xent(True, x, labels, None, opts, grad, loss)}


def make_gpu_train_step(kind, batch=256):
    """One train_on_batch of a model whose weights live on the GPU, and the same on the CPU."""
    import fastkeras as fk

    rng = np.random.default_rng(8)
    L = fk.layers
    if kind == "mlp":
        shape, stack = (784,), lambda: [L.Dense(512, activation="relu"),
                                        L.Dense(512, activation="relu"), L.Dense(10)]
    else:
        shape, stack = (28, 28, 1), lambda: [
            L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2),
            L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(),
            L.Dense(10)]
    x = rng.normal(size=(batch,) + shape).astype(np.float32)
    y = rng.integers(0, 10, size=batch)
    impls = {}
    for device in ("cuda", "cpu"):
        m = fk.Sequential([fk.Input(shape)] + stack())
        m.compile(optimizer="adam", loss=fk.losses.SparseCategoricalCrossentropy(
            from_logits=True), device=device)
        m.train_on_batch(x, y)
        impls[f"fastkeras {device}"] = lambda m=m: m.train_on_batch(x, y)
    return impls


def _gpu_workloads():
    """GPU rows, present only where the CUDA build finds a device."""
    try:
        from fastkeras import cuda

        if not cuda.is_available():
            return []
        bw = cuda.peak_bandwidth()
    except Exception:  # noqa: BLE001 - a CPU build: no GPU rows
        return []
    rows = [Workload(f"{which.upper()} on 100M f32 scores in GPU memory (binned 200 thresholds)",
                     lambda which=which: make_gpu_rank(100_000_000, which), bytes_moved=5 * 10 ** 8,
                     cold=False, repeats=10, reference="fastkeras cuda", device_bandwidth=bw)
            for which in ("auc", "ks")]
    rows.append(Workload("Adam step on the GPU, 10 tensors x 10M f32 (device-resident)",
                         lambda: make_gpu_adam(100_000_000), bytes_moved=7 * 4 * 10 ** 8,
                         cold=False, repeats=10, reference="fastkeras cuda",
                         device_bandwidth=bw))
    rows.append(Workload("sparse softmax xent fwd+bwd on the GPU [65536,1000] f32",
                         lambda: make_gpu_xent(65536, 1000), bytes_moved=2 * 65536 * 1000 * 4,
                         cold=False, repeats=20, reference="fastkeras cuda",
                         device_bandwidth=bw))
    rows += [Workload(f"train_on_batch on the GPU vs the CPU: {what}, batch 256",
                      lambda kind=kind: make_gpu_train_step(kind), cold=False, repeats=20,
                      reference="fastkeras cuda")
             for kind, what in (("mlp", "MLP 784-512-512-10"),
                                ("cnn", "CNN conv32-pool-conv64-pool-dense10"))]
    return rows


WORKLOADS += _gpu_workloads()


def make_activation(which, n=4096, c=1024):
    """An activation, forward and backward (upstream gradient given), float32."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(n, c)).astype(np.float32)
    g = rng.normal(size=(n, c)).astype(np.float32)
    impls = {}
    if which == "sigmoid":
        def numpy_():
            y = 1 / (1 + np.exp(-x))
            return y, g * y * (1 - y)

        impls["numpy"] = numpy_
    else:  # exact GELU: numpy has no erf, so the reference is the tanh form's cost
        def numpy_():
            u = np.float32(np.sqrt(2 / np.pi)) * (x + np.float32(0.044715) * x * x * x)
            t = np.tanh(u)
            y = 0.5 * x * (1 + t)
            du = np.float32(np.sqrt(2 / np.pi)) * (1 + np.float32(3 * 0.044715) * x * x)
            return y, g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du)

        impls["numpy (tanh form)"] = numpy_
    tf = _tf()
    if tf is not None:
        tx, tg = tf.constant(x), tf.constant(g)
        act = getattr(tf.keras.activations, which)

        @tf.function
        def step(v, up):
            with tf.GradientTape() as tape:
                tape.watch(v)
                y = act(v)
            return y, tape.gradient(y, v, output_gradients=up)

        step(tx, tg)
        impls["tensorflow"] = lambda: step(tx, tg)
    import fastkeras as fk

    fn = getattr(fk.activations, which)
    v = fk.Variable(x)

    def fastkeras():
        with fk.GradientTape() as tape:
            y = fn(v)
        return y, tape.gradient(y, v, output_gradients=g)

    impls["fastkeras"] = fastkeras
    want_y, want_dx = fastkeras()
    torch_step = torch_peers.activation(which, x, g, np.asarray(want_y), np.asarray(want_dx))
    if torch_step is not None:
        impls["pytorch"] = torch_step
    return impls


WORKLOADS += [
    Workload(f"{which} activation fwd+bwd [4096,1024] f32", lambda which=which:
             make_activation(which),
             bytes_moved=5 * 4096 * 1024 * 4,  # read x, write y; read x and g, write dx
             traffic=bw.SCALE2)
    for which in ("sigmoid", "gelu")
]


def make_lstm(batch=32, steps=200, features=16, units=64):
    """LSTM(units), return_sequences, forward + backward (inputs and weights) through a
    GradientTape, float32: the fused C recurrence against the step-by-step path."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((batch, steps, features), dtype=np.float32)
    dy = rng.standard_normal((batch, steps, units), dtype=np.float32)
    impls = {}
    import fastkeras as fk
    from fastkeras.ops import recurrent_ops

    layer = fk.layers.LSTM(units, return_sequences=True)
    layer(x)
    vx = fk.Variable(x)

    def fastkeras():
        with fk.GradientTape() as tape:
            y = layer(vx)
        return tape.gradient(y, [vx] + layer.trainable_weights, output_gradients=[dy])

    def fastkeras_steps():
        with recurrent_ops.step_path():
            return fastkeras()

    impls["fastkeras"] = fastkeras
    impls["fastkeras (step path)"] = fastkeras_steps
    with fk.GradientTape() as tape:
        y_ref = layer(vx)
    dx_ref = tape.gradient(y_ref, vx, output_gradients=dy)
    torch_step = torch_peers.lstm(layer, x, dy, np.asarray(y_ref), np.asarray(dx_ref))
    if torch_step is not None:
        impls["pytorch nn.LSTM"] = torch_step
    tf = _tf()
    if tf is not None:
        ref = tf.keras.layers.LSTM(units, return_sequences=True)
        ref(x)
        ref.set_weights(layer.get_weights())
        tx, tdy = tf.constant(x), tf.constant(dy)

        @tf.function
        def tf_step(xx, dd):
            with tf.GradientTape() as tape:
                tape.watch(xx)
                y = ref(xx)
            return tape.gradient(y, [xx] + ref.trainable_weights, output_gradients=dd)

        tf_step(tx, tdy)
        impls["tensorflow"] = lambda: [g.numpy() for g in tf_step(tx, tdy)]
    return impls


WORKLOADS += [
    Workload("LSTM(64) fwd+bwd, 200 steps, batch 32, 16 features f32", make_lstm,
             # recurrent and input products: forward once, backward twice
             flops=3 * 2 * 32 * 200 * (16 + 64) * 4 * 64, repeats=7),
]


# ---------------------------------------------------------------------------- models
# The products an epoch cannot avoid (2 FLOP per multiply-add): every layer's forward and
# kernel gradient, and the input gradient of every layer but the first.
_MLP_MACS = 784 * 128 * 2 + (128 * 64 + 64 * 10) * 3
_MLP_EPOCH_FLOPS = 2 * _MLP_MACS * 60000
# digits CNN per image: conv 1->32 and 32->32 on 8x8, conv 32->64 on 4x4, dense 64->10
_DIGITS_FWD = 64 * 9 * 1 * 32 + 64 * 9 * 32 * 32 + 16 * 9 * 32 * 64 + 64 * 10
_DIGITS_EPOCH_FLOPS = 2 * (2 * _DIGITS_FWD + (_DIGITS_FWD - 64 * 9 * 32)) * 1437


def _mlp_model(lib):
    L = lib.layers
    return lib.Sequential([lib.Input(shape=(784,)), L.Dense(128, activation="relu"),
                           L.Dense(64, activation="relu"), L.Dense(10, activation="softmax")])


def make_mlp_epoch(n=60000):
    """One epoch of fit() on n x 784 random data, batch 128, Adam, sparse cross-entropy."""
    rng = np.random.default_rng(7)
    x = rng.random((n, 784), dtype=np.float32)
    y = rng.integers(0, 10, n)
    return _fit_impls(_mlp_model, "mlp", x, y, 128)


def _fit_impls(model_fn, kind, x, y, batch_size):
    """One epoch of fit (Adam, sparse cross-entropy, accuracy) in TensorFlow and fastkeras,
    and PyTorch's hand-written loop from fastkeras' initial weights; TensorFlow traces on
    two batches first, outside the timing."""
    impls = {}
    tf = _tf()
    import fastkeras as fk

    for name, lib in (("tensorflow", tf.keras if tf is not None else None), ("fastkeras", fk)):
        if lib is None:
            continue
        model = model_fn(lib)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        if lib is not fk:
            model.fit(x[:2 * batch_size], y[:2 * batch_size], batch_size=batch_size, epochs=1,
                      verbose=0)
        else:
            torch_epoch = torch_peers.fit_epoch(kind, model, x, y, batch_size)
            if torch_epoch is not None:
                impls["pytorch loop (fused Adam)"] = torch_epoch
        impls[name] = lambda m=model: m.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    return impls


def _digits_model(lib):
    L = lib.layers
    return lib.Sequential([
        lib.Input(shape=(8, 8, 1)), L.Conv2D(32, 3, padding="same", activation="relu"),
        L.Conv2D(32, 3, padding="same", activation="relu"), L.MaxPooling2D(2),
        L.Conv2D(64, 3, padding="same", activation="relu"), L.GlobalAveragePooling2D(),
        L.Dropout(0.2), L.Dense(10, activation="softmax")])


def make_digits_epoch():
    """One epoch of the quick-start CNN on scikit-learn's digits (1437 images, batch 32)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[..., None][:1437]
    y = d.target[:1437]
    return _fit_impls(_digits_model, "digits_cnn", x, y, 32)


def _ort_session(nodes, inits, in_name, in_shape, out_name, out_width):
    """An ONNX Runtime session for a graph built with onnx.helper, or None without it."""
    try:
        import onnxruntime as ort
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        return None
    graph = helper.make_graph(
        [helper.make_node(op, ins, outs, **attrs) for op, ins, outs, attrs in nodes],
        "bench", [helper.make_tensor_value_info(in_name, TensorProto.FLOAT, ["N", *in_shape])],
        [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, ["N", out_width])],
        [numpy_helper.from_array(np.ascontiguousarray(v), k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    return ort.InferenceSession(model.SerializeToString(), sess_options=peers.ort_session_options(),
                                providers=["CPUExecutionProvider"])


def _ort_mlp(ws):
    """The MLP as ONNX: MatMul + Add + Relu twice, then MatMul + Add + Softmax."""
    nodes, prev = [], "x"
    for i in range(3):
        act = ("Relu", {}) if i < 2 else ("Softmax", {"axis": -1})
        nodes += [("MatMul", [prev, f"W{i}"], [f"m{i}"], {}), ("Add", [f"m{i}", f"b{i}"],
                                                                [f"a{i}"], {}),
                  (act[0], [f"a{i}"], [f"h{i}"], act[1])]
        prev = f"h{i}"
    inits = {f"{k}{i}": ws[2 * i + j] for i in range(3) for j, k in enumerate("Wb")}
    return _ort_session(nodes, inits, "x", (784,), prev, 10)


def _ort_digits_cnn(ws):
    """The digits CNN as ONNX (NHWC input transposed to NCHW inside the graph)."""
    w = {"W1": ws[0].transpose(3, 2, 0, 1), "b1": ws[1], "W2": ws[2].transpose(3, 2, 0, 1),
         "b2": ws[3], "W3": ws[4].transpose(3, 2, 0, 1), "b3": ws[5], "Wd": ws[6], "bd": ws[7]}
    same = {"pads": [1, 1, 1, 1]}
    nodes = [("Transpose", ["x"], ["xt"], {"perm": [0, 3, 1, 2]}),
             ("Conv", ["xt", "W1", "b1"], ["c1"], same), ("Relu", ["c1"], ["r1"], {}),
             ("Conv", ["r1", "W2", "b2"], ["c2"], same), ("Relu", ["c2"], ["r2"], {}),
             ("MaxPool", ["r2"], ["p"], {"kernel_shape": [2, 2], "strides": [2, 2]}),
             ("Conv", ["p", "W3", "b3"], ["c3"], same), ("Relu", ["c3"], ["r3"], {}),
             ("GlobalAveragePool", ["r3"], ["g"], {}), ("Flatten", ["g"], ["f"], {}),
             ("Gemm", ["f", "Wd", "bd"], ["z"], {}), ("Softmax", ["z"], ["y"], {"axis": -1})]
    return _ort_session(nodes, w, "x", (8, 8, 1), "y", 10)


def _latency_impls(model_fn, kind, ort_fn, x, numpy_fn=None):
    """fastkeras (runner, model(x), predict), TensorFlow (predict, model(x), tf.function)
    and ONNX Runtime on one batch x of the same model and weights."""
    import fastkeras as fk

    ours = model_fn(fk)
    ws = ours.get_weights()
    runner = ours.compile_for_inference()
    impls = {}
    if numpy_fn is not None:
        impls["numpy matmuls"] = lambda: numpy_fn(x, ws)
    tf = _tf()
    if tf is not None:
        ref = model_fn(tf.keras)
        ref.set_weights(ws)
        fn = tf.function(lambda t: ref(t, training=False))
        tx = tf.constant(x)
        fn(tx)
        ref.predict(x, verbose=0)
        impls["tensorflow predict"] = lambda: ref.predict(x, verbose=0)
        impls["tensorflow model(x)"] = lambda: ref(tx, training=False)
        impls["tensorflow tf.function"] = lambda: fn(tx)
    sess = ort_fn(ws)
    if sess is not None:
        np.testing.assert_allclose(sess.run(None, {"x": x})[0], runner(x), rtol=1e-4, atol=1e-5)
        impls["onnxruntime"] = lambda: sess.run(None, {"x": x})
    torch_run = torch_peers.inference(kind, ours, x, runner(x))
    if torch_run is not None:
        impls["pytorch inference_mode"] = torch_run
    impls["fastkeras predict"] = lambda: ours.predict(x, verbose=0)
    impls["fastkeras model(x)"] = lambda: ours(x)
    impls["fastkeras runner"] = lambda: runner(x)
    # int8 (csrc/qdense.c): the Dense steps, scales calibrated on another batch like x
    cal = np.random.default_rng(99).random((256,) + x.shape[1:], dtype=np.float32)
    runner8 = ours.compile_for_inference(quantize="int8", calibration=cal)
    np.testing.assert_allclose(runner8(x), runner(x), atol=0.05)
    impls["fastkeras runner int8"] = lambda: runner8(x)
    return impls


def _numpy_mlp(x, ws):
    h = np.maximum(x @ ws[0] + ws[1], 0)
    h = np.maximum(h @ ws[2] + ws[3], 0)
    z = h @ ws[4] + ws[5]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def make_mlp_latency(batch):
    """Inference latency of the MLP on one batch (warm)."""
    x = np.random.default_rng(8).random((batch, 784), dtype=np.float32)
    return _latency_impls(_mlp_model, "mlp", _ort_mlp, x, _numpy_mlp)


def make_cnn_latency(batch):
    """Inference latency of the digits CNN on one batch of 8x8 images (warm)."""
    x = np.random.default_rng(9).random((batch, 8, 8, 1), dtype=np.float32)
    return _latency_impls(_digits_model, "digits_cnn", _ort_digits_cnn, x)


def make_runner_threads(batch=32, calls=64):
    """Throughput of one shared runner: `calls` batches from one thread, and the same
    number split over two threads (the kernels release the GIL)."""
    import threading

    import fastkeras as fk

    runner = _digits_model(fk).compile_for_inference()
    x = np.random.default_rng(10).random((batch, 8, 8, 1), dtype=np.float32)

    def serial():
        for _ in range(calls):
            runner(x)

    def two_threads():
        ts = [threading.Thread(target=lambda: [runner(x) for _ in range(calls // 2)])
              for _ in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()

    return {"fastkeras runner, 1 thread": serial, "fastkeras runner, 2 threads": two_threads}


def make_server(clients=32, per_client=16):
    """The HTTP server under `clients` concurrent keep-alive clients (a separate process),
    each posting `per_client` one-row requests to /predict, with dynamic batching off and on
    (fastkeras.bench.server; ``python -m fastkeras.bench.server`` gives requests/s and
    latency percentiles at several client counts)."""
    import atexit

    from fastkeras.bench.server import Harness

    h = Harness("mlp", threads=clients)
    atexit.register(h.close)
    return {f"batching {mode}": lambda mode=mode: h.load(mode, clients, count=per_client)
            for mode in ("off", "on")}


def make_import(module):
    import subprocess
    import sys

    return lambda: subprocess.run([sys.executable, "-c", f"import {module}"], check=True)


def make_imports():
    """A fresh interpreter importing each library (the interpreter's start included)."""
    impls = {"python alone": make_import("sys"), "numpy": make_import("numpy"),
             "fastkeras": make_import("fastkeras")}
    if _tf() is not None:
        impls["tensorflow"] = make_import("tensorflow")
    return impls


WORKLOADS += [
    Workload("MLP 784-128-64-10 fit, one epoch of 60000 (batch 128)", make_mlp_epoch,
             cold=False, repeats=3, flops=_MLP_EPOCH_FLOPS),
    Workload("digits CNN fit, one epoch of 1437 8x8 images (batch 32)", make_digits_epoch,
             cold=False, repeats=5, flops=_DIGITS_EPOCH_FLOPS),
] + [
    Workload(f"{what} inference latency, batch {b} (warm)", lambda make=make, b=b: make(b),
             cold=False, reference="fastkeras runner", blocked=True)
    for what, make in (("MLP 784-128-64-10", make_mlp_latency), ("digits CNN", make_cnn_latency))
    for b in (1, 32)
] + [
    # one kernel thread per call: the Python threads are the parallelism
    Workload("digits CNN runner throughput, 64 batches of 32 (warm)", make_runner_threads,
             cold=False, reference="fastkeras runner, 1 thread", repeats=10, threads=1),
    Workload("import time: python -c 'import X' (fresh process)", make_imports, cold=False,
             repeats=7),
    Workload("HTTP server, MLP 784-128-64-10: 32 clients x 16 one-row POST /predict "
             "(waitress, 32 threads)", make_server, cold=False, reference="batching off",
             repeats=7),
]
