"""Programs that do not yet run or match on fastkeras, with the reason.

Each entry names the first thing that goes wrong when the program runs with
``import fastkeras as keras`` ("raises": the exception and the program line; "differs":
the results that differ from Keras 3.15 on TensorFlow) and the cause ("Keras quirk" marks
differences where Keras 3.15 itself departs from its guide's stated behaviour or from the
mathematics, which fastkeras keeps).
test_corpus.py marks these xfail(strict=True): a fix makes the test XPASS and fail, and the
entry must then be removed. ``python -m tests.compat.report --suggest`` prints the current
first failures.
"""

FAILING = {
    # ---- missing API
    # ---- behaviour
    "functional_api_models": "differs: history.department_loss after the first step "
                             "(CategoricalCrossentropy gradient with multi-hot targets: TF "
                             "uses softmax - y)",
    "lstm_seq2seq": "differs: history.loss after the first step (crossentropy gradient on "
                    "all-zero padded target rows)",
    "transfer_learning_fine_tune": "differs: bn_statistics_still_frozen and "
                                   "fine_tune_history (Keras quirk: Keras 3.15's "
                                   "Functional passes fit's training=True over the base "
                                   "model's explicit training=False, so its "
                                   "BatchNormalization statistics move once unfrozen)",
}
