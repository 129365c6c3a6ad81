"""``fastkeras.build_info()``: what this installation was built with and runs on."""
import platform

import numpy as np

from fastkeras._kernels import _core
from fastkeras import config

__all__ = ["build_info", "BuildInfo"]

_ORDER = [
    ("version", "fastkeras"),
    ("compiler", "compiler"),
    ("openmp", "OpenMP"),
    ("num_threads", "kernel threads"),
    ("simd", "SIMD in use"),
    ("simd_compiled", "SIMD compiled"),
    ("simd_cpu", "SIMD of this CPU"),
    ("cuda_compiled", "CUDA compiled"),
    ("cuda_device", "CUDA device"),
    ("python", "Python"),
    ("numpy", "NumPy"),
]


class BuildInfo(dict):
    """A dict of build facts that prints as a small table."""

    def __str__(self):
        width = max(len(label) for _, label in _ORDER)
        lines = []
        for key, label in _ORDER:
            value = self.get(key)
            if isinstance(value, bool):
                value = "yes" if value else "no"
            lines.append(f"{label:<{width}}  {value}")
        return "\n".join(lines)

    def __repr__(self):
        return "BuildInfo(\n  " + str(self).replace("\n", "\n  ") + "\n)"

    def _repr_pretty_(self, p, cycle):  # IPython
        p.text(str(self))


def build_info():
    """Return (and print nicely when shown) the build facts of this fastkeras.

    Keys: version, compiler, openmp, num_threads, simd (level the kernels
    dispatch to), simd_compiled, simd_cpu, cuda_compiled, cuda_device_count,
    cuda_device ("no device", "not compiled" or the device's name), python, numpy.
    """
    facts = _core.build_facts()
    info = BuildInfo()
    info["version"] = facts["version"]
    info["compiler"] = facts["compiler"]
    info["openmp"] = facts["openmp"]
    info["num_threads"] = config.get_num_threads()
    info["simd"] = facts["simd"]
    info["simd_compiled"] = facts["simd_compiled"]
    info["simd_cpu"] = facts["simd_cpu"]
    info["cuda_compiled"] = facts["cuda_compiled"]
    count = _core.cuda_device_count() if facts["cuda_compiled"] else 0
    info["cuda_device_count"] = count
    if not facts["cuda_compiled"]:
        info["cuda_device"] = "not compiled"
    elif count == 0:
        info["cuda_device"] = "no device"
    else:
        info["cuda_device"] = _core.cuda_device_name() or "device 0"
    info["python"] = platform.python_version()
    info["numpy"] = np.__version__
    return info
