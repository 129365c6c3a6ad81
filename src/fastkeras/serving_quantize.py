"""int8 inference for the planned runner: ``model.compile_for_inference(quantize="int8")``.

Each Dense step of the runner's C chains becomes an int8 step (csrc/qdense.c): the kernel
quantised once per output column (symmetric, scale = max |w| / 127), each input row
quantised to int8 when the chain runs, one integer product (AVX-512 VNNI where the CPU has
it, a portable path with the same bits elsewhere), dequantised with the bias and followed by
the step's activation in float32. The input scale is static when ``calibration`` (a batch of
representative inputs) is given: max |x| / 127 of the step's input over that batch, computed
on the float32 activations; without calibration every row is scaled by its own max |x| / 127
when it runs (dynamic, as Keras 3's ``model.quantize("int8")``). Convolutions (Conv1D /
2D / 3D, ungrouped, csrc/qconv.c) run the same way: the kernel quantised per output
channel, the input per tensor (static) or per image, its im2col rows gathered as bytes;
those with fewer than INT8_CONV_MIN_K products per output stay float32 (no gain there).
Pooling, BatchNormalization after a convolution, grouped / depthwise convolutions and the
layers that run their own code stay float32.
"""
import numpy as np

__all__ = ["QUANTIZE_MODES", "check_quantize", "quantize_stages"]

QUANTIZE_MODES = (None, "int8")

# A convolution with fewer products per output than this (taps x input channels) stays
# float32: gathering its bytes costs more than the integer product saves (the digits CNN's
# first 3x3 layer on 1 channel, K = 9: 26 us float32 against 45-60 us int8 at batch 32).
INT8_CONV_MIN_K = 32


def check_quantize(quantize, calibration, device, dtype):
    """The calibration batch as an array (or None), after checking the arguments."""
    if quantize not in QUANTIZE_MODES:
        raise ValueError(f"compile_for_inference: quantize must be None or 'int8', got "
                         f"{quantize!r}")
    if quantize is None:
        if calibration is not None:
            raise ValueError("compile_for_inference: calibration is used only with "
                             "quantize='int8'")
        return None
    if device != "cpu":
        raise ValueError(f"compile_for_inference: quantize='int8' runs on the CPU, got "
                         f"device={device!r}")
    if np.dtype(dtype) != np.float32:
        raise ValueError(f"compile_for_inference: quantize='int8' needs a float32 model, "
                         f"this one computes in {np.dtype(dtype)}")
    if calibration is None:
        return None
    cal = np.asarray(calibration)
    if cal.dtype.kind not in "biuf":
        raise ValueError(f"compile_for_inference: calibration must be numeric inputs, got "
                         f"dtype {cal.dtype}")
    if cal.ndim < 1 or len(cal) == 0:
        raise ValueError(f"compile_for_inference: calibration must be a non-empty batch of "
                         f"inputs, got shape {cal.shape}")
    cal = cal.astype(np.float32)
    if not np.isfinite(cal).all():
        raise ValueError("compile_for_inference: calibration holds NaN or infinite values")
    return cal


def _static_scale(h):
    peak = float(np.max(np.abs(h))) if h.size else 0.0
    return peak / 127.0 if peak > 0 else 1.0


def _quantize_chain(stage, calibration):
    """The int8 entries of one chain stage, and how many of its dense steps were quantised.
    calibration: the stage's float32 input rows, or None (dynamic scales)."""
    from fastkeras._kernels import chain
    from fastkeras.serving import _ChainEntry

    h = calibration
    entries, count = [], 0
    for e in stage.steps:
        new = e
        if e.kind == "dense":
            scale = 0.0 if h is None else _static_scale(h)
            new = _ChainEntry("dense_int8", chain.QuantizedDense(e.weight, scale), e.bias,
                              e.activation)
            count += 1
        if h is not None:  # the float32 activations calibrate the next step
            h = chain.DenseChain([e.as_chain_step()], np.float32).run(h)
        entries.append(new)
    return entries, count


def quantize_stages(stages, calibration, model_name):
    """The runner's stages with every Dense step of its chains and every (ungrouped)
    convolution in int8. calibration: the model's float32 inputs (checked by the runner),
    or None."""
    from fastkeras.serving import _ChainStage, _ConvStage

    if stages is None:
        raise ValueError(f"compile_for_inference: quantize='int8' needs a model the runner "
                         f"plans as stages (a chain of one-input layers); {model_name!r} runs "
                         f"as a graph")
    x = calibration
    out, total = [], 0
    for stage in stages:
        if isinstance(stage, _ChainStage):
            rows = None if x is None else np.ascontiguousarray(
                x.reshape(-1, x.shape[-1]), dtype=np.float32)
            entries, count = _quantize_chain(stage, rows)
            total += count
            out.append(_ChainStage(entries, np.float32) if count else stage)
        elif isinstance(stage, _ConvStage) and stage.quantizable and \
                int(np.prod(stage.step.geometry["k"])) * stage.step.geometry["cin"] >= \
                INT8_CONV_MIN_K:
            scale = 0.0 if x is None else _static_scale(x)
            out.append(_ConvStage(stage.step, np.float32, int8_x_scale=scale))
            total += 1
        else:
            out.append(stage)
        if x is not None:
            x = np.asarray(stage(x), dtype=np.float32)
    if total == 0:
        raise ValueError(f"compile_for_inference: quantize='int8' found no Dense or "
                         f"convolution layer to quantise in {model_name!r}")
    return out
