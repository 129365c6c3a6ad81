"""fastkeras.preprocessing: the ``keras.preprocessing`` names programs import that need
no TensorFlow: ``sequence`` (pad_sequences; tf.keras 2's TimeseriesGenerator, skipgrams,
make_sampling_table), ``text`` (tf.keras 2's Tokenizer, one_hot, hashing_trick,
text_to_word_sequence, tokenizer_from_json) and timeseries_dataset_from_array (NumPy
batches, see fastkeras.utils). The image helpers (which need Pillow) and the
``*_dataset_from_directory`` functions (tf.data) are not provided."""
from fastkeras.preprocessing import sequence, text
from fastkeras.utils.dataset_utils import timeseries_dataset_from_array

__all__ = ["sequence", "text", "timeseries_dataset_from_array"]
