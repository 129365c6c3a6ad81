"""The fused optimizer step (fastkeras._kernels.optim.step) against float64 NumPy
references of Keras 3's update_step formulas, one and several steps, for every kind the
kernel implements, with gradient scaling, clipvalue, decoupled weight decay and the EMA;
thread-count independence, empty tensors and bad input."""
import numpy as np
import pytest

from fastkeras._kernels import optim as ko
from fastkeras.kernel_errors import KernelValueError, Status

LR, B1, B2, EPS, RHO, MOM = 0.01, 0.9, 0.999, 1e-7, 0.9, 0.8


def _ref_step(kind, args, t, w, g, s):
    """One Keras 3 update of w (float64) with slots s (3 arrays), step number t (1-based).
    Returns the new w; updates s in place."""
    lr = LR
    g = g * args.get("_gscale", 1.0)
    if args.get("clipvalue", 0) > 0:
        g = np.clip(g, -args["clipvalue"], args["clipvalue"])
    if args.get("weight_decay", 0):
        w = w - w * args["weight_decay"] * lr
    if kind == "sgd":
        w = w - lr * g
    elif kind == "momentum":
        s[0][:] = MOM * s[0] - lr * g
        w = w + s[0]
    elif kind == "nesterov":
        s[0][:] = MOM * s[0] - lr * g
        w = w + MOM * s[0] - lr * g
    elif kind == "adam":
        s[0][:] = s[0] + (g - s[0]) * (1 - B1)
        s[1][:] = s[1] + (g * g - s[1]) * (1 - B2)
        v = s[1]
        if args.get("amsgrad"):
            s[2][:] = np.maximum(s[2], s[1])
            v = s[2]
        alpha = lr * np.sqrt(1 - B2 ** t) / (1 - B1 ** t)
        w = w - s[0] * alpha / (np.sqrt(v) + EPS)
    elif kind == "adagrad":
        s[0][:] = s[0] + g * g
        w = w - lr * g / np.sqrt(s[0] + EPS)
    elif kind == "adadelta":
        s[0][:] = RHO * s[0] + (1 - RHO) * g * g
        delta = -np.sqrt(s[1] + EPS) * g / np.sqrt(s[0] + EPS)
        s[1][:] = RHO * s[1] + (1 - RHO) * delta * delta
        w = w + lr * delta
    elif kind == "rmsprop":
        s[0][:] = RHO * s[0] + (1 - RHO) * g * g
        denom = s[0]
        if args.get("centered"):
            s[2][:] = RHO * s[2] + (1 - RHO) * g
            denom = s[0] - s[2] ** 2
        inc = lr * g / np.sqrt(denom + EPS)
        if args.get("momentum", 0) > 0:
            s[1][:] = MOM * s[1] + inc
            w = w - s[1]
        else:
            w = w - inc
    elif kind == "adamax":
        s[0][:] = s[0] + (g - s[0]) * (1 - B1)
        s[1][:] = np.maximum(B2 * s[1], np.abs(g))
        w = w - lr * s[0] / ((1 - B1 ** t) * (s[1] + EPS))
    elif kind == "nadam":
        u_t = B1 * (1 - 0.5 * 0.96 ** (0.004 * t))
        u_t1 = B1 * (1 - 0.5 * 0.96 ** (0.004 * (t + 1)))
        prod = np.prod([B1 * (1 - 0.5 * 0.96 ** (0.004 * i)) for i in range(1, t + 1)])
        s[0][:] = s[0] + (g - s[0]) * (1 - B1)
        s[1][:] = s[1] + (g * g - s[1]) * (1 - B2)
        vhat = s[1] / (1 - B2 ** t)
        w = w - lr * (u_t1 * s[0] / (1 - prod * u_t1) + (1 - u_t) * g / (1 - prod)) / (
            np.sqrt(vhat) + EPS)
    elif kind == "lion":
        c = B1 * s[0] + (1 - B1) * g
        w = w - lr * np.sign(c)
        s[0][:] = B2 * s[0] + (1 - B2) * g
    return w


def _kernel_args(kind, base, t):
    """The per-step scalars the Python optimizers pass (bias corrections folded in)."""
    a = dict(base, kind=kind, lr=LR, beta1=B1, beta2=B2, epsilon=EPS, rho=RHO)
    if kind in ("momentum", "nesterov") or (kind == "rmsprop" and base.get("momentum")):
        a["momentum"] = MOM
    if kind == "adam":
        a["alpha"] = LR * np.sqrt(1 - B2 ** t) / (1 - B1 ** t)
    if kind == "adamax":
        a["alpha"] = 1 - B1 ** t
    if kind == "nadam":
        u = [B1 * (1 - 0.5 * 0.96 ** (0.004 * i)) for i in range(1, t + 2)]
        prod = np.prod(u[:t])
        a["c1"] = u[t] / (1 - prod * u[t])
        a["c2"] = (1 - u[t - 1]) / (1 - prod)
        a["vcorr"] = 1 - B2 ** t
    a.pop("_gscale", None)
    return a


CASES = [("sgd", {}), ("momentum", {}), ("nesterov", {}), ("adam", {}),
         ("adam", {"amsgrad": True}), ("adagrad", {}), ("adadelta", {}), ("rmsprop", {}),
         ("rmsprop", {"momentum": MOM}), ("rmsprop", {"centered": True}),
         ("rmsprop", {"centered": True, "momentum": MOM}), ("adamax", {}), ("nadam", {}),
         ("lion", {}),
         # options: decoupled weight decay (AdamW), clipvalue, gradient scale
         ("adam", {"weight_decay": 0.004}), ("sgd", {"weight_decay": 0.1, "clipvalue": 0.5}),
         ("momentum", {"clipvalue": 0.3, "_gscale": 0.5}),
         ("lion", {"weight_decay": 0.01, "_gscale": 2.0})]


def _run(kind, base, dtype, steps, rng, sizes=(7, 33, 1), n_threads=1, ema=None):
    ws = [rng.normal(size=n) for n in sizes]
    slots64 = [[np.abs(rng.normal(size=n)) * (k == 1 and kind == "adadelta") for n in sizes]
               for k in range(3)]  # zero slots, as Keras creates them (adadelta: any >= 0)
    slots = [[s.astype(dtype) for s in sl] for sl in slots64]
    params = [w.astype(dtype) for w in ws]
    ref = [p.astype(np.float64) for p in params]
    ema_k = None if ema is None else [p.copy() for p in params]
    ema_r = None if ema is None else [p.astype(np.float64) for p in params]
    slots64 = [[s.astype(np.float64) for s in sl] for sl in slots]
    gscale = base.get("_gscale")
    for t in range(1, steps + 1):
        grads = [rng.normal(size=n).astype(dtype) for n in sizes]
        ko.step(_kernel_args(kind, base, t), params, grads, slots, ema_k,
                None if gscale is None else [gscale] * len(sizes), n_threads=n_threads)
        for i in range(len(sizes)):
            ref[i] = _ref_step(kind, base, t, ref[i], grads[i].astype(np.float64),
                               [slots64[k][i] for k in range(3)])
            if ema is not None:
                ema_r[i] = ema * ema_r[i] + (1 - ema) * ref[i]
    return params, ref, slots, slots64, ema_k, ema_r


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("steps", [1, 4])
@pytest.mark.parametrize("kind,base", CASES, ids=lambda c: c if isinstance(c, str) else
                         "-".join(f"{k}" for k in c) or "plain")
def test_step_matches_keras_formulas(rng, dtype, steps, kind, base):
    params, ref, slots, slots64, _, _ = _run(kind, base, dtype, steps, rng)
    tol = dict(rtol=2e-5, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-13)
    for p, r in zip(params, ref):
        assert p.dtype == dtype
        np.testing.assert_allclose(p, r, **tol)
    for k in range(3):
        for s, r in zip(slots[k], slots64[k]):
            np.testing.assert_allclose(s, r, **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ema(rng, dtype):
    ema = 0.75
    base = {"ema_momentum": ema}
    params, ref, _, _, ek, er = _run("adam", base, dtype, 3, rng, ema=ema)
    tol = 2e-5 if dtype == np.float32 else 1e-11
    for a, b in zip(ek, er):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind,base", [("adam", {"amsgrad": True}), ("rmsprop", {"centered": True,
                                                                               "momentum": MOM})])
def test_independent_of_threads(dtype, kind, base):
    out = []
    for nt in (1, 2):
        params, slots = _run_no_ref(kind, base, dtype, nt)
        out.append((params, slots))
    for a, b in zip(out[0][0], out[1][0]):
        assert np.array_equal(a, b)
    for k in range(3):
        for a, b in zip(out[0][1][k], out[1][1][k]):
            assert np.array_equal(a, b)


def _run_no_ref(kind, base, dtype, nt):
    rng = np.random.default_rng(3)
    sizes = (700_001, 500_000)  # above the kernel's parallel grain, several blocks each
    params = [rng.normal(size=n).astype(dtype) for n in sizes]
    slots = [[np.zeros(n, dtype) for n in sizes] for _ in range(3)]
    for t in (1, 2):
        grads = [rng.normal(size=n).astype(dtype) for n in sizes]
        ko.step(_kernel_args(kind, base, t), params, grads, slots, None, None, n_threads=nt)
    return params, slots


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_decayed_slots_flush_to_zero_and_the_caller_keeps_denormals(dtype, n_threads):
    """A zero gradient decays Adam's m into denormals; the step flushes them (as TensorFlow's
    CPU kernels do: denormal arithmetic costs ~100 cycles per operation) and leaves the
    calling thread's floating-point mode as it was."""
    tiny = np.finfo(dtype).tiny
    n = 2_000_000  # above the parallel grain: every thread of the region flushes
    p = [np.ones(n, dtype)]
    g = [np.zeros(n, dtype)]
    m = np.full(n, tiny * 4, dtype)  # normal now; times beta1 stays normal
    m[::2] = tiny / 4  # already denormal
    v = np.ones(n, dtype)
    args = {"kind": "adam", "lr": 1e-3, "beta1": 0.5, "beta2": 0.999, "epsilon": 1e-7,
            "alpha": 1e-3}
    ko.step(args, p, g, [[m], [v], None], None, None, n_threads=n_threads)
    assert np.all(m[::2] == 0)  # 0.5 * denormal, flushed (denormals-are-zero on the input)
    np.testing.assert_array_equal(m[1::2], dtype(tiny * 2))  # a normal result stays
    # the caller's arithmetic still produces denormals after the call
    assert dtype(tiny) / dtype(4) != 0


def test_empty_tensors_and_no_tensors():
    ko.step({"kind": "sgd", "lr": 0.1}, [], [], [None, None, None])
    p = [np.zeros(0, np.float32), np.ones(3, np.float32)]
    g = [np.zeros(0, np.float32), np.ones(3, np.float32)]
    s = [[np.zeros(0, np.float32), np.zeros(3, np.float32)], [np.zeros(0, np.float32),
         np.zeros(3, np.float32)], None]
    ko.step({"kind": "adam", "lr": 0.1, "beta1": 0.9, "beta2": 0.99, "epsilon": 1e-7,
             "alpha": 0.1}, p, g, s)
    assert np.all(p[1] < 1)


def test_bad_input():
    f32 = np.float32
    p, g = [np.ones(4, f32)], [np.ones(4, f32)]
    none = [None, None, None]
    sgd = {"kind": "sgd", "lr": 0.1}
    with pytest.raises(ValueError, match="unknown optimizer kind 'adamw'"):
        ko.step({"kind": "adamw"}, p, g, none)
    with pytest.raises(ValueError, match="got 2 gradients for 1 parameters"):
        ko.step(sgd, p, g * 2, none)
    with pytest.raises(ValueError, match="slots must be a list of 3"):
        ko.step(sgd, p, g, [None, None])
    with pytest.raises(TypeError, match="gradient 0 has dtype float64, expected float32"):
        ko.step(sgd, p, [np.ones(4)], none)
    with pytest.raises(TypeError, match="parameters must be float32 or float64"):
        ko.step(sgd, [np.ones(4, np.int32)], [np.ones(4, np.int32)], none)
    with pytest.raises(TypeError, match="parameter 0 must be a numpy array, got list"):
        ko.step(sgd, [[1.0, 1.0, 1.0, 1.0]], g, none)
    with pytest.raises(TypeError, match="parameter 1 has dtype float64, expected float32"):
        ko.step(sgd, p + [np.ones(4)], g + [np.ones(4)], none)
    with pytest.raises(TypeError, match="gradient 0 must be a numpy array"):
        ko.step(sgd, p, [[1.0, 1.0, 1.0, 1.0]], none)
    with pytest.raises(ValueError, match="gradient 0 has 3 elements, expected 4"):
        ko.step(sgd, p, [np.ones(3, f32)], none)
    with pytest.raises(ValueError, match="parameter 0 must be C-contiguous"):
        ko.step(sgd, [np.ones(8, f32)[::2]], g, none)
    ro = np.ones(4, f32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="parameter 0 must be writable"):
        ko.step(sgd, [ro], g, none)
    with pytest.raises(ValueError, match="slot 0 of parameter 0 has 5 elements"):
        ko.step({"kind": "momentum", "lr": 0.1}, p, g, [[np.zeros(5, f32)], None, None])
    with pytest.raises(TypeError, match="EMA 0 has dtype float64"):
        ko.step(sgd, p, g, none, [np.zeros(4)])
    with pytest.raises(ValueError, match="gscale has 2 entries, expected 1"):
        ko.step(sgd, p, g, none, None, [1.0, 1.0])
    # a slot the kind needs is missing: the C check refuses before touching memory
    for kind, slots in [("momentum", none), ("adam", [[np.zeros(4, f32)], None, None]),
                        ("adam", [[np.zeros(4, f32)], [np.zeros(4, f32)], None])]:
        args = {"kind": kind, "lr": 0.1, "amsgrad": True}
        with pytest.raises(KernelValueError) as e:
            ko.step(args, p, g, slots)
        assert e.value.status is Status.NULL
    for bad in ({"lr": float("nan")}, {"epsilon": -1.0}, {"clipvalue": -1.0}):
        with pytest.raises(KernelValueError) as e:
            ko.step(dict(sgd, **bad), p, g, none)
        assert e.value.status is Status.BAD_ARG
    assert np.all(p[0] == 1)  # nothing was updated by any refused call


def test_bad_list_lengths_raise():
    """Short slot / EMA lists were indexed past their end (a segfault) before the bridge
    checked their lengths."""
    f32 = np.float32
    p, g = [np.ones(4, f32), np.ones(4, f32)], [np.ones(4, f32), np.ones(4, f32)]
    with pytest.raises(ValueError, match="ema has 1 entries, expected 2"):
        ko.step({"kind": "sgd", "lr": 0.1}, p, g, [None] * 3, [np.zeros(4, f32)])
    with pytest.raises(ValueError, match="slot list 0 has 1 entries, expected 2"):
        ko.step({"kind": "momentum", "lr": 0.1}, p, g, [[np.zeros(4, f32)], None, None])
    with pytest.raises(ValueError, match="slot list 1 has 3 entries, expected 2"):
        ko.step({"kind": "sgd", "lr": 0.1}, p, g, [None, [None] * 3, None])
    with pytest.raises(ValueError, match="slot list 2 has 1 entries, expected 2"):
        ko.step_device({"kind": "sgd", "lr": 0.1}, [4, 4], [0, 0], [0, 0], [None, None, [0]])
    assert np.all(p[0] == 1) and np.all(p[1] == 1)
