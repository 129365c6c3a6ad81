"""Compiled kernels (Cython modules over the C core). Internal: use fastkeras.ops.

The convolution kernels link OpenBLAS from the scipy-openblas32 wheel. Its library is
loaded here first, so the extension modules find it wherever they are installed; it is
located without importing the package (whose import reads package metadata: ~30 ms).
"""
import ctypes
import glob
import importlib.util
import os


def _load_openblas():
    spec = importlib.util.find_spec("scipy_openblas32")
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        for path in sorted(glob.glob(os.path.join(folder, "lib", "libscipy_openblas*"))):
            if path.endswith((".so", ".dylib", ".dll")) or ".so." in path:
                ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
                return
    import scipy_openblas32  # noqa: F401  (its import loads the library)


_load_openblas()
