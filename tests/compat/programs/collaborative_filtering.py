"""keras-io examples/structured_data/collaborative_filtering_movielens.py: user and movie
ids encoded to indices, ratings min-max scaled to [0, 1], a RecommenderNet Model
subclass (user / movie Embeddings with he_normal initializer and l2 regularizer, bias
Embeddings, ops.tensordot, ops.nn.sigmoid), BinaryCrossentropy, Adam(0.001),
validation_data, and the top-rated movies for one user.

Port: the MovieLens download -> seeded random ratings (60 users x 40 movies, 1,500
ratings from 0.5 to 5.0); epochs 5 -> 3, batch 64 as in the example.
"""
import numpy as np

from ..harness import history, seed_weights, to_numpy

SOURCE = "examples/structured_data/collaborative_filtering_movielens.py"
# Keras 3 on TensorFlow squares an Embedding's IndexedSlices gradient before summing rows
# repeated in a batch (Adam's second moment g1^2 + g2^2); the oracle runs with dense
# gradients, which is Adam's definition and fastkeras' (harness.dense_oracle_gradients).
ORACLE_DENSE_GRADIENTS = True


def run(lib):
    keras = lib.keras
    layers = keras.layers
    ops = keras.ops
    out = {}
    rng = np.random.default_rng(42)
    n = 1500
    user_ids = rng.integers(0, 60, n) * 7 + 3
    movie_ids = rng.integers(0, 40, n) * 11 + 1
    ratings = np.round(rng.random(n) * 9 + 1) / 2

    user2user_encoded = {x: i for i, x in enumerate(sorted(set(user_ids.tolist())))}
    movie2movie_encoded = {x: i for i, x in enumerate(sorted(set(movie_ids.tolist())))}
    users = np.array([user2user_encoded[u] for u in user_ids])
    movies = np.array([movie2movie_encoded[m] for m in movie_ids])
    num_users, num_movies = len(user2user_encoded), len(movie2movie_encoded)
    min_rating, max_rating = float(ratings.min()), float(ratings.max())
    x = np.stack([users, movies], axis=1)
    y = (ratings - min_rating) / (max_rating - min_rating)
    train_indices = int(0.9 * n)
    x_train, x_val, y_train, y_val = x[:train_indices], x[train_indices:], y[:train_indices], y[train_indices:]
    EMBEDDING_SIZE = 50

    class RecommenderNet(keras.Model):
        def __init__(self, num_users, num_movies, embedding_size, **kwargs):
            super().__init__(**kwargs)
            self.num_users = num_users
            self.num_movies = num_movies
            self.embedding_size = embedding_size
            self.user_embedding = layers.Embedding(
                num_users, embedding_size, embeddings_initializer="he_normal",
                embeddings_regularizer=keras.regularizers.l2(1e-6))
            self.user_bias = layers.Embedding(num_users, 1)
            self.movie_embedding = layers.Embedding(
                num_movies, embedding_size, embeddings_initializer="he_normal",
                embeddings_regularizer=keras.regularizers.l2(1e-6))
            self.movie_bias = layers.Embedding(num_movies, 1)

        def call(self, inputs):
            user_vector = self.user_embedding(inputs[:, 0])
            user_bias = self.user_bias(inputs[:, 0])
            movie_vector = self.movie_embedding(inputs[:, 1])
            movie_bias = self.movie_bias(inputs[:, 1])
            dot_user_movie = ops.tensordot(user_vector, movie_vector, 2)
            x = dot_user_movie + user_bias + movie_bias
            return ops.nn.sigmoid(x)

    model = RecommenderNet(num_users, num_movies, EMBEDDING_SIZE)
    model(x_train[:2])
    seed_weights(model, 0)
    out["params"] = model.count_params()
    model.compile(loss=keras.losses.BinaryCrossentropy(),
                  optimizer=keras.optimizers.Adam(learning_rate=0.001))
    h = model.fit(x=x_train, y=y_train, batch_size=64, epochs=3, verbose=0,
                  validation_data=(x_val, y_val), shuffle=False)
    out["history"] = history(h)

    user = 0
    rated = set(movies[users == user].tolist())
    not_watched = np.array([m for m in range(num_movies) if m not in rated])
    user_movie_array = np.hstack(([[user]] * len(not_watched), not_watched[:, None]))
    predicted = to_numpy(model.predict(user_movie_array, verbose=0)).flatten()
    out["top_predictions"] = np.sort(predicted)[-5:]
    return out
