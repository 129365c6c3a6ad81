"""keras-io guides/serialization_and_saving.py, "Layer example" (`layer.get_config()` /
`from_config`), applied to the layers the other programs use: the keys of each config,
the values the guides set, and a from_config round trip producing the same config.
"""
import numpy as np

SOURCE = "guides/serialization_and_saving.py"


def run(lib):
    keras = lib.keras
    layers = keras.layers
    out = {}
    made = {
        "Dense": layers.Dense(3, activation="relu"),
        "Conv2D": layers.Conv2D(8, 3, strides=2, padding="same"),
        "Conv1D": layers.Conv1D(4, 5, dilation_rate=2),
        "Conv2DTranspose": layers.Conv2DTranspose(4, 3, strides=2, padding="same"),
        "MaxPooling2D": layers.MaxPooling2D(2),
        "GlobalAveragePooling1D": layers.GlobalAveragePooling1D(),
        "LSTM": layers.LSTM(16, return_sequences=True),
        "GRU": layers.GRU(8),
        "SimpleRNN": layers.SimpleRNN(4),
        "Embedding": layers.Embedding(100, 8, mask_zero=True),
        "BatchNormalization": layers.BatchNormalization(momentum=0.9),
        "LayerNormalization": layers.LayerNormalization(),
        "Dropout": layers.Dropout(0.5),
        "Flatten": layers.Flatten(),
        "Reshape": layers.Reshape((4, 4, 1)),
        "Activation": layers.Activation("tanh"),
        "LeakyReLU": layers.LeakyReLU(negative_slope=0.2),
        "Concatenate": layers.Concatenate(),
        "Masking": layers.Masking(),
        "RepeatVector": layers.RepeatVector(3),
    }
    for name, layer in made.items():
        config = layer.get_config()
        out[name + "_keys"] = sorted(config)
        again = type(layer).from_config(config).get_config()
        out[name + "_roundtrip_same"] = sorted(again) == sorted(config) and all(
            repr(again[k]) == repr(config[k]) for k in config if k != "name")
    out["Dense_values"] = [made["Dense"].get_config()[k] for k in ("units", "activation")]
    out["Conv2D_values"] = [list(made["Conv2D"].get_config()[k]) if isinstance(
        made["Conv2D"].get_config()[k], (list, tuple)) else made["Conv2D"].get_config()[k]
        for k in ("filters", "kernel_size", "strides", "padding")]
    out["LSTM_values"] = [made["LSTM"].get_config()[k] for k in ("units", "return_sequences")]
    out["Embedding_values"] = [made["Embedding"].get_config()[k]
                               for k in ("input_dim", "output_dim", "mask_zero")]
    out["float_config_values"] = np.asarray([made["BatchNormalization"].get_config()["momentum"],
                                             made["Dropout"].get_config()["rate"],
                                             made["LeakyReLU"].get_config()["negative_slope"]])
    return out
