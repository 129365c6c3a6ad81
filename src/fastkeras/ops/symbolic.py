"""``fastkeras.ops`` applied to symbolic KerasTensors: each such call is a graph node.

In Keras 3 a ``keras.ops`` function (or a Python operator) given a KerasTensor anywhere
in its arguments (inside a list too: ``concatenate([a, b])``) returns a new KerasTensor,
and the functional model built on it runs the op on the real tensors. Here each public
function of ``fastkeras.ops`` is wrapped: a call with a KerasTensor argument becomes an
``OpLayer`` node (``fastkeras.layers.core``) whose output shapes and dtypes come from
running the op on small dummy values, as for any layer. Calls on real data skip all of
this after one type check per argument.

A node is saved as Keras 3 saves the operation: module ``keras.src.ops.<family>``,
the operation's class name (``Greater``, ``GetItem``...), its options (``axis``,
``keepdims``...) as the config and the tensors and constants as the call's arguments, so
the files load in Keras too. An op Keras does not have (``gather``, ``mish``...) is
saved with module ``fastkeras.ops``: such a file loads in fastkeras only.
"""
import functools
import inspect
import re

_KERAS_TENSOR = None  # fastkeras.layers.base.KerasTensor, set when that module loads

# name: (Keras module family, Keras operation class, the operation's options (its
# constructor arguments, the node's config), how many leading arguments are the
# operation's call arguments ("*": all positional ones)); facts read from Keras 3.15.
_SPECS = {
    "convert_to_tensor": ("core", "ConvertToTensor", ('dtype', 'sparse', 'ragged'), 1),
    "add": ("numpy", "Add", (), 2),
    "subtract": ("numpy", "Subtract", (), 2),
    "multiply": ("numpy", "Multiply", (), 2),
    "divide": ("numpy", "Divide", (), 2),
    "negative": ("numpy", "Negative", (), 1),
    "power": ("numpy", "Power", (), 2),
    "square": ("numpy", "Square", (), 1),
    "sqrt": ("numpy", "Sqrt", (), 1),
    "exp": ("numpy", "Exp", (), 1),
    "log": ("numpy", "Log", (), 1),
    "sum": ("numpy", "Sum", ('axis', 'keepdims'), 1),
    "mean": ("numpy", "Mean", ('axis', 'keepdims'), 1),
    "reshape": ("numpy", "Reshape", ('newshape',), 1),
    "cast": ("core", "Cast", ('dtype',), 1),
    "matmul": ("numpy", "Matmul", (), 2),
    "max": ("numpy", "Max", ('axis', 'keepdims', 'initial'), 1),
    "min": ("numpy", "Min", ('axis', 'keepdims', 'initial'), 1),
    "abs": ("numpy", "Absolute", (), 1),
    "cumsum": ("numpy", "Cumsum", ('axis', 'dtype'), 1),
    "argmax": ("numpy", "Argmax", ('axis', 'keepdims'), 1),
    "argmin": ("numpy", "Argmin", ('axis', 'keepdims'), 1),
    "arange": ("numpy", "Arange", ('dtype',), 3),
    "equal": ("numpy", "Equal", (), 2),
    "true_divide": ("numpy", "TrueDivide", (), 2),
    "floor_divide": ("numpy", "FloorDivide", (), 2),
    "mod": ("numpy", "Mod", (), 2),
    "log1p": ("numpy", "Log1p", (), 1),
    "expm1": ("numpy", "Expm1", (), 1),
    "sign": ("numpy", "Sign", (), 1),
    "sin": ("numpy", "Sin", (), 1),
    "cos": ("numpy", "Cos", (), 1),
    "reciprocal": ("numpy", "Reciprocal", (), 1),
    "rsqrt": ("math", "Rsqrt", (), 1),
    "floor": ("numpy", "Floor", (), 1),
    "ceil": ("numpy", "Ceil", (), 1),
    "round": ("numpy", "Round", ('decimals',), 1),
    "maximum": ("numpy", "Maximum", (), 2),
    "minimum": ("numpy", "Minimum", (), 2),
    "clip": ("numpy", "Clip", ('x_min', 'x_max'), 1),
    "where": ("numpy", "Where", (), 3),
    "prod": ("numpy", "Prod", ('axis', 'keepdims', 'dtype'), 1),
    "var": ("numpy", "Var", ('axis', 'keepdims'), 1),
    "std": ("numpy", "Std", ('axis', 'keepdims'), 1),
    "logsumexp": ("math", "Logsumexp", ('axis', 'keepdims'), 1),
    "einsum": ("numpy", "Einsum", ('subscripts',), '*'),
    "dot": ("numpy", "Dot", (), 2),
    "tensordot": ("numpy", "Tensordot", ('axes',), 2),
    "not_equal": ("numpy", "NotEqual", (), 2),
    "greater": ("numpy", "Greater", (), 2),
    "greater_equal": ("numpy", "GreaterEqual", (), 2),
    "less": ("numpy", "Less", (), 2),
    "less_equal": ("numpy", "LessEqual", (), 2),
    "logical_and": ("numpy", "LogicalAnd", (), 2),
    "logical_or": ("numpy", "LogicalOr", (), 2),
    "logical_xor": ("numpy", "LogicalXor", (), 2),
    "logical_not": ("numpy", "LogicalNot", (), 1),
    "isnan": ("numpy", "Isnan", (), 1),
    "isfinite": ("numpy", "Isfinite", (), 1),
    "isinf": ("numpy", "Isinf", (), 1),
    "stop_gradient": ("core", "StopGradient", (), 1),
    "all": ("numpy", "All", ('axis', 'keepdims'), 1),
    "any": ("numpy", "Any", ('axis', 'keepdims'), 1),
    "array": ("numpy", "Array", ('dtype',), 1),
    "transpose": ("numpy", "Transpose", ('axes',), 1),
    "expand_dims": ("numpy", "ExpandDims", ('axis',), 1),
    "squeeze": ("numpy", "Squeeze", ('axis',), 1),
    "concatenate": ("numpy", "Concatenate", ('axis',), 1),
    "stack": ("numpy", "Stack", ('axis',), 1),
    "split": ("numpy", "Split", ('indices_or_sections', 'axis'), 1),
    "take": ("numpy", "Take", ('axis',), 2),
    "take_along_axis": ("numpy", "TakeAlongAxis", ('axis',), 2),
    "one_hot": ("nn", "OneHot", ('num_classes', 'axis', 'dtype', 'sparse'), 1),
    "tile": ("numpy", "Tile", ('repeats',), 1),
    "repeat": ("numpy", "Repeat", ('repeats', 'axis'), 1),
    "broadcast_to": ("numpy", "BroadcastTo", ('shape',), 1),
    "flip": ("numpy", "Flip", ('axis',), 1),
    "pad": ("numpy", "Pad", ('pad_width', 'mode'), 2),
    "zeros_like": ("numpy", "ZerosLike", ('dtype',), 1),
    "ones_like": ("numpy", "OnesLike", ('dtype',), 1),
    "full": ("numpy", "Full", ('shape', 'dtype'), 1),
    "full_like": ("numpy", "FullLike", ('dtype',), 2),
    "size": ("numpy", "Size", (), 1),
    "ravel": ("numpy", "Ravel", (), 1),
    "swapaxes": ("numpy", "Swapaxes", ('axis1', 'axis2'), 1),
    "moveaxis": ("numpy", "Moveaxis", ('source', 'destination'), 1),
    "relu": ("nn", "Relu", (), 1),
    "relu6": ("nn", "Relu6", (), 1),
    "leaky_relu": ("nn", "LeakyRelu", ('negative_slope',), 1),
    "elu": ("nn", "Elu", ('alpha',), 1),
    "selu": ("nn", "Selu", (), 1),
    "gelu": ("nn", "Gelu", ('approximate',), 1),
    "sigmoid": ("nn", "Sigmoid", (), 1),
    "hard_sigmoid": ("nn", "HardSigmoid", (), 1),
    "hard_silu": ("nn", "HardSilu", (), 1),
    "hard_swish": ("nn", "HardSilu", (), 1),
    "silu": ("nn", "Silu", (), 1),
    "swish": ("nn", "Silu", (), 1),
    "softplus": ("nn", "Softplus", (), 1),
    "softsign": ("nn", "Softsign", (), 1),
    "log_sigmoid": ("nn", "LogSigmoid", (), 1),
    "softmax": ("nn", "Softmax", ('axis',), 1),
    "log_softmax": ("nn", "LogSoftmax", ('axis',), 1),
    "erf": ("math", "Erf", (), 1),
    "tanh": ("numpy", "Tanh", (), 1),
    "sparse_categorical_crossentropy": ("nn", "SparseCategoricalCrossentropy", ('from_logits', 'axis'), 2),
    "categorical_crossentropy": ("nn", "CategoricalCrossentropy", ('from_logits', 'axis'), 2),
    "ctc_loss": ("nn", "CTCLoss", ('mask_index',), 4),
    "conv": ("nn", "Conv", ('strides', 'padding', 'data_format', 'dilation_rate'), 2),
    "conv_transpose": ("nn", "ConvTranspose", ('strides', 'padding', 'output_padding', 'data_format', 'dilation_rate'), 2),
    "depthwise_conv": ("nn", "DepthwiseConv", ('strides', 'padding', 'data_format', 'dilation_rate'), 2),
    "separable_conv": ("nn", "SeparableConv", ('strides', 'padding', 'data_format', 'dilation_rate'), 3),
    "max_pool": ("nn", "MaxPool", ('pool_size', 'strides', 'padding', 'data_format'), 1),
    "average_pool": ("nn", "AveragePool", ('pool_size', 'strides', 'padding', 'data_format'), 1),
    "getitem": ("numpy", "GetItem", (), 2),
}

# the functions that stay as they are: constructors, and those Keras answers without a
# node (shape gives the symbolic shape; convert_to_numpy refuses a KerasTensor)
_PLAIN = frozenset({"Tensor", "Variable", "GradientTape", "constant", "is_tensor",
                    "convert_to_numpy", "zeros", "ones", "eye"})


def set_keras_tensor_type(cls):
    global _KERAS_TENSOR
    _KERAS_TENSOR = cls


def _contains_symbolic(value):
    kt = _KERAS_TENSOR
    t = type(value)
    if t is kt:
        return True
    if t is list or t is tuple:
        return any(_contains_symbolic(v) for v in value)
    if t is dict:
        return any(_contains_symbolic(v) for v in value.values())
    return False


def has_symbolic(args, kwargs):
    """Whether a call's arguments hold a KerasTensor (one type check per argument on the
    eager path)."""
    if _KERAS_TENSOR is None:
        return False
    for a in args:
        t = type(a)
        if t is _KERAS_TENSOR or ((t is list or t is tuple or t is dict) and
                                  _contains_symbolic(a)):
            return True
    if kwargs:
        return any(_contains_symbolic(v) for v in kwargs.values())
    return False


_SIGNATURES = {}


def _signature(fn):
    sig = _SIGNATURES.get(fn)
    if sig is None:
        sig = _SIGNATURES[fn] = inspect.signature(fn)
    return sig


def _camel(name):
    return "".join(w[:1].upper() + w[1:] for w in name.split("_"))


def _snake(name):
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


def _plain(value):
    """An option as a JSON value (a dtype as its name, numpy scalars as numbers)."""
    import numpy as np

    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, type) and issubclass(value, np.generic):
        return np.dtype(value).name
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        out = [_plain(v) for v in value]
        return out if isinstance(value, list) else tuple(out)
    return value


def _is_array(value):
    import numpy as np
    from fastkeras.ops.tensor import Tensor

    return isinstance(value, (Tensor, np.ndarray)) or _contains_symbolic(value)


def split_call(name, fn, args, kwargs):
    """(module, class name, the call's arguments (tensors and constants, in order), the
    options) of ``fastkeras.ops.<name>(*args, **kwargs)`` as a node records them."""
    sig = _signature(fn)
    bound = sig.bind(*args, **kwargs)
    given = bound.arguments
    params = [p for p in sig.parameters.values()]
    spec = _SPECS.get(name)
    if spec is not None:
        family, class_name, options, n_call = spec
        others = [p for p in params if p.name not in options]
        call_params = others if n_call == "*" else others[:n_call]
        last = max([i for i, p in enumerate(call_params) if p.name in given], default=-1)
        call, config = [], {}
        for p in call_params[:last + 1]:
            if p.kind is p.VAR_POSITIONAL:
                call.extend(given.get(p.name, ()))
            elif p.kind is p.VAR_KEYWORD:
                config.update(given.get(p.name, {}))
            else:
                call.append(given[p.name] if p.name in given else p.default)
        for p in others[len(call_params):]:
            if p.name in given:  # a fastkeras option Keras' operation does not have
                config[p.name] = given[p.name]
        for p in params:
            if p.name in options:
                config[p.name] = given[p.name] if p.name in given else p.default
        if not _contains_symbolic(list(config.values())):
            return (f"keras.src.ops.{family}", class_name, call,
                    {k: _plain(v) for k, v in config.items() if v is not inspect.Parameter.empty})
    # an op Keras has no operation for (or one given a tensor where Keras takes an
    # option): its tensors by position, every other parameter by name
    call, config = [], {}
    for p in params:
        if p.kind is p.VAR_POSITIONAL:
            call.extend(given.get(p.name, ()))
        elif p.kind is p.VAR_KEYWORD:
            config.update(given.get(p.name, {}))
        elif p.name in given and _is_array(given[p.name]):
            call.append(given[p.name])
        elif p.name in given:
            config[p.name] = _plain(given[p.name])
        elif p.default is not p.empty:
            config[p.name] = _plain(p.default)
    return "fastkeras.ops", _camel(name), call, config


def apply(fn, args, options):
    """``fn`` on a node's call arguments and options: each parameter that is not an
    option takes the next call argument, in the signature's order."""
    sig = _signature(fn)
    rest = list(args)
    positional, keywords = [], {}
    has_var = any(p.kind is p.VAR_POSITIONAL for p in sig.parameters.values())
    for p in sig.parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            positional.extend(rest)
            rest = []
            continue
        if p.kind is p.VAR_KEYWORD:
            continue
        if p.name in options:
            value = options[p.name]
        elif rest:
            value = rest.pop(0)
        else:
            continue
        if has_var and p.kind is not p.KEYWORD_ONLY:
            positional.append(value)
        else:
            keywords[p.name] = value
    if rest:
        raise TypeError(f"ops.{getattr(fn, '__name__', fn)}: {len(rest)} call argument(s) "
                        f"too many")
    extra = {k: v for k, v in options.items() if k not in sig.parameters}
    if extra and any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        keywords.update(extra)
    return fn(*positional, **keywords)


def op_name_for(class_name):
    """The fastkeras.ops function behind a Keras operation class (``GetItem`` ->
    ``getitem``), None for one fastkeras does not have."""
    from fastkeras import ops

    snake = _snake(class_name)
    if snake in _SPECS or (not snake.startswith("_") and callable(getattr(ops, snake, None))):
        return snake
    for name, spec in _SPECS.items():
        if spec[1] == class_name:
            return name
    return snake


def unsupported_options(fn, options):
    """The options of a Keras operation the fastkeras function has no parameter for and
    that are not at their neutral value (``initial=None``, ``sparse=False``...)."""
    params = _signature(fn).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return {}, dict(options)
    kept, bad = {}, {}
    for k, v in options.items():
        if k in params:
            kept[k] = v
        elif not (v is None or v is False or v == "" or (
                isinstance(v, (int, float)) and not isinstance(v, bool) and v == 0)):
            bad[k] = v
    return bad, kept


def symbolic_call(name, fn, args, kwargs):
    """The node of ``fastkeras.ops.<name>`` called on KerasTensors: its outputs."""
    from fastkeras.layers.base import _unique_name
    from fastkeras.layers.core import OpLayer

    if name == "shape":  # Keras: the symbolic shape itself, None for unknown sizes
        (x,) = args or tuple(kwargs.values())
        return tuple(x.shape)
    module, class_name, call, config = split_call(name, fn, args, kwargs)
    layer = OpLayer(name, module=module, class_name=class_name, arguments=config,
                    name=_unique_name(_snake(class_name)))
    return layer(call)


def wrap(name, fn):
    """``fn`` that records a node when it is given a KerasTensor."""

    @functools.wraps(fn)
    def op(*args, **kwargs):
        if _KERAS_TENSOR is not None and has_symbolic(args, kwargs):
            return symbolic_call(name, fn, args, kwargs)
        return fn(*args, **kwargs)

    op._fastkeras_symbolic = True
    return op


def wrap_namespace(namespace, names):
    """Wrap the named functions of a module's namespace in place."""
    for name in names:
        fn = namespace.get(name)
        if name in _PLAIN or not inspect.isfunction(fn) or getattr(
                fn, "_fastkeras_symbolic", False):
            continue
        namespace[name] = wrap(name, fn)
