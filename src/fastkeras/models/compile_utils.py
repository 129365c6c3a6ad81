"""compile()'s arguments resolved per model output: losses, loss weights and metrics
from strings, objects, lists and dicts, as Keras' CompileLoss / CompileMetrics match them."""
import dataclasses

import numpy as np

from fastkeras.ops.tensor import as_array

__all__ = ["CompiledOutput", "per_output", "resolve_loss", "resolve_metric"]


@dataclasses.dataclass
class CompiledOutput:
    """What compile() resolved for one model output: its log name, its loss (None when it
    has none), its loss weight, and its metrics and weighted metrics."""
    name: str
    loss: object
    weight: float
    metrics: list
    weighted_metrics: list


def per_output(spec, names, what):
    """The spec (single, list or dict) as one entry per output."""
    if isinstance(spec, dict):
        unknown = set(spec) - set(names)
        if unknown:
            raise ValueError(f"Unknown output name(s) {sorted(unknown)} in `{what}`; the model's "
                             f"outputs are {names}")
        return [spec.get(n) for n in names]
    if isinstance(spec, (list, tuple)) and what != "metrics" and (len(names) > 1 or
                                                                   len(spec) == 1):
        if len(spec) != len(names):
            raise ValueError(f"`{what}` has {len(spec)} entries for {len(names)} outputs")
        return list(spec)
    return [spec] * len(names)


def crossentropy_for(y_true, y_pred):
    """Keras' choice for loss="crossentropy" / "ce" (and metrics "accuracy"): binary when
    y_pred has one column, sparse when y_true has a lower rank or one column against
    several, else categorical."""
    from fastkeras import losses

    t_shape, p_shape = np.shape(as_array(y_true)), np.shape(as_array(y_pred))
    if p_shape and p_shape[-1] == 1:
        return losses.binary_crossentropy
    if len(t_shape) < len(p_shape) or (t_shape and t_shape[-1] == 1 and p_shape[-1] > 1):
        return losses.sparse_categorical_crossentropy
    return losses.categorical_crossentropy


def resolve_loss(spec, y_true=None, y_pred=None):
    from fastkeras import losses

    if spec is None:
        return None
    if isinstance(spec, str) and spec.lower() in ("crossentropy", "ce"):
        if y_pred is None:  # compile(): chosen from the data's shapes when it first comes
            return None
        spec = crossentropy_for(y_true, y_pred)
    obj = losses.get(spec)
    if isinstance(obj, losses.Loss):
        return obj
    if callable(obj):
        return losses.LossFunctionWrapper(obj, name=getattr(obj, "__name__", "loss"))
    raise ValueError(f"Could not interpret loss: {spec!r}")


def loss_name(loss):
    fn = getattr(loss, "fn", None)
    return getattr(fn, "__name__", "") if fn is not None else type(loss).__name__


def resolve_metric(spec, loss, y_true, y_pred):
    from fastkeras import metrics as M

    if isinstance(spec, str) and spec.lower() in ("accuracy", "acc"):
        lname = loss_name(loss).lower() if loss is not None else ""
        out_last = y_pred.shape[-1] if y_pred.ndim else 1
        if "binary" in lname or (out_last == 1 and "categorical" not in lname):
            cls = M.BinaryAccuracy
        elif "sparse" in lname or (y_true is not None and (y_true.ndim < y_pred.ndim or
                                                           y_true.shape[-1] == 1)):
            cls = M.SparseCategoricalAccuracy
        else:
            cls = M.CategoricalAccuracy
        return cls(name=spec)
    if isinstance(spec, str) and spec.lower() in ("crossentropy", "ce"):
        return M.get("categorical_crossentropy")
    obj = M.get(spec)
    if isinstance(obj, M.Metric):
        # tf.keras names a metric given by a function name or alias ("mae") after that
        # string; a class name ("AUC") keeps the class' default name ("auc")
        if isinstance(spec, str) and not spec[:1].isupper():
            obj.name = spec
        return obj
    if callable(obj):
        return M.MeanMetricWrapper(obj, name=getattr(obj, "__name__", "metric"))
    raise ValueError(f"Could not interpret metric: {spec!r}")
