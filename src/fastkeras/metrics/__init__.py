"""fastkeras.metrics: tf.keras' stateful metrics, with AUC/KS on a C histogram engine."""
from fastkeras.metrics.metric import Metric, Mean, Sum, MeanMetricWrapper
from fastkeras.metrics.accuracy import (
    accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
    top_k_categorical_accuracy, sparse_top_k_categorical_accuracy,
    Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
    TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy,
)
from fastkeras.metrics.ranking import (
    AUC, KS, TruePositives, FalsePositives, TrueNegatives, FalseNegatives, Precision, Recall,
    SensitivityAtSpecificity, SpecificityAtSensitivity, PrecisionAtRecall, RecallAtPrecision,
    roc_auc_score, ks_statistic,
)
from fastkeras.metrics.fbeta import (
    FBetaScore, F1Score, binary_crossentropy, BinaryCrossentropy, CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
)
from fastkeras.metrics.distributed import compute_dask
from fastkeras.metrics.regression import (
    MeanSquaredError, MeanAbsoluteError, RootMeanSquaredError, MeanAbsolutePercentageError,
    R2Score,
)
from fastkeras.metrics.iou import IoU, MeanIoU, BinaryIoU, OneHotIoU, OneHotMeanIoU
from fastkeras.metrics import loss_metrics as _loss_metrics
from fastkeras.metrics.loss_metrics import *  # noqa: F401,F403  (names in loss_metrics.__all__)
# Keras exports the per-sample loss functions under keras.metrics too (the same functions)
from fastkeras.losses import (
    binary_focal_crossentropy, categorical_focal_crossentropy, categorical_hinge, hinge, huber,
    kl_divergence, log_cosh, mean_absolute_error, mean_absolute_percentage_error,
    mean_squared_error, mean_squared_logarithmic_error, poisson, squared_hinge,
)
from fastkeras.losses.crossentropy import categorical_crossentropy, sparse_categorical_crossentropy

_LOSS_FUNCTIONS = [
    "binary_focal_crossentropy", "categorical_focal_crossentropy", "categorical_hinge", "hinge",
    "huber", "kl_divergence", "log_cosh", "mean_absolute_error",
    "mean_absolute_percentage_error", "mean_squared_error", "mean_squared_logarithmic_error",
    "poisson", "squared_hinge", "categorical_crossentropy", "sparse_categorical_crossentropy",
]

__all__ = [
    "Metric", "Mean", "Sum", "MeanMetricWrapper",
    "accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy",
    "Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy",
    "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy",
    "AUC", "KS", "TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives",
    "Precision", "Recall", "roc_auc_score", "ks_statistic", "SensitivityAtSpecificity",
    "SpecificityAtSensitivity", "PrecisionAtRecall", "RecallAtPrecision", "FBetaScore", "F1Score",
    "binary_crossentropy", "BinaryCrossentropy", "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "MeanSquaredError", "MeanAbsoluteError", "RootMeanSquaredError",
    "MeanAbsolutePercentageError", "R2Score", "IoU", "MeanIoU", "BinaryIoU", "OneHotIoU",
    "OneHotMeanIoU", *_loss_metrics.__all__, *_LOSS_FUNCTIONS,
    "get", "serialize", "deserialize", "compute_dask",
]

_BY_NAME = {
    "accuracy": Accuracy, "acc": Accuracy, "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "auc": AUC, "ks": KS, "precision": Precision, "recall": Recall,
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "rmse": RootMeanSquaredError, "root_mean_squared_error": RootMeanSquaredError,
    "mape": MeanAbsolutePercentageError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "binary_crossentropy": BinaryCrossentropy, "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "f1_score": F1Score, "fbeta_score": FBetaScore, "r2_score": R2Score,
    "msle": MeanSquaredLogarithmicError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "logcosh": LogCoshError, "log_cosh": LogCoshError, "hinge": Hinge,
    "squared_hinge": SquaredHinge, "categorical_hinge": CategoricalHinge,
    "kld": KLDivergence, "kl_divergence": KLDivergence, "poisson": Poisson,
    "cosine_similarity": CosineSimilarity, "pearson_correlation": PearsonCorrelation,
    "concordance_correlation": ConcordanceCorrelation,
}


def get(identifier):
    """A metric from its compile() name ("AUC", "acc", "mse"...), class or instance."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        from fastkeras.saving.object_registration import lookup

        # custom_object_scope and the registry first, by exact name, as Keras; then the
        # built-ins; then a registered "package>name" by its name alone
        custom = lookup(identifier, suffix=False) or (
            None if identifier.lower() in _BY_NAME else lookup(identifier))
        if custom is not None:
            return custom() if isinstance(custom, type) else custom
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(f"Could not interpret metric identifier: {identifier!r}")
        return cls()
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret metric identifier: {identifier!r}")


def _metric_classes():
    import inspect

    return {name: obj for name, obj in globals().items()
            if inspect.isclass(obj) and issubclass(obj, Metric)}


def serialize(metric):
    """{"class_name": ..., "config": ...} for a Metric instance (Keras' layout)."""
    if isinstance(metric, Metric):
        return {"class_name": type(metric).__name__, "config": metric.get_config()}
    raise ValueError(f"Cannot serialize {metric!r}: expected a keras.metrics.Metric")


def deserialize(config, custom_objects=None):
    """Inverse of serialize: a metric from {"class_name", "config"} or a name."""
    if isinstance(config, str):
        return get(config)
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not interpret metric config: {config!r}")
    from fastkeras.saving.object_registration import lookup

    name = config["class_name"]
    cls = lookup(name, custom_objects) or _metric_classes().get(name)
    if not (isinstance(cls, type) and issubclass(cls, Metric)):
        raise ValueError(f"Unknown metric class {name!r}")
    return cls.from_config(dict(config.get("config") or {}))
