"""compile_for_inference(quantize="int8"): the runner's Dense steps in int8 (static scales
from the calibration, or per row), describe(), refresh(), accuracy on digits within half a
point of float32 for the MLP and the CNN, and bad arguments refused naming them."""
import numpy as np
import pytest

import fastkeras as fk

L = fk.layers
F32 = np.float32


def _mlp():
    return fk.Sequential([fk.Input((12,)), L.Dense(16, activation="relu"),
                          L.BatchNormalization(), L.Dense(8), L.LeakyReLU(0.1),
                          L.Dense(4, activation="softmax")])


def test_runner_int8_describes_and_tracks_float32():
    fk.utils.set_random_seed(1)
    model = _mlp()
    x = np.random.default_rng(2).standard_normal((64, 12)).astype(F32)
    ref = model.compile_for_inference()(x)
    for cal in (x, None):
        runner = model.compile_for_inference(quantize="int8", calibration=cal)
        assert runner.quantize == "int8"
        (line,) = runner.describe()
        assert "3 of 4 steps int8" in line
        assert ("static" if cal is not None else "per-row") in line
        np.testing.assert_allclose(runner(x), ref, atol=0.03)


def test_runner_int8_static_scales_come_from_the_calibration():
    fk.utils.set_random_seed(2)
    model = fk.Sequential([fk.Input((5,)), L.Dense(7, activation="relu"), L.Dense(3)])
    cal = np.random.default_rng(3).standard_normal((40, 5)).astype(F32)
    runner = model.compile_for_inference(quantize="int8", calibration=cal)
    (stage,) = runner._stages
    w1, b1 = model.layers[0].kernel.numpy(), model.layers[0].bias.numpy()
    h = np.maximum(cal @ w1 + b1, 0)
    scales = [e.weight.x_scale for e in stage.steps]
    np.testing.assert_allclose(scales, [np.abs(cal).max() / 127, np.abs(h).max() / 127],
                               rtol=1e-6)


def test_runner_int8_cnn_quantises_convolutions_and_dense_and_refresh_requantises():
    fk.utils.set_random_seed(3)
    model = fk.Sequential([fk.Input((6, 6, 4)), L.Conv2D(8, 3, activation="relu"),
                           L.DepthwiseConv2D(3, padding="same"), L.Conv2D(3, 1),
                           L.Flatten(), L.Dense(5, activation="softmax")])
    x = np.random.default_rng(4).random((8, 6, 6, 4)).astype(F32)
    runner = model.compile_for_inference(quantize="int8", calibration=x)
    lines = runner.describe()
    assert any("1 of 1 steps int8" in line for line in lines)
    convs = [line for line in lines if line.startswith("C kernel: ConvStage")]
    # 3x3 on 4 channels (36 products an output) in int8; the depthwise (grouped) and the
    # 1x1 on 8 channels (below INT8_CONV_MIN_K) stay float32
    assert convs[0].endswith("(int8)"), lines
    assert sum(line.endswith("(int8)") for line in convs) == 1, lines
    np.testing.assert_allclose(runner(x), model.predict(x, verbose=0), atol=0.02)
    model.layers[-1].kernel.assign(model.layers[-1].kernel.numpy() * 2)
    runner.refresh()
    np.testing.assert_allclose(runner(x), model.predict(x, verbose=0), atol=0.02)


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_digits_accuracy_within_half_a_point_of_float32(kind):
    pytest.importorskip("sklearn")
    from fastkeras.bench.int8_accuracy import measure

    r = measure(kind, epochs=8)
    assert r.float32 > 0.9
    assert r.int8_static >= r.float32 - 0.005
    assert r.int8_dynamic >= r.float32 - 0.005
    assert r.agreement_static >= 0.99


def test_bad_arguments_are_refused():
    model = _mlp()
    with pytest.raises(ValueError, match="quantize must be None or 'int8'"):
        model.compile_for_inference(quantize="int4")
    with pytest.raises(ValueError, match="calibration is used only with"):
        model.compile_for_inference(calibration=np.zeros((2, 12), F32))
    with pytest.raises(ValueError, match="runs on the CPU"):
        model.compile_for_inference(device="cuda", quantize="int8")
    with pytest.raises(ValueError, match="NaN or infinite"):
        model.compile_for_inference(quantize="int8", calibration=np.full((2, 12), np.nan))
    with pytest.raises(ValueError, match="non-empty batch"):
        model.compile_for_inference(quantize="int8", calibration=np.zeros((0, 12)))
    with pytest.raises(ValueError, match="numeric"):
        model.compile_for_inference(quantize="int8", calibration=np.array([["a"] * 12]))
    with pytest.raises(ValueError, match="calibration: .*expects inputs of shape"):
        model.compile_for_inference(quantize="int8", calibration=np.zeros((2, 11), F32))
    previous = fk.config.floatx()
    fk.config.set_floatx("float64")  # every layer in float64
    try:
        f64 = fk.Sequential([fk.Input((3,)), L.Dense(2)])
    finally:
        fk.config.set_floatx(previous)
    with pytest.raises(ValueError, match="needs a float32 model"):
        f64.compile_for_inference(quantize="int8")
    pools = fk.Sequential([fk.Input((4, 4, 1)), L.MaxPooling2D(2), L.Flatten()])
    with pytest.raises(ValueError, match="no Dense or convolution layer"):
        pools.compile_for_inference(quantize="int8")
    a, b = fk.Input((3,)), fk.Input((3,))
    graph = fk.Model([a, b], L.Dense(2)(L.Concatenate()([a, b])))
    with pytest.raises(ValueError, match="runs as a graph"):
        graph.compile_for_inference(quantize="int8")
