"""keras-io examples/vision/knowledge_distillation.py: a Distiller Model wrapping a
teacher and a student, overriding compile (extra arguments: student and distillation
losses, alpha, temperature) and compute_loss (teacher predictions, KLDivergence between
temperature-softened softmaxes, weighted sum), call returning the student's output;
teacher trained first, student distilled, a clone of the student
(keras.models.clone_model) trained from scratch for comparison.

Port: MNIST 28x28 -> digits 16x16 (1,000 train, 300 test); teacher filters 256/512 ->
32/64; epochs 5 / 3 / 3 -> 1 / 1 / 1.
"""
import numpy as np

from ..harness import digits, history, seed_weights

SOURCE = "examples/vision/knowledge_distillation.py"


def run(lib):
    keras = lib.keras
    layers = keras.layers
    ops = keras.ops
    out = {}

    class Distiller(keras.Model):
        def __init__(self, student, teacher):
            super().__init__()
            self.teacher = teacher
            self.student = student

        def compile(self, optimizer, metrics, student_loss_fn, distillation_loss_fn,
                    alpha=0.1, temperature=3):
            super().compile(optimizer=optimizer, metrics=metrics)
            self.student_loss_fn = student_loss_fn
            self.distillation_loss_fn = distillation_loss_fn
            self.alpha = alpha
            self.temperature = temperature

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None,
                         allow_empty=False):
            teacher_pred = self.teacher(x, training=False)
            student_loss = self.student_loss_fn(y, y_pred)
            distillation_loss = self.distillation_loss_fn(
                ops.softmax(teacher_pred / self.temperature, axis=1),
                ops.softmax(y_pred / self.temperature, axis=1),
            ) * (self.temperature ** 2)
            return self.alpha * student_loss + (1 - self.alpha) * distillation_loss

        def call(self, x):
            return self.student(x)

    teacher = keras.Sequential([
        keras.Input(shape=(16, 16, 1)),
        layers.Conv2D(32, (3, 3), strides=(2, 2), padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.MaxPooling2D(pool_size=(2, 2), strides=(1, 1), padding="same"),
        layers.Conv2D(64, (3, 3), strides=(2, 2), padding="same"),
        layers.Flatten(),
        layers.Dense(10),
    ], name="teacher")
    student = keras.Sequential([
        keras.Input(shape=(16, 16, 1)),
        layers.Conv2D(16, (3, 3), strides=(2, 2), padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.MaxPooling2D(pool_size=(2, 2), strides=(1, 1), padding="same"),
        layers.Conv2D(32, (3, 3), strides=(2, 2), padding="same"),
        layers.Flatten(),
        layers.Dense(10),
    ], name="student")
    seed_weights(teacher, 0)
    seed_weights(student, 1)
    student_scratch = keras.models.clone_model(student)
    student_scratch.set_weights(student.get_weights())
    out["params"] = [teacher.count_params(), student.count_params(),
                     student_scratch.count_params()]

    x, y = digits(size=16)
    x_train, y_train = x[:1000], y[:1000]
    x_test, y_test = x[1000:1300], y[1000:1300]
    teacher.compile(optimizer=keras.optimizers.Adam(),
                    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                    metrics=[keras.metrics.SparseCategoricalAccuracy()])
    h = teacher.fit(x_train, y_train, epochs=1, verbose=0, shuffle=False)
    out["teacher_history"] = history(h)
    out["teacher_test"] = [float(v) for v in teacher.evaluate(x_test, y_test, verbose=0)]

    distiller = Distiller(student=student, teacher=teacher)
    distiller.compile(optimizer=keras.optimizers.Adam(),
                      metrics=[keras.metrics.SparseCategoricalAccuracy()],
                      student_loss_fn=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      distillation_loss_fn=keras.losses.KLDivergence(),
                      alpha=0.1, temperature=10)
    h = distiller.fit(x_train, y_train, epochs=1, verbose=0, shuffle=False)
    out["distiller_history"] = history(h)
    out["distiller_test"] = [float(v) for v in distiller.evaluate(x_test, y_test, verbose=0)]

    student_scratch.compile(optimizer=keras.optimizers.Adam(),
                            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                            metrics=[keras.metrics.SparseCategoricalAccuracy()])
    h = student_scratch.fit(x_train, y_train, epochs=1, verbose=0, shuffle=False)
    out["scratch_history"] = history(h)
    out["scratch_test"] = [float(v) for v in student_scratch.evaluate(x_test, y_test, verbose=0)]
    return out
