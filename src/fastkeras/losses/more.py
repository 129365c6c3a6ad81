"""The rest of tf.keras' losses (Keras 3 formulas): Huber, LogCosh, the hinges,
KLDivergence, Poisson, CosineSimilarity, the focal cross-entropies, the overlap losses
(Dice, Tversky), Circle (metric learning) and the generalized cross-entropy."""

import numpy as np

from fastkeras import ops
from fastkeras.losses.loss import Loss, LossFunctionWrapper, loss_class
from fastkeras.losses.regression import EPSILON, _pair

__all__ = [
    "huber", "log_cosh", "hinge", "squared_hinge", "categorical_hinge", "kl_divergence",
    "poisson", "cosine_similarity", "binary_focal_crossentropy",
    "categorical_focal_crossentropy", "Huber", "LogCosh", "Hinge", "SquaredHinge",
    "CategoricalHinge", "KLDivergence", "Poisson", "CosineSimilarity",
    "BinaryFocalCrossentropy", "CategoricalFocalCrossentropy", "dice", "tversky", "circle",
    "categorical_generalized_cross_entropy", "Dice", "Tversky", "Circle",
    "CategoricalGeneralizedCrossEntropy", "ctc", "CTC",
]


def huber(y_true, y_pred, delta=1.0):
    """0.5 e^2 where |e| <= delta, else delta |e| - 0.5 delta^2 (mean over the last axis)."""
    y_true, y_pred = _pair(y_true, y_pred)
    err = ops.subtract(y_pred, y_true)
    a = ops.abs(err)
    quad = ops.multiply(0.5, ops.square(err))
    lin = ops.subtract(ops.multiply(float(delta), a), 0.5 * float(delta) ** 2)
    return ops.mean(ops.where(ops.less_equal(a, float(delta)), quad, lin), axis=-1)


def log_cosh(y_true, y_pred):
    """log(cosh(e)) = e + softplus(-2e) - log 2, mean over the last axis."""
    y_true, y_pred = _pair(y_true, y_pred)
    # Keras takes log(2) of a float32 tensor before casting it
    log2 = float(np.log(np.float32(2.0)))
    e = ops.subtract(y_pred, y_true)
    return ops.mean(ops.subtract(ops.add(e, ops.softplus(ops.multiply(e, -2.0))), log2),
                    axis=-1)


def _hinge_labels(y_true):
    v = np.asarray(y_true.numpy() if hasattr(y_true, "numpy") else y_true)
    if np.all((v == 0) | (v == 1)):
        return ops.subtract(ops.multiply(2.0, y_true), 1.0)
    return y_true


def hinge(y_true, y_pred):
    """mean(max(1 - y_true y_pred, 0)); labels in {0, 1} become {-1, 1}."""
    y_true, y_pred = _pair(y_true, y_pred)
    y_true = _hinge_labels(y_true)
    return ops.mean(ops.maximum(ops.subtract(1.0, ops.multiply(y_true, y_pred)), 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    y_true = _hinge_labels(y_true)
    return ops.mean(ops.square(ops.maximum(ops.subtract(1.0, ops.multiply(y_true, y_pred)),
                                           0.0)), axis=-1)


def categorical_hinge(y_true, y_pred):
    """max(max_neg - pos + 1, 0) with pos the true class score, max_neg the best other."""
    y_true, y_pred = _pair(y_true, y_pred)
    pos = ops.sum(ops.multiply(y_true, y_pred), axis=-1)
    neg = ops.max(ops.multiply(ops.subtract(1.0, y_true), y_pred), axis=-1)
    return ops.maximum(ops.add(ops.subtract(neg, pos), 1.0), 0.0)


def kl_divergence(y_true, y_pred):
    """sum(y_true log(y_true / y_pred)), both clipped to [epsilon, 1]."""
    y_true, y_pred = _pair(y_true, y_pred)
    t = ops.clip(y_true, EPSILON, 1.0)
    p = ops.clip(y_pred, EPSILON, 1.0)
    return ops.sum(ops.multiply(t, ops.log(ops.divide(t, p))), axis=-1)


def poisson(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    return ops.mean(ops.subtract(y_pred, ops.multiply(y_true, ops.log(ops.add(y_pred, EPSILON)))),
                    axis=-1)


def _l2_normalize(x, axis):
    inv = ops.minimum(ops.rsqrt(ops.sum(ops.square(x), axis=axis, keepdims=True)), 1.0 / EPSILON)
    return ops.multiply(x, inv)


def cosine_similarity(y_true, y_pred, axis=-1):
    """-cos(y_true, y_pred) along axis (so that minimising aligns them)."""
    y_true, y_pred = _pair(y_true, y_pred)
    with np.errstate(divide="ignore"):
        p = _l2_normalize(y_pred, axis)
        t = _l2_normalize(y_true, axis)
    return ops.negative(ops.sum(ops.multiply(t, p), axis=axis))


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25,
                              gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1):
    """Binary cross-entropy down-weighted by (1 - p_t)^gamma for well-classified samples."""
    y_true, y_pred = _pair(y_true, y_pred)
    if label_smoothing:
        y_true = ops.add(ops.multiply(y_true, 1.0 - label_smoothing), 0.5 * label_smoothing)
    if from_logits:
        y_pred = ops.sigmoid(y_pred)
    p = ops.clip(y_pred, EPSILON, 1.0 - EPSILON)
    bce = ops.negative(ops.add(ops.multiply(y_true, ops.log(p)),
                               ops.multiply(ops.subtract(1.0, y_true),
                                            ops.log(ops.subtract(1.0, p)))))
    p_t = ops.add(ops.multiply(y_true, y_pred),
                  ops.multiply(ops.subtract(1.0, y_true), ops.subtract(1.0, y_pred)))
    focal = ops.multiply(ops.power(ops.subtract(1.0, p_t), float(gamma)), bce)
    if apply_class_balancing:
        w = ops.add(ops.multiply(y_true, alpha), ops.multiply(ops.subtract(1.0, y_true),
                                                              1.0 - alpha))
        focal = ops.multiply(w, focal)
    return ops.mean(focal, axis=axis)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False,
                                   label_smoothing=0.0, axis=-1):
    """Categorical cross-entropy weighted by alpha (1 - p)^gamma per class."""
    if isinstance(axis, bool):
        raise ValueError(f"`axis` must be of type `int`. Received: axis={axis}")
    y_true, y_pred = _pair(y_true, y_pred)
    if label_smoothing:
        k = y_true.shape[-1]
        y_true = ops.add(ops.multiply(y_true, 1.0 - label_smoothing), label_smoothing / k)
    if from_logits:
        y_pred = ops.softmax(y_pred, axis=axis)
    out = ops.divide(y_pred, ops.sum(y_pred, axis=axis, keepdims=True))
    out = ops.clip(out, EPSILON, 1.0 - EPSILON)
    cce = ops.negative(ops.multiply(y_true, ops.log(out)))
    weight = ops.multiply(ops.power(ops.subtract(1.0, out), float(gamma)), float(alpha))
    return ops.sum(ops.multiply(weight, cce), axis=axis)


Huber = loss_class("Huber", huber, "huber_loss", delta=1.0)
LogCosh = loss_class("LogCosh", log_cosh, "log_cosh")
Hinge = loss_class("Hinge", hinge, "hinge")
SquaredHinge = loss_class("SquaredHinge", squared_hinge, "squared_hinge")
CategoricalHinge = loss_class("CategoricalHinge", categorical_hinge, "categorical_hinge")
KLDivergence = loss_class("KLDivergence", kl_divergence, "kl_divergence")
Poisson = loss_class("Poisson", poisson, "poisson")
CosineSimilarity = loss_class("CosineSimilarity", cosine_similarity, "cosine_similarity", axis=-1)
BinaryFocalCrossentropy = loss_class(
    "BinaryFocalCrossentropy", binary_focal_crossentropy, "binary_focal_crossentropy",
    apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0,
    axis=-1)
CategoricalFocalCrossentropy = loss_class(
    "CategoricalFocalCrossentropy", categorical_focal_crossentropy,
    "categorical_focal_crossentropy", alpha=0.25, gamma=2.0, from_logits=False,
    label_smoothing=0.0, axis=-1)


def _float_pair(y_true, y_pred):
    y_pred = ops.convert_to_tensor(y_pred)
    if y_pred.dtype.kind != "f":
        y_pred = ops.cast(y_pred, "float32")
    return ops.cast(y_true, y_pred.dtype), y_pred


def dice(y_true, y_pred, axis=None):
    """1 - 2 |t p| / (|t| + |p| + epsilon), sums over ``axis`` (all axes when None: one
    value for the batch, as in Keras)."""
    y_true, y_pred = _float_pair(y_true, y_pred)
    inter = ops.sum(ops.multiply(y_true, y_pred), axis=axis)
    denom = ops.add(ops.add(ops.sum(y_true, axis=axis), ops.sum(y_pred, axis=axis)), EPSILON)
    return ops.subtract(1.0, ops.divide(ops.multiply(2.0, inter), denom))


def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """1 - TP / (TP + alpha FP + beta FN + epsilon) with soft counts summed over ``axis``
    (Keras' convention: FP = sum((1 - p) t), FN = sum(p (1 - t)))."""
    y_true, y_pred = _float_pair(y_true, y_pred)
    tp = ops.sum(ops.multiply(y_true, y_pred), axis=axis)
    fp = ops.sum(ops.multiply(ops.subtract(1.0, y_pred), y_true), axis=axis)
    fn = ops.sum(ops.multiply(y_pred, ops.subtract(1.0, y_true)), axis=axis)
    denom = ops.add(ops.add(ops.add(tp, ops.multiply(fp, float(alpha))),
                            ops.multiply(fn, float(beta))), EPSILON)
    return ops.subtract(1.0, ops.divide(tp, denom))


def _pos_neg_masks(query_labels, key_labels, remove_diagonal):
    q = np.asarray(query_labels).reshape(-1, 1)
    k = np.asarray(key_labels).reshape(-1, 1)
    pos = q == k.T
    neg = ~pos
    if remove_diagonal:
        pos = pos & ~np.eye(q.size, k.size, dtype=bool)
    return pos, neg


def circle(y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal=True,
           gamma=80, margin=0.4):
    """Circle loss (Sun et al. 2020) of L2-normalised embeddings ``y_pred`` with integer
    labels ``y_true`` against reference embeddings (the batch itself by default): per sample
    softplus(logsumexp over positives + logsumexp over negatives) of the self-paced weighted
    cosine distances. Samples whose loss is 0 are masked out of the reduction, as in Keras."""
    y_pred = ops.convert_to_tensor(y_pred)
    labels = np.asarray(ops.convert_to_numpy(y_true)).astype(np.int64)
    ref = y_pred if ref_embeddings is None else ops.convert_to_tensor(ref_embeddings)
    ref_labels = labels if ref_labels is None else np.asarray(
        ops.convert_to_numpy(ref_labels)).astype(np.int64)
    dist = ops.maximum(ops.subtract(1.0, ops.matmul(y_pred, ops.transpose(ref))), 0.0)
    pos, neg = _pos_neg_masks(labels, ref_labels, remove_diagonal)
    posf, negf = pos.astype(y_pred.dtype), neg.astype(y_pred.dtype)
    m = float(margin)
    pos_w = ops.maximum(ops.multiply(ops.add(dist, m), posf), 0.0)
    neg_w = ops.maximum(ops.multiply(ops.subtract(1.0 + m, dist), negf), 0.0)
    pos_d = ops.multiply(ops.multiply(pos_w, ops.subtract(m, dist)), -float(gamma))
    neg_d = ops.multiply(ops.multiply(neg_w, ops.subtract(1.0 - m, dist)), float(gamma))
    with np.errstate(invalid="ignore"):
        p_loss = ops.logsumexp(ops.where(pos, pos_d, -np.inf), axis=1)
        n_loss = ops.logsumexp(ops.where(neg, neg_d, -np.inf), axis=1)
    out = ops.softplus(ops.add(p_loss, n_loss))
    out._keras_mask = np.asarray(out.numpy() if hasattr(out, "numpy") else out) > 0
    return out


def categorical_generalized_cross_entropy(y_true, y_pred, q):
    """(1 - p_y^q) / q with p_y the predicted probability of the integer label (Zhang and
    Sabuncu 2018: cross-entropy as q -> 0, MAE at q = 1; robust to noisy labels)."""
    y_pred = ops.convert_to_tensor(y_pred)
    onehot = ops.cast(ops.one_hot(ops.cast(y_true, "int64"), y_pred.shape[-1]), y_pred.dtype)
    p = ops.sum(ops.multiply(y_pred, onehot), axis=-1)
    return ops.divide(ops.subtract(1.0, ops.power(p, float(q))), float(q))


class Dice(LossFunctionWrapper):
    """Dice loss (keras.losses.Dice): 1 - the soft Dice coefficient over ``axis``."""

    def __init__(self, reduction="sum_over_batch_size", name="dice", axis=None, dtype=None):
        super().__init__(dice, reduction=reduction, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self):
        return {**Loss.get_config(self), "axis": self.axis}


class Tversky(LossFunctionWrapper):
    """Tversky loss (keras.losses.Tversky); alpha = beta = 0.5 is the Dice loss."""

    def __init__(self, alpha=0.5, beta=0.5, reduction="sum_over_batch_size", name="tversky",
                 axis=None, dtype=None):
        super().__init__(tversky, reduction=reduction, name=name, dtype=dtype, alpha=alpha,
                         beta=beta, axis=axis)
        self.alpha, self.beta, self.axis = alpha, beta, axis

    def get_config(self):
        return {**Loss.get_config(self), "alpha": self.alpha, "beta": self.beta,
                "axis": self.axis}


class Circle(LossFunctionWrapper):
    """Circle loss (keras.losses.Circle) for embeddings; y_true holds integer labels."""

    def __init__(self, gamma=80.0, margin=0.4, remove_diagonal=True,
                 reduction="sum_over_batch_size", name="circle", dtype=None):
        super().__init__(circle, reduction=reduction, name=name, dtype=dtype, gamma=gamma,
                         margin=margin, remove_diagonal=remove_diagonal)
        self.gamma, self.margin, self.remove_diagonal = gamma, margin, remove_diagonal

    def call(self, y_true, y_pred):  # labels (N,) against embeddings (N, D): no rank rule
        return circle(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        return {**Loss.get_config(self), "gamma": self.gamma, "margin": self.margin,
                "remove_diagonal": self.remove_diagonal}


class CategoricalGeneralizedCrossEntropy(LossFunctionWrapper):
    """Generalized cross-entropy (keras.losses.CategoricalGeneralizedCrossEntropy) of
    integer labels; q in (0, 1)."""

    def __init__(self, q=0.5, reduction="sum_over_batch_size",
                 name="categorical_generalized_cross_entropy", dtype=None):
        if not 0 < q < 1:
            raise ValueError("q must be in the interval (0, 1)")
        super().__init__(categorical_generalized_cross_entropy, reduction=reduction, name=name,
                         dtype=dtype, q=q)
        self.q = q

    def call(self, y_true, y_pred):  # integer labels (N,) against (N, C): no rank rule
        return categorical_generalized_cross_entropy(y_true, y_pred, self.q)

    def get_config(self):
        return {**Loss.get_config(self), "q": self.q}


def ctc(y_true, y_pred):
    """CTC loss of integer label sequences ``y_true`` (batch, max_length), padded with the
    blank 0, against logits ``y_pred`` (batch, frames, classes); class 0 is the blank and
    every frame is used (keras.losses.ctc)."""
    if len(np.shape(y_true)) != 2:
        raise ValueError("Targets `y_true` are expected to be a tensor of shape "
                         "`(batch_size, max_length)` in integer format. "
                         f"Received: y_true.shape={tuple(np.shape(y_true))}")
    if len(np.shape(y_pred)) != 3:
        raise ValueError("Logits `y_pred` are expected to be a tensor of shape "
                         "`(batch_size, max_length, num_classes)`. "
                         f"Received: y_pred.shape={tuple(np.shape(y_pred))}")
    labels = np.asarray(ops.convert_to_numpy(y_true))
    n, frames = np.shape(y_pred)[:2]
    return ops.ctc_loss(labels, y_pred, np.sum(labels != 0, axis=-1),
                        np.full(n, frames, np.int64), mask_index=0)


class CTC(LossFunctionWrapper):
    """CTC loss (keras.losses.CTC); y_pred holds logits."""

    def __init__(self, reduction="sum_over_batch_size", name="ctc", dtype=None):
        super().__init__(ctc, reduction=reduction, name=name, dtype=dtype)

    def call(self, y_true, y_pred):  # labels (N, L) against logits (N, T, C): no rank rule
        return ctc(y_true, y_pred)

    def get_config(self):
        return Loss.get_config(self)
