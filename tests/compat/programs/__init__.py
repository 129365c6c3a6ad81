"""The corpus: one module per keras-io guide or example, each with ``run(lib)``."""
import pkgutil
from pathlib import Path

ALL = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)])
             if not m.name.startswith("_"))
