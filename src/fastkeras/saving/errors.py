"""The one error a refused or damaged model file raises, and the guard that turns every
other failure inside a loader into it.

A loader reads bytes an attacker may have written: h5py, zipfile and json each raise their
own exceptions (OSError for a truncated HDF5 file, KeyError for a missing object,
RuntimeError for a link loop, RecursionError for deep JSON...). Callers should not need to
know them, so ``load_model`` / ``load_weights`` raise only ``FileFormatError`` (a
ValueError), naming the file and what is wrong in it, with the original as ``__cause__``."""
import contextlib

__all__ = ["FileFormatError", "MissingFileError", "refusing"]


class FileFormatError(ValueError):
    """A model or weights file that fastkeras refuses: corrupt, truncated, hostile, or not
    matching the model. ``str(e)`` names the file and the reason."""


class MissingFileError(FileFormatError, FileNotFoundError):
    """The path names no file (a FileFormatError, and a FileNotFoundError as before)."""


@contextlib.contextmanager
def refusing(filepath):
    """Inside the block, any exception but FileFormatError, ImportError (a missing optional
    package is the environment, not the file) and MemoryError becomes a FileFormatError
    naming `filepath`."""
    try:
        yield
    except (FileFormatError, ImportError, MemoryError):
        raise
    except RecursionError as e:
        raise FileFormatError(f"{filepath}: the file's structure is nested too deeply "
                              "to be a model") from e
    except Exception as e:
        message = str(e) or type(e).__name__
        if str(filepath) not in message:
            message = f"{filepath}: {message}"
        raise FileFormatError(f"{message} ({type(e).__name__})") from e
