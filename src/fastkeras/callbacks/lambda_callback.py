"""LambdaCallback."""
from fastkeras.callbacks.callback import Callback, HOOKS


class LambdaCallback(Callback):
    """A callback from plain functions: ``on_epoch_end=lambda epoch, logs: ...`` etc. (also
    the older ``on_batch_begin`` / ``on_batch_end``)."""

    _NAMES = HOOKS + ("on_batch_begin", "on_batch_end")

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **kwargs):
        super().__init__()
        given = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end,
                     on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end, **kwargs)
        for name, fn in given.items():
            if name not in self._NAMES:
                raise TypeError(f"LambdaCallback: unknown hook {name!r}")
            if fn is not None:
                if not callable(fn):
                    raise TypeError(f"LambdaCallback: `{name}` must be callable")
                setattr(self, name, fn)
