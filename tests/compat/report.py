"""python -m tests.compat.report [names...]: run the corpus with fastkeras and tf.keras,
print how many programs run unchanged and how many match tf.keras, and what differs."""
import argparse
import os
import sys
import time

from . import harness
from .manifest import FAILING
from .programs import ALL


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help="programs to run (default: all)")
    parser.add_argument("--suggest", action="store_true",
                        help="also print manifest entries for what fails now")
    args = parser.parse_args(argv)
    names = args.names or ALL
    unknown = sorted(set(names) - set(ALL))
    if unknown:
        parser.error(f"unknown programs: {unknown}")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    tf_lib, fk_lib = harness.tf_keras_lib(), harness.fastkeras_lib()
    ran, matched, problems = 0, 0, []
    for name in names:
        t0 = time.perf_counter()
        ref = harness.execute(name, tf_lib)
        t1 = time.perf_counter()
        got = harness.execute(name, fk_lib)
        t2 = time.perf_counter()
        if ref.error:
            status, detail = "ORACLE FAILED", [f"tf.keras raised {ref.error} at {ref.where}"]
        elif got.error:
            status, detail = "RAISES", [f"{got.error} at {got.where}"]
        else:
            ran += 1
            diffs = harness.compare(ref.results, got.results, harness.load_program(name))
            status, detail = ("MATCHES", []) if not diffs else ("DIFFERS", diffs)
            matched += not diffs
        known = " (in manifest)" if name in FAILING else ""
        if status != "MATCHES" or known:
            problems.append((name, status, detail))
        print(f"{name:44s} {status:8s}{known}  tf.keras {t1 - t0:5.1f}s  fastkeras {t2 - t1:5.1f}s",
              flush=True)
    total = len(names)
    print()
    print(f"run unchanged on fastkeras: {ran}/{total}")
    print(f"match tf.keras:             {matched}/{total}")
    if problems:
        print("\nwhat differs:")
        for name, status, detail in problems:
            print(f"- {name}: {status}")
            for line in detail[:8]:
                print(f"    {line}")
            if len(detail) > 8:
                print(f"    ... {len(detail) - 8} more")
    stale = [n for n, status, _ in problems if n in FAILING and status == "MATCHES"]
    if stale:
        print(f"\nmanifest entries that now pass (remove them): {stale}")
    if args.suggest:
        print("\nFAILING = {")
        for name, status, detail in problems:
            if status in ("RAISES", "DIFFERS"):
                first = detail[0] if detail else status
                print(f"    {name!r}: {(status.lower() + ': ' + first)[:200]!r},")
        print("}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
