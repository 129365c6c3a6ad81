"""fastkeras.callbacks (keras.callbacks): one callback per module.

The hooks and the ``logs`` dicts follow tf.keras; ``CallbackList`` is the dispatcher
``fit``, ``evaluate`` and ``predict`` use. TensorBoard needs the ``[tensorboard]`` extra
(tensorboardX), imported only when a writer is made."""
from fastkeras.callbacks.backup_and_restore import BackupAndRestore
from fastkeras.callbacks.callback import Callback
from fastkeras.callbacks.callback_list import CallbackList
from fastkeras.callbacks.csv_logger import CSVLogger
from fastkeras.callbacks.early_stopping import EarlyStopping
from fastkeras.callbacks.history import History
from fastkeras.callbacks.lambda_callback import LambdaCallback
from fastkeras.callbacks.learning_rate_scheduler import LearningRateScheduler
from fastkeras.callbacks.model_checkpoint import ModelCheckpoint
from fastkeras.callbacks.progbar_logger import Progbar, ProgbarLogger
from fastkeras.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from fastkeras.callbacks.remote_monitor import RemoteMonitor
from fastkeras.callbacks.tensorboard import TensorBoard
from fastkeras.callbacks.terminate_on_nan import TerminateOnNaN

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger", "Progbar", "TerminateOnNaN",
           "EarlyStopping", "ReduceLROnPlateau", "LearningRateScheduler", "CSVLogger",
           "LambdaCallback", "RemoteMonitor", "TensorBoard", "BackupAndRestore",
           "ModelCheckpoint"]
