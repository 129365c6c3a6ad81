"""Compiled kernels (Cython modules over the C core). Internal: use fastkeras.ops.

The convolution kernels link OpenBLAS from the scipy-openblas32 wheel; importing
that package loads the library, so the extension modules find it wherever
they are installed.
"""
import scipy_openblas32  # noqa: F401  (loads libscipy_openblas before our modules)
