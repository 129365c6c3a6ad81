"""build_info() and fastkeras.config."""
import os
import subprocess
import sys

import pytest

import fastkeras as fk


def test_build_info_fields():
    info = fk.build_info()
    for key in ("version", "compiler", "openmp", "num_threads", "simd", "simd_compiled",
                "simd_cpu", "cuda_compiled", "cuda_device", "cuda_device_count"):
        assert key in info
    assert info["version"] == fk.__version__
    assert info["simd"] in ("scalar", "avx2", "avx512")
    assert info["num_threads"] == fk.config.get_num_threads()
    text = str(info)
    assert "SIMD in use" in text and "CUDA device" in text and fk.__version__ in text
    if not info["cuda_compiled"]:
        assert info["cuda_device"] == "not compiled"
    elif info["cuda_device_count"] == 0:
        assert info["cuda_device"] == "no device"


def test_python_dash_m_prints_the_table():
    out = subprocess.run([sys.executable, "-m", "fastkeras"], capture_output=True, text=True,
                         check=True).stdout
    assert "kernel threads" in out and "SIMD in use" in out


def test_set_num_threads_validation():
    before = fk.config.get_num_threads()
    try:
        fk.config.set_num_threads(3)
        assert fk.config.get_num_threads() == 3
        assert fk.build_info()["num_threads"] == 3
        for bad in (0, -2):
            with pytest.raises(ValueError, match="n must be >= 1"):
                fk.config.set_num_threads(bad)
        for bad in (1.5, "two", None, True):
            with pytest.raises(TypeError, match="n must be a positive integer"):
                fk.config.set_num_threads(bad)
    finally:
        fk.config.set_num_threads(before)


def _threads_in_subprocess(value):
    env = dict(os.environ, FASTKERAS_NUM_THREADS=value)
    return subprocess.run(
        [sys.executable, "-c", "import fastkeras; print(fastkeras.config.get_num_threads())"],
        env=env, capture_output=True, text=True)


def test_environment_variable():
    proc = _threads_in_subprocess("1")
    assert proc.returncode == 0 and proc.stdout.strip() == "1"
    proc = _threads_in_subprocess("5")
    assert proc.stdout.strip() == "5"
    proc = _threads_in_subprocess("zero")
    assert proc.returncode != 0 and "FASTKERAS_NUM_THREADS must be a positive integer" in proc.stderr


def test_floatx_and_epsilon():
    assert fk.config.floatx() == "float32"
    assert fk.config.epsilon() == 1e-7
    with pytest.raises(ValueError, match="Unknown `floatx` value"):
        fk.config.set_floatx("float8")
    with pytest.raises(ValueError, match="epsilon must be in"):
        fk.config.set_epsilon(0.0)
