"""Print the benchmark table (NumPy vs TensorFlow vs fastkeras, same run).

    python bench/run.py [--repeats 30] [--plot] [--out bench/results]

The same runner ships in the package: python -m fastkeras.bench --help
"""
import sys

from fastkeras.bench.runner import main

if __name__ == "__main__":
    argv = sys.argv[1:]
    if not any(a == "--out" or a.startswith("--out=") for a in argv):
        argv += ["--out", "bench/results"]
    raise SystemExit(main(argv))
