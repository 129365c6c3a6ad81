"""The fused recurrence kernels through their Cython bridge (fastkeras._kernels.recurrent),
without the layers: every cell and option, gradients by central differences in float64
(projections, recurrent kernel, recurrent bias, initial states, with masks, recurrent
masks, go_backwards, zero_output_for_mask), thread counts, and the refusals (shapes,
cells, activations) before any C runs. The sanitizer stage (.ci/sanitize) runs this file."""
import numpy as np
import pytest

from fastkeras._kernels import recurrent as kr

B, T, U = 3, 5, 2
CASES = [
    (kr.Cell.SIMPLE, True, kr.Activation.TANH, kr.Activation.SIGMOID),
    (kr.Cell.SIMPLE, True, kr.Activation.RELU, kr.Activation.SIGMOID),
    (kr.Cell.LSTM, True, kr.Activation.TANH, kr.Activation.SIGMOID),
    (kr.Cell.LSTM, True, kr.Activation.LINEAR, kr.Activation.HARD_SIGMOID),
    (kr.Cell.GRU, True, kr.Activation.TANH, kr.Activation.SIGMOID),
    (kr.Cell.GRU, False, kr.Activation.TANH, kr.Activation.SIGMOID),
]


def _inputs(cell, rng):
    g = cell.gates
    mask = np.ones((B, T), np.uint8)
    mask[0, 3:] = 0
    mask[1, :] = 0
    mask[2, 1] = 0
    return dict(xp=rng.normal(size=(B, T, g * U)), kernel=rng.normal(size=(U, g * U)) * 0.7,
                rbias=rng.normal(size=g * U), h0=rng.normal(size=(B, U)),
                c0=rng.normal(size=(B, U)), mask=mask,
                rec_mask=rng.uniform(0.5, 1.5, size=(B, U)))


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("zero_output", [False, True])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_gradients_by_central_differences(case, zero_output, go_backwards, rng):
    cell, reset_after, act, ract = CASES[case]
    lstm = cell == kr.Cell.LSTM
    a = _inputs(cell, rng)
    opts = dict(cell=cell, reset_after=reset_after, activation=act, recurrent_activation=ract,
                go_backwards=go_backwards, return_sequences=True,
                zero_output_for_mask=zero_output)
    wy = rng.normal(size=(B, T, U))
    wh, wc = rng.normal(size=(B, U)), rng.normal(size=(B, U))

    def loss(v):
        y, h, c, _ = kr.forward(v["xp"], v["kernel"], v["rbias"], v["h0"],
                                v["c0"] if lstm else None, v["mask"], v["rec_mask"], **opts)
        return float(np.sum(y * wy) + np.sum(h * wh) + (np.sum(c * wc) if lstm else 0.0))

    y, h, c, ws = kr.forward(a["xp"], a["kernel"], a["rbias"], a["h0"],
                             a["c0"] if lstm else None, a["mask"], a["rec_mask"], **opts)
    dxp, dk, drb, dh0, dc0 = kr.backward(a["kernel"], a["rbias"], a["mask"], a["rec_mask"], ws,
                                         wy.reshape(-1), wh, wc if lstm else None, batch=B,
                                         steps=T, **opts)
    got = dict(xp=dxp, kernel=dk, rbias=drb, h0=dh0, c0=dc0)
    for name in ("xp", "kernel", "rbias", "h0") + (("c0",) if lstm else ()):
        num = np.zeros_like(a[name])
        flat = a[name].reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + 1e-6
            fp = loss(a)
            flat[i] = old - 1e-6
            fm = loss(a)
            flat[i] = old
            num.reshape(-1)[i] = (fp - fm) / 2e-6
        np.testing.assert_allclose(got[name], num, rtol=1e-6, atol=1e-7, err_msg=name)
    # masked steps (indexed by original time, go_backwards too): no gradient into them
    assert not dxp[~a["mask"].astype(bool)].any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_last_output_and_threads(dtype, rng):
    """return_sequences=False gives the last step's output; more threads, same forward."""
    b = 64
    xp = rng.normal(size=(b, 40, 12)).astype(dtype)
    k = (rng.normal(size=(3, 12)) * 0.5).astype(dtype)
    h0 = np.zeros((b, 3), dtype)
    seq = kr.forward(xp, k, None, h0, h0, None, None, cell=kr.Cell.LSTM,
                     return_sequences=True)
    last = kr.forward(xp, k, None, h0, h0, None, None, cell=kr.Cell.LSTM)
    np.testing.assert_array_equal(seq[0][:, -1], last[0])
    np.testing.assert_array_equal(last[0], last[1])
    for nt in (2, 4):
        other = kr.forward(xp, k, None, h0, h0, None, None, cell=kr.Cell.LSTM, n_threads=nt)
        np.testing.assert_allclose(other[0], last[0], rtol=1e-6 if dtype == np.float32 else 1e-13)


def test_refusals_name_the_argument():
    xp, k, h = np.zeros((2, 4, 8)), np.zeros((2, 8)), np.zeros((2, 2))
    ok = dict(cell=kr.Cell.LSTM)
    kr.forward(xp, k, None, h, h, None, None, **ok)
    bad = [
        (lambda: kr.forward(xp, np.zeros((2, 6)), None, h, h, None, None, **ok), "kernel"),
        (lambda: kr.forward(xp, k, None, np.zeros((3, 2)), h, None, None, **ok), "h0"),
        (lambda: kr.forward(xp, k, None, h, None, None, None, **ok), "c0"),
        (lambda: kr.forward(xp, k, None, h, np.zeros((2, 3)), None, None, **ok), "c0"),
        (lambda: kr.forward(xp, k, np.zeros(7), h, h, None, None, **ok), "rbias"),
        (lambda: kr.forward(xp, k, None, h, h, np.ones((2, 3), np.uint8), None, **ok), "mask"),
        (lambda: kr.forward(xp, k, None, h, h, None, np.ones((1, 2)), **ok), "rec_mask"),
        (lambda: kr.forward(xp, k, None, h, h, None, None, cell=5), "cell"),
        (lambda: kr.forward(xp, k, None, h, h, None, None, activation=7, **ok), "activation"),
        (lambda: kr.forward(xp, k, None, h, h, None, None, recurrent_activation=99, **ok),
         "recurrent_activation"),
        (lambda: kr.forward(np.zeros((0, 4, 8)), k, None, np.zeros((0, 2)), None, None, None,
                            **ok), "xp"),
    ]
    for fn, name in bad:
        with pytest.raises(ValueError, match=name):
            fn()
    with pytest.raises(TypeError):
        kr.forward(None, k, None, h, h, None, None, **ok)
    _, _, _, ws = kr.forward(xp, k, None, h, h, None, None, **ok)
    back = dict(batch=2, steps=4, **ok)
    kr.backward(k, None, None, None, ws, None, h, h, **back)
    bad = [
        (lambda: kr.backward(k, None, None, None, ws[:-1], None, h, h, **back), "ws"),
        (lambda: kr.backward(k, None, None, None, ws, np.zeros(5), h, h, **back), "dy"),
        (lambda: kr.backward(k, None, None, None, ws, None, np.zeros((2, 3)), h, **back), "dhT"),
        (lambda: kr.backward(k, None, None, None, ws, None, h, np.zeros((1, 2)), **back), "dcT"),
        (lambda: kr.backward(k, None, np.ones((2, 5), np.uint8), None, ws, None, h, h, **back),
         "mask"),
        (lambda: kr.backward(k, None, None, None, ws, None, h, h, batch=0, steps=4, **ok),
         "batch"),
        (lambda: kr.backward(k, None, None, None, ws, None, h, h, batch=3, steps=4, **ok), "ws"),
    ]
    for fn, name in bad:
        with pytest.raises(ValueError, match=name):
            fn()
