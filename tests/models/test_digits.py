"""Acceptance: the quick-start CNN reaches at least 97% test accuracy on scikit-learn's
digits (1797 8x8 images, 20% held out)."""
import importlib.util
import pathlib

import pytest


def test_digits_cnn_reaches_97_percent():
    pytest.importorskip("sklearn")
    path = pathlib.Path(__file__).resolve().parents[2] / "examples" / "quickstart.py"
    spec = importlib.util.spec_from_file_location("fk_quickstart", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(verbose=0) >= 0.97
