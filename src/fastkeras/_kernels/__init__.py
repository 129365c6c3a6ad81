"""Compiled kernels (Cython modules over the C core). Internal: use fastkeras.ops."""
