"""keras-io examples/vision/siamese_contrastive.py: pairs of images (same / different
class, picked with Python's random), a shared embedding tower (BatchNormalization,
Conv2D tanh, AveragePooling2D, Dense tanh) called on two inputs, a Lambda computing the
Euclidean distance (ops.sqrt(ops.maximum(sum_square, keras.backend.epsilon()))), and a
contrastive loss closure with a margin; RMSprop, accuracy, evaluate, predict.

Port: MNIST 28x28 -> digits 16x16 (300 train pairs from 150 images, 100 validation,
100 test); random.seed(1) fixes the pairs in both runs; epochs 10 -> 2, batch 16.
"""
import random

import numpy as np

from ..harness import digits, history, seed_weights, to_numpy

SOURCE = "examples/vision/siamese_contrastive.py"
TOLERANCES = {"history": (3e-4, 1e-5)}


def run(lib):
    keras = lib.keras
    layers = keras.layers
    ops = keras.ops
    out = {}
    epochs, batch_size, margin = 2, 16, 1
    x, y = digits(size=16)
    x_train, y_train = x[:150, ..., 0], y[:150]
    x_val, y_val = x[150:200, ..., 0], y[150:200]
    x_test, y_test = x[200:250, ..., 0], y[200:250]
    random.seed(1)

    def make_pairs(x, y):
        num_classes = max(y) + 1
        digit_indices = [np.where(y == i)[0] for i in range(num_classes)]
        pairs, labels = [], []
        for idx1 in range(len(x)):
            x1 = x[idx1]
            label1 = y[idx1]
            idx2 = random.choice(digit_indices[label1])
            pairs += [[x1, x[idx2]]]
            labels += [1]
            label2 = random.randint(0, num_classes - 1)
            while label2 == label1:
                label2 = random.randint(0, num_classes - 1)
            idx2 = random.choice(digit_indices[label2])
            pairs += [[x1, x[idx2]]]
            labels += [0]
        return np.array(pairs), np.array(labels).astype("float32")

    pairs_train, labels_train = make_pairs(x_train, y_train)
    pairs_val, labels_val = make_pairs(x_val, y_val)
    pairs_test, labels_test = make_pairs(x_test, y_test)
    x_train_1, x_train_2 = pairs_train[:, 0], pairs_train[:, 1]
    x_val_1, x_val_2 = pairs_val[:, 0], pairs_val[:, 1]
    x_test_1, x_test_2 = pairs_test[:, 0], pairs_test[:, 1]
    out["pairs_shape"] = list(pairs_train.shape)

    def euclidean_distance(vects):
        x, y = vects
        sum_square = ops.sum(ops.square(x - y), axis=1, keepdims=True)
        return ops.sqrt(ops.maximum(sum_square, keras.backend.epsilon()))

    input = layers.Input((16, 16, 1))
    h = layers.BatchNormalization()(input)
    h = layers.Conv2D(4, (5, 5), activation="tanh")(h)
    h = layers.AveragePooling2D(pool_size=(2, 2))(h)
    h = layers.Conv2D(16, (5, 5), activation="tanh")(h)
    h = layers.AveragePooling2D(pool_size=(2, 2))(h)
    h = layers.Flatten()(h)
    h = layers.BatchNormalization()(h)
    h = layers.Dense(10, activation="tanh")(h)
    embedding_network = keras.Model(input, h)

    input_1 = layers.Input((16, 16, 1))
    input_2 = layers.Input((16, 16, 1))
    tower_1 = embedding_network(input_1)
    tower_2 = embedding_network(input_2)
    merge_layer = layers.Lambda(euclidean_distance)([tower_1, tower_2])
    normal_layer = layers.BatchNormalization()(merge_layer)
    output_layer = layers.Dense(1, activation="sigmoid")(normal_layer)
    siamese = keras.Model(inputs=[input_1, input_2], outputs=output_layer)
    out["params"] = siamese.count_params()
    seed_weights(siamese, 0)

    def loss(margin=1):
        def contrastive_loss(y_true, y_pred):
            square_pred = ops.square(y_pred)
            margin_square = ops.square(ops.maximum(margin - (y_pred), 0))
            return ops.mean((1 - y_true) * square_pred + (y_true) * margin_square)
        return contrastive_loss

    siamese.compile(loss=loss(margin=margin), optimizer="RMSprop", metrics=["accuracy"])
    h = siamese.fit([x_train_1, x_train_2], labels_train,
                    validation_data=([x_val_1, x_val_2], labels_val),
                    batch_size=batch_size, epochs=epochs, verbose=0, shuffle=False)
    out["history"] = history(h)
    results = siamese.evaluate([x_test_1, x_test_2], labels_test, verbose=0)
    out["test"] = [float(v) for v in results]
    out["predictions"] = to_numpy(siamese.predict([x_test_1[:6], x_test_2[:6]], verbose=0))
    return out
