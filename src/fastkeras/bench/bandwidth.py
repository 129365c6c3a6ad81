"""Memory bandwidth per access pattern, measured in each row's own rounds.

A row's bandwidth bound is its minimum traffic divided by what this machine moves with
the same *mix of streams*, at the row's thread count, under the same load. One number for
everything (one NumPy multiply stream, measured once at the start) was wrong both ways:
a read-only pass moves bytes at a different rate than one that also writes a fresh
buffer (write-allocate) or updates in place; a kernel with seven concurrent streams keeps
more misses in flight than a two-stream loop; and a single sample on a shared machine is
noise (18-37 GB/s between runs here; an Adam row timed while the machine was quieter than
during that sample showed 123% "of bound").

So each row with a bandwidth bound declares its ``Traffic`` (how many streams it only
reads, updates in place and only writes) and runs the C core's STREAM-like pass with that
mix (``fk_stream_pass``: plain loops, every stream advancing block by block, the blocks
split over OpenMP threads) as extra entries of its own interleaved rounds, at 1..t
threads (t = the row's count), over arrays of 64 MB per stream, far above the last-level
cache. The bound uses the best median of those thread counts.

Bytes are counted as STREAM counts them: what the loop reads plus what it writes, not the
write-allocate reads a fresh destination costs. Rows count their traffic the same way
(``Workload.bytes_moved``), so the two agree on what a byte is.
"""
from dataclasses import dataclass

import numpy as np

__all__ = ["Traffic", "StreamLoops", "READ", "READ2", "COPY", "SCALE2", "UPDATE", "ADD_UPDATE",
           "STREAM_BYTES"]

STREAM_BYTES = 64 * 2**20  # per stream: far above any last-level cache


@dataclass(frozen=True)
class Traffic:
    """A loop's mix of streams: arrays only read, read and written back, only written."""

    name: str
    reads: int = 0
    updates: int = 0
    writes: int = 0

    def __post_init__(self):
        if min(self.reads, self.updates, self.writes) < 0 or \
                self.reads + self.updates + self.writes == 0:
            raise ValueError(f"Traffic {self.name!r} needs at least one stream and no "
                             f"negative counts, got {self}")

    def bytes_per_element(self, itemsize):
        """STREAM's count: every read and every write, once."""
        return itemsize * (self.reads + 2 * self.updates + self.writes)


READ = Traffic("read", reads=1)  # reductions over one array
READ2 = Traffic("read x2", reads=2)  # histograms of (score, label) pairs
COPY = Traffic("copy", reads=1, writes=1)  # one input, one fresh output
SCALE2 = Traffic("2 reads + write", reads=2, writes=1)  # a backward: input, gradient -> dx
UPDATE = Traffic("update", updates=1)  # in place
ADD_UPDATE = Traffic("add-update", reads=1, updates=1)  # p += g


class StreamLoops:
    """Float32 arrays for `traffic`'s streams and its pass over them (the C core's
    ``fk_stream_pass``) at up to `max_threads` threads. ``close()`` frees the arrays."""

    def __init__(self, traffic, max_threads, stream_bytes=None):
        stream_bytes = STREAM_BYTES if stream_bytes is None else stream_bytes
        if max_threads < 1:
            raise ValueError(f"max_threads must be >= 1, got {max_threads}")
        n = max(1, stream_bytes // 4)
        self.traffic = traffic
        self.max_threads = max_threads
        self.n = n
        streams = iter(range(traffic.reads + traffic.updates + traffic.writes))
        self.read = [self._array(next(streams)) for _ in range(traffic.reads)]
        self.update = [self._array(next(streams)) for _ in range(traffic.updates)]
        self.write = [self._array(next(streams)) for _ in range(traffic.writes)]

    def _array(self, k):
        """Stream k, shifted by k x 80 bytes: streams at equal page offsets would stall
        on 4K aliasing (a store and a load 4096 bytes apart), which no kernel intends."""
        shift = 20 * k
        return np.ones(self.n + shift, np.float32)[shift:]

    def close(self):
        self.read = self.update = self.write = None

    def run(self, threads):
        """One pass with `threads` threads; returns the checksum."""
        from fastkeras._kernels import _core

        if not 1 <= threads <= self.max_threads:
            raise ValueError(f"threads must be in 1..{self.max_threads}, got {threads}")
        return _core.stream_pass(self.read, self.update, self.write, threads)

    @property
    def bytes_per_pass(self):
        return self.traffic.bytes_per_element(4) * self.n
