"""PyTorch (CPU) implementations of the benchmark's workloads, where torch is installed.

Each one is what a PyTorch user would write (``nn`` modules, autograd, ``torch.optim``
with ``fused=True`` where the CPU supports it, NCHW data for the image models, or
channels-last views of the NHWC arrays for single ops) and is given the same weights
and data as fastkeras. Before a peer is timed its numbers are checked against
fastkeras' on those weights (outputs, losses, gradients or one optimizer step): a
peer that computes something else is an error, never a row. Thread counts are set by
``peers.pin`` (``torch.set_num_threads``) before each row.
"""
import numpy as np

from fastkeras.bench import peers

__all__ = ["xent", "conv", "maxpool", "activation", "optimizer", "lstm", "fit_epoch",
           "inference"]


def _close(name, got, want, rtol=1e-4, atol=1e-5):
    np.testing.assert_allclose(np.asarray(got, np.float64), np.asarray(want, np.float64),
                               rtol=rtol, atol=atol,
                               err_msg=f"PyTorch's {name} differs from fastkeras'")


def _nhwc_as_channels_last(torch, a):
    """An NHWC array as a torch NCHW tensor in channels-last memory (no copy)."""
    return torch.from_numpy(a).permute(0, 3, 1, 2)


def xent(x, y, want_loss, want_grad):
    """Sparse softmax cross-entropy, mean, forward + backward of the logits."""
    torch = peers.torch()
    if torch is None:
        return None
    F = torch.nn.functional
    tx = torch.from_numpy(x)
    ty = torch.from_numpy(y)

    def step():
        v = tx.detach().requires_grad_()
        loss = F.cross_entropy(v, ty)
        loss.backward()
        return loss.detach(), v.grad

    loss, grad = step()
    _close("cross-entropy", loss.item(), want_loss)
    _close("cross-entropy gradient", grad.numpy(), want_grad, atol=1e-7)
    return step


def conv(x, kern, dy, want_dx, want_dk):
    """Conv2D 3x3 'same' forward + backward of the input and the kernel (channels-last)."""
    torch = peers.torch()
    if torch is None:
        return None
    F = torch.nn.functional
    tx = _nhwc_as_channels_last(torch, x)
    tw = torch.from_numpy(np.ascontiguousarray(kern.transpose(3, 2, 0, 1)))
    tdy = _nhwc_as_channels_last(torch, dy)
    pad = kern.shape[0] // 2

    def step():
        vx, vw = tx.detach().requires_grad_(), tw.detach().requires_grad_()
        F.conv2d(vx, vw, padding=pad).backward(tdy)
        return vx.grad, vw.grad

    gx, gw = step()
    _close("Conv2D input gradient", gx.permute(0, 2, 3, 1).numpy(), want_dx, atol=1e-3)
    _close("Conv2D kernel gradient", gw.permute(2, 3, 1, 0).numpy(), want_dk, atol=1e-2)
    return step


def maxpool(x, dy, want_y, want_dx):
    """MaxPooling2D 2x2 forward + backward (channels-last)."""
    torch = peers.torch()
    if torch is None:
        return None
    F = torch.nn.functional
    tx, tdy = _nhwc_as_channels_last(torch, x), _nhwc_as_channels_last(torch, dy)

    def step():
        v = tx.detach().requires_grad_()
        y = F.max_pool2d(v, 2)
        y.backward(tdy)
        return y.detach(), v.grad

    y, gx = step()
    _close("max pooling", y.permute(0, 2, 3, 1).numpy(), want_y)
    _close("max pooling gradient", gx.permute(0, 2, 3, 1).numpy(), want_dx)
    return step


def activation(which, x, g, want_y, want_dx):
    """sigmoid or exact GELU, forward + backward with an upstream gradient."""
    torch = peers.torch()
    if torch is None:
        return None
    fn = {"sigmoid": torch.sigmoid,
          "gelu": lambda v: torch.nn.functional.gelu(v, approximate="none")}[which]
    tx, tg = torch.from_numpy(x), torch.from_numpy(g)

    def step():
        v = tx.detach().requires_grad_()
        y = fn(v)
        y.backward(tg)
        return y.detach(), v.grad

    y, gx = step()
    _close(which, y.numpy(), want_y)
    _close(f"{which} gradient", gx.numpy(), want_dx)
    return step


def _optimizer_class(torch, kind, params, lr, b1, b2, eps, mom, wd):
    opt = torch.optim
    if kind == "adam":
        return lambda **kw: opt.Adam(params, lr=lr, betas=(b1, b2), eps=eps, **kw)
    if kind == "adamw":
        return lambda **kw: opt.AdamW(params, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd,
                                      **kw)
    return lambda **kw: opt.SGD(params, lr=lr, momentum=mom, **kw)


def optimizer(kind, params, grads, hyper, fastkeras_step, fastkeras_params):
    """One step of torch.optim's fused (else foreach) Adam / AdamW / SGD with momentum.

    The check runs one step of each from the same parameters and compares them where
    the gradient is not tiny: Keras adds Adam's epsilon to sqrt(v) before the bias
    correction, torch after it, so at step 1 Keras' epsilon acts as epsilon /
    sqrt(1 - beta2) (3e-6 here), which changes the step of gradients of that size."""
    torch = peers.torch()
    if torch is None:
        return None
    tparams = [torch.tensor(p) for p in params]
    for p, g in zip(tparams, grads):
        p.grad = torch.from_numpy(g)
    make = _optimizer_class(torch, kind, tparams, *hyper)
    try:
        opt, how = make(fused=True), "fused"
        opt.step()
    except (RuntimeError, TypeError):
        opt, how = make(foreach=True), "foreach"
        opt.step()
    fastkeras_step()
    checked = np.abs(grads[0][:100_000]) > 1e-2
    _close(f"{kind} step", tparams[0].numpy()[:100_000][checked],
           fastkeras_params()[:100_000][checked], rtol=1e-5, atol=1e-6)
    return how, opt.step


def lstm(layer, x, dy, want_y, want_dx):
    """torch.nn.LSTM (batch-first) with the Keras layer's weights, forward + backward.

    Keras' gate order (input, forget, cell, output) is torch's; its kernels are the
    transposes of torch's weights and its one bias is torch's bias_ih (bias_hh = 0)."""
    torch = peers.torch()
    if torch is None:
        return None
    kernel, recurrent, bias = layer.get_weights()
    units = recurrent.shape[0]
    net = torch.nn.LSTM(x.shape[2], units, batch_first=True)
    with torch.no_grad():
        net.weight_ih_l0.copy_(torch.from_numpy(kernel.T.copy()))
        net.weight_hh_l0.copy_(torch.from_numpy(recurrent.T.copy()))
        net.bias_ih_l0.copy_(torch.from_numpy(bias))
        net.bias_hh_l0.zero_()
    tx, tdy = torch.from_numpy(x), torch.from_numpy(dy)
    weights = list(net.parameters())

    def step():
        v = tx.detach().requires_grad_()
        y, _ = net(v)
        return (y.detach(),) + torch.autograd.grad(y, [v] + weights, tdy)

    y, gx = step()[:2]
    _close("LSTM output", y.numpy(), want_y)
    _close("LSTM input gradient", gx.numpy(), want_dx, atol=1e-4)
    return step


# ---------------------------------------------------------------- the two Keras models
def _mlp(torch, ws):
    nn = torch.nn
    net = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
                        nn.Linear(64, 10))
    dense = [m for m in net if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for i, m in enumerate(dense):
            m.weight.copy_(torch.from_numpy(ws[2 * i].T.copy()))
            m.bias.copy_(torch.from_numpy(ws[2 * i + 1]))
    return net, [(m.weight, True) for m in dense], False


def _digits_cnn(torch, ws):
    nn = torch.nn

    class GlobalAveragePool(nn.Module):
        def forward(self, v):
            return v.mean(dim=(2, 3))

    net = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), GlobalAveragePool(),
        nn.Dropout(0.2), nn.Linear(64, 10))
    layers = [m for m in net if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        for i, m in enumerate(layers):
            w = ws[2 * i]
            w = w.transpose(3, 2, 0, 1) if w.ndim == 4 else w.T
            m.weight.copy_(torch.from_numpy(np.ascontiguousarray(w)))
            m.bias.copy_(torch.from_numpy(ws[2 * i + 1]))
    return net, [(m.weight, isinstance(m, nn.Linear)) for m in layers], True


_MODELS = {"mlp": _mlp, "digits_cnn": _digits_cnn}


def _torch_input(torch, x, image):
    """The data as a torch user holds it: NCHW for images (converted once, untimed)."""
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)) if image else x)


def _check_gradients(torch, kind, net, weights, fk_model, x, y):
    """Same weights, one batch, inference mode (no dropout): the loss and every kernel's
    gradient of fastkeras' model and of the torch module agree."""
    import fastkeras as fk

    F = torch.nn.functional
    xb, yb = x[:64], y[:64]
    net.eval()
    loss = F.cross_entropy(net(_torch_input(torch, xb, kind == "digits_cnn")),
                           torch.from_numpy(yb.astype(np.int64)))
    grads = torch.autograd.grad(loss, [w for w, _ in weights])
    net.train()
    loss_fn = fk.losses.SparseCategoricalCrossentropy()
    with fk.GradientTape() as tape:
        fk_loss = loss_fn(yb, fk_model(xb, training=False))
    kernels = [w for w in fk_model.trainable_weights if len(w.shape) >= 2]
    fk_grads = tape.gradient(fk_loss, kernels)
    _close(f"{kind} loss", loss.item(), float(np.asarray(fk_loss)))
    for (w, dense), g, fg in zip(weights, grads, fk_grads):
        g = g.numpy()
        g = g.T if dense else g.transpose(2, 3, 1, 0)
        _close(f"{kind} gradient", g, np.asarray(fg), atol=1e-5)


def fit_epoch(kind, fk_model, x, y, batch_size):
    """One epoch of a hand-written training loop: shuffled batches, cross-entropy on the
    logits, fused Adam (Keras' defaults: lr 1e-3, epsilon 1e-7), running loss and
    accuracy as fit's logs keep them."""
    torch = peers.torch()
    if torch is None:
        return None
    F = torch.nn.functional
    net, weights, image = _MODELS[kind](torch, fk_model.get_weights())
    _check_gradients(torch, kind, net, weights, fk_model, x, y)
    tx = _torch_input(torch, x, image)
    ty = torch.from_numpy(y.astype(np.int64))
    try:
        opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7, fused=True)
    except (RuntimeError, TypeError):
        opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7, foreach=True)
    n = len(ty)

    def epoch():
        net.train()
        order = torch.randperm(n)
        total, correct = torch.zeros(()), torch.zeros((), dtype=torch.int64)
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            xb, yb = tx[idx], ty[idx]
            opt.zero_grad(set_to_none=True)
            logits = net(xb)
            loss = F.cross_entropy(logits, yb)
            loss.backward()
            opt.step()
            with torch.no_grad():
                total += loss.detach() * len(idx)
                correct += (logits.argmax(1) == yb).sum()
        return total.item() / n, correct.item() / n

    return epoch


def inference(kind, fk_model, x, want):
    """The model's forward pass under torch.inference_mode (softmax outputs, as Keras')."""
    torch = peers.torch()
    if torch is None:
        return None
    net, _, image = _MODELS[kind](torch, fk_model.get_weights())
    net.eval()
    tx = _torch_input(torch, x, image)

    def run():
        with torch.inference_mode():
            return torch.softmax(net(tx), dim=1)

    _close(f"{kind} inference", run().numpy(), want)
    return run
