"""Preprocessing layers (Keras 3 semantics): Rescaling and Normalization (with ``adapt``)."""
import math

import numpy as np

from fastkeras import ops
from fastkeras.layers.base import Layer
from fastkeras.ops.tensor import as_array

__all__ = ["Rescaling", "Normalization", "CategoryEncoding", "Discretization", "Hashing",
           "StringLookup", "IntegerLookup"]

_EPSILON = 1e-7  # keras.config.epsilon()


def _number(value, what, layer):
    if isinstance(value, (bool, np.bool_)) or value is None:
        raise TypeError(f"{layer}: `{what}` must be a number or an array of numbers, "
                        f"got {value!r}")
    try:
        arr = np.asarray(as_array(value) if not isinstance(value, (int, float, list, tuple))
                         else value, dtype="float64")
    except (TypeError, ValueError):
        raise TypeError(f"{layer}: `{what}` must be a number or an array of numbers, "
                        f"got {value!r}") from None
    return arr


class Rescaling(Layer):
    """``inputs * scale + offset`` in the layer's compute dtype (integer inputs give
    floats)."""

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        _number(scale, "scale", "Rescaling")
        _number(offset, "offset", "Rescaling")
        self.scale = scale
        self.offset = offset
        self.supports_masking = True

    def call(self, inputs):
        dt = self.compute_dtype
        scale = np.asarray(self.scale, dtype=dt)
        offset = np.asarray(self.offset, dtype=dt)
        return ops.add(ops.multiply(ops.cast(inputs, dt), scale), offset)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        c = super().get_config()
        scale, offset = self.scale, self.offset
        if isinstance(scale, np.ndarray):
            scale = scale.tolist()
        if isinstance(offset, np.ndarray):
            offset = offset.tolist()
        c.update(scale=scale, offset=offset)
        return c


def _first_input(batch):
    """The x of an (x, y) or (x, y, sample_weight) batch."""
    return batch[0] if isinstance(batch, tuple) else batch


class Normalization(Layer):
    """``(inputs - mean) / sqrt(variance)`` per index of ``axis`` (``invert=True``: the
    inverse), with the statistics given or learned by ``adapt(data)``."""

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
            axis = (int(axis),)
        else:
            try:
                axis = tuple(int(a) for a in axis)
            except TypeError:
                raise TypeError(f"Normalization: `axis` must be an int, a tuple of ints or "
                                f"None, got {axis!r}") from None
        self.axis = axis
        self.input_mean = mean
        self.input_variance = variance
        self.invert = bool(invert)
        self.supports_masking = True
        self._build_input_shape = None
        self.mean = None
        if (mean is not None) != (variance is not None):
            raise ValueError("When setting values directly, both `mean` and `variance` must "
                             f"be set. Received: mean={mean} and variance={variance}")
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError("When setting values directly, `mean` and `variance` must "
                                 f"have the same shape. Received: mean shape "
                                 f"{np.shape(mean)} and variance shape {np.shape(variance)}")
            if len(np.shape(mean)) > len(self.axis):
                raise ValueError(f"The rank of `mean` must be less than or equal to the number "
                                 f"of axes ({len(self.axis)}). Received: mean shape "
                                 f"{np.shape(mean)} for axis {self.axis}")

    def build(self, input_shape):
        if input_shape is None:
            return
        input_shape = tuple(None if s is None else int(s) for s in input_shape)
        nd = len(input_shape)
        self._build_input_shape = input_shape
        if any(a < -nd or a >= nd for a in self.axis):
            raise ValueError(f"All `axis` values must be in the range [-ndim, ndim). Received "
                             f"inputs with ndim={nd}, while axis={self.axis}")
        self._keep_axis = tuple(sorted(a % nd for a in self.axis))
        for d in self._keep_axis:
            if input_shape[d] is None:
                raise ValueError(f"All `axis` values to be kept must have a known shape. "
                                 f"Received axis={self.axis}, inputs.shape={input_shape}, "
                                 f"with unknown axis at index {d}")
        self._reduce_axis = tuple(d for d in range(nd) if d not in self._keep_axis)
        self._broadcast_shape = tuple(input_shape[d] if d in self._keep_axis else 1
                                      for d in range(nd))
        self._mean_and_var_shape = tuple(input_shape[d] for d in self._keep_axis)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(name="mean", shape=self._mean_and_var_shape,
                                              initializer="zeros", trainable=False)
            self.adapt_variance = self.add_weight(name="variance",
                                                  shape=self._mean_and_var_shape,
                                                  initializer="ones", trainable=False)
            self.count = self.add_weight(name="count", shape=(), dtype="int64",
                                         initializer="zeros", trainable=False)
            self.mean = self.adapt_mean
        else:
            shape = self._broadcast_shape
            mean = np.asarray(self.input_mean, dtype="float64")
            var = np.asarray(self.input_variance, dtype="float64")
            if mean.ndim:
                expanded = [1] * nd
                for i in range(1, mean.ndim + 1):
                    expanded[self._keep_axis[-i]] = mean.shape[-i]
                mean, var = mean.reshape(expanded), var.reshape(expanded)
            try:
                mean = np.broadcast_to(mean, shape)
                var = np.broadcast_to(var, shape)
            except ValueError:
                raise ValueError(f"Normalization: `mean`/`variance` of shape "
                                 f"{np.shape(self.input_mean)} cannot be broadcast to "
                                 f"{shape}") from None
            self._fixed = (mean.astype(self.compute_dtype), var.astype(self.compute_dtype))
            self.mean = self._fixed[0]
        self.built = True

    def _stats(self):
        if self.input_mean is not None:
            return self._fixed
        dt = self.compute_dtype
        mean = np.asarray(self.adapt_mean.numpy(), dtype=dt).reshape(self._broadcast_shape)
        var = np.asarray(self.adapt_variance.numpy(), dtype=dt).reshape(self._broadcast_shape)
        return mean, var

    def adapt(self, data):
        """Compute the mean and variance of ``data``: a NumPy array (or tensor), a
        ``keras.utils.PyDataset``/``Sequence``, or an iterable of batches (a list of arrays,
        a generator; (x, y) batches use x)."""
        from fastkeras.ops.tensor import Tensor

        iterable = False
        if isinstance(data, (np.ndarray, Tensor)):
            data = np.asarray(as_array(data))
            input_shape = data.shape
        elif hasattr(data, "__getitem__") and hasattr(data, "__len__") and \
                hasattr(data, "on_epoch_end"):  # PyDataset / Sequence
            batches = [data[i] for i in range(len(data))]
            if not batches:
                raise ValueError("adapt() received an empty dataset (no batches).")
            input_shape = np.shape(as_array(_first_input(batches[0])))
            data, iterable = batches, True
        elif hasattr(data, "__iter__"):
            it = iter(data)
            first = next(it, None)
            if first is None:
                raise ValueError("adapt() received an empty iterable (no batches). Expected "
                                 "at least one batch. Pass a non-empty iterable of arrays or "
                                 "tensors, e.g. layer.adapt([x]) or layer.adapt(list_of_batches).")
            first = _first_input(first)
            if getattr(first, "shape", None) is None:
                raise TypeError("adapt() expects an iterable that yields arrays or tensors "
                                "with a `.shape` attribute (e.g. numpy arrays or backend "
                                f"tensors). Got an element of type {type(first).__name__}.")
            input_shape = tuple(first.shape)

            def chain():
                yield first
                yield from it
            data, iterable = chain(), True
        else:
            raise TypeError(f"Unsupported data type: {type(data)}. `adapt` supports "
                            "`np.ndarray`, tensors, `keras.utils.PyDataset`, and iterables of "
                            "batches (e.g. list, generator).")
        input_shape = tuple(int(s) for s in input_shape)
        if not self.built:
            self.build(input_shape)
        else:
            for d in self._keep_axis:
                if input_shape[d] != self._build_input_shape[d]:
                    raise ValueError(f"The layer was built with input_shape="
                                     f"{self._build_input_shape}, but adapt() is being called "
                                     f"with data with an incompatible shape, data.shape="
                                     f"{input_shape}")
        if self.input_mean is not None:
            raise ValueError("Normalization: adapt() cannot be used when `mean` and "
                             "`variance` were given")
        if not iterable:
            total_mean = np.mean(data, axis=self._reduce_axis)
            total_var = np.var(data, axis=self._reduce_axis)
        else:
            dt = self.compute_dtype
            total_mean = np.zeros(self._mean_and_var_shape, dt)
            total_var = np.zeros(self._mean_and_var_shape, dt)
            total = 0
            for batch in data:
                batch = np.asarray(as_array(_first_input(batch)), dtype=dt)
                for d in self._keep_axis:
                    if batch.shape[d] != self._build_input_shape[d]:
                        raise ValueError(f"adapt() yielded a batch with incompatible shape. "
                                         f"Expected {self._build_input_shape}, got "
                                         f"{tuple(batch.shape)}.")
                b_mean = np.mean(batch, axis=self._reduce_axis)
                b_var = np.var(batch, axis=self._reduce_axis)
                n = math.prod(batch.shape[d] for d in self._reduce_axis) \
                    if self._reduce_axis else 1
                total += n
                w = np.asarray(float(n) / total, dt)
                w0 = np.asarray(1.0, dt) - w
                new_mean = total_mean * w0 + b_mean * w
                total_var = (total_var + (total_mean - new_mean) ** 2) * w0 + \
                    (b_var + (b_mean - new_mean) ** 2) * w
                total_mean = new_mean
        self.adapt_mean.assign(np.asarray(total_mean, self.adapt_mean.numpy().dtype))
        self.adapt_variance.assign(np.asarray(total_var, self.adapt_variance.numpy().dtype))

    def finalize_state(self):
        """Kept for Keras API compatibility (the statistics are read at call time)."""

    def call(self, inputs):
        if self.mean is None:
            raise ValueError("You must call `.build(input_shape)` on the layer before using it.")
        x = ops.cast(inputs, self.compute_dtype)
        mean, var = self._stats()
        std = np.maximum(np.sqrt(var), np.asarray(_EPSILON, var.dtype))
        if self.invert:
            return ops.add(mean, ops.multiply(x, std))
        return ops.divide(ops.subtract(x, mean), std)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        c = super().get_config()
        c.update(axis=self.axis, invert=self.invert,
                 mean=np.array(self.input_mean).tolist(),
                 variance=np.array(self.input_variance).tolist())
        return c

    def get_build_config(self):
        if self._build_input_shape:
            return {"input_shape": self._build_input_shape}

    def build_from_config(self, config):
        if config:
            self.build(config["input_shape"])


# ---------------------------------------------------------------- categorical encodings
_MODES = ("one_hot", "multi_hot", "count")


def _encode(ids, mode, depth, dtype, count_weights=None, what="CategoryEncoding"):
    """One-hot / multi-hot / count encoding of integer ids over the last axis (Keras'
    rules: a scalar is one sample; one_hot drops a trailing axis of size 1; ids outside
    ``[0, depth)`` are left out)."""
    ids = np.asarray(ids)
    if ids.ndim == 0:
        ids = ids[None]
    if mode == "one_hot":
        if ids.ndim > 1 and ids.shape[-1] == 1:
            ids = ids[..., 0]
        out = (ids[..., None] == np.arange(depth)).astype(dtype)
        return out
    if (ids < 0).any():
        raise ValueError(f"{what}: inputs must be non-negative (ids in [0, num_tokens)), "
                         f"got {int(ids.min())}")
    flat = ids.reshape(-1, ids.shape[-1])
    out = np.zeros((flat.shape[0], depth), dtype="float64")
    rows = np.repeat(np.arange(flat.shape[0]), flat.shape[1])
    cols = flat.reshape(-1)
    keep = cols < depth
    if mode == "multi_hot":
        out[rows[keep], cols[keep]] = 1
    else:
        w = np.ones(cols.shape) if count_weights is None else \
            np.broadcast_to(np.asarray(count_weights, "float64"), ids.shape).reshape(-1)
        np.add.at(out, (rows[keep], cols[keep]), w[keep])
    return out.reshape(ids.shape[:-1] + (depth,)).astype(dtype)


def _encoded_shape(input_shape, mode, depth):
    input_shape = tuple(input_shape)
    if not input_shape:
        return (depth,)
    if mode == "one_hot" and (input_shape[-1] != 1 or len(input_shape) == 1):
        return input_shape + (depth,)
    return input_shape[:-1] + (depth,)


class CategoryEncoding(Layer):
    """Encode integer ids in ``[0, num_tokens)`` as one-hot, multi-hot or count vectors."""

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode not in _MODES:
            raise ValueError(f"Unknown arg for output_mode: {output_mode}")
        if num_tokens is None:
            raise ValueError("num_tokens must be set to use this layer. If the number of "
                             "tokens is not known beforehand, use the IntegerLookup layer "
                             "instead.")
        if num_tokens < 1:
            raise ValueError(f"`num_tokens` must be >= 1. Received: num_tokens={num_tokens}.")
        if sparse:
            raise ValueError("CategoryEncoding: `sparse=True` is not supported by fastkeras "
                             "(no sparse tensors); use sparse=False")
        self.num_tokens = int(num_tokens)
        self.output_mode = output_mode
        self.sparse = False

    def call(self, inputs, count_weights=None):
        if count_weights is not None:
            if self.output_mode != "count":
                raise ValueError("`count_weights` is not used when `output_mode` is not "
                                 f"`'count'`. Received `count_weights={count_weights}`.")
            count_weights = np.asarray(as_array(count_weights))
        ids = np.asarray(as_array(inputs))
        from fastkeras.ops.tensor import Tensor
        return Tensor(_encode(ids, self.output_mode, self.num_tokens, self.compute_dtype,
                              count_weights))

    def compute_output_shape(self, input_shape):
        return _encoded_shape(input_shape, self.output_mode, self.num_tokens)

    def get_config(self):
        c = super().get_config()
        c.update(num_tokens=self.num_tokens, output_mode=self.output_mode)
        return c


# ---------------------------------------------------------------- StringLookup / IntegerLookup
class _IndexLookup(Layer):
    """Map tokens to indices through a vocabulary (given, or learned by ``adapt``): layout
    ``[mask] + [oov] * num_oov_indices + tokens`` (the mask slot only in ``"int"`` mode)."""
    _string_inputs = True

    _string = True

    def __init__(self, max_tokens, num_oov_indices, mask_token, oov_token, vocabulary=None,
                 idf_weights=None, invert=False, output_mode="int", sparse=False,
                 pad_to_max_tokens=False, oov_method="floormod", salt=None, **kwargs):
        cls = type(self).__name__
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError(f"If set, `max_tokens` must be greater than 1. Received: "
                             f"max_tokens={max_tokens}")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"If pad_to_max_tokens is True, must set `max_tokens`. "
                             f"Received: max_tokens={max_tokens}")
        if num_oov_indices < 0:
            raise ValueError(f"`num_oov_indices` must be greater than or equal to 0. "
                             f"Received: num_oov_indices={num_oov_indices}")
        if oov_method not in ("floormod", "farmhash"):
            raise ValueError(f"{cls}: `oov_method` must be 'floormod' or 'farmhash', "
                             f"got {oov_method!r}")
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode == "tf-idf":
            output_mode = "tf_idf"
        if output_mode not in ("int", "one_hot", "multi_hot", "count", "tf_idf"):
            raise ValueError(f"{cls}: `output_mode` must be one of 'int', 'one_hot', "
                             f"'multi_hot', 'count', 'tf_idf'; got {output_mode!r}")
        if invert and output_mode != "int":
            raise ValueError(f"`output_mode` must be `'int'` when `invert` is true. "
                             f"Received: output_mode={output_mode}")
        if sparse:
            raise ValueError(f"{cls}: `sparse=True` is not supported by fastkeras (no sparse "
                             "tensors); use sparse=False")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(f"`idf_weights` should only be set if `output_mode` is "
                             f"`'tf_idf'`. Received: idf_weights={idf_weights} and "
                             f"output_mode={output_mode}")
        frozen = kwargs.pop("vocabulary_size", None)
        has_vocab = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        kwargs.pop("vocabulary_dtype", None)
        kwargs.pop("encoding", None)
        super().__init__(**kwargs)
        self.invert = bool(invert)
        self.max_tokens = max_tokens
        self.num_oov_indices = int(num_oov_indices)
        self.mask_token = mask_token
        self.oov_token = oov_token
        self.output_mode = output_mode
        self.sparse = False
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self.oov_method = oov_method
        self.salt = salt
        self._frozen_vocab_size = frozen
        self.input_vocabulary = vocabulary if not isinstance(vocabulary, str) else None
        self.input_idf_weights = idf_weights
        self._has_input_vocabulary = has_vocab
        self._tokens = []
        self._index = {}
        self._counts = {}
        self.idf_weights = None
        if output_mode == "tf_idf" and has_vocab and idf_weights is None:
            raise ValueError("When specifying the `vocabulary` argument, in TF-IDF output "
                             "mode, the `idf_weights` argument must also be provided.")
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        self.built = True

    # layout
    def _oov_start_index(self):
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self):
        return self._oov_start_index() + self.num_oov_indices

    def vocabulary_size(self):
        return len(self._tokens) + self._token_start_index()

    def get_vocabulary(self, include_special_tokens=True):
        vocab = [self.oov_token] * self._token_start_index() + list(self._tokens)
        if self.mask_token is not None and self.output_mode == "int":
            vocab[0] = self.mask_token
        if not include_special_tokens:
            vocab = vocab[self._token_start_index():]
        return vocab

    def _token(self, t):
        if self._string:
            return t.decode("utf-8") if isinstance(t, bytes) else str(t)
        return int(t)

    def set_vocabulary(self, vocabulary, idf_weights=None):
        from fastkeras.saving.serialization_lib import in_safe_mode

        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError("`idf_weights` must be set if output_mode is 'tf_idf'.")
        elif idf_weights is not None:
            raise ValueError(f"`idf_weights` should only be set if output_mode is `'tf_idf'`. "
                             f"Received: output_mode={self.output_mode} and "
                             f"idf_weights={idf_weights}")
        if isinstance(vocabulary, str):
            if in_safe_mode():
                raise ValueError(
                    "Requested the loading of a vocabulary file outside of the model archive. "
                    "This carries a potential risk of loading arbitrary and sensitive files "
                    "and thus it is disallowed by default (safe_mode=True). Vocabulary file: "
                    f"'{vocabulary}'")
            import os
            if not os.path.isfile(vocabulary):
                raise ValueError(f"Vocabulary file {vocabulary} does not exist.")
            if self.output_mode == "tf_idf":
                raise ValueError("output_mode `'tf_idf'` does not support loading a "
                                 "vocabulary from file.")
            with open(vocabulary, encoding="utf-8") as f:
                lines = f.read().splitlines()
            while lines and lines[-1] == "":
                lines.pop()
            vocabulary = lines
        vocabulary = [self._token(t) for t in np.asarray(as_array(vocabulary)
                                                          if not isinstance(vocabulary, list)
                                                          else np.asarray(vocabulary,
                                                                          dtype=object)
                                                          ).reshape(-1)]
        if not vocabulary:
            raise ValueError(f"Cannot set an empty vocabulary. Received: vocabulary="
                             f"{vocabulary}")
        start = self._token_start_index()
        special = [self.mask_token] * self._oov_start_index() + \
            [self.oov_token] * self.num_oov_indices
        found_special = vocabulary[:start] == special
        tokens = vocabulary[start:] if found_special else vocabulary
        seen, repeated = set(), []
        for t in tokens:
            if t in seen and t not in repeated:
                repeated.append(t)
            seen.add(t)
        if repeated:
            raise ValueError("The passed vocabulary has at least one repeated term. Please "
                             f"uniquify your dataset. The repeated terms are: {repeated}")
        if self.mask_token is not None and self.mask_token in tokens:
            raise ValueError(f"Found reserved mask token at unexpected location in "
                             f"`vocabulary`. Either remove all mask and OOV tokens, or include "
                             f"them only at the start of the vocabulary in precisely this "
                             f"order: {special}. Received: mask_token={self.mask_token}")
        if self.oov_token is not None and self.invert and self.oov_token in tokens:
            raise ValueError(f"Found reserved OOV token at unexpected location in "
                             f"`vocabulary`. Either remove all mask and OOV tokens, or include "
                             f"them only at the start of the vocabulary in precisely this "
                             f"order: {special}. Received: oov_token={self.oov_token}")
        if self.max_tokens is not None and start + len(tokens) > self.max_tokens:
            raise ValueError(f"Attempted to set a vocabulary larger than the maximum vocab "
                             f"size. Received vocabulary size is {start + len(tokens)}; "
                             f"`max_tokens` is {self.max_tokens}.")
        self._set_tokens(tokens)
        if self.output_mode == "tf_idf":
            idf = np.asarray(as_array(idf_weights) if not isinstance(idf_weights, (list, tuple))
                             else idf_weights, dtype="float64")
            if len(vocabulary) != len(idf):
                raise ValueError(f"`idf_weights` must be the same length as vocabulary. "
                                 f"len(idf_weights) is {len(idf)}; len(vocabulary) is "
                                 f"{len(vocabulary)}")
            if idf.ndim != 1:
                raise ValueError("TF-IDF data must be a 1-index array.")
            front = 0 if found_special else start
            idf = np.concatenate([np.full(front, np.average(idf)), idf])
            if self.pad_to_max_tokens and self.max_tokens is not None:
                idf = np.concatenate([idf, np.zeros(self.max_tokens - len(idf))])
            self.idf_weights = idf.astype(self.compute_dtype)

    def _set_tokens(self, tokens):
        self._tokens = list(tokens)
        start = self._token_start_index()
        self._index = {t: i + start for i, t in enumerate(self._tokens)}
        self._frozen_vocab_size = self.vocabulary_size()

    # adapt
    def adapt(self, data, steps=None):
        """Learn the vocabulary from ``data`` (an array, or an iterable of batches): tokens
        by decreasing frequency (ties: the larger token first), at most ``max_tokens``."""
        if self._has_input_vocabulary:
            raise ValueError(f"Cannot adapt layer '{self.name}' after setting a static "
                             "vocabulary via `vocabulary` argument or `set_vocabulary()` "
                             "method.")
        from fastkeras.ops.tensor import Tensor
        if isinstance(data, (np.ndarray, Tensor, list, tuple, str, bytes)):
            batches = [np.asarray(as_array(data)) if not isinstance(data, (list, tuple))
                       else np.asarray(data)]
        elif hasattr(data, "__getitem__") and hasattr(data, "__len__"):  # PyDataset
            batches = (data[i] for i in range(len(data)))
        elif hasattr(data, "__iter__"):
            batches = data
        else:
            raise TypeError(f"{type(self).__name__}.adapt: unsupported data type "
                            f"{type(data)}: pass an array, a list, or an iterable of batches")
        counts, docs, n_docs = {}, {}, 0
        for k, batch in enumerate(batches):
            if steps is not None and k >= steps:
                break
            batch = _first_input(batch)
            arr = np.asarray(batch) if isinstance(batch, (list, np.ndarray)) else \
                np.asarray(as_array(batch))
            if arr.ndim < 2:
                arr = arr.reshape(1, -1)
            for t in arr.reshape(-1).tolist():
                t = self._token(t)
                counts[t] = counts.get(t, 0) + 1
            if self.output_mode == "tf_idf":
                for row in arr.reshape(arr.shape[0], -1):
                    for t in {self._token(t) for t in row.tolist()}:
                        docs[t] = docs.get(t, 0) + 1
                n_docs += arr.shape[0]
        for special in (self.mask_token, self.oov_token):
            if special is not None:
                counts.pop(special, None)
        order = sorted(counts, key=lambda t: (counts[t], t), reverse=True)
        if self.max_tokens:
            order = order[:self.max_tokens - self._token_start_index()]
        self._set_tokens(order)
        if self.output_mode == "tf_idf":
            d = np.array([docs[t] for t in order], dtype="float64")
            idf = np.log(1 + n_docs / (1 + d))
            idf = np.concatenate([np.full(self._token_start_index(),
                                          idf.mean() if len(idf) else 0.0), idf])
            if self.pad_to_max_tokens and self.max_tokens is not None:
                idf = np.concatenate([idf, np.zeros(self.max_tokens - len(idf))])
            self.idf_weights = idf.astype(self.compute_dtype)

    def finalize_state(self):
        """Kept for Keras API compatibility (adapt finalises the vocabulary itself)."""

    # call
    def _convert(self, x):
        if isinstance(x, np.ndarray) and x.dtype.kind in "USO":
            return x
        if isinstance(x, (list, tuple, str, bytes)):
            return np.asarray(x)
        return super()._convert(x)

    def _lookup(self, arr):
        flat = arr.reshape(-1).tolist()
        mask_value = 0 if self.output_mode == "int" else np.iinfo("int64").max
        start = self._oov_start_index()
        out = np.empty(len(flat), dtype="int64")
        missing = []
        for i, t in enumerate(flat):
            t = self._token(t)
            if self.mask_token is not None and t == self.mask_token:
                out[i] = mask_value
                continue
            j = self._index.get(t)
            if j is None:
                if self.num_oov_indices == 0:
                    missing.append(t)
                    j = -1
                elif self.num_oov_indices == 1:
                    j = start
                else:
                    j = start + self._oov_bucket(t)
            out[i] = j
        if missing:
            raise ValueError(f"{type(self).__name__} {self.name!r}: when `num_oov_indices=0` "
                             f"all inputs should be in vocabulary, found OOV values: "
                             f"{missing[:10]}")
        return out.reshape(arr.shape)

    def _oov_bucket(self, t):
        raise NotImplementedError

    def call(self, inputs):
        from fastkeras.ops.tensor import Tensor

        arr = np.asarray(as_array(inputs)) if not isinstance(inputs, np.ndarray) else inputs
        scalar = arr.ndim == 0
        if scalar:
            arr = arr[None]
        if self.invert:
            vocab = self.get_vocabulary()
            flat = [int(i) for i in arr.reshape(-1).tolist()]
            out = [vocab[i] if 0 <= i < len(vocab) else self.oov_token for i in flat]
            if self.mask_token is not None:
                out = [self.mask_token if i == 0 else o for i, o in zip(flat, out)]
            res = np.array(out, dtype=object if self._string else "int64").reshape(arr.shape)
            if self._string:
                res = res.astype(str)
            return Tensor(res[0] if scalar else res) if not self._string else \
                (res[0] if scalar else res)
        ids = self._lookup(arr)
        if self.output_mode == "int":
            return Tensor(ids[0] if scalar else ids)
        depth = self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()
        if self.output_mode == "tf_idf":
            out = _encode(ids, "count", depth, self.compute_dtype, what=type(self).__name__)
            return Tensor((out * self.idf_weights).astype(self.compute_dtype))
        return Tensor(_encode(ids, self.output_mode, depth, "int64",
                              what=type(self).__name__))

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        depth = self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size
        return _encoded_shape(input_shape, self.output_mode, depth)

    def get_config(self):
        c = super().get_config()
        listify = (lambda v: v.tolist() if isinstance(v, np.ndarray) else
                   list(v) if isinstance(v, tuple) else v)
        c.update(invert=self.invert, max_tokens=self.max_tokens,
                 num_oov_indices=self.num_oov_indices, oov_token=self.oov_token,
                 mask_token=self.mask_token, output_mode=self.output_mode, sparse=self.sparse,
                 pad_to_max_tokens=self.pad_to_max_tokens)
        c.update(self._dtype_config())
        c.update(idf_weights=listify(self.input_idf_weights),
                 vocabulary=listify(self.input_vocabulary),
                 vocabulary_size=self._frozen_vocab_size, oov_method=self.oov_method,
                 salt=self.salt)
        return c

    def _dtype_config(self):
        return {}

    # assets: the learned (or file) vocabulary lives in the archive, as Keras stores it
    def save_assets(self, dir_path):
        import os
        if self.input_vocabulary is not None:
            return
        with open(os.path.join(dir_path, "vocabulary.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(str(w) for w in self.get_vocabulary(include_special_tokens=True)))

    def load_assets(self, dir_path):
        import os
        if self.input_vocabulary is not None:
            return
        path = os.path.join(dir_path, "vocabulary.txt")
        if not os.path.isfile(path):
            return
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        while lines and lines[-1] == "":
            lines.pop()
        if not lines:
            return
        values = [self._token(v) for v in lines] if self._string else [int(v) for v in lines]
        self.set_vocabulary(values, idf_weights=self.idf_weights
                            if self.output_mode == "tf_idf" else None)

    def save_own_variables(self, store):
        if self.output_mode == "tf_idf" and self.idf_weights is not None:
            store["idf_weights"] = np.asarray(self.idf_weights)


class StringLookup(_IndexLookup):
    """Map strings to integer indices (or back, with ``invert=True``)."""

    _string = True

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]",
                 vocabulary=None, idf_weights=None, invert=False, output_mode="int",
                 pad_to_max_tokens=False, sparse=False, encoding="utf-8", name=None, **kwargs):
        if encoding not in ("utf-8", "utf8"):
            raise ValueError(f"StringLookup: only `encoding='utf-8'` is supported, got "
                             f"{encoding!r}")
        self.encoding = encoding
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                         mask_token=mask_token, oov_token=oov_token, vocabulary=vocabulary,
                         idf_weights=idf_weights, invert=invert, output_mode=output_mode,
                         pad_to_max_tokens=pad_to_max_tokens, sparse=sparse, name=name,
                         **kwargs)

    def _oov_bucket(self, t):
        raise NotImplementedError(
            "StringLookup: `num_oov_indices > 1` hashes strings with TensorFlow's FarmHash "
            "fingerprint, which fastkeras does not implement; use num_oov_indices=0 or 1")

    def get_config(self):
        c = super().get_config()
        c["encoding"] = self.encoding
        return c


class IntegerLookup(_IndexLookup):
    """Map integers to contiguous indices (or back, with ``invert=True``)."""

    _string = False

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1,
                 output_mode="int", sparse=False, vocabulary=None, vocabulary_dtype="int64",
                 idf_weights=None, invert=False, name=None, **kwargs):
        if vocabulary_dtype != "int64":
            raise ValueError(f"When using `IntegerLookup`, `vocabulary_dtype` must be int64. "
                             f"Received: vocabulary_dtype={vocabulary_dtype}")
        self.vocabulary_dtype = "int64"
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                         mask_token=mask_token, oov_token=oov_token, vocabulary=vocabulary,
                         idf_weights=idf_weights, invert=invert, output_mode=output_mode,
                         sparse=sparse, name=name, **kwargs)

    def _oov_bucket(self, t):
        if self.oov_method == "farmhash":
            raise NotImplementedError("IntegerLookup: oov_method='farmhash' (TensorFlow's "
                                      "FarmHash) is not implemented by fastkeras; use "
                                      "'floormod'")
        return t % self.num_oov_indices

    def _dtype_config(self):
        return {"vocabulary_dtype": "int64"}


# ---------------------------------------------------------------- Discretization
def _quantile_summary(values, epsilon):
    """Sorted values taken every ~``len * epsilon`` places, each weighing its stride (the
    mergeable summary Keras' Discretization.adapt keeps)."""
    v = np.sort(np.reshape(values, -1))
    stride = max(v.size * epsilon, 1)
    picked = v[int(stride - 1)::int(stride)]
    return np.stack([picked, np.full(picked.shape, stride, dtype=picked.dtype)])


def _compress(summary, epsilon):
    """Resample a summary at the quantiles epsilon, 2 epsilon, ... (if it has that many
    points)."""
    if summary.shape[1] * epsilon < 1:
        return summary
    q = np.arange(0.0, 1.0, epsilon) + epsilon
    cum = np.cumsum(summary[1])
    at = cum / cum[-1]
    values = np.interp(q, at, summary[0])
    cum_q = np.interp(q, at, cum)
    weights = np.diff(np.concatenate([[0.0], cum_q]))
    return np.stack([values, weights]).astype("float32")


def _merge(a, b, epsilon):
    both = np.concatenate([a, b], axis=1)
    return _compress(both[:, np.argsort(both[0], kind="quicksort")], epsilon)


class Discretization(Layer):
    """Bucket continuous values by ``bin_boundaries`` (given, or quantiles learned by
    ``adapt`` for ``num_bins`` bins); ``output_mode`` "int" (int32 bucket ids), "one_hot",
    "multi_hot" or "count"."""

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon=0.01, output_mode="int",
                 sparse=False, dtype=None, name=None, **kwargs):
        kwargs.pop("trainable", None)
        super().__init__(name=name, dtype=dtype, **kwargs)
        if sparse:
            raise ValueError("Discretization: `sparse=True` is not supported by fastkeras (no "
                             "sparse tensors); use sparse=False")
        if output_mode not in ("int",) + _MODES:
            raise ValueError(f"Discretization: `output_mode` must be one of 'int', 'one_hot', "
                             f"'multi_hot', 'count'; got {output_mode!r}")
        if num_bins is not None and num_bins < 0:
            raise ValueError(f"`num_bins` must be greater than or equal to 0. Received: "
                             f"`num_bins={num_bins}`")
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError(f"Both `num_bins` and `bin_boundaries` should not be set. "
                             f"Received: `num_bins={num_bins}` and `bin_boundaries="
                             f"{bin_boundaries}`")
        if num_bins is None and bin_boundaries is None:
            raise ValueError("You need to set either `num_bins` or `bin_boundaries`.")
        self.bin_boundaries = list(bin_boundaries) if bin_boundaries is not None else None
        self.num_bins = num_bins
        self.epsilon = epsilon
        self.output_mode = output_mode
        self.sparse = False
        self.summary = None if self.bin_boundaries else np.array([[], []], dtype="float32")
        self.built = True

    @property
    def output_dtype(self):
        return self.compute_dtype if self.output_mode != "int" else "int32"

    def adapt(self, data, steps=None):
        """Learn ``num_bins - 1`` boundaries from the quantiles of ``data`` (an array, or
        an iterable of batches)."""
        from fastkeras.ops.tensor import Tensor

        if self.num_bins is None:
            raise ValueError("Cannot adapt a Discretization layer that has been initialized "
                             "with `bin_boundaries`, use `num_bins` instead.")
        self.reset_state()
        if isinstance(data, (np.ndarray, Tensor)) or not hasattr(data, "__iter__"):
            self.update_state(data)
        else:
            for i, batch in enumerate(data):
                if steps is not None and i >= steps:
                    break
                self.update_state(batch)
        self.finalize_state()

    def update_state(self, data):
        data = np.array(as_array(data) if not isinstance(data, (list, np.ndarray)) else data
                        ).astype("float32")
        self.summary = _merge(_quantile_summary(data, self.epsilon), self.summary,
                              self.epsilon)

    def finalize_state(self):
        if self.num_bins is None:
            return
        self.bin_boundaries = _compress(self.summary, 1.0 / self.num_bins)[0, :-1].tolist()

    def reset_state(self):
        if self.num_bins is None:
            return
        self.summary = np.array([[], []], dtype="float32")

    def call(self, inputs):
        from fastkeras.ops.tensor import Tensor

        if self.bin_boundaries is None:
            raise ValueError("You need to either pass the `bin_boundaries` argument at "
                             "construction time or call `adapt(dataset)` before you can start "
                             "using the `Discretization` layer.")
        x = np.asarray(as_array(inputs))
        ids = np.searchsorted(np.asarray(self.bin_boundaries, dtype=x.dtype
                                         if x.dtype.kind == "f" else "float64"),
                              x, side="right")
        if self.output_mode == "int":
            return Tensor(ids.astype("int32"))
        return Tensor(_encode(ids, self.output_mode, len(self.bin_boundaries) + 1,
                              self.output_dtype, what="Discretization"))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if self.output_mode == "int":
            return input_shape
        depth = len(self.bin_boundaries) + 1 if self.bin_boundaries is not None \
            else self.num_bins
        if self.output_mode == "one_hot":
            if input_shape and input_shape[-1] == 1 and len(input_shape) > 1:
                return input_shape[:-1] + (depth,)
            return input_shape + (depth,)
        if len(input_shape) >= 2:
            return (input_shape[0],) + input_shape[2:] + (depth,)
        return (depth,)

    def get_config(self):
        c = super().get_config()
        c.pop("trainable", None)
        c.update(bin_boundaries=self.bin_boundaries, num_bins=self.num_bins,
                 epsilon=self.epsilon, output_mode=self.output_mode, sparse=self.sparse)
        return c

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if config.get("bin_boundaries") is not None and config.get("num_bins") is not None:
            boundaries = config.pop("bin_boundaries")
            layer = cls(**config)
            layer.bin_boundaries = list(boundaries)
            return layer
        return cls(**config)


# ---------------------------------------------------------------- Hashing
class Hashing(Layer):
    """Hash strings or integers into ``num_bins`` bins (bin 0 kept for ``mask_value`` when
    it is set).

    Deliberate difference: Keras hashes with TensorFlow's FarmHash Fingerprint64
    (``salt``: SipHash); fastkeras uses BLAKE2b (8-byte digest, keyed by ``salt``), so the
    bin a value lands in differs from tf.keras (the same on every run and machine)."""
    _string_inputs = True

    def __init__(self, num_bins, mask_value=None, salt=None, output_mode="int", sparse=False,
                 **kwargs):
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "int64" if output_mode == "int" else "float32"
        super().__init__(**kwargs)
        if num_bins is None or num_bins <= 0:
            raise ValueError(f"The `num_bins` for `Hashing` cannot be `None` or non-positive "
                             f"values. Received: num_bins={num_bins}.")
        if output_mode == "int" and self.dtype not in ("int32", "int64"):
            raise ValueError(f'When `output_mode="int"`, `dtype` should be an integer type, '
                             f"'int32' or 'in64'. Received: dtype={kwargs['dtype']}")
        modes = ("int", "one_hot", "multi_hot", "count")
        if output_mode not in modes:
            raise ValueError(f"Invalid value for argument `output_mode`. Expected one of "
                             f"{modes}. Received: output_mode={output_mode}")
        if sparse:
            raise ValueError("Hashing: `sparse=True` is not supported by fastkeras (no sparse "
                             "tensors); use sparse=False")
        self.num_bins = int(num_bins)
        self.mask_value = mask_value
        self.strong_hash = salt is not None
        self.output_mode = output_mode
        self.sparse = False
        self.salt = None
        if salt is not None:
            if isinstance(salt, (tuple, list)) and len(salt) == 2:
                self.salt = [int(s) for s in salt]
            elif isinstance(salt, int) and not isinstance(salt, bool):
                self.salt = [salt, salt]
            else:
                raise ValueError(f"The `salt` argument for `Hashing` can only be a tuple of "
                                 f"size 2 integers, or a single integer. Received: salt={salt}.")
        self.built = True

    def _convert(self, x):
        if isinstance(x, np.ndarray) and x.dtype.kind in "USO":
            return x
        if isinstance(x, (list, tuple, str, bytes)):
            return np.asarray(x)
        if isinstance(x, np.ndarray) and x.dtype.kind == "f":
            return np.asarray(x)  # hashed as int64 (call casts), not cast to the layer dtype
        return super()._convert(x)

    def _bins(self, values):
        import hashlib

        bins = self.num_bins
        masked = None
        if self.mask_value is not None and bins > 1:
            bins -= 1
            masked = values == self.mask_value
        if values.dtype.kind == "f":
            values = values.astype("int64")
        key = b"" if self.salt is None else \
            b"".join(int(s & ((1 << 64) - 1)).to_bytes(8, "little") for s in self.salt)
        out = np.empty(values.size, dtype="int64")
        for i, v in enumerate(values.reshape(-1).tolist()):
            data = v if isinstance(v, bytes) else str(v).encode("utf-8")
            digest = hashlib.blake2b(data, digest_size=8, key=key).digest()
            out[i] = int.from_bytes(digest, "little") % bins
        out = out.reshape(values.shape)
        if masked is not None:
            out = np.where(masked, 0, out + 1)
        return out

    def call(self, inputs):
        from fastkeras.ops.tensor import Tensor

        x = np.asarray(inputs) if isinstance(inputs, np.ndarray) else np.asarray(as_array(inputs))
        if self.output_mode == "one_hot" and x.ndim and x.shape[-1] == 1:
            x = x[..., 0]
        ids = self._bins(x)
        if self.output_mode == "int":
            return Tensor(ids.astype(self.dtype))
        return Tensor(_encode(ids, self.output_mode, self.num_bins, self.dtype, what="Hashing"))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if self.output_mode == "int":
            return input_shape
        if not input_shape:
            return (self.num_bins,)
        return input_shape[:-1] + (self.num_bins,)

    def get_config(self):
        c = super().get_config()
        c.update(num_bins=self.num_bins, salt=self.salt, mask_value=self.mask_value,
                 output_mode=self.output_mode, sparse=self.sparse)
        return c
