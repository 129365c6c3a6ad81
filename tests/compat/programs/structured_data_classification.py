"""keras-io examples/structured_data/structured_data_classification_from_scratch.py:
integer categorical features one-hot encoded with IntegerLookup and a string feature with
StringLookup (vocabulary given, mask_token=None, num_oov_indices=0,
output_mode="binary"), numerical features with Normalization layers adapted on the
training data, a dict of Inputs, a Classifier layer concatenating the dict
(Dense 32 relu, Dropout 0.5, Dense 1 sigmoid), and predict on one new sample.

Port: the heart-disease CSV (pandas) -> a seeded synthetic table of the same columns
(303 rows, 20% validation); tf.data (from_tensor_slices + map + batch) -> NumPy arrays
encoded once; epochs 50 -> 4. Dropout(0.5) differs between libraries: training numbers
are compared loosely.
"""
import numpy as np

from ..harness import history, seed_weights, to_numpy

SOURCE = "examples/structured_data/structured_data_classification_from_scratch.py"
TOLERANCES = {"history": (0.1, 0.05), "prediction": (0.2, 0.05)}


def run(lib):
    keras = lib.keras
    layers = keras.layers
    out = {}
    rng = np.random.default_rng(1337)
    n = 303
    thal_values = np.array(["fixed", "normal", "reversible"])
    table = {
        "age": rng.integers(29, 78, n).astype("float32"),
        "sex": rng.integers(0, 2, n),
        "cp": rng.integers(0, 5, n),
        "trestbps": rng.integers(94, 200, n).astype("float32"),
        "chol": rng.integers(126, 564, n).astype("float32"),
        "fbs": rng.integers(0, 2, n),
        "restecg": rng.integers(0, 3, n),
        "thalach": rng.integers(71, 202, n).astype("float32"),
        "exang": rng.integers(0, 2, n),
        "oldpeak": np.round(rng.random(n) * 6, 1).astype("float32"),
        "slope": rng.integers(1, 4, n).astype("float32"),
        "ca": rng.integers(0, 4, n),
        "thal": thal_values[rng.integers(0, 3, n)],
    }
    target = ((table["age"] > 55) ^ (table["exang"] == 1)).astype("int64")
    val_rows = rng.permutation(n)[: int(0.2 * n)]
    is_val = np.zeros(n, bool)
    is_val[val_rows] = True

    NUMERIC_FEATURE_NAMES = ["age", "trestbps", "thalach", "oldpeak", "slope", "chol"]
    CATEGORICAL_FEATURES_WITH_VOCABULARY = {
        name: sorted(int(v) if table[name].dtype.kind == "i" else str(v)
                     for v in np.unique(table[name]))
        for name in table if name not in NUMERIC_FEATURE_NAMES
    }
    FEATURE_NAMES = NUMERIC_FEATURE_NAMES + list(CATEGORICAL_FEATURES_WITH_VOCABULARY)

    def encode_categorical(features):
        encoded = {}
        for feature_name, values in features.items():
            if feature_name in CATEGORICAL_FEATURES_WITH_VOCABULARY:
                lookup_class = (layers.StringLookup if values.dtype.kind in "US"
                                else layers.IntegerLookup)
                index = lookup_class(vocabulary=CATEGORICAL_FEATURES_WITH_VOCABULARY[feature_name],
                                     mask_token=None, num_oov_indices=0, output_mode="binary")
                encoded[feature_name] = np.asarray(to_numpy(index(values[:, None])))
            else:
                encoded[feature_name] = values[:, None]
        return encoded

    train_x = encode_categorical({k: v[~is_val] for k, v in table.items()})
    val_x = encode_categorical({k: v[is_val] for k, v in table.items()})
    train_y, val_y = target[~is_val], target[is_val]
    out["encoded_widths"] = {k: int(v.shape[1]) for k, v in sorted(train_x.items())}

    def encode_numerical_feature(feature, name):
        normalizer = layers.Normalization()
        normalizer.adapt(train_x[name])
        return normalizer(feature)

    def create_model_inputs():
        inputs, encoded = {}, {}
        for feature_name in FEATURE_NAMES:
            if feature_name in CATEGORICAL_FEATURES_WITH_VOCABULARY:
                num_categories = len(CATEGORICAL_FEATURES_WITH_VOCABULARY[feature_name])
                inputs[feature_name] = layers.Input(name=feature_name, shape=(num_categories,),
                                                    dtype="int64")
                encoded[feature_name] = inputs[feature_name]
            else:
                inputs[feature_name] = layers.Input(name=feature_name, shape=(1,),
                                                    dtype="float32")
                encoded[feature_name] = encode_numerical_feature(inputs[feature_name],
                                                                 feature_name)
        return inputs, encoded

    class Classifier(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense_1 = layers.Dense(32, activation="relu")
            self.dropout = layers.Dropout(0.5)
            self.dense_2 = layers.Dense(1, activation="sigmoid")

        def call(self, inputs):
            all_features = layers.concatenate(list(inputs.values()))
            x = self.dense_1(all_features)
            x = self.dropout(x)
            return self.dense_2(x)

        def build(self, input_shape):
            self.built = True

    all_inputs, encoded = create_model_inputs()
    output = Classifier()(encoded)
    model = keras.Model(all_inputs, output)
    out["params"] = model.count_params()
    seed_weights(model, 0)
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    h = model.fit(train_x, train_y, epochs=4, batch_size=32, validation_data=(val_x, val_y),
                  verbose=0, shuffle=False)
    out["history"] = history(h)

    sample = {"age": 60, "sex": 1, "cp": 1, "trestbps": 145, "chol": 233, "fbs": 1,
              "restecg": 2, "thalach": 150, "exang": 0, "oldpeak": 2.3, "slope": 3, "ca": 0,
              "thal": "fixed"}

    def get_cat_encoding(cat, cat_value):
        encoding = [0] * len(cat)
        if cat_value in cat:
            encoding[cat.index(cat_value)] = 1
        return encoding

    for name, value in sample.items():
        if name in CATEGORICAL_FEATURES_WITH_VOCABULARY:
            sample[name] = get_cat_encoding(CATEGORICAL_FEATURES_WITH_VOCABULARY[name], value)
    input_dict = {name: keras.ops.convert_to_tensor([value]) for name, value in sample.items()}
    predictions = model.predict(input_dict, verbose=0)
    out["prediction"] = float(np.asarray(predictions)[0][0])
    return out
