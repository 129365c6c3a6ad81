"""Optimizer and loss configurations the compiled-plan tests share (CPU plan against the
tape, device plan against the CPU)."""
import numpy as np

from fastkeras import losses, optimizers


def assert_same_training(ref, got, tol):
    """The histories, weights and optimizer slots of two (history, model) runs agree."""
    (hr, mr), (hg, mg) = ref, got
    assert hr.keys() == hg.keys()
    for k in hr:
        np.testing.assert_allclose(hg[k], hr[k], **tol, err_msg=k)
    for wr, wg in zip(mr.get_weights(), mg.get_weights()):
        np.testing.assert_allclose(wg, wr, **tol)
    for sr, sg in zip(mr.optimizer.variables, mg.optimizer.variables):
        np.testing.assert_allclose(np.asarray(sg.numpy(), np.float64),
                                   np.asarray(sr.numpy(), np.float64), **tol)

OPTIMIZERS = {
    "sgd": lambda: optimizers.SGD(0.1),
    "momentum": lambda: optimizers.SGD(0.05, momentum=0.9),
    "nesterov": lambda: optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    "adam": lambda: optimizers.Adam(0.01),
    "amsgrad": lambda: optimizers.Adam(0.01, amsgrad=True),
    "adamw": lambda: optimizers.AdamW(0.01, weight_decay=0.05),
    "rmsprop": lambda: optimizers.RMSprop(0.01),
    "rmsprop_centered": lambda: optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    "adagrad": lambda: optimizers.Adagrad(0.1),
    "adadelta": lambda: optimizers.Adadelta(1.0),
    "adamax": lambda: optimizers.Adamax(0.01),
    "nadam": lambda: optimizers.Nadam(0.01),
    "lion": lambda: optimizers.Lion(0.001),
    "clipvalue": lambda: optimizers.Adam(0.01, clipvalue=0.01),
    "schedule": lambda: optimizers.SGD(optimizers.schedules.ExponentialDecay(0.1, 3, 0.5)),
    "weight_decay_sgd": lambda: optimizers.SGD(0.1, weight_decay=0.01),
}


LOSSES = {
    "sparse": (lambda: losses.SparseCategoricalCrossentropy(), "softmax", "sparse"),
    "sparse_logits": (lambda: losses.SparseCategoricalCrossentropy(from_logits=True),
                      "linear", "sparse"),
    "sparse_name": ("sparse_categorical_crossentropy", "softmax", "sparse"),
    "cce_smooth": (lambda: losses.CategoricalCrossentropy(label_smoothing=0.1), "softmax",
                   "onehot"),
    "cce_logits_sum": (lambda: losses.CategoricalCrossentropy(from_logits=True,
                                                              reduction="sum"), "linear",
                       "onehot"),
    "cce_name_sigmoid": ("categorical_crossentropy", "sigmoid", "onehot"),
    "mse": ("mse", "linear", "regression"),
    "mse_object": (lambda: losses.MeanSquaredError(), "tanh", "regression"),
}
