"""A small reverse-mode tape with tf.GradientTape's semantics.

Ops call ``record(inputs, output, backward)``; it does nothing unless a tape
is active in this thread, so ops outside a tape cost one attribute lookup.
A tape records a node only when one of the op's inputs is tracked (watched,
an auto-watched trainable Variable, or the output of a recorded node).

``backward(g, needs)`` receives the upstream gradient (a numpy array shaped
like the output) and a tuple saying which inputs need a gradient, and returns
one numpy array (or None) per input.
"""
import threading
from contextlib import contextmanager

import numpy as np

from fastkeras.ops.tensor import Tensor, Variable

__all__ = ["GradientTape", "record", "is_recording", "tracked_by_any"]

_state = threading.local()


def _stack():
    s = getattr(_state, "stack", None)
    if s is None:
        s = _state.stack = []
    return s


def is_recording():
    """True when a tape is active in this thread."""
    return bool(getattr(_state, "stack", None))


def record(inputs, output, backward):
    """Record an op on every active tape of this thread that tracks one of its inputs."""
    stack = getattr(_state, "stack", None)
    if not stack:
        return
    for tape in stack:
        tape._record(inputs, output, backward)


@contextmanager
def paused():
    """No tape of this thread records inside (shape inference, metric updates)."""
    saved = getattr(_state, "stack", None)
    _state.stack = []
    try:
        yield
    finally:
        _state.stack = saved


def tracked_by_any(x):
    """True when an active tape would record an op reading x."""
    stack = getattr(_state, "stack", None)
    if not stack or not isinstance(x, Tensor):
        return False
    return any(t._would_track(x) for t in stack)


class SliceGrad:
    """A gradient that is zero except at ``key`` (the backward of an indexing op).

    The tape adds it into the input's accumulated gradient in place, so T slices of
    one tensor (a recurrent layer reading each time step) cost O(T * slice), not T
    full-size zero arrays."""

    __slots__ = ("shape", "dtype", "key", "value", "basic")

    def __init__(self, shape, dtype, key, value):
        self.shape, self.dtype, self.key, self.value = tuple(shape), np.dtype(dtype), key, value
        # basic slicing (ints, slices, Ellipsis, None) selects each element at most once
        parts = key if isinstance(key, tuple) else (key,)
        self.basic = all(isinstance(k, (int, np.integer, slice)) or k is Ellipsis or k is None
                         for k in parts)

    def add_into(self, dense):
        if self.basic:
            dense[self.key] += self.value
        else:
            np.add.at(dense, self.key, self.value)
        return dense

    def dense(self):
        return self.add_into(np.zeros(self.shape, self.dtype))


def _accumulate(grads, owned, i, ig):
    """grads[i] += ig, where ig is an array or a SliceGrad; arrays the tape allocated
    itself (in owned, id -> array) are updated in place, others are never written."""
    cur = grads.get(i)
    if isinstance(ig, SliceGrad):
        if cur is None or id(cur) not in owned:
            cur = ig.dense() if cur is None else ig.add_into(np.array(cur, dtype=np.result_type(
                cur.dtype, ig.dtype), copy=True))
            owned[id(cur)] = cur
            grads[i] = cur
        else:
            ig.add_into(cur)
        return
    if cur is None:
        grads[i] = ig
    else:
        new = cur + ig
        owned[id(new)] = new
        grads[i] = new


def _flatten(structure):
    if isinstance(structure, dict):
        return [v for k in structure for v in _flatten(structure[k])]
    if isinstance(structure, (list, tuple)):
        return [v for item in structure for v in _flatten(item)]
    return [structure]


def _pack(structure, flat_iter):
    if isinstance(structure, dict):
        return {k: _pack(structure[k], flat_iter) for k in structure}
    if isinstance(structure, (list, tuple)):
        packed = [_pack(s, flat_iter) for s in structure]
        return packed if isinstance(structure, list) else tuple(packed)
    return next(flat_iter)


class GradientTape:
    """Record operations for automatic differentiation (tf.GradientTape).

    Args:
        persistent: allow several ``gradient`` calls on the same tape.
        watch_accessed_variables: watch trainable Variables read inside the tape.
    """

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self._persistent = bool(persistent)
        self._watch_accessed = bool(watch_accessed_variables)
        self._reset_state()

    def _reset_state(self):
        self._nodes = []  # (output id, input ids (None = untracked), backward)
        self._tracked = {}  # id -> object, keeps recorded tensors alive so ids stay unique
        self._watched_vars = {}
        self._used = False

    # ---- context management
    def __enter__(self):
        _stack().append(self)
        return self

    def __exit__(self, exc_type, exc, tb):
        stack = _stack()
        for i in range(len(stack) - 1, -1, -1):
            if stack[i] is self:
                del stack[i]
                break
        return False

    @contextmanager
    def stop_recording(self):
        """Temporarily stop recording on this tape."""
        stack = _stack()
        idx = next((i for i in range(len(stack) - 1, -1, -1) if stack[i] is self), None)
        if idx is None:
            raise ValueError("stop_recording() called on a tape that is not recording")
        del stack[idx]
        try:
            yield
        finally:
            stack.append(self)

    def reset(self):
        """Forget everything recorded so far."""
        self._reset_state()

    # ---- tracking
    def watch(self, tensor):
        """Track tensor(s) so that gradients with respect to them can be taken."""
        for t in _flatten(tensor):
            if not isinstance(t, Tensor):
                raise TypeError(
                    f"watch() expects Tensors or Variables, got {type(t).__name__}; "
                    "convert it with fastkeras.convert_to_tensor first"
                )
            self._tracked[id(t)] = t
            if isinstance(t, Variable):
                self._watched_vars[id(t)] = t

    def watched_variables(self):
        return tuple(self._watched_vars.values())

    def _would_track(self, x):
        return id(x) in self._tracked or (
            self._watch_accessed and isinstance(x, Variable) and x.trainable
        )

    def _input_id(self, x):
        if not isinstance(x, Tensor):
            return None
        i = id(x)
        if i in self._tracked:
            return i
        if self._watch_accessed and isinstance(x, Variable) and x.trainable:
            self._tracked[i] = x
            self._watched_vars[i] = x
            return i
        return None

    def _record(self, inputs, output, backward):
        ids = tuple(self._input_id(x) for x in inputs)
        if any(i is not None for i in ids):
            self._nodes.append((id(output), ids, backward))
            self._tracked[id(output)] = output

    # ---- differentiation
    def gradient(self, target, sources, output_gradients=None, unconnected_gradients="none"):
        """Gradients of target (summed if not scalar) with respect to sources.

        sources may be a Tensor/Variable or a (nested) list/tuple/dict of them;
        the result has the same structure, with None (or zeros when
        ``unconnected_gradients="zero"``) where a source is not connected.
        """
        if unconnected_gradients not in ("none", "zero"):
            raise ValueError(
                f"unconnected_gradients must be 'none' or 'zero', got {unconnected_gradients!r}"
            )
        if self._used and not self._persistent:
            raise RuntimeError(
                "A non-persistent GradientTape can only be used to compute one set of "
                "gradients (or jacobians); create it with persistent=True to call "
                "gradient() more than once"
            )
        targets = _flatten(target)
        srcs = _flatten(sources)
        for s in srcs:
            if not isinstance(s, Tensor):
                raise TypeError(
                    f"gradient() sources must be Tensors or Variables, got {type(s).__name__}"
                )
        if output_gradients is not None:
            ogs = _flatten(output_gradients)
            if len(ogs) != len(targets):
                raise ValueError(
                    f"output_gradients has {len(ogs)} entries for {len(targets)} targets"
                )
        else:
            ogs = [None] * len(targets)

        # Forward reachability from the sources: only those nodes are walked back.
        reach = {id(s) for s in srcs}
        live = []
        for out_id, ids, bw in self._nodes:
            if any(i in reach for i in ids if i is not None):
                reach.add(out_id)
                live.append((out_id, ids, bw))

        grads = {}
        for t, og in zip(targets, ogs):
            if not isinstance(t, Tensor) or id(t) not in reach:
                continue
            g = np.ones(t.shape, dtype=t.dtype) if og is None else np.asarray(
                og._value if isinstance(og, Tensor) else og, dtype=t.dtype
            )
            grads[id(t)] = grads[id(t)] + g if id(t) in grads else g

        # gradient arrays this call allocated, by id (safe to update in place); holding
        # them keeps their ids from being reused by other arrays
        owned = {}
        for out_id, ids, bw in reversed(live):
            g = grads.get(out_id)
            if g is None:
                continue
            needs = tuple(i is not None and i in reach for i in ids)
            in_grads = bw(g, needs)
            for i, need, ig in zip(ids, needs, in_grads):
                if need and ig is not None:
                    _accumulate(grads, owned, i, ig)

        results = []
        for s in srcs:
            g = grads.get(id(s))
            if g is None:
                results.append(
                    Tensor(np.zeros(s.shape, dtype=s.dtype)) if unconnected_gradients == "zero"
                    else None
                )
            else:
                g = np.asarray(g)
                if g.dtype != s.dtype and s.dtype.kind == "f":
                    g = g.astype(s.dtype)
                results.append(Tensor(g))

        self._used = True
        if not self._persistent:
            self._nodes = []
            self._tracked = {}
        if isinstance(sources, (list, tuple, dict)):
            return _pack(sources, iter(results))
        return results[0]
