"""keras-io examples/nlp/lstm_seq2seq.py: a character-level sequence-to-sequence model
(LSTM encoder with return_state, LSTM decoder with return_sequences + return_state and
initial_state, Dense softmax), trained with teacher forcing, saved and reloaded, then the
inference encoder and decoder models rebuilt from the loaded model's model.input[i],
model.layers[i].output and its layers, and a greedy decoding loop with predict.

Port: the fra-eng download -> a seeded toy task (translate a word into its reverse with
a start "\\t" and end "\\n" character); 10,000 samples -> 300, latent_dim 256 -> 64,
epochs 100 -> 2.
"""
import os

import numpy as np

from ..harness import history, seed_weights, tmpdir, to_numpy

SOURCE = "examples/nlp/lstm_seq2seq.py"


def run(lib):
    keras = lib.keras
    out = {}
    rng = np.random.default_rng(0)
    letters = list("abcdefgh")
    input_texts, target_texts = [], []
    for _ in range(300):
        word = "".join(rng.choice(letters, size=int(rng.integers(2, 7))))
        input_texts.append(word)
        target_texts.append("\t" + word[::-1] + "\n")
    input_characters = sorted(set("".join(input_texts)))
    target_characters = sorted(set("".join(target_texts)))
    num_encoder_tokens = len(input_characters)
    num_decoder_tokens = len(target_characters)
    max_encoder_seq_length = max(len(t) for t in input_texts)
    max_decoder_seq_length = max(len(t) for t in target_texts)
    input_token_index = {c: i for i, c in enumerate(input_characters)}
    target_token_index = {c: i for i, c in enumerate(target_characters)}

    encoder_input_data = np.zeros((len(input_texts), max_encoder_seq_length, num_encoder_tokens),
                                  dtype="float32")
    decoder_input_data = np.zeros((len(input_texts), max_decoder_seq_length, num_decoder_tokens),
                                  dtype="float32")
    decoder_target_data = np.zeros((len(input_texts), max_decoder_seq_length,
                                    num_decoder_tokens), dtype="float32")
    for i, (input_text, target_text) in enumerate(zip(input_texts, target_texts)):
        for t, char in enumerate(input_text):
            encoder_input_data[i, t, input_token_index[char]] = 1.0
        for t, char in enumerate(target_text):
            decoder_input_data[i, t, target_token_index[char]] = 1.0
            if t > 0:
                decoder_target_data[i, t - 1, target_token_index[char]] = 1.0

    latent_dim = 64
    encoder_inputs = keras.Input(shape=(None, num_encoder_tokens))
    encoder = keras.layers.LSTM(latent_dim, return_state=True)
    encoder_outputs, state_h, state_c = encoder(encoder_inputs)
    encoder_states = [state_h, state_c]
    decoder_inputs = keras.Input(shape=(None, num_decoder_tokens))
    decoder_lstm = keras.layers.LSTM(latent_dim, return_sequences=True, return_state=True)
    decoder_outputs, _, _ = decoder_lstm(decoder_inputs, initial_state=encoder_states)
    decoder_dense = keras.layers.Dense(num_decoder_tokens, activation="softmax")
    decoder_outputs = decoder_dense(decoder_outputs)
    model = keras.Model([encoder_inputs, decoder_inputs], decoder_outputs)
    out["params"] = model.count_params()
    seed_weights(model, 0)
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    h = model.fit([encoder_input_data, decoder_input_data], decoder_target_data, batch_size=64,
                  epochs=2, validation_split=0.2, verbose=0, shuffle=False)
    out["history"] = history(h)

    with tmpdir() as d:
        model.save(os.path.join(d, "s2s_model.keras"))
        model = keras.models.load_model(os.path.join(d, "s2s_model.keras"))

    encoder_inputs = model.input[0]
    encoder_outputs, state_h_enc, state_c_enc = model.layers[2].output
    encoder_states = [state_h_enc, state_c_enc]
    encoder_model = keras.Model(encoder_inputs, encoder_states)
    decoder_inputs = model.input[1]
    decoder_state_input_h = keras.Input(shape=(latent_dim,))
    decoder_state_input_c = keras.Input(shape=(latent_dim,))
    decoder_states_inputs = [decoder_state_input_h, decoder_state_input_c]
    decoder_lstm = model.layers[3]
    decoder_outputs, state_h_dec, state_c_dec = decoder_lstm(
        decoder_inputs, initial_state=decoder_states_inputs)
    decoder_states = [state_h_dec, state_c_dec]
    decoder_dense = model.layers[4]
    decoder_outputs = decoder_dense(decoder_outputs)
    decoder_model = keras.Model([decoder_inputs] + decoder_states_inputs,
                                [decoder_outputs] + decoder_states)
    reverse_target_char_index = {i: c for c, i in target_token_index.items()}

    def decode_sequence(input_seq):
        states_value = encoder_model.predict(input_seq, verbose=0)
        target_seq = np.zeros((1, 1, num_decoder_tokens))
        target_seq[0, 0, target_token_index["\t"]] = 1.0
        decoded_sentence = ""
        probabilities = []
        while True:
            output_tokens, h, c = decoder_model.predict([target_seq] + list(states_value),
                                                        verbose=0)
            probabilities.append(float(np.max(to_numpy(output_tokens)[0, -1, :])))
            sampled_token_index = int(np.argmax(to_numpy(output_tokens)[0, -1, :]))
            sampled_char = reverse_target_char_index[sampled_token_index]
            decoded_sentence += sampled_char
            if sampled_char == "\n" or len(decoded_sentence) > max_decoder_seq_length:
                break
            target_seq = np.zeros((1, 1, num_decoder_tokens))
            target_seq[0, 0, sampled_token_index] = 1.0
            states_value = [h, c]
        return decoded_sentence, probabilities

    decoded = [decode_sequence(encoder_input_data[i:i + 1]) for i in range(2)]
    out["decoded"] = [d[0] for d in decoded]
    out["decoded_probabilities"] = [d[1] for d in decoded]
    return out
