"""keras-io guides/writing_your_own_callbacks.py: EarlyStoppingAtMinLoss (keeps the best
weights with self.model.get_weights, sets self.model.stop_training, restores with
set_weights) and CustomLearningRateScheduler (reads and assigns
self.model.optimizer.learning_rate each epoch from a schedule table).

Port: MNIST -> digits (64 features, 1,000 samples); epochs 30 / 15 -> 12 / 15.
"""
import numpy as np

from ..harness import digits, history, seed_weights

SOURCE = "guides/writing_your_own_callbacks.py"


def run(lib):
    keras = lib.keras
    out = {}
    x, y = digits(flat=True)
    x_train, y_train = x[:1000], y[:1000].astype("float32")

    def get_model():
        model = keras.Sequential()
        model.add(keras.Input((64,)))
        model.add(keras.layers.Dense(1))
        model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.1),
                      loss="mean_squared_error", metrics=["mean_absolute_error"])
        return model

    stops = {}

    class EarlyStoppingAtMinLoss(keras.callbacks.Callback):
        def __init__(self, patience=0):
            super().__init__()
            self.patience = patience
            self.best_weights = None

        def on_train_begin(self, logs=None):
            self.wait = 0
            self.stopped_epoch = 0
            self.best = np.inf

        def on_epoch_end(self, epoch, logs=None):
            current = logs.get("loss")
            if np.less(current, self.best):
                self.best = current
                self.wait = 0
                self.best_weights = self.model.get_weights()
            else:
                self.wait += 1
                if self.wait >= self.patience:
                    self.stopped_epoch = epoch
                    self.model.stop_training = True
                    self.model.set_weights(self.best_weights)

        def on_train_end(self, logs=None):
            stops["stopped_epoch"] = self.stopped_epoch
            stops["best"] = float(self.best)

    model = seed_weights(get_model(), 0)
    h = model.fit(x_train, y_train, batch_size=64, epochs=12, verbose=0, shuffle=False,
                  callbacks=[EarlyStoppingAtMinLoss()])
    out["early_stopping_history"] = history(h)
    out["early_stopping"] = dict(stops)
    out["restored_loss"] = float(model.evaluate(x_train, y_train, verbose=0)[0])

    lrs = []

    class CustomLearningRateScheduler(keras.callbacks.Callback):
        def __init__(self, schedule):
            super().__init__()
            self.schedule = schedule

        def on_epoch_begin(self, epoch, logs=None):
            if not hasattr(self.model.optimizer, "learning_rate"):
                raise ValueError('Optimizer must have a "learning_rate" attribute.')
            lr = float(np.array(self.model.optimizer.learning_rate))
            scheduled_lr = self.schedule(epoch, lr)
            self.model.optimizer.learning_rate = scheduled_lr
            lrs.append(float(np.array(self.model.optimizer.learning_rate)))

    LR_SCHEDULE = [(3, 0.05), (6, 0.01), (9, 0.005), (12, 0.001)]

    def lr_schedule(epoch, lr):
        if epoch < LR_SCHEDULE[0][0] or epoch > LR_SCHEDULE[-1][0]:
            return lr
        for i in range(len(LR_SCHEDULE)):
            if epoch == LR_SCHEDULE[i][0]:
                return LR_SCHEDULE[i][1]
        return lr

    model = seed_weights(get_model(), 1)
    h = model.fit(x_train, y_train, batch_size=64, epochs=15, verbose=0, shuffle=False,
                  callbacks=[CustomLearningRateScheduler(lr_schedule)])
    out["scheduled_lrs"] = lrs
    out["scheduled_history"] = history(h)
    return out
