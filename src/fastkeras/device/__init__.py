"""The fast paths' shared machinery: the lowering of layers to typed steps (``steps``),
the backends that execute them (``backends``: ``HostOps`` on the CPU, ``CudaOps`` on the
GPU), device arrays (``arrays``) and the training plan that runs a lowered model
(``plan``)."""
from fastkeras.device.arrays import DeviceInput, DeviceView
from fastkeras.device.backends import (BatchNormPass, ConvPass, CudaOps, GlobalMaxPass,
                                       HostOps, PoolPass, ops_for)
from fastkeras.device.plan import DevicePlan, LossKind, LossSpec, penalty_of
from fastkeras.device.steps import (LINEAR, SOFTMAX, Activation, NotLowerable, PoolMode, Step,
                                    StepKind, activation_of, layer_chain, lower, lower_layer)

__all__ = ["DeviceInput", "DeviceView", "BatchNormPass", "ConvPass", "CudaOps", "GlobalMaxPass",
           "HostOps", "PoolPass", "ops_for", "DevicePlan", "LossKind", "LossSpec", "penalty_of",
           "LINEAR", "SOFTMAX", "Activation", "NotLowerable", "PoolMode", "Step", "StepKind",
           "activation_of", "layer_chain", "lower", "lower_layer"]
