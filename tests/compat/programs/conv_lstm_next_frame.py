"""keras-io examples/vision/conv_lstm.py: next-frame video prediction. Frames shifted by
one (x = frames 0..n-2, y = frames 1..n-1), a functional model on Input((None, h, w, 1))
(any number of frames): ConvLSTM2D(5x5, relu) / BatchNormalization / ConvLSTM2D(3x3,
relu) / BatchNormalization / ConvLSTM2D(1x1, relu) / Conv3D(1, 3x3x3, sigmoid), binary
crossentropy, Adam, EarlyStopping and ReduceLROnPlateau on val_loss, then frames predicted
one at a time from the model's last output, fed back as the next input frame.

Port: Moving MNIST (1000 sequences of 20 64x64 frames, downloaded) -> seeded synthetic
moving squares (32 sequences of 7 16x16 frames: one to three squares bouncing off the
borders, as the example's 2016 version generated); filters 64 -> 6; the 90/10 split's
np.random.shuffle -> a seeded permutation; batch 5 -> 4, epochs 20 -> 2; 10 predicted
frames -> 3 (from the first 4); GIFs and plots dropped.
"""
import numpy as np

from ..harness import history, seed_weights, shape, to_numpy

SOURCE = "examples/vision/conv_lstm.py"
# the frames predicted from predicted frames compound float32 rounding
TOLERANCES = {"predicted_*": (1e-3, 1e-5)}


def moving_squares(n, frames=8, size=16, seed=0):
    """n movies of bright squares moving one or two pixels a frame, bouncing off the
    borders: (n, frames, size, size, 1) in [0, 1]."""
    rng = np.random.default_rng(seed)
    movies = np.zeros((n, frames, size, size, 1), "float32")
    for i in range(n):
        for _ in range(rng.integers(1, 4)):
            side = int(rng.integers(2, 4))
            pos = rng.integers(0, size - side, size=2).astype(int)
            vel = rng.choice([-2, -1, 1, 2], size=2)
            for t in range(frames):
                r, c = pos
                movies[i, t, r:r + side, c:c + side, 0] = 1.0
                for k in range(2):
                    nxt = pos[k] + vel[k]
                    if nxt < 0 or nxt > size - side:
                        vel[k] = -vel[k]
                    pos[k] += vel[k]
    return movies


def run(lib):
    keras = lib.keras
    layers = keras.layers
    out = {}
    dataset = moving_squares(32, frames=7)
    indexes = np.random.default_rng(1).permutation(dataset.shape[0])
    train_index = indexes[: int(0.9 * dataset.shape[0])]
    val_index = indexes[int(0.9 * dataset.shape[0]):]
    train_dataset = dataset[train_index]
    val_dataset = dataset[val_index]

    def create_shifted_frames(data):
        x = data[:, 0: data.shape[1] - 1, :, :]
        y = data[:, 1: data.shape[1], :, :]
        return x, y

    x_train, y_train = create_shifted_frames(train_dataset)
    x_val, y_val = create_shifted_frames(val_dataset)
    out["dataset_shapes"] = [shape(a.shape) for a in (x_train, y_train, x_val, y_val)]

    inp = layers.Input(shape=(None, *x_train.shape[2:]))
    x = layers.ConvLSTM2D(filters=6, kernel_size=(5, 5), padding="same",
                          return_sequences=True, activation="relu")(inp)
    x = layers.BatchNormalization()(x)
    x = layers.ConvLSTM2D(filters=6, kernel_size=(3, 3), padding="same",
                          return_sequences=True, activation="relu")(x)
    x = layers.BatchNormalization()(x)
    x = layers.ConvLSTM2D(filters=6, kernel_size=(1, 1), padding="same",
                          return_sequences=True, activation="relu")(x)
    x = layers.Conv3D(filters=1, kernel_size=(3, 3, 3), activation="sigmoid",
                      padding="same")(x)
    model = keras.models.Model(inp, x)
    out["params"] = model.count_params()
    out["output_shapes"] = [shape(layer.output.shape) for layer in model.layers]
    out["weight_shapes"] = [shape(w.shape) for w in model.weights]
    seed_weights(model, 0)
    model.compile(loss=keras.losses.binary_crossentropy, optimizer=keras.optimizers.Adam())

    early_stopping = keras.callbacks.EarlyStopping(monitor="val_loss", patience=10)
    reduce_lr = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", patience=5)
    h = model.fit(x_train, y_train, batch_size=4, epochs=2, validation_data=(x_val, y_val),
                  callbacks=[early_stopping, reduce_lr], verbose=0, shuffle=False)
    hist = history(h)
    out["loss"] = hist["loss"]
    out["val_loss"] = hist["val_loss"]

    example = val_dataset[0]
    frames = example[:4, ...]
    for _ in range(3):
        new_prediction = model.predict(np.expand_dims(frames, axis=0), verbose=0)
        new_prediction = np.squeeze(to_numpy(new_prediction), axis=0)
        predicted_frame = np.expand_dims(new_prediction[-1, ...], axis=0)
        frames = np.concatenate((frames, predicted_frame), axis=0)
    new_frames = frames[4:, ..., 0]
    out["predicted_shape"] = shape(frames.shape)
    out["predicted_frame_means"] = [float(f.mean()) for f in new_frames]
    out["predicted_pixels"] = new_frames[:, ::4, ::4].round(6).tolist()
    return out
