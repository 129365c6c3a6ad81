"""Model.layer_chain: the one public question the fast paths ask a model's graph."""
import numpy as np

import fastkeras as fk
from fastkeras.device import layer_chain

L = fk.layers


def test_sequential_is_its_layers():
    layers = [L.Dense(4, activation="relu"), L.Dense(2)]
    m = fk.Sequential([fk.Input((3,))] + layers)
    assert m.layer_chain() == layers
    assert layer_chain(m) == layers


def test_functional_chain_in_call_order():
    x = fk.Input((3,))
    a, b, c = L.Dense(4), L.Activation("relu"), L.Dense(2)
    m = fk.Model(x, c(b(a(x))))
    assert m.layer_chain() == [a, b, c]


def test_a_shared_layer_called_twice_appears_twice():
    x = fk.Input((3,))
    d = L.Dense(3)
    m = fk.Model(x, d(d(x)))
    assert m.layer_chain() == [d, d]


def test_what_is_not_one_chain():
    x = fk.Input((3,))
    h = L.Dense(3)(x)
    branched = fk.Model(x, L.Add()([h, L.Dense(3)(h)]))
    assert branched.layer_chain() is None
    x2 = fk.Input((3,))
    two_inputs = fk.Model([x, x2], L.Concatenate()([x, x2]))
    assert two_inputs.layer_chain() is None
    two_outputs = fk.Model(x, [L.Dense(2)(x), L.Dense(3)(x)])
    assert two_outputs.layer_chain() is None

    class Own(fk.Model):
        def __init__(self):
            super().__init__()
            self.d = L.Dense(2)

        def call(self, inputs):
            return self.d(inputs) * 2

    own = Own()
    own(np.zeros((1, 3), np.float32))
    assert own.layer_chain() is None and layer_chain(own) is None

    class OwnStack(fk.Sequential):
        def call(self, inputs, training=None, mask=None):
            return super().call(inputs) + 1

    assert OwnStack([fk.Input((3,)), L.Dense(2)]).layer_chain() is None
    assert layer_chain(object()) is None  # not a model: nothing to lower


def test_a_layer_called_with_extra_arguments_is_not_a_plain_step():
    x = fk.Input((3,))
    m = fk.Model(x, L.Dropout(0.5)(L.Dense(3)(x), training=True))
    assert m.layer_chain() is None
