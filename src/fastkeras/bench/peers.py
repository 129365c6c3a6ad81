"""The peer libraries of the benchmark, imported once and held to the run's thread count.

Every library that computes in a row runs at the thread count the row states:
fastkeras' kernels and matrix products (``config.set_num_threads``, which also sets
NumPy's own OpenBLAS pool), PyTorch (``torch.set_num_threads``; one inter-op thread),
TensorFlow (intra-op pool = the run's count, one inter-op thread: TensorFlow fixes both
when its runtime starts, so they are set right after its import, before any op runs)
and ONNX Runtime (each session's ``intra_op_num_threads``). ``pin(n)`` is called before
every row is made and before it is timed; ``settings()`` reports what each library
actually runs with, for the results' header.
"""
import os
from dataclasses import asdict, dataclass

__all__ = ["ThreadSettings", "pin", "settings", "tensorflow", "torch", "ort_session_options"]

_state = {"run_threads": None, "tf": None, "tf_tried": False, "torch": None,
          "torch_tried": False}


@dataclass(frozen=True)
class ThreadSettings:
    """The thread counts each library runs with (None: not installed / not found)."""

    fastkeras: int
    numpy_blas: object
    tensorflow_intra_op: object
    tensorflow_inter_op: object
    torch: object
    onnxruntime: object

    def as_dict(self):
        return asdict(self)

    def describe(self):
        parts = [f"fastkeras {self.fastkeras}",
                 f"NumPy's BLAS {self.numpy_blas if self.numpy_blas is not None else 'not set'}"]
        if self.tensorflow_intra_op is not None:
            parts.append(f"TensorFlow {self.tensorflow_intra_op} intra-op / "
                         f"{self.tensorflow_inter_op} inter-op")
        if self.torch is not None:
            parts.append(f"PyTorch {self.torch}")
        if self.onnxruntime is not None:
            parts.append(f"ONNX Runtime {self.onnxruntime}")
        return ", ".join(parts)


def set_run_threads(n):
    """The run's thread count: TensorFlow's pools and ONNX Runtime sessions take it."""
    _state["run_threads"] = int(n)


def run_threads():
    import fastkeras as fk

    return _state["run_threads"] or fk.config.get_num_threads()


def pin(n):
    """Set fastkeras (and NumPy's BLAS) and PyTorch to n threads."""
    import fastkeras as fk

    fk.config.set_num_threads(n)
    t = torch()
    if t is not None:
        t.set_num_threads(n)


def tensorflow():
    """TensorFlow with its pools at the run's thread count, or None where not installed."""
    if not _state["tf_tried"]:
        _state["tf_tried"] = True
        torch()  # PyTorch first: see torch()
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        try:
            import tensorflow as tf
        except ImportError:
            return None
        try:
            tf.config.threading.set_intra_op_parallelism_threads(run_threads())
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:  # already initialised by the caller: report what it has
            pass
        _state["tf"] = tf
    return _state["tf"]


def torch():
    """PyTorch (one inter-op thread), or None where not installed.

    Imported before TensorFlow, with ``torch._dynamo`` (which ``torch.optim`` loads
    lazily, and with it triton where the CUDA wheel installed it): triton's native
    library loaded after TensorFlow's crashes the process (seen with torch 2.14.1,
    triton 3.8.0, TensorFlow 2.21); loaded first, both work."""
    if not _state["torch_tried"]:
        _state["torch_tried"] = True
        try:
            import torch as t
        except ImportError:
            return None
        try:
            import torch._dynamo  # noqa: F401
        except Exception:  # noqa: BLE001 - optional machinery; torch.optim works without it
            pass
        try:
            t.set_num_interop_threads(1)
        except RuntimeError:  # parallel work already ran in this process
            pass
        _state["torch"] = t
    return _state["torch"]


def ort_session_options():
    """ONNX Runtime session options at the run's thread count, or None without it."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = run_threads()
    opts.inter_op_num_threads = 1
    return opts


def settings():
    import fastkeras as fk
    from fastkeras import _numpy_blas

    tf, t = _state["tf"], _state["torch"]
    try:
        import onnxruntime  # noqa: F401

        ort_threads = run_threads()
    except ImportError:
        ort_threads = None
    return ThreadSettings(
        fastkeras=fk.config.get_num_threads(),
        numpy_blas=_numpy_blas.get_threads(),
        tensorflow_intra_op=tf.config.threading.get_intra_op_parallelism_threads() if tf else None,
        tensorflow_inter_op=tf.config.threading.get_inter_op_parallelism_threads() if tf else None,
        torch=t.get_num_threads() if t is not None else None,
        onnxruntime=ort_threads)
