"""Coverage-guided fuzzing (atheris / libFuzzer) of every property in tests/fuzz.

Each input's first byte picks a property; the rest is handed to hypothesis'
`fuzz_one_input`, so libFuzzer mutates the choices hypothesis makes (dtypes, shapes,
layouts, special values, arguments) and keeps the inputs that reach new lines of fastkeras'
Python layer (instrumented below, with everything else loaded). The properties' own oracles decide pass or fail, so a
wrong number is a finding just like a crash; the per-example watchdog (and libFuzzer's
-timeout) catch hangs. The C core itself is compiled by gcc, without libFuzzer's coverage
instrumentation: it is exercised, not steered towards.

    pip install atheris
    python tests/fuzz/atheris_campaign.py -max_total_time=600 -timeout=60 CORPUS_DIR

A finding is written as crash-<sha1> (libFuzzer) and printed with the failing example;
replay with `python tests/fuzz/atheris_campaign.py crash-<sha1>`."""
import importlib
import os
import pkgutil
import sys
import warnings

import atheris

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import fastkeras  # noqa: E402

for mod in pkgutil.walk_packages(fastkeras.__path__, "fastkeras."):
    if not mod.name.startswith(("fastkeras.bench", "fastkeras.serving_http",
                                "fastkeras.callbacks.tensorboard", "fastkeras.__main__")):
        importlib.import_module(mod.name)  # the lazy subpackages, loaded before instrumenting

from fuzz import test_entry_points, test_hangs, test_recurrent_masks  # noqa: E402

PROPERTIES = sorted(
    (f"{module.__name__}.{name}", fn)
    for module in (test_entry_points, test_hangs, test_recurrent_masks)
    for name, fn in vars(module).items()
    if hasattr(getattr(fn, "hypothesis", None), "fuzz_one_input"))


def one_input(data):
    if not data:
        return
    _, prop = PROPERTIES[data[0] % len(PROPERTIES)]
    prop.hypothesis.fuzz_one_input(data[1:])


if __name__ == "__main__":
    warnings.simplefilter("ignore")  # NumPy's overflow warnings on the special values
    # instrument_all (not instrument_imports): an editable install's import hook hides the
    # modules from atheris' import-time instrumentation
    atheris.instrument_all()
    print(f"{len(PROPERTIES)} properties:", ", ".join(n.split(".")[-1] for n, _ in PROPERTIES))
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
