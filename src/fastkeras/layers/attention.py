"""Attention layers, as Keras 3.15 has them: MultiHeadAttention (per-head einsum
projections named query / key / value / attention_output, with Keras' kernel shapes so
tf.keras weights load by set_weights), Attention (dot-product or "concat" scores) and
AdditiveAttention (Bahdanau scores). Masks are combined as Keras combines them: the
query's and value's (and key's) Keras masks, an explicit ``attention_mask`` and the
causal mask are AND-ed into one (B, T, S) mask."""
import math
import string

import numpy as np

from fastkeras import constraints, initializers, regularizers
from fastkeras import ops
from fastkeras.layers.base import Layer
from fastkeras.layers.core import Dropout
from fastkeras.ops.tensor import Tensor, as_array

__all__ = ["MultiHeadAttention", "Attention", "AdditiveAttention"]

_LETTERS = string.ascii_lowercase


def _big(dtype):
    return 3e4 if np.dtype(dtype) == np.float16 else 1e9


def _mask_array(m):
    return None if m is None else np.asarray(as_array(m)).astype(bool)


def _softmax(x, axes):
    if len(axes) == 1:
        return ops.softmax(x, axis=axes[0])
    return ops.exp(ops.subtract(x, ops.logsumexp(x, axis=axes, keepdims=True)))


def _causal(t, s):
    """(1, T, S) lower-triangular mask: query i sees keys j <= i."""
    return (np.arange(t)[:, None] >= np.arange(s)[None, :])[None]


def _proj_equation(free, bound, out):
    """(einsum equation, bias axes, output rank): the projection of Keras' MHA."""
    inp = _LETTERS[:free]
    outp = inp
    kern = _LETTERS[free:free + bound]
    inp += kern
    o = _LETTERS[free + bound:free + bound + out]
    return f"{inp},{kern + o}->{outp + o}", o, len(outp + o)


class _Projection(Layer):
    """An EinsumDense-like projection (kernel contracted with the input's last `bound`
    axes, bias on the output's last `out` axes); its weights are ``kernel`` / ``bias``."""

    def __init__(self, equation, kernel_tail, use_bias, bound, kernel_initializer,
                 bias_initializer, kernel_regularizer, bias_regularizer, kernel_constraint,
                 bias_constraint, **kwargs):
        super().__init__(**kwargs)
        self.equation = equation
        self.kernel_tail = tuple(kernel_tail)
        self.use_bias = use_bias
        self.bound = bound
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = kernel_regularizer
        self.bias_regularizer = bias_regularizer
        self.kernel_constraint = kernel_constraint
        self.bias_constraint = bias_constraint

    def build(self, input_shape):
        head = tuple(input_shape[len(input_shape) - self.bound:])
        if any(d is None for d in head):
            raise ValueError(f"Layer {self.name!r}: the last dimension(s) of its input must "
                             f"be known, got input shape {tuple(input_shape)}")
        self.kernel = self.add_weight(name="kernel", shape=head + self.kernel_tail,
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = self.add_weight(name="bias", shape=self.kernel_tail,
                                    initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint) \
            if self.use_bias else None
        self.built = True

    def call(self, inputs):
        y = ops.einsum(self.equation, inputs, self.kernel)
        return ops.add(y, self.bias) if self.bias is not None else y

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:len(input_shape) - self.bound]) + self.kernel_tail


def _positive_int(value, name, allow_none=False):
    if allow_none and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        more = " or `None`" if allow_none else ""
        raise ValueError(f"Received an invalid value for argument `{name}`, expected a "
                         f"positive integer{more}. Received: {name}={value}")
    return int(value)


def _clone(obj, family):
    return None if obj is None else family.get(family.serialize(obj))


class MultiHeadAttention(Layer):
    """Multi-head attention (Vaswani et al.): query, key and value are projected to
    ``num_heads`` heads, scaled dot-product attention runs over ``attention_axes``, and
    the heads are projected back to the query's last size (or ``output_shape``)."""

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, attention_axes=None, sliding_window=None,
                 flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 use_gate=False, seed=None, **kwargs):
        num_heads = _positive_int(num_heads, "num_heads")
        key_dim = _positive_int(key_dim, "key_dim")
        value_dim = _positive_int(value_dim, "value_dim", allow_none=True)
        super().__init__(**kwargs)
        self.supports_masking = True
        self._num_heads = num_heads
        self._key_dim = key_dim
        self._value_dim = value_dim if value_dim else key_dim
        if not 0 <= float(dropout) <= 1:
            raise ValueError(f"MultiHeadAttention: `dropout` must be in [0, 1], "
                             f"got {dropout!r}")
        self._dropout = float(dropout)
        self._use_bias = bool(use_bias)
        self._use_gate = bool(use_gate)
        if output_shape:
            if isinstance(output_shape, (int, np.integer)):
                output_shape = (int(output_shape),)
            try:
                output_shape = tuple(int(d) for d in output_shape)
            except TypeError:
                raise ValueError(f"Invalid `output_shape`: {output_shape}. When specified, "
                                 f"the `output_shape` should be of type tuple, list, or int.")
        self._output_shape = output_shape or None
        if flash_attention:
            raise ValueError("MultiHeadAttention: `flash_attention` is not available in "
                             "fastkeras; pass None or False")
        self._flash_attention = False
        self._kernel_initializer = initializers.get(kernel_initializer)
        self._bias_initializer = initializers.get(bias_initializer)
        self._kernel_regularizer = regularizers.get(kernel_regularizer)
        self._bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self._kernel_constraint = constraints.get(kernel_constraint)
        self._bias_constraint = constraints.get(bias_constraint)
        if isinstance(attention_axes, (int, np.integer)):
            attention_axes = (int(attention_axes),)
        elif attention_axes and not isinstance(attention_axes, (list, tuple)):
            raise ValueError(f"`attention_axes` must be an int, list, or tuple."
                             f"Received: attention_axes={attention_axes}")
        self._attention_axes = tuple(attention_axes) if attention_axes else None
        self._sliding_window = _positive_int(sliding_window, "sliding_window", True) \
            if sliding_window is not None else None
        self.seed = seed
        self._inverse_sqrt_key_dim = 1.0 / math.sqrt(float(self._key_dim))

    num_heads = property(lambda self: self._num_heads)
    key_dim = property(lambda self: self._key_dim)
    value_dim = property(lambda self: self._value_dim)
    dropout = property(lambda self: self._dropout)
    use_bias = property(lambda self: self._use_bias)
    attention_axes = property(lambda self: self._attention_axes)
    query_dense = property(lambda self: self._query_dense)
    key_dense = property(lambda self: self._key_dense)
    value_dense = property(lambda self: self._value_dense)
    output_dense = property(lambda self: self._output_dense)

    def get_config(self):
        c = super().get_config()
        c.update(num_heads=self._num_heads, key_dim=self._key_dim, value_dim=self._value_dim,
                 dropout=self._dropout, use_bias=self._use_bias, use_gate=self._use_gate,
                 output_shape=self._output_shape, attention_axes=self._attention_axes,
                 sliding_window=self._sliding_window,
                 kernel_initializer=initializers.serialize(self._kernel_initializer),
                 bias_initializer=initializers.serialize(self._bias_initializer),
                 kernel_regularizer=regularizers.serialize(self._kernel_regularizer)
                 if self._kernel_regularizer else None,
                 bias_regularizer=regularizers.serialize(self._bias_regularizer)
                 if self._bias_regularizer else None,
                 activity_regularizer=regularizers.serialize(self.activity_regularizer)
                 if self.activity_regularizer else None,
                 kernel_constraint=constraints.serialize(self._kernel_constraint)
                 if self._kernel_constraint else None,
                 bias_constraint=constraints.serialize(self._bias_constraint)
                 if self._bias_constraint else None,
                 seed=self.seed)
        return c

    def _sub(self, name, equation, tail, bound):
        return _Projection(equation, tail, self._use_bias, bound,
                           _clone(self._kernel_initializer, initializers),
                           _clone(self._bias_initializer, initializers),
                           self._kernel_regularizer, self._bias_regularizer,
                           self._kernel_constraint, self._bias_constraint,
                           name=name, dtype=self.dtype)

    def build(self, query_shape, value_shape, key_shape=None):
        key_shape = value_shape if key_shape is None else key_shape
        if tuple(value_shape[1:-1]) != tuple(key_shape[1:-1]):
            raise ValueError(f"All dimensions of `value` and `key`, except the last one, must "
                             f"be equal. Received: value_shape={tuple(value_shape)} and "
                             f"key_shape={tuple(key_shape)}")
        q_rank, v_rank, k_rank = len(query_shape), len(value_shape), len(key_shape)
        heads_k = (self._num_heads, self._key_dim)
        heads_v = (self._num_heads, self._value_dim)
        self._query_dense = self._sub("query", _proj_equation(q_rank - 1, 1, 2)[0], heads_k, 1)
        self._query_dense.build(tuple(query_shape))
        self._key_dense = self._sub("key", _proj_equation(k_rank - 1, 1, 2)[0], heads_k, 1)
        self._key_dense.build(tuple(key_shape))
        if self._use_gate:
            self._gate_dense = self._sub("gate", _proj_equation(q_rank - 1, 1, 2)[0],
                                         heads_v, 1)
            self._gate_dense.build(tuple(query_shape))
        eq, _, out_rank = _proj_equation(v_rank - 1, 1, 2)
        self._value_dense = self._sub("value", eq, heads_v, 1)
        self._value_dense.build(tuple(value_shape))
        self._build_attention(out_rank)
        out_shape = self._output_shape or (query_shape[-1],)
        self._output_dense = self._sub(
            "attention_output", _proj_equation(q_rank - 1, 2, len(out_shape))[0],
            tuple(out_shape), 2)
        self._output_dense.build(tuple(query_shape[:-1]) + heads_v)
        self.built = True

    def _build_attention(self, rank):
        if self._attention_axes is None:
            self._attention_axes = tuple(range(1, rank - 2))
        else:
            self._attention_axes = tuple(a if a >= 0 else (rank - 1) + a
                                         for a in self._attention_axes)
        axes = self._attention_axes
        target = _LETTERS[:rank]
        batch_dims = [i for i in range(rank) if i not in axes and i != rank - 1]
        source, off = "", rank
        for i in range(rank):
            if i in batch_dims or i == rank - 1:
                source += target[i]
            else:
                source += _LETTERS[off]
                off += 1
        product = "".join([target[i] for i in batch_dims] + [target[i] for i in axes]
                          + [source[i] for i in axes])
        self._dot_product_equation = f"{source},{target}->{product}"
        self._combine_equation = f"{product},{source}->{target}"
        n = len(product)
        self._norm_axes = tuple(range(n - len(axes), n))
        self._dropout_layer = Dropout(rate=self._dropout, seed=self.seed, dtype=self.dtype)

    def _compute_attention_mask(self, query, value, query_mask=None, value_mask=None,
                                key_mask=None, attention_mask=None, use_causal_mask=False):
        auto = None
        for m, axis in ((query_mask, -1), (value_mask, -2), (key_mask, -2)):
            m = _mask_array(m)
            if m is not None:
                m = np.expand_dims(m, axis)
                auto = m if auto is None else auto & m
        t, s = query.shape[1], value.shape[1]
        if use_causal_mask:
            auto = _causal(t, s) if auto is None else auto & _causal(t, s)
        if self._sliding_window is not None:
            band = (np.abs(np.arange(t)[:, None] - np.arange(s)[None, :])
                    < self._sliding_window)[None]
            auto = band if auto is None else auto & band
        attention_mask = _mask_array(attention_mask)
        if auto is not None:
            attention_mask = auto if attention_mask is None else attention_mask & auto
        return attention_mask

    def _compute_attention(self, query, key, value, attention_mask=None, training=None,
                           return_attention_scores=False, fused=False):
        """(attention output, scores) of the projected heads. ``fused``: the path Keras
        takes through ops.dot_product_attention, where a row with every key masked
        averages the values instead of giving zeros."""
        # tf.keras casts the Python scale through float32 first (tf.cast of a float)
        scale = float(np.float32(self._inverse_sqrt_key_dim))
        query = ops.multiply(query, np.asarray(scale, dtype=np.dtype(query.dtype)))
        scores = ops.einsum(self._dot_product_equation, key, query)
        mask = None
        if attention_mask is not None:
            mask = attention_mask
            axis = -len(self._attention_axes) * 2 - 1
            while mask.ndim < scores.ndim:
                mask = np.expand_dims(mask, axis)
            mask = np.broadcast_to(mask, scores.shape)
            scores = ops.where(mask, scores, np.asarray(-_big(scores.dtype),
                                                        dtype=np.dtype(scores.dtype)))
        scores = _softmax(scores, self._norm_axes)
        if mask is not None and not fused:
            scores = ops.where(mask, scores, np.zeros((), np.dtype(scores.dtype)))
        final = self._dropout_layer(scores, training=training) if self._dropout > 0 \
            else scores
        out = ops.einsum(self._combine_equation, final, value)
        return out, scores

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
             attention_mask=None, return_attention_scores=False, training=None,
             use_causal_mask=False):
        if key is None:
            key = value
        if query_mask is None and isinstance(query, Tensor):
            query_mask = query._keras_mask
        attention_mask = self._compute_attention_mask(
            query, value, query_mask=query_mask, value_mask=value_mask, key_mask=key_mask,
            attention_mask=attention_mask, use_causal_mask=use_causal_mask)
        gate = ops.sigmoid(self._gate_dense(query)) if self._use_gate else None
        q = self._query_dense(query)
        k = self._key_dense(key)
        v = self._value_dense(value)
        fused = not (self._dropout > 0 or return_attention_scores or q.ndim != 4)
        out, scores = self._compute_attention(q, k, v, attention_mask, training,
                                              return_attention_scores, fused=fused)
        if gate is not None:
            out = ops.multiply(out, gate)
        out = self._output_dense(out)
        if query_mask is not None:
            out._keras_mask = _mask_array(query_mask)
        if return_attention_scores:
            return out, scores
        return out

    def _saved_children(self):
        """The projections as Keras 3 saves them (by their public attribute names)."""
        if not self.built:
            return []
        gate = [("_gate_dense", self._gate_dense)] if self._use_gate else []
        return gate + [("key_dense", self._key_dense), ("output_dense", self._output_dense),
                       ("query_dense", self._query_dense), ("value_dense", self._value_dense)]

    def compute_mask(self, query, mask=None):
        # the query's mask, on the attention output only (not on the scores), as Keras
        return None if mask is None else (mask, None)

    # No compute_output_shape override: symbolic calls infer the outputs (the scores
    # too) by running call.


class Attention(Layer):
    """Dot-product (Luong) attention over [query, value(, key)]: scores = query . key
    (times ``scale`` if use_scale) or, with score_mode="concat", concat_score_weight *
    sum(tanh(scale * (query + key))); softmax over the value steps; output = weights @
    value, zeroed at masked query steps."""

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.use_scale = bool(use_scale)
        self.score_mode = score_mode
        if not 0 <= float(dropout) <= 1:
            raise ValueError(f"{type(self).__name__}: `dropout` must be in [0, 1], "
                             f"got {dropout!r}")
        self.dropout = float(dropout)
        self.seed = seed
        self._dropout_layer = Dropout(rate=self.dropout, seed=seed)
        if self.score_mode not in ("dot", "concat"):
            raise ValueError(f"Invalid value for argument score_mode. Expected one of "
                             f"{{'dot', 'concat'}}. Received: score_mode={score_mode}")
        self.supports_masking = True

    def build(self, input_shape):
        self._validate_inputs(input_shape)
        self.scale = None
        self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(), initializer="ones")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(name="concat_score_weight", shape=(),
                                                       initializer="ones")
        self.built = True

    def _calculate_scores(self, query, key):
        if self.score_mode == "dot":
            scores = ops.matmul(query, ops.swapaxes(key, -2, -1))
            return ops.multiply(scores, self.scale) if self.scale is not None else scores
        s = ops.add(ops.expand_dims(query, -2), ops.expand_dims(key, -3))
        if self.scale is not None:
            s = ops.multiply(self.scale, s)
        return ops.multiply(self.concat_score_weight, ops.sum(ops.tanh(s), axis=-1))

    def _apply_scores(self, scores, value, scores_mask=None, training=False):
        if scores_mask is not None:
            pad = ~scores_mask
            if pad.ndim == 2:
                pad = pad[:, None, :]
            pad = np.broadcast_to(pad, scores.shape)
            big = 65504.0 if np.dtype(scores.dtype) == np.float16 else 1.0e9
            scores = ops.where(pad, ops.subtract(scores, np.asarray(
                big, np.dtype(scores.dtype))), scores)
        weights = ops.softmax(scores, axis=-1)
        if training and self.dropout > 0:
            weights = self._dropout_layer(weights, training=True)
        return ops.matmul(weights, value), weights

    def _calculate_score_mask(self, scores, v_mask, use_causal_mask):
        if use_causal_mask:
            causal = _causal(scores.shape[-2], scores.shape[-1])
            return causal if v_mask is None else (v_mask[..., None, :] & causal)
        return v_mask

    def call(self, inputs, mask=None, training=False, return_attention_scores=False,
             use_causal_mask=False):
        self._validate_inputs(inputs, mask)
        q, v = inputs[0], inputs[1]
        k = inputs[2] if len(inputs) > 2 else v
        q_mask = _mask_array(mask[0]) if mask else None
        v_mask = _mask_array(mask[1]) if mask else None
        scores = self._calculate_scores(q, k)
        scores_mask = self._calculate_score_mask(scores, v_mask, use_causal_mask)
        out, weights = self._apply_scores(scores, v, scores_mask, training=training)
        if q_mask is not None:
            out = ops.where(np.broadcast_to(q_mask[..., None], out.shape), out,
                            np.zeros((), np.dtype(out.dtype)))
        return (out, weights) if return_attention_scores else out

    def compute_mask(self, inputs, mask=None):
        self._validate_inputs(inputs, mask)
        if mask is None or mask[0] is None:
            return None
        return mask[0]

    def _saved_children(self):
        return []  # the dropout holds no weights (Keras saves none under this layer)

    def _validate_inputs(self, inputs, mask=None):
        name = type(self).__name__
        if not isinstance(inputs, list):
            raise ValueError(f"{name} layer must be called on a list of inputs, namely "
                             f"[query, value] or [query, value, key]. Received: "
                             f"inputs={inputs}.")
        if len(inputs) < 2 or len(inputs) > 3:
            raise ValueError(f"{name} layer accepts inputs list of length 2 or 3, namely "
                             f"[query, value] or [query, value, key]. Received length: "
                             f"{len(inputs)}.")
        if mask is not None:
            if not isinstance(mask, list):
                raise ValueError(f"{name} layer mask must be a list, namely [query_mask, "
                                 f"value_mask]. Received: mask={mask}.")
            if len(mask) < 2 or len(mask) > 3:
                raise ValueError(f"{name} layer accepts mask list of length 2 or 3. "
                                 f"Received: inputs={inputs}, mask={mask}.")

    def get_config(self):
        c = super().get_config()
        c.update(use_scale=self.use_scale, score_mode=self.score_mode, dropout=self.dropout,
                 seed=self.seed)
        return c


class AdditiveAttention(Attention):
    """Additive (Bahdanau) attention: scores = sum(scale * tanh(query + key)) over the
    features (``scale``: a trainable vector of the feature size when use_scale)."""

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape):
        self._validate_inputs(input_shape)
        self.scale = None
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(input_shape[0][-1],),
                                         initializer="glorot_uniform")
        self.built = True

    def _calculate_scores(self, query, key):
        t = ops.tanh(ops.add(ops.expand_dims(query, -2), ops.expand_dims(key, -3)))
        if self.use_scale:
            t = ops.multiply(self.scale, t)
        return ops.sum(t, axis=-1)

    def get_config(self):
        c = super().get_config()
        del c["score_mode"]
        return c
