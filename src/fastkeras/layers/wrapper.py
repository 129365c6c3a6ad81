"""Wrapper: the base class of layers that hold another layer (keras.layers.Wrapper). It
is abstract (no call); a subclass gets the wrapped layer as ``self.layer``, a build that
builds it, and a config nesting the layer's config."""
from fastkeras.layers.base import Layer

__all__ = ["Wrapper"]


def _serialize(obj):
    from fastkeras.saving.serialization_lib import serialize_keras_object

    return serialize_keras_object(obj)


def _deserialize(config, custom_objects=None):
    from fastkeras.saving.serialization_lib import deserialize_keras_object

    return deserialize_keras_object(config, custom_objects=custom_objects)


class Wrapper(Layer):
    """Base class of layers wrapping ``layer`` (a Layer instance)."""

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"Layer {layer} supplied to Wrapper isn't a supported layer "
                             f"type. Please ensure wrapped layer is a valid Keras layer.")
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape=None):
        if not self.layer.built:
            self.layer.build(input_shape)
            self.layer.built = True
        self.built = True

    def get_config(self):
        c = super().get_config()
        c["layer"] = _serialize(self.layer)
        return c

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        layer = _deserialize(config.pop("layer"), custom_objects=custom_objects)
        return cls(layer, **config)
