"""The global random state behind initializers, Dropout and shuffling.

``fastkeras.utils.set_random_seed(s)`` reseeds it (and Python's and numpy's
global generators, as keras.utils.set_random_seed does), so runs repeat."""
import random
import threading

import numpy as np

_lock = threading.Lock()
_global = np.random.default_rng()


def set_seed(seed):
    global _global
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"`seed` must be a non-negative integer, got {seed!r}")
    with _lock:
        _global = np.random.default_rng(int(seed))
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)


def generator(seed=None):
    """A Generator: a fresh one from an int seed (same values on every call, as a
    seeded Keras initializer), else the global one."""
    if seed is None:
        return _global
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"`seed` must be an integer or None, got {seed!r}")
    return np.random.default_rng(int(seed))


def draw_seed():
    """An integer drawn from the global generator (to seed a layer's own stream)."""
    with _lock:
        return int(_global.integers(0, 2**31 - 1))
