"""Benchmark runner: interleaved, median-based comparison against NumPy and TensorFlow.

Method (so that numbers from shared, noisy machines mean something):
  * every implementation of a workload is timed in the same run, interleaved in
    a random order each round, so that background load (and the threads one
    library leaves spinning) hits them alike;
  * "cold" mode (the default) reads a buffer larger than the last-level cache
    between timed calls, so each call reads its inputs from memory; the buffer
    is only read, so the cache holds clean lines and no write-back of someone
    else's data is charged to the call that follows;
  * --cooldown adds a pause before each call; it defaults to 0 because on a
    virtual machine an idle virtual CPU is halted, and the first parallel call
    after a pause then waits milliseconds for it (measured: 2-7 ms instead of
    1.3 ms for the softmax row), which is not what a training loop sees;
  * medians and the inter-quartile range are reported, never a single time;
  * a row with a bandwidth bound runs the C core's STREAM-like pass with its own mix
    of streams (read-only, updated in place, written) at 1..t threads as extra
    entries of its interleaved rounds (bench/bandwidth.py): its bound is measured at
    its thread count, under the load its implementations saw;
  * every row runs at the thread count its header states, for every library in it
    (fastkeras and NumPy's BLAS, PyTorch, TensorFlow's pools, ONNX Runtime's sessions:
    bench/peers.py); --threads sets the run's count, a row may fix its own;
  * --busy-core runs one spinning process beside the rows, the "one other core is
    busy" condition;
  * the load average before and after is recorded with the results.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import subprocess
import threading
import time

import numpy as np

from fastkeras.bench import peers
from fastkeras.bench.bandwidth import StreamLoops
from fastkeras.bench.workloads import WORKLOADS

EVICT_BYTES = 128 * 2**20


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


class _Progress:
    """tqdm when installed (the [bench] extra), else one line per step on stderr."""

    def __init__(self, total, quiet):
        self.quiet = quiet
        self.bar = None
        self.total, self.done = total, 0
        if quiet:
            return
        try:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="run", file=sys.stderr, leave=False, mininterval=0.5)
            self.label = None
        except ImportError:
            pass

    def add(self, runs):
        """More runs than first counted (a row's implementations are known once it is made)."""
        self.total += runs
        if self.bar is not None:
            self.bar.total = self.total
            self.bar.refresh()

    def step(self, label):
        if self.quiet:
            return
        if self.bar is not None:
            if label != self.label:
                self.label = label
                self.bar.set_description(label[-40:], refresh=False)
            self.bar.update(1)
        else:
            self.done += 1
            if self.done % 10 == 0 or self.done == self.total:
                print(f"[{self.done}/{self.total}] {label}", file=sys.stderr, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _evict(buf):
    """Read a buffer larger than the last-level cache, on every core.

    Read-only, so the cache is left holding clean lines (no write-back of this
    buffer is charged to the next call); on all cores, so no virtual CPU is
    halted when the timed call starts (waking one costs milliseconds on a VM)."""
    n = os.cpu_count() or 1
    parts = np.array_split(buf, n)
    threads = [threading.Thread(target=np.sum, args=(p,)) for p in parts[1:]]
    for t in threads:
        t.start()
    np.sum(parts[0])
    for t in threads:
        t.join()


def measure_peak_flops(n_threads):
    """Float32 FLOP/s this machine can execute: independent FMA chains in registers
    at the dispatched SIMD width (fk_peak_gflops) on one core, times the kernel
    threads. One core is measured because a shared machine often lends the
    second one to someone else for a while, which would understate the peak."""
    from fastkeras._kernels import _core

    return _core.peak_gflops(1, 0.5) * 1e9 * n_threads


def _time_call(w, impls, k, times, keep, bar):
    """One timed call of implementation k (kept when past the warm-up)."""
    t0 = time.perf_counter()
    impls[k]()
    dt = time.perf_counter() - t0
    if keep:
        times[k].append(dt)
    bar.step(f"{w.name}: {k}")


def _run_blocked(w, impls, times, warmup, reps, bar):
    """Each implementation's runs back to back (in a random order of implementations),
    after half a second of rest that lets other libraries' pool threads go idle."""
    order_rng = np.random.default_rng(2025)
    names = list(impls)
    for k in [names[i] for i in order_rng.permutation(len(names))]:
        time.sleep(0.5)
        for rep in range(warmup + reps):
            _time_call(w, impls, k, times, rep >= warmup, bar)


def _runs(w, repeats, warmup):
    """(timed runs, untimed runs first) of a row."""
    reps = min(repeats, w.repeats) if w.repeats else repeats
    first = max(warmup, 20) if w.blocked else min(warmup, 1 if w.repeats else warmup)
    return reps, first


def _time_row(w, impls, repeats, warmup, evict, cooldown, bar):
    """{implementation: [seconds]} of one row, interleaved (or blocked) rounds."""
    names = list(impls)
    times = {k: [] for k in names}
    reps, first = _runs(w, repeats, warmup)
    if w.blocked:
        _run_blocked(w, impls, times, first, reps, bar)
        return times
    order_rng = np.random.default_rng(2024)
    for rep in range(first + reps):
        # A fresh random order each round: no implementation always follows the
        # same one (TensorFlow's pool threads keep spinning for a while after a call).
        order = [names[i] for i in order_rng.permutation(len(names))]
        for k in order:
            if cooldown:
                time.sleep(cooldown)
            if evict is not None and w.cold is not False:
                _evict(evict)
            _time_call(w, impls, k, times, rep >= first, bar)
    return times


def _stream_entries(w, threads):
    """The STREAM loops a host bandwidth-bound row times in its rounds, or (None, {})."""
    if not w.bytes_moved or w.device_bandwidth:
        return None, {}
    loops = StreamLoops(w.traffic, threads)
    return loops, {k: (lambda k=k: loops.run(k)) for k in range(1, threads + 1)}


def _row_bound(w, threads, stream_GBps, peak_per_thread):
    if w.bytes_moved and w.device_bandwidth:
        return w.bytes_moved / w.device_bandwidth, "GPU memory bandwidth"
    if w.bytes_moved:
        return w.bytes_moved / (max(stream_GBps.values()) * 1e9), f"{w.traffic.name} bandwidth"
    if w.flops and peak_per_thread:
        return w.flops / (peak_per_thread * threads), "compute"
    return None, None


class _BusyCore:
    """One spinning process beside the rows (--busy-core)."""

    def __enter__(self):
        self.proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


def run_benchmarks(repeats=30, warmup=3, cold=True, name_filter=None, progress=True,
                   cooldown=0.0, threads=None, busy_core=False):
    """Run every workload; returns a dict with the environment and per-row results.

    threads: the run's thread count for every library (default: fastkeras' current
    count); rows with their own ``Workload.threads`` run at that instead."""
    import fastkeras as fk

    run_threads = int(threads) if threads is not None else fk.config.get_num_threads()
    if run_threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    peers.set_run_threads(run_threads)
    peers.pin(run_threads)
    workloads = [w for w in WORKLOADS if not name_filter or name_filter in w.name]
    row_threads = [w.threads or run_threads for w in workloads]
    busy = _BusyCore() if busy_core else None
    if busy is not None:
        busy.__enter__()
    try:
        load_before = os.getloadavg()
        peak1 = measure_peak_flops(1) if any(w.flops for w in workloads) else None
        evict = np.zeros(EVICT_BYTES // 8) if cold else None
        bar = _Progress(0, quiet=not progress)
        made = []
        for w, t in zip(workloads, row_threads):
            peers.pin(t)  # before make: TensorFlow traces, sessions and checks run at t too
            impls = w.make()
            loops, streams = _stream_entries(w, t)
            stream_names = {f"STREAM {w.traffic.name}, {k} thread{'s' if k > 1 else ''}": k
                            for k in streams}
            impls.update({name: streams[k] for name, k in stream_names.items()})
            reps, first = _runs(w, repeats, warmup)
            bar.add(len(impls) * (reps + first))
            peers.pin(t)
            times = _time_row(w, impls, repeats, warmup, evict, cooldown, bar)
            stream_GBps = {k: loops.bytes_per_pass / statistics.median(times.pop(name))
                           / 1e9 for name, k in stream_names.items()}
            if loops is not None:
                loops.close()
            made.append((w, t, peers.settings(), times, stream_GBps))
            del impls  # a row's data (up to gigabytes) is freed before the next is made
        bar.close()
        load_after = os.getloadavg()
    finally:
        if busy is not None:
            busy.__exit__(None, None, None)
        peers.pin(run_threads)
    rows = []
    for w, t, thread_settings, times, stream_GBps in made:
        names = list(times)
        med = {k: statistics.median(v) for k, v in times.items()}
        q = {k: (float(np.percentile(v, 25)), float(np.percentile(v, 75))) for k, v in times.items()}
        bound, bound_kind = _row_bound(w, t, stream_GBps, peak1)
        ref = med[w.reference]
        fraction = {k: bound / med[k] for k in names} if bound else {}
        rows.append({
            "workload": w.name,
            "threads": t,
            "thread_settings": thread_settings.as_dict(),
            "mode": "warm" if (w.cold is False or not cold) else "cold",
            "median_s": med,
            "iqr_s": q,
            "speedup_of_fastkeras": {k: med[k] / ref for k in names if k != w.reference},
            "bound_s": bound,
            "bound_kind": bound_kind,
            "stream_GBps": {str(k): v for k, v in stream_GBps.items()},
            "gflops": {k: w.flops / med[k] / 1e9 for k in names} if w.flops else None,
            "fraction_of_bound": fraction,
            # a time under the bound means the bound was wrong for this row (data held in
            # cache, a bandwidth sample taken while the machine was busier): said, not hidden
            "above_bound": sorted(k for k, f in fraction.items() if f > 1.0),
            "samples": len(times[w.reference]),
            "order": "blocked" if w.blocked else "interleaved",
        })
    info = fk.build_info()
    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": {"cpu": _cpu_model(), "cores": os.cpu_count(), "platform": platform.platform()},
        "fastkeras": {k: info[k] for k in ("version", "simd", "openmp")},
        "threads": run_threads,
        "thread_settings": peers.settings().as_dict(),
        "busy_core": busy_core,
        "mode": "cold (caches evicted between calls)" if cold else "warm",
        "cooldown_s": cooldown,
        "repeats": repeats,
        "peak_GFLOPs_per_thread": peak1 / 1e9 if peak1 else None,
        "loadavg_before": load_before,
        "loadavg_after": load_after,
        "rows": rows,
    }


def _ms(s):
    return f"{s * 1e3:.2f}" if s >= 1e-3 else f"{s * 1e3:.4f}"  # microseconds stay visible


def _settings_line(settings):
    return peers.ThreadSettings(**settings).describe()


def to_markdown(res):
    peak = res.get("peak_GFLOPs_per_thread")
    lines = [
        f"Benchmark of {res['date']} on {res['machine']['cpu']} ({res['machine']['cores']} cores), "
        f"fastkeras {res['fastkeras']['version']} ({res['fastkeras']['simd']}); "
        f"**{res['threads']} thread{'s' if res['threads'] != 1 else ''}** unless a row says "
        "otherwise "
        f"({_settings_line(res['thread_settings'])})"
        + ("; **one other core busy** (a spinning process)" if res.get("busy_core") else "")
        + f"; {res['mode']}, medians of {res['repeats']} interleaved runs"
        + (f"; float32 FMA peak {peak:.0f} GFLOP/s per thread" if peak else "")
        + f"; load average {res['loadavg_before'][0]:.2f} before, "
        f"{res['loadavg_after'][0]:.2f} after.",
        "",
    ]
    for row in res["rows"]:
        kind = row.get("bound_kind")
        threads = row.get("threads")
        head = f"**{row['workload']}** ({threads} thread{'s' if threads != 1 else ''}"
        if threads != res["threads"]:
            head += f": {_settings_line(row['thread_settings'])}"
        if row.get("bound_s"):
            head += f"; {kind} bound {_ms(row['bound_s'])} ms"
        if row.get("stream_GBps"):
            head += " from STREAM loops in the same rounds (" + ", ".join(
                f"{v:.1f} GB/s at {k}" for k, v in row["stream_GBps"].items()) + ")"
        head += f", {row['mode']})"
        if row.get("order") == "blocked":
            head += " (each implementation's runs back to back, after a pause)"
        lines.append(head)
        lines.append("")
        gf = row.get("gflops")
        lines.append("| implementation | median ms | IQR ms | fastkeras speed-up | "
                     + ("GFLOP/s | " if gf else "") + f"% of {kind or 'physical'} bound |")
        lines.append("|---|---:|---:|---:|" + ("---:|" if gf else "") + "---:|")
        for k, med in row["median_s"].items():
            lo, hi = row["iqr_s"][k]
            sp = row["speedup_of_fastkeras"].get(k)
            fr = row["fraction_of_bound"].get(k)
            lines.append(
                f"| {k} | {_ms(med)} | {_ms(lo)}–{_ms(hi)} | "
                f"{'%.1fx' % sp if sp is not None else '—'} | "
                + (f"{gf[k]:.0f} | " if gf else "")
                + f"{'%.0f%%' % (100 * fr) if fr is not None else '—'} |"
            )
        if row.get("above_bound"):
            lines.append("")
            lines.append(f"Faster than the measured bound: {', '.join(row['above_bound'])} "
                         "(its data stayed in cache, or the bandwidth rounds ran while the "
                         "machine was busier): this row's bound is not a bound.")
        lines.append("")
    return "\n".join(lines)


def plot(res, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit(
            "--plot needs matplotlib: pip install 'fastkeras[plot]' (or pip install matplotlib)"
        ) from None
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.9 * sum(len(r["speedup_of_fastkeras"]) for r in res["rows"])))
    labels, values = [], []
    for row in res["rows"]:
        for k, sp in row["speedup_of_fastkeras"].items():
            if k.startswith("fastkeras"):
                continue  # variants of ourselves are in the table, not the chart
            labels.append(f"{row['workload'][:38]}\nvs {k}")
            values.append(sp)
    ax.barh(range(len(values)), values, color="#3b7dd8")
    ax.set_yticks(range(len(values)), labels, fontsize=8)
    ax.axvline(1.0, color="k", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("fastkeras speed-up (other median / fastkeras median)")
    for i, v in enumerate(values):
        ax.text(v, i, f" {v:.1f}x", va="center", fontsize=8)
    ax.set_title(f"fastkeras {res['fastkeras']['version']} — {res['machine']['cpu']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m fastkeras.bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=30, help="timed runs per implementation")
    ap.add_argument("--warmup", type=int, default=3, help="untimed runs first")
    ap.add_argument("--warm", action="store_true", help="do not evict caches between calls")
    ap.add_argument("--cooldown", type=float, default=0.0,
                    help="seconds of idle before each timed call (default 0)")
    ap.add_argument("--filter", default=None, help="only workloads whose name contains this")
    ap.add_argument("--threads", type=int, default=None,
                    help="threads of every library in the run (default: fastkeras' count, "
                         "FASTKERAS_NUM_THREADS or the cores)")
    ap.add_argument("--busy-core", action="store_true",
                    help="run one spinning process beside the rows")
    ap.add_argument("--out", default="bench-results", help="folder for results.md / results.json")
    ap.add_argument("--plot", action="store_true", help="also draw ratios.png (needs matplotlib)")
    ap.add_argument("--quiet", action="store_true", help="no progress display")
    args = ap.parse_args(argv)
    if args.repeats < 1 or args.warmup < 0:
        ap.error("--repeats must be >= 1 and --warmup >= 0")
    if args.threads is not None and args.threads < 1:
        ap.error("--threads must be >= 1")
    res = run_benchmarks(args.repeats, args.warmup, cold=not args.warm, name_filter=args.filter,
                         progress=not args.quiet, cooldown=max(0.0, args.cooldown),
                         threads=args.threads, busy_core=args.busy_core)
    md = to_markdown(res)
    print(md)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(md + "\n")
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(res, f, indent=2)
    written = ["results.md", "results.json"]
    if args.plot:
        plot(res, os.path.join(args.out, "ratios.png"))
        written.append("ratios.png")
    print(f"wrote {', '.join(os.path.join(args.out, w) for w in written)}", file=sys.stderr)
    return 0
