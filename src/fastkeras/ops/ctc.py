"""Connectionist temporal classification: ``ops.ctc_loss`` (keras.ops.ctc_loss, TensorFlow's
tf.nn.ctc_loss on logits), forward-backward in log space, vectorised over the batch and the
label positions, one step per time frame. The gradient with respect to the logits is
softmax - posterior occupancy, from the same alpha / beta tables."""
import numpy as np

from fastkeras.ops.math import make
from fastkeras.ops.tensor import as_array

__all__ = ["ctc_loss"]


def _logaddexp(*xs):
    out = xs[0]
    for x in xs[1:]:
        out = np.logaddexp(out, x)
    return out


def _shift(a, k, fill):
    """a shifted right by k along the last axis (positions < k get fill)."""
    out = np.full_like(a, fill)
    out[..., k:] = a[..., :-k]
    return out


def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """Per-sample CTC loss, -log p(target | output).

    target: (batch, max_label_length) integer labels, the first ``target_length[b]`` used;
    output: (batch, frames, classes) logits (softmax taken over classes); output_length:
    the frames used per sample; mask_index: the blank class. A label sequence the frames
    cannot emit costs inf, as in TensorFlow."""
    x = as_array(output)
    if x.dtype.kind != "f":
        x = x.astype(np.float32)
    lab = as_array(target)
    if lab.ndim != 2:
        raise ValueError(f"`target` must be (batch_size, max_length), got shape {lab.shape}")
    if x.ndim != 3:
        raise ValueError(f"`output` must be (batch_size, max_length, num_classes), got shape "
                         f"{x.shape}")
    if lab.dtype.kind not in "iub" and not (lab.dtype.kind == "f" and
                                           np.all(lab == np.round(lab))):
        raise TypeError(f"`target` must hold integer labels, got dtype {lab.dtype}")
    n, frames, classes = x.shape
    if lab.shape[0] != n:
        raise ValueError(f"`target` has {lab.shape[0]} rows and `output` {n}")
    lab = lab.astype(np.int64)
    lab_len = np.broadcast_to(as_array(target_length).astype(np.int64).reshape(-1), (n,))
    out_len = np.broadcast_to(as_array(output_length).astype(np.int64).reshape(-1), (n,))
    blank = int(mask_index)
    if not 0 <= blank < classes:
        raise ValueError(f"`mask_index` {blank} is outside the {classes} classes")
    if np.any(lab_len < 0) or np.any(lab_len > lab.shape[1]):
        raise ValueError(f"`target_length` must be in [0, {lab.shape[1]}]")
    if np.any(out_len < 0) or np.any(out_len > frames):
        raise ValueError(f"`output_length` must be in [0, {frames}]")
    width = np.arange(lab.shape[1])[None, :] < lab_len[:, None]
    if np.any(width & ((lab < 0) | (lab >= classes))):
        raise ValueError(f"`target` labels must be in [0, {classes})")

    x64 = x.astype(np.float64)
    logp = x64 - np.max(x64, axis=-1, keepdims=True)
    logp -= np.log(np.sum(np.exp(logp), axis=-1, keepdims=True))
    S = 2 * lab.shape[1] + 1
    ext = np.full((n, S), blank, np.int64)  # blank, l1, blank, l2, ..., blank
    ext[:, 1::2] = np.where(width, lab, blank)
    s_len = 2 * lab_len + 1
    valid_s = np.arange(S)[None, :] < s_len[:, None]
    # a skip over the blank before s is allowed where s is a label position (odd) holding a
    # label other than the previous one; by position, as TensorFlow decides it, so a label
    # equal to the blank id inside a row is a label (Keras' ctc hands such rows over)
    skip = np.zeros((n, S), bool)
    skip[:, 3::2] = ext[:, 3::2] != ext[:, 1:-2:2]
    rows = np.arange(n)[:, None]
    emit = logp[rows, :, ext].transpose(0, 2, 1) if frames else np.zeros((n, 0, S))  # (n,T,S)
    neg = -np.inf
    alpha = np.full((n, frames, S), neg)
    if frames:
        alpha[:, 0, 0] = emit[:, 0, 0]
        alpha[:, 0, 1] = np.where(lab_len > 0, emit[:, 0, 1], neg)
        for t in range(1, frames):
            prev = alpha[:, t - 1]
            a = _logaddexp(prev, _shift(prev, 1, neg), np.where(skip, _shift(prev, 2, neg), neg))
            alpha[:, t] = np.where(valid_s, a + emit[:, t], neg)
    beta = np.full((n, frames, S), neg)
    last = np.maximum(out_len - 1, 0)
    ends = np.stack([s_len - 1, np.maximum(s_len - 2, 0)], axis=1)
    if frames:
        for b in range(n):
            if out_len[b] == 0:
                continue
            tb = last[b]
            beta[b, tb, ends[b, 0]] = emit[b, tb, ends[b, 0]]
            if s_len[b] > 1:
                beta[b, tb, ends[b, 1]] = emit[b, tb, ends[b, 1]]
        skip_next = np.zeros((n, S), bool)
        skip_next[:, :-2] = skip[:, 2:]
        for t in range(frames - 2, -1, -1):
            nxt = beta[:, t + 1]
            up1 = np.full_like(nxt, neg)
            up1[:, :-1] = nxt[:, 1:]
            up2 = np.full_like(nxt, neg)
            up2[:, :-2] = nxt[:, 2:]
            bt = _logaddexp(nxt, up1, np.where(skip_next, up2, neg)) + emit[:, t]
            active = (t < last)[:, None] & valid_s
            beta[:, t] = np.where(active, bt, beta[:, t])
    loglik = np.full(n, neg)
    for b in range(n):
        if out_len[b] == 0:
            loglik[b] = 0.0 if lab_len[b] == 0 else neg
            continue
        tb = last[b]
        loglik[b] = np.logaddexp(alpha[b, tb, ends[b, 0]],
                                 alpha[b, tb, ends[b, 1]] if s_len[b] > 1 else neg)
    value = -loglik

    def backward(g, needs):
        if not needs[1]:
            return None, None, None, None
        gx = np.zeros((n, frames, classes))
        with np.errstate(invalid="ignore", over="ignore"):
            occ = alpha + beta - emit - loglik[:, None, None]  # log posterior of (t, s)
        occ = np.where(np.isfinite(occ), np.exp(occ), 0.0)
        for b in range(n):
            tb = out_len[b]
            if tb == 0 or not np.isfinite(loglik[b]):
                continue
            post = np.zeros((tb, classes))
            np.add.at(post, (slice(None), ext[b, :s_len[b]]), occ[b, :tb, :s_len[b]])
            gx[b, :tb] = (np.exp(logp[b, :tb]) - post) * g[b]
        return None, gx.astype(x.dtype), None, None

    return make(value.astype(x.dtype), (target, output, target_length, output_length), backward)
