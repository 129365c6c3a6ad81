"""keras.layers.TextVectorization: raw strings -> standardized -> split -> ngrams -> token
ids (or multi-hot / count / TF-IDF vectors) through a StringLookup.

Strings are processed in Python on NumPy object arrays, as Keras' non-TensorFlow backends
do; the vocabulary, its order and the encodings are StringLookup's (``layers/preprocessing``).
The text rules are TensorFlow's ops, as tf.keras runs them:

- ``tf.strings.lower`` (no ``encoding``) lowercases ASCII letters only ("ÉCOLE" -> "École");
- the punctuation class of Keras' DEFAULT_STRIP_REGEX is exactly ``string.punctuation``
  (32 ASCII characters; non-ASCII punctuation such as "«" or "…" stays);
- ``tf.strings.split`` without a separator splits on ASCII whitespace (space, \\t, \\n,
  \\v, \\f, \\r; runs count once, ends stripped), not on U+00A0 or U+3000;
- ``tf.strings.ngrams(..., separator=" ")``: for each width in order, every window joined
  by a space; rows shorter than a width give none of it.
"""
import codecs
import re
import string

import numpy as np

from fastkeras.layers.base import KerasTensor, Layer
from fastkeras.layers.preprocessing import StringLookup
from fastkeras.ops.tensor import Tensor

__all__ = ["TextVectorization"]

_STRIP = str.maketrans("", "", string.punctuation)
_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_WHITESPACE = re.compile("[ \t\n\v\f\r]+")
_ADAPT_CHUNK = 256  # documents per padded block fed to StringLookup.adapt


def _validate_string_arg(value, allowed, arg_name, allow_none=False, allow_callables=False):
    if allow_none and value is None:
        return
    if allow_callables and callable(value):
        return
    if isinstance(value, str) and value in allowed:
        return
    raise ValueError(f"Unknown value for `{arg_name}` argument of TextVectorization. Allowed "
                     f"values are: {allowed}. Received: {arg_name}={value}")


def _listify(v):
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, tuple):
        return list(v)
    return v


def _host(x):
    """NumPy value of a fastkeras Tensor, a tf.Tensor / RaggedTensor, or Python data."""
    if isinstance(x, Tensor):
        return x._value
    if hasattr(x, "to_list") and not isinstance(x, (list, tuple, np.ndarray)):
        return x.to_list()  # tf.RaggedTensor
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        return x.numpy()
    return x


class _TextLookup(StringLookup):
    """TextVectorization's StringLookup: its assets also carry the idf weights of an
    adapted ``"tf_idf"`` layer (``idf_weights.txt``, one float per line: fastkeras' own
    file, since Keras keeps them in the weights file under a name, ``idf_weights``, that
    fastkeras' index-numbered weights files do not use)."""

    def save_assets(self, dir_path):
        import os

        super().save_assets(dir_path)
        if self.output_mode == "tf_idf" and self.input_vocabulary is None and \
                self.idf_weights is not None:
            with open(os.path.join(dir_path, "idf_weights.txt"), "w", encoding="utf-8") as f:
                f.write("\n".join(repr(float(w)) for w in self.idf_weights))

    def load_assets(self, dir_path):
        import os

        if self.input_vocabulary is not None:
            return
        if self.output_mode != "tf_idf":
            return super().load_assets(dir_path)
        vocab_path = os.path.join(dir_path, "vocabulary.txt")
        if not os.path.isfile(vocab_path):
            return
        idf_path = os.path.join(dir_path, "idf_weights.txt")
        if not os.path.isfile(idf_path):
            raise ValueError("TextVectorization: the archive holds no idf weights for this "
                             "adapted 'tf_idf' layer (fastkeras reads them from "
                             "assets/<layer>/idf_weights.txt; a file written by tf.keras keeps "
                             "them in its weights file)")
        with open(vocab_path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        while lines and lines[-1] == "":
            lines.pop()
        with open(idf_path, encoding="utf-8") as f:
            idf = np.array([float(v) for v in f.read().split()], dtype="float64")
        self.set_vocabulary(lines, idf_weights=idf[:len(lines)])


class TextVectorization(Layer):
    """Map text to token ids (``output_mode="int"``: int64, 0 padding, 1 ``"[UNK]"``) or to
    float32 ``"multi_hot"`` / ``"count"`` / ``"tf_idf"`` vectors, with a vocabulary given or
    learned by ``adapt``.

    Deliberate differences from tf.keras: ``sparse=True`` and ``ragged=True`` are refused
    (fastkeras has no sparse or ragged tensors; Keras' other backends refuse them too);
    ``"multi_hot"`` and ``"count"`` outputs are float32 as Keras' ``compute_output_spec``
    declares (tf.keras' eager call returns int64 counts)."""
    _string_inputs = True

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation",
                 split="whitespace", ngrams=None, output_mode="int",
                 output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
                 idf_weights=None, sparse=False, ragged=False, encoding="utf-8", name=None,
                 **kwargs):
        if sparse:
            raise ValueError("`sparse=True` can only be used with the TensorFlow backend "
                             "(fastkeras has no sparse tensors); use sparse=False")
        if ragged:
            raise ValueError("`ragged=True` can only be used with the TensorFlow backend "
                             "(fastkeras has no ragged tensors); use ragged=False, with "
                             "`output_sequence_length` to fix the sequence length")
        _validate_string_arg(standardize, ("lower_and_strip_punctuation", "lower",
                                           "strip_punctuation"), "standardize",
                             allow_none=True, allow_callables=True)
        _validate_string_arg(split, ("whitespace", "character"), "split", allow_none=True,
                             allow_callables=True)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode == "tf-idf":
            output_mode = "tf_idf"
        _validate_string_arg(output_mode, ("int", "one_hot", "multi_hot", "count", "tf_idf"),
                             "output_mode")
        if output_mode == "one_hot":
            raise ValueError("TextVectorization: `output_mode='one_hot'` is not supported "
                             "(Keras' StringLookup cannot one-hot encode split text either); "
                             "use 'multi_hot', 'count', 'tf_idf' or 'int'")
        if not (ngrams is None or (isinstance(ngrams, int) and not isinstance(ngrams, bool))
                or isinstance(ngrams, tuple) and all(isinstance(i, int) for i in ngrams)):
            raise ValueError(f"`ngrams` must be None, an integer, or a tuple of integers. "
                             f"Received: ngrams={ngrams}")
        if output_mode == "int" and not (output_sequence_length is None or
                                         isinstance(output_sequence_length, int)):
            raise ValueError(f"`output_sequence_length` must be either None or an integer "
                             f"when `output_mode` is 'int'. Received: "
                             f"output_sequence_length={output_sequence_length}")
        if output_mode != "int" and output_sequence_length is not None:
            raise ValueError(f"`output_sequence_length` must not be set if `output_mode` is "
                             f"not 'int'. Received output_sequence_length="
                             f"{output_sequence_length}.")
        try:
            codecs.lookup(encoding)
        except (LookupError, TypeError):
            raise ValueError(f"TextVectorization: unknown `encoding` {encoding!r}") from None
        self._max_tokens = max_tokens
        self._standardize = standardize
        self._split = split
        self._ngrams_arg = ngrams
        self._ngrams = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
        self._ragged = False
        self._output_mode = output_mode
        self._output_sequence_length = output_sequence_length
        self._encoding = encoding
        has_vocab = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        vocabulary_size = kwargs.pop("vocabulary_size", None)
        super().__init__(name=name, **kwargs)
        self._lookup_layer = _TextLookup(
            max_tokens=max_tokens, vocabulary=vocabulary, idf_weights=idf_weights,
            pad_to_max_tokens=pad_to_max_tokens, mask_token="", output_mode=output_mode,
            has_input_vocabulary=has_vocab, vocabulary_size=vocabulary_size,
            name=f"{self.name}_lookup")
        self.built = True

    # ------------------------------------------------------------- Keras' attributes
    @property
    def compute_dtype(self):
        return "string"

    @property
    def variable_dtype(self):
        return "string"

    @property
    def _output_dtypes(self):
        return [np.dtype("int64" if self._output_mode == "int" else self.dtype)]

    def build(self, input_shape=None):
        self.built = True

    def _saved_children(self):  # Keras 3 saves the lookup by its attribute name
        return [("_lookup_layer", self._lookup_layer)]

    # ------------------------------------------------------------- text processing
    def _convert(self, x):
        if isinstance(x, KerasTensor):
            return x
        return self._strings(x)

    def __call__(self, *args, **kwargs):
        if args and not isinstance(args[0], (KerasTensor, Tensor, np.ndarray)):
            args = (self._strings(args[0]),) + args[1:]
        return super().__call__(*args, **kwargs)

    def _strings(self, x):
        """x as a NumPy object array of Python str (bytes decoded with `encoding`)."""
        x = _host(x)
        arr = np.asarray(x, dtype=object) if not isinstance(x, np.ndarray) else x
        if arr.dtype.kind == "U":
            return arr.astype(object)
        if arr.dtype.kind not in "SO":
            raise ValueError(f"TextVectorization {self.name!r}: inputs must be strings (a "
                             f"list of str, or an array of str or bytes), got dtype "
                             f"{arr.dtype}")
        out = np.empty(arr.shape, dtype=object)
        flat, src = out.reshape(-1), arr.reshape(-1)
        for i, v in enumerate(src.tolist()):
            if isinstance(v, (bytes, np.bytes_)):
                v = bytes(v).decode(self._encoding)
            elif not isinstance(v, str):
                raise ValueError(f"TextVectorization {self.name!r}: inputs must be strings, "
                                 f"got {type(v).__name__} {v!r}")
            flat[i] = v
        return out

    def _standardized(self, arr):
        mode = self._standardize
        if mode is None:
            return arr
        if callable(mode):
            # Keras' non-TensorFlow backends: the callable gets NumPy unicode strings
            given = arr.astype(str) if arr.size else np.asarray(arr, dtype=str)
            return self._strings(mode(given))
        flat = arr.reshape(-1).tolist()
        if mode in ("lower", "lower_and_strip_punctuation"):
            flat = [s.translate(_LOWER) for s in flat]
        if mode in ("strip_punctuation", "lower_and_strip_punctuation"):
            flat = [s.translate(_STRIP) for s in flat]
        out = np.empty(arr.shape, dtype=object)
        out.reshape(-1)[:] = flat if flat else []
        return out

    def _split_rows(self, arr):
        """The token lists of each string (a list of lists; one list for a scalar)."""
        if arr.ndim > 1:
            if arr.ndim > 2:
                raise ValueError(f"TextVectorization {self.name!r}: fastkeras splits inputs "
                                 f"of rank 1 or 2 (shape (N,) or (N, 1)). Received: "
                                 f"inputs.shape={arr.shape}")
            if arr.shape[-1] != 1:
                raise ValueError(f"When using `TextVectorization` to tokenize strings, the "
                                 f"input rank must be 1 or the last shape dimension must be "
                                 f"1. Received: inputs.shape={arr.shape} with rank="
                                 f"{arr.ndim}")
            arr = arr[..., 0]
        if callable(self._split):
            given = arr.astype(str) if arr.size else np.asarray(arr, dtype=str)
            out = _host(self._split(given))
            rows = out.tolist() if isinstance(out, np.ndarray) else list(out)
            if arr.ndim == 0:
                return [self._as_tokens(rows)]
            return [self._as_tokens(r) for r in rows]
        flat = arr.reshape(-1).tolist()
        if self._split == "whitespace":
            rows = [[t for t in _WHITESPACE.split(s) if t] for s in flat]
        else:
            rows = [list(s) for s in flat]
        return rows

    def _as_tokens(self, row):
        row = row.tolist() if isinstance(row, np.ndarray) else row
        if isinstance(row, (str, bytes)):
            row = [row]
        return [t.decode(self._encoding) if isinstance(t, bytes) else str(t) for t in row]

    def _ngram_row(self, tokens):
        out = []
        for n in self._ngrams:
            out.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
        return out

    def _preprocess(self, inputs):
        """(rows, scalar) after splitting: a list of token lists; or (array, None) when
        `split` is None (ngrams then run along the last axis)."""
        arr = self._standardized(self._strings(inputs))
        if self._split is None:
            if self._ngrams is None:
                return arr, None
            lead = arr.shape[:-1] if arr.ndim else ()
            rows = [self._ngram_row(r) for r in
                    (arr.reshape(-1, arr.shape[-1]).tolist() if arr.ndim else [[arr.item()]])]
            width = len(rows[0]) if rows else len(self._ngram_row([""] * (
                arr.shape[-1] if arr.ndim else 1)))
            out = np.empty((len(rows), width), dtype=object)
            for i, r in enumerate(rows):
                out[i, :] = r
            return out.reshape(lead + (width,)), None
        scalar = arr.ndim == 0
        rows = self._split_rows(arr)
        if self._ngrams is not None:
            rows = [self._ngram_row(r) for r in rows]
        return rows, scalar

    @staticmethod
    def _padded(rows, width):
        out = np.full((len(rows), width), "", dtype=object)
        for i, r in enumerate(rows):
            r = r[:width]
            out[i, :len(r)] = r
        return out

    # ------------------------------------------------------------- adapt
    def adapt(self, data, batch_size=None, steps=None):
        """Learn the vocabulary (and, for ``"tf_idf"``, the document frequencies) from
        ``data``: a list of strings or a NumPy string array (one batch), a
        ``keras.utils.PyDataset`` / ``Sequence``, or any iterable of batches (a
        generator); ``steps`` caps the batches read from an iterable. Order: frequency
        descending, ties by the larger token first (as Keras' ``np.lexsort``)."""
        if isinstance(data, (list, tuple, np.ndarray, Tensor, str, bytes)) or \
                hasattr(data, "numpy"):
            arr = self._strings(data)
            if arr.ndim == 1:
                arr = arr[:, None]
            batches = [arr]
        elif hasattr(data, "__getitem__") and hasattr(data, "__len__"):  # PyDataset
            n = len(data) if steps is None else min(len(data), steps)
            batches = (data[i] for i in range(n))
        elif hasattr(data, "__iter__"):
            batches = data
        else:
            raise TypeError(f"TextVectorization.adapt: unsupported data type {type(data)}: "
                            f"pass a list of strings, a string array, or an iterable of "
                            f"batches")

        def token_batches():
            for k, batch in enumerate(batches):
                if steps is not None and k >= steps:
                    break
                rows, scalar = self._preprocess(batch)
                if isinstance(rows, np.ndarray):  # split=None: the strings themselves
                    yield rows
                elif scalar:  # one document
                    yield self._padded(rows, max(len(rows[0]), 1))
                else:
                    # rows padded with the mask token "" (not counted), in chunks so that
                    # one long document does not pad a whole large batch to its length
                    for i in range(0, max(len(rows), 1), _ADAPT_CHUNK):
                        chunk = rows[i:i + _ADAPT_CHUNK]
                        yield self._padded(chunk, max([len(r) for r in chunk] + [1]))

        self._lookup_layer.adapt(token_batches())

    def update_state(self, data):
        raise NotImplementedError("TextVectorization.update_state: call adapt(data) with "
                                  "all the data (an iterable of batches is accepted)")

    def finalize_state(self):
        """Kept for Keras API compatibility (adapt finalises the vocabulary)."""

    def reset_state(self):
        """Kept for Keras API compatibility (adapt starts from empty counts)."""

    # ------------------------------------------------------------- vocabulary
    def get_vocabulary(self, include_special_tokens=True):
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self):
        return self._lookup_layer.vocabulary_size()

    def set_vocabulary(self, vocabulary, idf_weights=None):
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights=idf_weights)
        self._lookup_layer._has_input_vocabulary = True

    # ------------------------------------------------------------- call
    def call(self, inputs):
        if self._output_mode == "tf_idf" and self._lookup_layer.idf_weights is None:
            raise ValueError(f"TextVectorization {self.name!r}: `output_mode='tf_idf'` needs "
                             f"idf weights: call adapt() or set_vocabulary(vocabulary, "
                             f"idf_weights) first")
        rows, scalar = self._preprocess(inputs)
        length = self._output_sequence_length
        if isinstance(rows, np.ndarray):
            tokens = rows
        elif scalar:
            tokens = np.asarray(rows[0] if length is None else
                                self._padded(rows, length)[0], dtype=object)
        else:
            longest = max([len(r) for r in rows] + [0])
            if self._output_mode == "int":
                width = longest if length is None else length
            else:
                width = max(longest, 1)  # "" is the mask token: an empty row counts nothing
            tokens = self._padded(rows, width)
        out = self._lookup_layer.call(tokens)
        value = np.asarray(out._value)
        if self._output_mode != "int":
            return Tensor(value.astype(self.dtype))
        if length is not None and value.ndim and value.shape[-1] != length:
            value = value[..., :length]
            pad = length - value.shape[-1]
            if pad:
                value = np.concatenate([value, np.zeros(value.shape[:-1] + (pad,), "int64")],
                                       axis=-1)
        return Tensor(value.astype("int64"))

    def compute_output_shape(self, input_shape):
        """Keras' shapes, except that a split ``(None, 1)`` input encodes to
        ``(None, depth)``, the shape the call returns (Keras 3.15 declares
        ``(None, 1, depth)`` for it)."""
        input_shape = tuple(input_shape)
        batch = input_shape[0] if input_shape else None
        if self._output_mode == "int":
            return (batch, self._output_sequence_length)
        lookup = self._lookup_layer
        depth = lookup.max_tokens if lookup.pad_to_max_tokens else \
            (lookup._frozen_vocab_size or lookup.vocabulary_size())
        if self._split is not None or len(input_shape) <= 1:
            return (batch, depth)
        return input_shape[:-1] + (depth,)

    # ------------------------------------------------------------- config & saving
    def get_config(self):
        lookup = self._lookup_layer
        c = super().get_config()
        c.update(max_tokens=lookup.max_tokens, standardize=self._standardize,
                 split=self._split, ngrams=self._ngrams_arg, output_mode=self._output_mode,
                 output_sequence_length=self._output_sequence_length,
                 pad_to_max_tokens=lookup.pad_to_max_tokens, sparse=False, ragged=False,
                 vocabulary=_listify(lookup.input_vocabulary),
                 idf_weights=_listify(lookup.input_idf_weights), encoding=self._encoding,
                 vocabulary_size=self.vocabulary_size())
        return c

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from fastkeras.saving.serialization_lib import deserialize_keras_object

        config = dict(config)
        for key in ("standardize", "split"):
            if isinstance(config.get(key), dict):
                config[key] = deserialize_keras_object(config[key],
                                                       custom_objects=custom_objects)
        if isinstance(config.get("ngrams"), list):
            config["ngrams"] = tuple(config["ngrams"])
        return cls(**config)

    def save_assets(self, dir_path):
        self._lookup_layer.save_assets(dir_path)

    def load_assets(self, dir_path):
        self._lookup_layer.load_assets(dir_path)
