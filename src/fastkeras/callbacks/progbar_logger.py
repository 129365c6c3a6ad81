"""Progbar (the text progress bar) and ProgbarLogger (fit's verbose output)."""
import sys
import time

from fastkeras.callbacks.callback import Callback


def _fmt(v):
    v = float(v)
    return f"{v:.4f}" if abs(v) >= 1e-3 or v == 0 else f"{v:.4e}"


class Progbar:
    """The tf.keras progress bar: ``32/32 [======] - 0s 2ms/step - loss: 0.6931``.

    On a terminal it redraws in place; elsewhere (logs, CI) it writes the final line."""

    def __init__(self, target, width=30, verbose=1, stateful_metrics=None, unit_name="step",
                 file=None):
        self.target, self.width, self.verbose = target, width, verbose
        self.unit_name = unit_name
        self.file = file or sys.stdout
        self._dynamic = hasattr(self.file, "isatty") and self.file.isatty()
        self._start = time.perf_counter()
        self._last_len = 0

    def update(self, current, values=None, finalize=None):
        values = values or []
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        if self.verbose != 1 or (not self._dynamic and not finalize):
            if self.verbose == 2 and finalize:
                self._line(current, values, bar=False)
            return
        self._line(current, values, bar=True, finalize=finalize)

    def _line(self, current, values, bar, finalize=True):
        now = time.perf_counter()
        elapsed = now - self._start
        if bar:
            if self.target is not None:
                digits = len(str(self.target))
                done = int(self.width * current / self.target) if self.target else self.width
                arrow = "=" * max(done - 1, 0) + (">" if done < self.width else "=") if done \
                    else ""
                text = f"{current:{digits}d}/{self.target} [{arrow:.<{self.width}}]"
            else:
                text = f"{current}/Unknown"
        else:
            text = f"{current}/{self.target}" if self.target else f"{current}"
        per = elapsed / max(current, 1)
        if finalize:
            unit = f"{per * 1e3:.0f}ms/{self.unit_name}" if per >= 1e-3 else \
                f"{per * 1e6:.0f}us/{self.unit_name}"
            text += f" - {elapsed:.0f}s {unit}"
        else:
            eta = per * ((self.target or current) - current)
            text += f" - ETA: {eta:.0f}s"
        for k, v in values:
            text += f" - {k}: {_fmt(v)}"
        if self._dynamic and bar:
            pad = max(self._last_len - len(text), 0)
            self.file.write("\r" + text + " " * pad + ("\n" if finalize else ""))
            self._last_len = len(text)
        else:
            self.file.write(text + "\n")
        self.file.flush()


class ProgbarLogger(Callback):
    """Prints the progress of fit / evaluate (verbose 1: a bar per epoch; 2: a line)."""

    def __init__(self, count_mode="steps", stateful_metrics=None):
        super().__init__()
        if count_mode not in ("steps", "samples"):
            raise ValueError(f"Unknown `count_mode`: {count_mode!r} (expected 'steps' or "
                             "'samples')")
        self.count_mode = count_mode
        self.stateful_metrics = set(stateful_metrics or ())
        self.verbose = 1
        self._bar = None
        self._seen = 0
        self._samples_info = None  # (samples, batch_size), from fit's CallbackList

    def set_params(self, params):
        super().set_params(params)
        self.verbose = params.get("verbose", 1)
        self.epochs = params.get("epochs", 1)

    def _samples(self):
        info = self._samples_info or (self.params.get("samples"), self.params.get("batch_size"))
        return info[0], info[1] or 1

    def _new_bar(self, target):
        samples, _ = self._samples()
        if self.count_mode == "samples" and samples:  # count samples, not steps
            target = samples
        self._bar = Progbar(target, verbose=self.verbose,
                            unit_name="sample" if self.count_mode == "samples" else "step")
        self._seen = 0

    def _count(self, batch):
        samples, batch_size = self._samples()
        if self.count_mode == "samples" and samples:
            return min((batch + 1) * batch_size, samples)
        return batch + 1

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose and self.epochs > 1:
            print(f"Epoch {epoch + 1}/{self.epochs}")
        self._new_bar(self.params.get("steps"))

    def on_train_batch_end(self, batch, logs=None):
        self._seen = self._count(batch)
        if self.verbose == 1:
            self._bar.update(self._seen, list((logs or {}).items()), finalize=False)

    def on_epoch_end(self, epoch, logs=None):
        if self._bar is not None and self.verbose:
            self._bar.update(self._seen, list((logs or {}).items()), finalize=True)

    def on_test_begin(self, logs=None):
        if self.model is not None and not getattr(self.model, "_in_fit", False):
            self._new_bar(self.params.get("steps"))

    def on_test_batch_end(self, batch, logs=None):
        if self.model is not None and not getattr(self.model, "_in_fit", False):
            self._seen = batch + 1
            if self.verbose == 1:
                self._bar.update(self._seen, list((logs or {}).items()), finalize=False)

    def on_test_end(self, logs=None):
        if self.model is not None and not getattr(self.model, "_in_fit", False) and \
                self._bar is not None and self.verbose:
            self._bar.update(self._seen, list((logs or {}).items()), finalize=True)
