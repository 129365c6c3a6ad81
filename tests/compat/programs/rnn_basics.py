"""keras-io guides/working_with_rnns.py: Embedding + LSTM + Dense, GRU with
return_sequences feeding a SimpleRNN, an encoder-decoder passing the LSTM states
(return_state / initial_state), a stateful LSTM over three paragraphs with
reset_states(), and reusing a layer's states as another's initial_state.

Port: as written, with seeded weights and inputs; the trained part fits the first model
on random sequences (2 epochs).
"""
import numpy as np

from ..harness import history, seed_weights, shape, to_numpy

SOURCE = "guides/working_with_rnns.py"


def run(lib):
    keras = lib.keras
    layers = keras.layers
    out = {}
    rng = np.random.default_rng(0)

    model = keras.Sequential()
    model.add(layers.Input(shape=(None,), dtype="int32"))
    model.add(layers.Embedding(input_dim=1000, output_dim=64))
    model.add(layers.LSTM(128))
    model.add(layers.Dense(10))
    out["lstm_model_params"] = model.count_params()
    seed_weights(model, 0)
    seqs = rng.integers(1, 1000, size=(64, 12))
    labels = rng.integers(0, 10, size=(64,))
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    h = model.fit(seqs, labels, batch_size=32, epochs=2, verbose=0, shuffle=False)
    out["lstm_model_history"] = history(h)

    model = keras.Sequential()
    model.add(layers.Embedding(input_dim=1000, output_dim=64))
    model.add(layers.GRU(256, return_sequences=True))
    model.add(layers.SimpleRNN(128))
    model.add(layers.Dense(10))
    y = model(seqs[:4])
    out["gru_model_params"] = model.count_params()
    seed_weights(model, 1)
    out["gru_model_outputs"] = to_numpy(model(seqs[:4]))

    encoder_vocab, decoder_vocab = 1000, 2000
    encoder_input = layers.Input(shape=(None,))
    encoder_embedded = layers.Embedding(input_dim=encoder_vocab, output_dim=64)(encoder_input)
    output, state_h, state_c = layers.LSTM(64, return_state=True, name="encoder")(
        encoder_embedded)
    encoder_state = [state_h, state_c]
    decoder_input = layers.Input(shape=(None,))
    decoder_embedded = layers.Embedding(input_dim=decoder_vocab, output_dim=64)(decoder_input)
    decoder_output = layers.LSTM(64, name="decoder")(decoder_embedded,
                                                      initial_state=encoder_state)
    output = layers.Dense(10)(decoder_output)
    model = keras.Model([encoder_input, decoder_input], output)
    out["seq2seq_params"] = model.count_params()
    seed_weights(model, 2)
    out["seq2seq_outputs"] = to_numpy(model([seqs[:3, :6], rng.integers(0, 2000, size=(3, 5))]))

    paragraph1 = rng.random((20, 10, 50)).astype(np.float32)
    paragraph2 = rng.random((20, 10, 50)).astype(np.float32)
    paragraph3 = rng.random((20, 10, 50)).astype(np.float32)
    lstm_layer = layers.LSTM(64, stateful=True)
    lstm_layer(paragraph1)
    seed_weights(lstm_layer, 3)
    lstm_layer.reset_states()
    o1 = to_numpy(lstm_layer(paragraph1))
    o2 = to_numpy(lstm_layer(paragraph2))
    o3 = to_numpy(lstm_layer(paragraph3))
    out["stateful_outputs"] = [o1[:2], o2[:2], o3[:2]]
    existing_state = lstm_layer.states
    out["stateful_states_shapes"] = [shape(s.shape) for s in existing_state]
    new_lstm_layer = layers.LSTM(64)
    new_lstm_layer(paragraph3, initial_state=existing_state)
    new_lstm_layer.set_weights(lstm_layer.get_weights())
    out["state_reuse"] = to_numpy(new_lstm_layer(paragraph3, initial_state=existing_state))[:2]
    lstm_layer.reset_states()
    out["after_reset_equals_fresh"] = bool(np.allclose(to_numpy(lstm_layer(paragraph1)), o1,
                                                       rtol=1e-5, atol=1e-6))
    return out
