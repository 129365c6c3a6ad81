"""NumPy's own BLAS pool, held to fastkeras' thread count.

fastkeras runs its float products on the BLAS of its C core (ops/products.py); what
is left on NumPy's BLAS (np.dot in a few reductions, np.linalg in initializers, user
code between fastkeras calls) would otherwise run a pool of one thread per processor
beside fastkeras' threads. ``config.set_num_threads`` (and FASTKERAS_NUM_THREADS at
import) therefore also sets NumPy's OpenBLAS pool to the same count, through the
library's own ``openblas_set_num_threads`` entry point (the wheels' scipy-openblas
names it ``scipy_openblas_set_num_threads64_``). A NumPy built on another BLAS
(MKL, Accelerate) is left alone; ``controlled()`` says which case this is.
"""
import ctypes
import glob
import os

import numpy as np

__all__ = ["set_threads", "get_threads", "controlled", "library_path"]

# (set, get) names, most specific first: NumPy's wheels, then plain OpenBLAS builds.
_SYMBOLS = (
    ("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
    ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
    ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
    ("openblas_set_num_threads", "openblas_get_num_threads"),
)


def _candidates():
    here = os.path.dirname(np.__file__)
    found = []
    for d in (os.path.join(os.path.dirname(here), "numpy.libs"), os.path.join(here, ".libs")):
        found += sorted(glob.glob(os.path.join(d, "*openblas*")))
    try:  # libraries already mapped into the process (a NumPy linked to a system OpenBLAS)
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1] if "/" in line else ""
                if "openblas" in os.path.basename(path) and "scipy_openblas32" not in path \
                        and path not in found:
                    found.append(path)
    except OSError:
        pass
    return found


def _load():
    import numpy.linalg  # noqa: F401  (maps NumPy's BLAS into the process)

    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for set_name, get_name in _SYMBOLS:
            setter = getattr(lib, set_name, None)
            getter = getattr(lib, get_name, None)
            if setter is not None and getter is not None:
                setter.argtypes, setter.restype = [ctypes.c_int], None
                getter.argtypes, getter.restype = [], ctypes.c_int
                return path, setter, getter
    return None, None, None


_PATH, _SET, _GET = _load()


def controlled():
    """True when NumPy's BLAS pool is found and follows set_num_threads."""
    return _SET is not None


def library_path():
    """The NumPy BLAS library whose pool fastkeras sets (None where none was found)."""
    return _PATH


def set_threads(n):
    """Set NumPy's BLAS pool to n threads (no-op where it is not an OpenBLAS found)."""
    if _SET is not None:
        _SET(int(n))


def get_threads():
    """NumPy's BLAS pool size (None where it is not an OpenBLAS found)."""
    return int(_GET()) if _GET is not None else None
