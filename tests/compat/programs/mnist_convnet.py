"""keras-io examples/vision/mnist_convnet.py: Conv2D(32) / MaxPooling / Conv2D(64) /
MaxPooling / Flatten / Dropout(0.5) / Dense(10, softmax), one-hot labels with
keras.utils.to_categorical, categorical_crossentropy, Adam, validation_split=0.1,
evaluate.

Port: MNIST 28x28 -> scikit-learn digits upsampled to 16x16 (800 train, 300 test);
batch 128, epochs 15 -> 2. Dropout(0.5) draws different masks in each library, so the
training numbers are compared loosely (rtol 0.1); shapes and counts exactly.
"""
from ..harness import digits, history, seed_weights, shape

SOURCE = "examples/vision/mnist_convnet.py"
# Dropout(0.5) masks differ between the libraries: losses within 10%, accuracies within
# 0.15 (a statement that both train alike, not a numerical match)
TOLERANCES = {"loss": (0.1, 0.0), "accuracy": (0.0, 0.15), "score": (0.1, 0.15)}


def run(lib):
    keras = lib.keras
    layers = keras.layers
    out = {}
    num_classes = 10
    input_shape = (16, 16, 1)
    x, y = digits(size=16)
    x_train, y_train = x[:800], y[:800]
    x_test, y_test = x[800:1100], y[800:1100]
    y_train = keras.utils.to_categorical(y_train, num_classes)
    y_test = keras.utils.to_categorical(y_test, num_classes)
    out["label_shapes"] = [shape(y_train.shape), shape(y_test.shape)]

    model = keras.Sequential([
        keras.Input(shape=input_shape),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ])
    out["params"] = model.count_params()
    out["output_shapes"] = [shape(layer.output.shape) for layer in model.layers]
    seed_weights(model, 0)
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    h = model.fit(x_train, y_train, batch_size=128, epochs=2, validation_split=0.1, verbose=0,
                  shuffle=False)
    hist = history(h)
    out["loss"] = [hist["loss"], hist["val_loss"]]
    out["accuracy"] = [hist["accuracy"], hist["val_accuracy"]]
    score = model.evaluate(x_test, y_test, verbose=0)
    out["score"] = [float(v) for v in score]
    return out
