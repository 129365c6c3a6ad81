"""keras-io examples/structured_data/imbalanced_classification.py: credit-card fraud
detection on a heavily imbalanced table: features normalized with the training mean and
std, a Sequential MLP (Dense 256 x 3 with Dropout 0.3), confusion-matrix metrics
(FalseNegatives, FalsePositives, TrueNegatives, TruePositives, Precision, Recall),
Adam(1e-2), class_weight from the class frequencies, ModelCheckpoint each epoch,
validation_data.

Port: the Kaggle CSV -> seeded synthetic rows (2,000 x 29 features, ~3% positives,
shifted means for the positives); batch 2048 -> 256, epochs 30 -> 3. The two Dropout(0.3)
layers draw different masks in each library and, with losses of order 1e-4 (class weights
1/count) and Adam(1e-2), the per-epoch numbers do not stay close; only what dropout cannot
change is compared (structure, log keys, checkpoints, confusion-matrix totals, finiteness).
"""
import os

import numpy as np

from ..harness import history, seed_weights, tmpdir

SOURCE = "examples/structured_data/imbalanced_classification.py"


def run(lib):
    keras = lib.keras
    out = {}
    rng = np.random.default_rng(0)
    n, d = 2000, 29
    targets = (rng.random(n) < 0.03).astype("uint8")
    features = rng.normal(size=(n, d)).astype("float32")
    features[targets == 1] += rng.normal(1.0, 0.5, size=d).astype("float32")
    num_val_samples = int(len(features) * 0.2)
    train_features, val_features = features[:-num_val_samples], features[-num_val_samples:]
    train_targets, val_targets = targets[:-num_val_samples], targets[-num_val_samples:]
    counts = np.bincount(train_targets)
    out["counts"] = counts.tolist()
    mean = np.mean(train_features, axis=0)
    train_features -= mean
    val_features -= mean
    std = np.std(train_features, axis=0)
    train_features /= std
    val_features /= std

    model = keras.Sequential([
        keras.Input(shape=train_features.shape[1:]),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    out["params"] = model.count_params()
    seed_weights(model, 0)
    metrics = [
        keras.metrics.FalseNegatives(name="fn"),
        keras.metrics.FalsePositives(name="fp"),
        keras.metrics.TrueNegatives(name="tn"),
        keras.metrics.TruePositives(name="tp"),
        keras.metrics.Precision(name="precision"),
        keras.metrics.Recall(name="recall"),
    ]
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy",
                  metrics=metrics)
    weight_for_0 = 1.0 / counts[0]
    weight_for_1 = 1.0 / counts[1]
    class_weight = {0: weight_for_0, 1: weight_for_1}
    with tmpdir() as dname:
        callbacks = [keras.callbacks.ModelCheckpoint(
            os.path.join(dname, "fraud_model_at_epoch_{epoch}.keras"))]
        h = model.fit(train_features, train_targets, batch_size=256, epochs=3, verbose=0,
                      callbacks=callbacks, validation_data=(val_features, val_targets),
                      class_weight=class_weight, shuffle=False)
        out["checkpoints"] = sorted(os.listdir(dname))
    out["history_keys"] = sorted(h.history)
    hist = history(h)
    out["losses_finite"] = bool(np.isfinite(hist["loss"] + hist["val_loss"]).all())
    out["confusion_totals"] = [int(round(sum(hist[p + k][-1] for k in ("fn", "fp", "tn", "tp"))))
                               for p in ("", "val_")]
    out["rates_in_range"] = bool(all(0 <= hist[k][-1] <= 1 for k in
                                     ("precision", "recall", "val_precision", "val_recall")))
    return out
