"""Compatibility corpus: keras-io guides and examples ported as a user would port them,
run with fastkeras and with tf.keras (Keras 3), results compared (see README.md,
"Compatibility corpus")."""
