"""Programs that do not yet run or match on fastkeras, with the reason.

Each entry names the first thing that goes wrong when the program runs with
``import fastkeras as keras`` ("raises": the exception and the program line; "differs":
the results that differ from Keras 3.15 on TensorFlow) and the cause (the G / F numbers
are the sections of /work/notes/compat_findings.md; "Keras quirk" marks differences where
Keras 3.15 itself departs from its guide's stated behaviour, for the maintainers to decide).
test_corpus.py marks these xfail(strict=True): a fix makes the test XPASS and fail, and the
entry must then be removed. ``python -m tests.compat.report --suggest`` prints the current
first failures.
"""

FAILING = {
    # ---- missing API
    "custom_train_step_gan": "raises AttributeError: module 'fastkeras' has no attribute "
                             "'random' (keras.random.SeedGenerator / normal / uniform; G1)",
    "dcgan": "raises AttributeError: no fastkeras.random (G1)",
    "subclassing_training_arg": "raises AttributeError: no fastkeras.random "
                                "(keras.random.dropout; G1)",
    "subclassing_vae": "raises AttributeError: no fastkeras.random (G1)",
    "vae": "raises AttributeError: no fastkeras.random (G1)",
    "intro_engineers_custom": "raises AttributeError: no fastkeras.random "
                              "(keras.random.dropout; G1)",
    "siamese_contrastive": "raises AttributeError: module 'fastkeras' has no attribute "
                           "'backend' (keras.backend.epsilon(); G2)",
    "masking_and_padding": "raises AttributeError: fastkeras.utils has no attribute "
                           "'pad_sequences' (G3)",
    "imdb_bidirectional_lstm": "raises AttributeError: fastkeras.layers has no attribute "
                               "'Bidirectional' (G4; pad_sequences G3 next)",
    "rnn_bidirectional": "raises AttributeError: fastkeras.layers has no attribute "
                         "'Bidirectional' (G4)",
    "rnn_custom_cell": "raises AttributeError: fastkeras.layers has no attribute 'RNN' "
                       "(RNN + LSTMCell; G5)",
    "rnn_basics": "raises AttributeError: 'LSTM' object has no attribute 'states' "
                  "(stateful LSTM states / reset_states; G6)",
    "collaborative_filtering": "raises AttributeError: module 'fastkeras.ops.nn' has no "
                               "attribute 'sigmoid' (keras.ops.nn namespace; G7)",
    "structured_data_classification": "raises AttributeError: fastkeras.layers has no "
                                      "attribute 'IntegerLookup' (StringLookup, "
                                      "Normalization next; G8)",
    "text_classification_from_scratch": "raises AttributeError: fastkeras.layers has no "
                                        "attribute 'TextVectorization' (G8)",
    # ---- behaviour
    "functional_api_models": "differs: history.department_loss after the first step "
                             "(CategoricalCrossentropy gradient with multi-hot targets: TF "
                             "uses softmax - y; F2)",
    "lstm_seq2seq": "differs: history.loss after the first step (crossentropy gradient on "
                    "all-zero padded target rows; F2, with F1's logits path)",
    "customizing_saving": "raises at load_model: fastkeras calls the model's own "
                          "compile(optimizer=, loss=, ...) where Keras calls its "
                          "compile_from_config(get_compile_config()) override (F11)",
    "transfer_learning_fine_tune": "differs: bn_statistics_still_frozen and "
                                   "fine_tune_history (Keras quirk: Keras 3.15's "
                                   "Functional passes fit's training=True over the base "
                                   "model's explicit training=False, so its "
                                   "BatchNormalization statistics move once unfrozen; F8)",
    "layer_configs": "differs: Conv*/LSTM/GRU/SimpleRNN configs lack "
                     "'activity_regularizer' (SimpleRNN has an extra 'seed'), "
                     "BatchNormalization lacks 'renorm', 'renorm_clipping', "
                     "'renorm_momentum', 'synchronized' (F9)",
}
