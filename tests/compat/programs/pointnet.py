"""keras-io examples/vision/pointnet.py: PointNet point-cloud classification: conv_bn /
dense_bn blocks (Conv1D kernel 1, BatchNormalization(momentum=0.0), ReLU), T-Net blocks
whose Dense layer starts at the identity (kernel zeros, Constant(eye) bias) with a custom
OrthogonalRegularizer (keras.regularizers.Regularizer subclass, ops.tensordot / ops.eye)
as activity regularizer, Dot(axes=(2, 1)) to apply the transform, GlobalMaxPooling1D,
Dropout(0.3), sparse categorical crossentropy.

Port: ModelNet10 meshes (trimesh) -> seeded point clouds of three shapes (sphere, cube
surface, cylinder), NUM_POINTS 2048 -> 64, filters 32/64/512 and 256/128 -> 16/32/64 and
32/16, epochs 20 -> 2, batch 32 -> 16. Dropout differs between libraries: training
numbers are compared loosely.
"""
import numpy as np

from ..harness import history, seed_weights, to_numpy

SOURCE = "examples/vision/pointnet.py"
TOLERANCES = {"history": (0.15, 0.05)}


def run(lib):
    keras = lib.keras
    layers = keras.layers
    ops = keras.ops
    out = {}
    NUM_POINTS, NUM_CLASSES = 64, 3
    rng = np.random.default_rng(0)

    def cloud(kind):
        p = rng.normal(size=(NUM_POINTS, 3))
        if kind == 0:
            p /= np.linalg.norm(p, axis=1, keepdims=True)
        elif kind == 1:
            p = rng.uniform(-1, 1, size=(NUM_POINTS, 3))
            axis = rng.integers(0, 3, NUM_POINTS)
            p[np.arange(NUM_POINTS), axis] = np.sign(p[np.arange(NUM_POINTS), axis])
        else:
            a = rng.uniform(0, 2 * np.pi, NUM_POINTS)
            p = np.stack([np.cos(a), np.sin(a), rng.uniform(-1, 1, NUM_POINTS)], axis=1)
        return p + rng.normal(0, 0.01, size=p.shape)

    labels = rng.integers(0, NUM_CLASSES, 96)
    points = np.stack([cloud(k) for k in labels]).astype("float32")

    def conv_bn(x, filters):
        x = layers.Conv1D(filters, kernel_size=1, padding="valid")(x)
        x = layers.BatchNormalization(momentum=0.0)(x)
        return layers.Activation("relu")(x)

    def dense_bn(x, filters):
        x = layers.Dense(filters)(x)
        x = layers.BatchNormalization(momentum=0.0)(x)
        return layers.Activation("relu")(x)

    class OrthogonalRegularizer(keras.regularizers.Regularizer):
        def __init__(self, num_features, l2reg=0.001):
            self.num_features = num_features
            self.l2reg = l2reg
            self.eye = ops.eye(num_features)

        def __call__(self, x):
            x = ops.reshape(x, (-1, self.num_features, self.num_features))
            xxt = ops.tensordot(x, x, axes=(2, 2))
            xxt = ops.reshape(xxt, (-1, self.num_features, self.num_features))
            return ops.sum(self.l2reg * ops.square(xxt - self.eye))

    def tnet(inputs, num_features):
        bias = keras.initializers.Constant(np.eye(num_features).flatten())
        reg = OrthogonalRegularizer(num_features)
        x = conv_bn(inputs, 16)
        x = conv_bn(x, 32)
        x = conv_bn(x, 64)
        x = layers.GlobalMaxPooling1D()(x)
        x = dense_bn(x, 32)
        x = dense_bn(x, 16)
        x = layers.Dense(num_features * num_features, kernel_initializer="zeros",
                         bias_initializer=bias, activity_regularizer=reg)(x)
        feat_T = layers.Reshape((num_features, num_features))(x)
        return layers.Dot(axes=(2, 1))([inputs, feat_T])

    inputs = keras.Input(shape=(NUM_POINTS, 3))
    x = tnet(inputs, 3)
    x = conv_bn(x, 16)
    x = conv_bn(x, 16)
    x = tnet(x, 16)
    x = conv_bn(x, 16)
    x = conv_bn(x, 32)
    x = conv_bn(x, 64)
    x = layers.GlobalMaxPooling1D()(x)
    x = dense_bn(x, 32)
    x = layers.Dropout(0.3)(x)
    x = dense_bn(x, 16)
    x = layers.Dropout(0.3)(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax")(x)
    model = keras.Model(inputs=inputs, outputs=outputs, name="pointnet")
    out["params"] = model.count_params()
    seed_weights(model, 0)
    model(points[:4])
    out["regularization_losses"] = [float(to_numpy(v)) for v in model.losses]
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.Adam(learning_rate=0.001),
                  metrics=["sparse_categorical_accuracy"])
    h = model.fit(points[:64], labels[:64], epochs=2, batch_size=16,
                  validation_data=(points[64:], labels[64:]), verbose=0, shuffle=False)
    out["history"] = history(h)
    return out
