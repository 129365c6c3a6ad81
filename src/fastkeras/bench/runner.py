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
  * the machine's memory bandwidth is measured in the same run (1 and 2
    threads, best of the two), giving each row a bandwidth-bound time;
  * the load average before and after is recorded with the results.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import threading
import time

import numpy as np

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
        if quiet:
            return
        try:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="run", file=sys.stderr, leave=False, mininterval=0.5)
            self.label = None
        except ImportError:
            self.total, self.done = total, 0

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


def measure_bandwidth(nbytes=256 * 2**20, repeats=7, in_place=False):
    """Read+write bandwidth in bytes/s, best of 1 and 2 threads.

    in_place=False: STREAM's "scale" (b = s a, counted as 2 bytes moved per byte
    of a; the write-allocate reads of b are not counted, as in STREAM).
    in_place=True: a *= s, where every written line was just read: the full
    physical read+write bandwidth, the yardstick for in-place updates."""
    n = nbytes // 8
    src = np.ones(n)
    dst = src if in_place else np.empty(n)
    np.multiply(src, 1.0, out=dst)  # fault the pages in

    def one_thread():
        t0 = time.perf_counter()
        np.multiply(src, 1.0, out=dst)
        return time.perf_counter() - t0

    def two_threads():
        half = n // 2
        parts = [(src[:half], dst[:half]), (src[half:], dst[half:])]
        threads = [threading.Thread(target=np.multiply, args=(s, 1.0), kwargs={"out": d})
                   for s, d in parts]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.perf_counter() - t0

    best = 0.0
    for fn in (one_thread, two_threads):
        t = statistics.median(fn() for _ in range(repeats))
        best = max(best, 2 * nbytes / t)
    return best


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


def _run_blocked(w, impls, times, warmup, reps, bar):
    """Each implementation's runs back to back (in a random order of implementations),
    after half a second of rest that lets other libraries' pool threads go idle."""
    order_rng = np.random.default_rng(2025)
    names = list(impls)
    for k in [names[i] for i in order_rng.permutation(len(names))]:
        time.sleep(0.5)
        for rep in range(warmup + reps):
            t0 = time.perf_counter()
            impls[k]()
            dt = time.perf_counter() - t0
            if rep >= warmup:
                times[k].append(dt)
            bar.step(f"{w.name}: {k}")


def run_benchmarks(repeats=30, warmup=3, cold=True, name_filter=None, progress=True,
                   cooldown=0.0):
    """Run every workload; returns a dict with the environment and per-row results."""
    import fastkeras as fk

    workloads = [w for w in WORKLOADS if not name_filter or name_filter in w.name]
    load_before = os.getloadavg()
    bandwidth = measure_bandwidth()
    bandwidth_in_place = measure_bandwidth(in_place=True) if any(w.in_place for w in workloads) \
        else None
    peak = measure_peak_flops(fk.config.get_num_threads()) if any(w.flops for w in workloads) \
        else None
    evict = np.zeros(EVICT_BYTES // 8) if cold else None
    made = [(w, w.make()) for w in workloads]
    def runs(w):
        reps = min(repeats, w.repeats) if w.repeats else repeats
        return reps + (max(warmup, 20) if w.blocked else (1 if w.repeats else warmup))

    total = sum(len(impls) * runs(w) for w, impls in made)
    bar = _Progress(total, quiet=not progress)
    rows = []
    for w, impls in made:
        names = list(impls)
        times = {k: [] for k in names}
        order_rng = np.random.default_rng(2024)
        reps = min(repeats, w.repeats) if w.repeats else repeats
        if w.blocked:
            _run_blocked(w, impls, times, max(warmup, 20), reps, bar)
            names = list(impls)
        for rep in range(0 if w.blocked else min(warmup, 1 if w.repeats else warmup) + reps):
            # A fresh random order each round: no implementation always follows the
            # same one (TensorFlow's pool threads keep spinning for a while after a call).
            order = [names[i] for i in order_rng.permutation(len(names))]
            for k in order:
                if cooldown:
                    time.sleep(cooldown)
                if evict is not None and w.cold is not False:
                    _evict(evict)
                t0 = time.perf_counter()
                impls[k]()
                dt = time.perf_counter() - t0
                if rep >= min(warmup, 1 if w.repeats else warmup):
                    times[k].append(dt)
                bar.step(f"{w.name}: {k}")
        med = {k: statistics.median(v) for k, v in times.items()}
        q = {k: (float(np.percentile(v, 25)), float(np.percentile(v, 75))) for k, v in times.items()}
        if w.bytes_moved and getattr(w, "device_bandwidth", None):
            bound, bound_kind = w.bytes_moved / w.device_bandwidth, "GPU memory bandwidth"
        elif w.bytes_moved:
            bw = bandwidth_in_place if w.in_place else bandwidth
            bound, bound_kind = w.bytes_moved / bw, "bandwidth"
        elif w.flops and peak:
            bound, bound_kind = w.flops / peak, "compute"
        else:
            bound, bound_kind = None, None
        ref = med[w.reference]
        rows.append({
            "workload": w.name,
            "mode": "warm" if (w.cold is False or not cold) else "cold",
            "median_s": med,
            "iqr_s": q,
            "speedup_of_fastkeras": {k: med[k] / ref for k in names if k != w.reference},
            "bound_s": bound,
            "bound_kind": bound_kind,
            "gflops": {k: w.flops / med[k] / 1e9 for k in names} if w.flops else None,
            "fraction_of_bound": {k: bound / med[k] for k in names} if bound else {},
            "samples": len(times[w.reference]),
            "order": "blocked" if w.blocked else "interleaved",
        })
    bar.close()
    info = fk.build_info()
    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": {"cpu": _cpu_model(), "cores": os.cpu_count(), "platform": platform.platform()},
        "fastkeras": {k: info[k] for k in ("version", "simd", "num_threads", "openmp")},
        "mode": "cold (caches evicted between calls)" if cold else "warm",
        "cooldown_s": cooldown,
        "repeats": repeats,
        "memory_bandwidth_GBps": bandwidth / 1e9,
        "memory_bandwidth_in_place_GBps": bandwidth_in_place / 1e9 if bandwidth_in_place else None,
        "peak_GFLOPs": peak / 1e9 if peak else None,
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "rows": rows,
    }


def _ms(s):
    return f"{s * 1e3:.2f}" if s >= 1e-3 else f"{s * 1e3:.4f}"  # microseconds stay visible


def to_markdown(res):
    peak = res.get("peak_GFLOPs")
    lines = [
        f"Benchmark of {res['date']} on {res['machine']['cpu']} ({res['machine']['cores']} cores), "
        f"fastkeras {res['fastkeras']['version']} ({res['fastkeras']['simd']}, "
        f"{res['fastkeras']['num_threads']} threads), {res['mode']}, medians of "
        f"{res['repeats']} interleaved runs; measured memory bandwidth "
        f"{res['memory_bandwidth_GBps']:.1f} GB/s (STREAM scale)"
        + (f", {res['memory_bandwidth_in_place_GBps']:.1f} GB/s in place"
           if res.get("memory_bandwidth_in_place_GBps") else "")
        + (f", float32 FMA peak {peak:.0f} GFLOP/s" if peak else "")
        + f"; load average {res['loadavg_before'][0]:.2f} before, "
        f"{res['loadavg_after'][0]:.2f} after.",
        "",
    ]
    for row in res["rows"]:
        kind = row.get("bound_kind")
        head = f"**{row['workload']}**"
        if row.get("bound_s"):
            head += f" ({kind} bound {_ms(row['bound_s'])} ms, {row['mode']})"
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
    ap.add_argument("--threads", type=int, default=None, help="fastkeras kernel threads")
    ap.add_argument("--out", default="bench-results", help="folder for results.md / results.json")
    ap.add_argument("--plot", action="store_true", help="also draw ratios.png (needs matplotlib)")
    ap.add_argument("--quiet", action="store_true", help="no progress display")
    args = ap.parse_args(argv)
    if args.repeats < 1 or args.warmup < 0:
        ap.error("--repeats must be >= 1 and --warmup >= 0")
    import fastkeras as fk

    if args.threads is not None:
        fk.config.set_num_threads(args.threads)
    res = run_benchmarks(args.repeats, args.warmup, cold=not args.warm, name_filter=args.filter,
                         progress=not args.quiet, cooldown=max(0.0, args.cooldown))
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
