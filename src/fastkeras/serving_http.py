"""``python -m fastkeras serve m.keras --port 8080``: a small JSON prediction server.

The HTTP side is waitress (a production WSGI server, pure Python: ``pip install
"fastkeras[serve]"``); the model runs through ``compile_for_inference()``, which every
server thread calls at once, or, with ``batching=Batching(...)`` (``--max-batch-size``,
``--batch-wait-ms``), in runner calls that merge concurrent requests (``serving_batching``).
Requests and answers:

- ``GET /health`` -> ``{"status": "ok"}``
- ``GET /metrics`` -> Prometheus' text format (request counts by route and status, latency
  and rows-per-call histograms; ``serving_metrics``), 501 without ``prometheus_client``
- ``GET /metadata`` -> the model's name, inputs and outputs (names, shapes, dtypes)
- ``POST /predict`` with ``{"instances": [...]}`` (one entry per example, TensorFlow
  Serving's row format; for several inputs each entry is a dict by input name) or
  ``{"inputs": ...}`` (whole arrays: one nested list, a list per input, or a dict by
  input name) -> ``{"predictions": [...]}`` (several outputs: a dict by output name).

Beside those, the protocols clients already speak (for each model, by name: one model, or
several from ``make_app({name: model})`` / ``serve a.keras b.keras``, named by the files'
stems; /predict and /metadata serve the first):

- TensorFlow Serving's REST API: ``POST /v1/models/<name>[/versions/1]:predict`` with
  ``{"signature_name"?, "instances": ...}`` -> ``{"predictions": ...}`` (row format; several
  outputs: one object per example) or ``{"inputs": ...}`` -> ``{"outputs": ...}`` (columnar);
  ``GET /v1/models/<name>`` (the version status) and ``GET /v1/models/<name>/metadata``
  (the ``serving_default`` signature's inputs and outputs, TF dtypes and shapes).
- KServe v2 / the Open Inference Protocol: ``GET /v2``, ``/v2/health/live``,
  ``/v2/health/ready``, ``/v2/models/<name>[/versions/1]`` (metadata) and ``.../ready``;
  ``POST /v2/models/<name>[/versions/1]/infer`` with ``{"id"?, "inputs": [{"name", "shape",
  "datatype", "data"}], "outputs"?: [{"name"}]}`` -> ``{"model_name", "model_version", "id",
  "outputs": [{"name", "datatype", "shape", "data"}]}`` (``data`` flat, row-major).

Bad requests get a 4xx answer with ``{"error": "..."}`` and the server carries on:
malformed JSON (UTF-8) or a missing field (400), nesting deeper than 64 levels (400), wrong
shapes, values that are not JSON numbers (strings such as "1.5", booleans, null), numbers
outside the input dtype's range, NaN or infinity (400), a body over ``max_body`` bytes or
one whose JSON would take more than 4x its size + 64 MiB as Python objects (413), another
method (405), another path (404).

Numeric arrays are parsed from the body's bytes straight into NumPy (see ``_Doc``): a body
of numbers costs its own size plus about a third of it, not the ~20x of ``json.loads`` and
``np.asarray``. Idle and slow connections are bounded by waitress' ``connection_limit``
and ``channel_timeout`` (``serve``'s arguments, the CLI's ``--connection-limit`` and
``--channel-timeout``).
"""
import json
import os
import re
import time

import numpy as np

from fastkeras.serving_batching import Batching, _Batcher

__all__ = ["Batching", "make_app", "serve"]


class _HTTPError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            411: "Length Required", 413: "Payload Too Large", 500: "Internal Server Error",
            501: "Not Implemented",
            503: "Service Unavailable"}


# --- request parsing: numeric arrays go straight from the body's bytes into NumPy -------
#
# json.loads + np.asarray costs ~20x a body of small rows (a Python list per row, a float
# object per number) and lets "1.5", true, 400-digit integers and 5,000-deep nesting through
# to NumPy or the interpreter.  Here the body is tokenized in 1 MiB chunks with vectorized
# byte classes into a token string (one byte per token: [ ] { } : , x=number w=word s=string),
# the maximal arrays holding only numbers and brackets ("segments") are found on that string,
# and only the rest (the "skeleton": the object around the arrays, with each segment replaced
# by a placeholder number) goes to json.loads.  A segment is checked to be rectangular on its
# token string and its numbers are parsed by np.fromstring (exact JSON number grammar is
# checked beforehand; everything else, literals included, leaves the array to json and to the
# checks on Python values, which name what was wrong).

_MAX_DEPTH = 64  # arrays and objects nested in a request
_CHUNK = 1 << 20  # bytes tokenized per vectorized step
_MAX_WORD = 1 << 20  # the longest number (or other word) a request may hold
_TS_STEP, _STRUCT_STEP = 1 << 20, 1 << 18  # tokens per vectorized step
_WS, _DIGIT, _MINUS, _PLUS, _DOT, _E, _ALPHA, _OTHER = range(8)  # 1.._OTHER: word bytes
_LBRACK, _RBRACK, _LBRACE, _RBRACE, _COLON, _COMMA, _QUOTE, _STR = range(8, 16)
_CLASS = np.full(256, _OTHER, np.uint8)  # '"' stays _OTHER unless it opens a string
_CLASS[list(b" \t\n\r")] = _WS
_CLASS[list(b"0123456789")] = _DIGIT
_CLASS[list(b"abcdfghijklmnopqrstuvwxyzABCDFGHIJKLMNOPQRSTUVWXYZ")] = _ALPHA
for _ch, _cl in ((b"-", _MINUS), (b"+", _PLUS), (b".", _DOT), (b"e", _E), (b"E", _E),
                 (b"[", _LBRACK), (b"]", _RBRACK), (b"{", _LBRACE), (b"}", _RBRACE),
                 (b":", _COLON), (b",", _COMMA)):
    _CLASS[_ch[0]] = _cl
_CLASS_TABLE = _CLASS.tobytes()  # for bytes.translate, faster than indexing
_CUTTABLE = (_CLASS == _WS) | (_CLASS >= _LBRACK)  # a chunk may end after these bytes
_CUTTABLE[ord('"')] = True
_CODE = np.full(16, ord("x"), np.uint8)
for _cl, _ch in ((_LBRACK, b"["), (_RBRACK, b"]"), (_LBRACE, b"{"), (_RBRACE, b"}"),
                 (_COLON, b":"), (_COMMA, b","), (_QUOTE, b"s")):
    _CODE[_cl] = _ch[0]
_CODE_TABLE = np.resize(_CODE, 256).tobytes()
_DELTA_TABLE = np.zeros(256, np.int8)
_DELTA_TABLE[list(b"[{")], _DELTA_TABLE[list(b"]}")] = 1, -1
_DELTA_TABLE = _DELTA_TABLE.tobytes()
_T = {c: ord(c) for c in "[]{}:,xws"}
_IMPURE = np.zeros(256, bool)  # tokens that end a run of pure (numbers-only) array text
_IMPURE[list(b"{}:sw")] = True
_STRUCT = _IMPURE.copy()  # tokens that change the depth or end a run
_STRUCT[list(b"[]")] = True
_I64 = np.iinfo(np.int64)
_PAIR_CLASS = np.zeros(256, np.uint8)
_PAIR_CLASS[list(b"[],x")] = 1, 2, 3, 4
_PAIR_CLASS = _PAIR_CLASS.tobytes()
_PAIR_BAD = np.zeros(256, np.uint8)
for _a, _b in ("[,", ",,", ",]", "x[", "xx", "][", "]x"):
    _PAIR_BAD[_PAIR_CLASS[ord(_a)] * 5 + _PAIR_CLASS[ord(_b)]] = 1
_PAIR_BAD = _PAIR_BAD.tobytes()
_T_BAD = re.compile(rb"\[,|,[,\]]|x[x\[]|\][x\[]")  # token pairs JSON forbids inside arrays


class _Doc:
    """One request body: its token string, its segments and the skeleton json.loads sees."""

    def __init__(self, raw, budget):
        if len(raw) >= 1 << 31:
            raise _HTTPError(413, "the body is over 2 GiB")
        self.raw, self.budget, self.ref, self.shapes = raw, budget, None, {}
        self.buf = np.frombuffer(raw, np.uint8)
        self._strings()
        self._tokenize()
        self._find_segments()

    # -- pass 1: strings, then tokens -----------------------------------------------------
    def _strings(self):
        """Spans (opening quote, closing quote) of the strings, as json.loads sees them."""
        raw, buf, n = self.raw, self.buf, len(self.raw)
        q = [np.flatnonzero(buf[a:a + _CHUNK] == 34).astype(np.int32) + a
             for a in range(0, n, _CHUNK) if raw.find(b'"', a, a + _CHUNK) >= 0]
        q = np.concatenate(q) if q else np.zeros(0, np.int32)
        if q.size and raw.find(b"\\") >= 0:  # drop quotes after an odd run of backslashes
            keep = np.ones(q.size, bool)
            last = -1  # index of the last byte before the chunk that is not a backslash
            for a in range(0, n, _CHUNK):
                z = min(a + _CHUNK, n)
                notbs = buf[a:z] != 92
                lo, hi = np.searchsorted(q, [a, z])
                if hi > lo:
                    idx = np.where(notbs, np.arange(a, z), -1)
                    np.maximum.accumulate(idx, out=idx)
                    idx[idx < 0] = last
                    p = q[lo:hi].astype(np.int64)
                    before = np.where(p > a, idx[np.maximum(p - 1 - a, 0)], last)
                    keep[lo:hi] = (p - 1 - before) % 2 == 0
                nz = np.flatnonzero(notbs)
                last = a + int(nz[-1]) if nz.size else last
            q = q[keep]
        if q.size % 2:  # an unterminated string runs to the end (json.loads reports it)
            q = np.append(q, np.int32(n))
        self.s_open, self.s_close = q[0::2], q[1::2]

    def _in_string(self, z):
        """Whether a cut before byte z falls inside a string (or on its closing quote)."""
        k = int(np.searchsorted(self.s_open, z)) - 1
        return k >= 0 and z <= self.s_close[k]

    def _classes(self, a, z):
        cls = np.frombuffer(self.raw[a:z].translate(_CLASS_TABLE), np.uint8)
        lo = int(np.searchsorted(self.s_close, a))
        hi = int(np.searchsorted(self.s_open, z))
        if hi > lo:
            cls = cls.copy()
            s = self.s_open[lo:hi].astype(np.int64)
            e = self.s_close[lo:hi].astype(np.int64)
            mark = np.zeros(z - a + 1, np.int8)
            mark[np.maximum(s + 1, a) - a] += 1
            mark[np.minimum(e + 1, z) - a] -= 1
            cls[np.cumsum(mark[:-1], dtype=np.int8).view(bool)] = _STR
            cls[s[s >= a] - a] = _QUOTE
        return cls

    def _chunk_tokens(self, a, z, positions=False):
        """Tokens of bytes [a, z): the token string (or, if asked, each token's offset)."""
        cls, n = self._classes(a, z), z - a
        word = (cls - np.uint8(1)) < 7
        start = word.copy()
        start[1:] &= ~word[:-1]
        emit = start | ((cls - np.uint8(_LBRACK)) < 7)
        if positions:
            return np.flatnonzero(emit) + a
        # a word is a number ('x') if it follows JSON's -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?:
        # checked around the few bytes other than digits (letters, - + . e E)
        bad = [np.flatnonzero((cls - np.uint8(_ALPHA)) < 2)]
        sp = np.flatnonzero((cls - np.uint8(_MINUS)) < 4)
        if sp.size:
            c = cls[sp]
            pc = np.where(sp > 0, cls[np.maximum(sp - 1, 0)], _WS)
            nc = np.where(sp < n - 1, cls[np.minimum(sp + 1, n - 1)], _WS)
            m, p, d, e = c == _MINUS, c == _PLUS, c == _DOT, c == _E
            after_word = (pc - np.uint8(1)) < 7
            nd = nc != _DIGIT
            bad.append(sp[(m & after_word & (pc != _E)) | ((m | p | d) & nd) | (p & (pc != _E))
                          | ((d | e) & (pc != _DIGIT))
                          | (e & nd & (nc != _MINUS) & (nc != _PLUS))])
            ms = sp[m & ~after_word & (sp + 2 < n)]  # -0 then a digit
            ms = ms[(self.buf[a + ms + 1] == 48) & (cls[np.minimum(ms + 2, n - 1)] == _DIGIT)]
            bad.append(ms)
            de = sp[d | e]
            if de.size > 1:  # one '.' at most, then one exponent at most, per number
                same = np.logical_and.reduceat(word, de)[:-1]
                order = (cls[de[:-1]] == _DOT) & (cls[de[1:]] == _E)
                bad.append(de[1:][same & ~order])
        bad.append(np.flatnonzero(start[:-1] & (self.buf[a:z - 1] == 48)
                                  & (cls[1:] == _DIGIT)))  # 0 then a digit
        codes = cls[emit].tobytes().translate(_CODE_TABLE)
        bad = np.concatenate(bad)
        if bad.size:  # those words are 'w'
            starts = np.flatnonzero(start)
            first = starts[np.searchsorted(starts, bad, side="right") - 1]
            codes = np.frombuffer(codes, np.uint8).copy()
            codes[np.searchsorted(np.flatnonzero(emit), first)] = _T["w"]
            codes = codes.tobytes()
        return codes

    def _tokenize(self):
        raw, buf, n = self.raw, self.buf, len(self.raw)
        parts, starts, ts_starts, ntok, a = [], [], [], 0, 0
        while a < n:
            z = min(a + _CHUNK, n)
            if z < n and not self._in_string(z):
                hi = z
                while True:  # after the last byte that ends a word (few bytes back)
                    lo = max(a, hi - 4096)
                    cut = np.flatnonzero(_CUTTABLE[buf[lo:hi]])
                    if cut.size:
                        z = lo + int(cut[-1]) + 1
                        break
                    if lo == a:  # a word longer than a chunk: cut after it
                        cut = np.flatnonzero(_CUTTABLE[buf[z:a + _MAX_WORD + 1]])
                        if not cut.size and a + _MAX_WORD < n:
                            raise _HTTPError(400, "malformed JSON: a number or word of more "
                                                  f"than {_MAX_WORD:,} bytes at char {a}")
                        z = z + int(cut[0]) + 1 if cut.size else n
                        break
                    hi = lo
            part = self._chunk_tokens(a, z)
            starts.append(a)
            ts_starts.append(ntok)
            parts.append(part)
            ntok += len(part)
            a = z
        starts.append(n)
        self.chunk_at = np.array(starts, np.int64)
        self.chunk_ts = np.array(ts_starts + [ntok], np.int64)
        self.ts = b"".join(parts)
        self.codes = np.frombuffer(self.ts, np.uint8)

    def offsets(self, tsi):
        """Byte offsets (int64) of the tokens at token-string indexes `tsi` (ascending)."""
        tsi = np.asarray(tsi, np.int64)
        out = np.empty(tsi.size, np.int64)
        cuts = np.searchsorted(tsi, self.chunk_ts)
        for c in range(len(self.chunk_ts) - 1):
            lo, hi = cuts[c], cuts[c + 1]
            if hi > lo:
                pos = self._chunk_tokens(int(self.chunk_at[c]), int(self.chunk_at[c + 1]), True)
                out[lo:hi] = pos[tsi[lo:hi] - self.chunk_ts[c]]
        return out

    # -- pass 2: segments, on the token string ------------------------------------------
    def _find_segments(self):
        """The maximal arrays of numbers and brackets only: a '[' whose matching ']' comes
        before any impure token, inside no other such array. Only brackets and impure
        tokens matter (numbers and commas change nothing): on those, a forward pass takes
        the running minimum of the depth since the last impure token, a backward one the
        suffix minimum until the next (chunked, one byte of state per token)."""
        codes, n, step = self.codes, len(self.codes), _TS_STEP
        parts, counts = [], [0]
        for i in range(0, n, step):
            c = codes[i:i + step]
            parts.append(c[_STRUCT[c]])
            counts.append(counts[-1] + len(parts[-1]))
        sc = np.concatenate(parts) if parts else np.zeros(0, np.uint8)
        del parts
        self._struct_counts, m, step = np.array(counts, np.int64), len(sc), _STRUCT_STEP
        fw = np.zeros(m, np.uint8)
        depth0, depth, r, big = [], 0, 0, 2 * m + 4  # depth before each chunk; running min

        def depths(c, depth):
            delta = np.frombuffer(c.tobytes().translate(_DELTA_TABLE), np.int8)
            after = np.cumsum(delta, dtype=np.int64)
            after += depth
            return after - delta, after

        for i in range(0, m, step):
            c = sc[i:i + step]
            depth0.append(depth)
            before, after = depths(c, depth)
            if after.max() > _MAX_DEPTH:
                k = self._struct_to_ts([i + int(np.argmax(after > _MAX_DEPTH))])
                raise _HTTPError(400, f"the JSON nests arrays and objects more than {_MAX_DEPTH} "
                                      f"levels deep (at char {int(self.offsets(k)[0])})")
            imp = _IMPURE[c]
            if imp.any():  # runs restart at impure tokens: offset each run below the last
                run = np.cumsum(imp)
                val = np.where(imp, after, before) - run * big
                np.minimum.accumulate(val, out=val)
                val += run * big
                val[run == 0] = np.minimum(val[run == 0], r)
            else:
                val = np.minimum.accumulate(before)
                np.minimum(val, r, out=val)
            opn, cls = c == _T["["], c == _T["]"]
            f = (opn & (val == before)).astype(np.uint8)
            f[cls & (val == after)] = 1
            f[cls & (val < after)] = 2
            fw[i:i + step] = f
            depth, r = int(after[-1]), int(val[-1])
        starts, ends, s = [], [], big  # s: the suffix minimum carried backwards
        for j, i in reversed(list(enumerate(range(0, m, step)))):
            c = sc[i:i + step]
            before, after = depths(c, depth0[j])
            imp = _IMPURE[c]
            if imp.any():
                run = np.cumsum(imp[::-1])[::-1]  # impure tokens at or after each token
                shift = (int(run[0]) - run) * big
                val = (np.where(imp, before, after) + shift)[::-1]
                np.minimum.accumulate(val, out=val)
                val = val[::-1] - shift
                last = run == 0
                val[last] = np.minimum(val[last], s)
            else:
                val = np.minimum.accumulate(after[::-1])[::-1]
                np.minimum(val, s, out=val)
            f = fw[i:i + step]
            opn, cls = c == _T["["], c == _T["]"]
            starts.append((np.flatnonzero(opn & ((val == before) | ((val < before) & (f == 1))))
                           + i).astype(np.int32))
            ends.append((np.flatnonzero(cls & ((f == 1) | ((f == 2) & (val == after)))) + i)
                        .astype(np.int32))
            s = int(val[0])
        del fw, sc
        st = np.concatenate(starts[::-1]) if starts else np.zeros(0, np.int32)
        en = np.concatenate(ends[::-1]) if ends else np.zeros(0, np.int32)
        assert st.size == en.size, "segment bounds"
        both = np.stack([st, en], axis=1).reshape(-1)
        del st, en, starts, ends
        both = self._struct_to_ts(both)
        self.seg_off = self.offsets(both).astype(np.int32).reshape(-1, 2)
        self.seg_ts = both.astype(np.int32).reshape(-1, 2)  # int32: bodies are < 2 GiB

    def _struct_to_ts(self, k):
        """Token-string indexes (int64) of the structural tokens number `k` (ascending)."""
        k = np.asarray(k, np.int64)
        out = np.empty(k.size, np.int64)
        counts, step = self._struct_counts, _TS_STEP
        cuts = np.searchsorted(k, counts)
        for c in range(len(counts) - 1):
            lo, hi = cuts[c], cuts[c + 1]
            if hi > lo:
                pos = np.flatnonzero(_STRUCT[self.codes[c * step:(c + 1) * step]])
                out[lo:hi] = pos[k[lo:hi] - counts[c]] + c * step
        return out

    # -- the skeleton -----------------------------------------------------------------
    def loads(self):
        raw, ts = self.raw, self.ts
        st, en = self.seg_ts[:, 0], self.seg_ts[:, 1]
        so, eo = self.seg_off[:, 0], self.seg_off[:, 1]
        inside = int((en - st + 1).sum(dtype=np.int64))
        lb_in = sum(ts.count(b"[", int(a), int(b) + 1) for a, b in self.seg_ts) \
            if len(st) < 1000 else int(np.count_nonzero(self._inside_mask()
                                                        & (self.codes == _T["["])))
        count = {ch: ts.count(ch.encode()) for ch in "x,w{[s"}
        elems = count["x"] + count[","] + count["w"] - (inside - 2 * lb_in)
        prefix = None
        for _ in range(16):  # placeholders: numbers 0.<nonce>e-k, a nonce found nowhere
            nonce = b"0.%de-" % (10**8 + int.from_bytes(os.urandom(4), "big") % (9 * 10**8))
            if raw.find(nonce) < 0:
                prefix = nonce
                break
        if prefix is None:  # a body stuffed with such numbers: its own loss
            raise _HTTPError(400, "the body holds too many numbers like 0.100000001e-1")
        digits = len(str(max(len(st) - 1, 0)))
        skel_len = len(raw) - int((eo - so + 1).sum(dtype=np.int64)) + len(st) * (
            len(prefix) + digits + 2)
        # json.loads' objects (as measured on CPython 3.11: an object, 64 bytes + 8 per
        # key; a list, 72 + 8 per item; a float, 32; a segment, 56; equal keys shared) and
        # the skeleton, as bytes and as str
        cost = (72 * count["{"] + 72 * (count["["] - lb_in) + 16 * count["s"]
                + 56 * len(st) + 32 * elems + 2 * skel_len)
        if cost > self.budget:
            raise _HTTPError(413, f"this request would take about {cost / 2**20:,.0f} MiB as "
                                  f"Python objects (the limit is {self.budget / 2**20:,.0f} MiB): "
                                  'send whole arrays, e.g. {"inputs": {"name": [[...], ...]}}, '
                                  "rather than many small values")
        skel, prev, view = bytearray(), 0, memoryview(raw)
        for k, (a, b) in enumerate(self.seg_off.tolist()):  # " 0.<nonce>e-k ": spaces keep
            skel += view[prev:a]  # the placeholder from joining its neighbours (6[] -> 6 0.1)
            skel += b" " + prefix
            skel += b"%d " % k
            prev = b + 1
        skel += view[prev:]
        del view
        try:
            text = skel.decode("utf-8")
        except UnicodeDecodeError as e:
            raise _HTTPError(400, f"malformed JSON: the body must be UTF-8 ({e})") from None
        del skel
        bad = self._first_bad_pair()  # JSON errors json.loads will not see (in segments)
        mark, cut = prefix.decode(), len(prefix)
        ref = self.ref = type("_SegRef", (_SegRef,), {"__slots__": (), "doc": self})

        def number(t):  # json.loads' parse_float: a placeholder is its segment
            return ref(int(t[cut:])) if t.startswith(mark) else float(t)

        shared = {}

        def obj(pairs):  # json.loads' object_pairs_hook
            keys, values = zip(*pairs) if pairs else ((), ())
            known = shared.get(keys)
            if known is None:  # False: some keys repeat (the last counts, as in a dict)
                known = shared[keys] = keys if len(set(keys)) == len(keys) else False
            if known is False:
                d = dict(pairs)
                return _Obj((tuple(d),) + tuple(d.values()))
            return _Obj((known,) + values)

        try:
            obj = json.loads(text, parse_float=number, object_pairs_hook=obj)
        except json.JSONDecodeError as e:
            pos = len(text[:e.pos].encode()) if not text.isascii() else e.pos
            if len(so):  # back from the skeleton's offsets to the body's
                k = np.arange(len(so))
                ph = len(prefix) + 3 + np.floor(np.log10(np.maximum(k, 1))).astype(np.int64)
                seg = (eo - so + 1).astype(np.int64)
                shift = np.cumsum(seg - ph)
                at = so - np.concatenate(([0], shift[:-1]))  # placeholders in the skeleton
                k = int(np.searchsorted(at, pos, side="right")) - 1
                if k >= 0:
                    pos = int(so[k]) if pos < at[k] + ph[k] else pos + int(shift[k])
            if bad is None or pos <= bad[1]:
                raise _HTTPError(400, "malformed JSON: " + self.where(e.msg, pos)) from None
        except RecursionError:  # not reached: the depth is bounded above
            raise _HTTPError(400, "the JSON nests too deeply") from None
        if bad is not None:
            raise _HTTPError(400, "malformed JSON: " + self.where(*bad))
        return obj

    def _first_bad_pair(self):
        """(json's message, byte offset) for the first pair of tokens that JSON forbids
        anywhere ("[,", ",,", ",]", "x[", "xx", "][", "]x"), or None."""
        step = _TS_STEP
        for i in range(0, len(self.ts), step):
            c = np.frombuffer(self.ts[i:i + step + 1].translate(_PAIR_CLASS), np.uint8)
            pair = c[:-1] * np.uint8(5) + c[1:]
            at = pair.tobytes().translate(_PAIR_BAD).find(b"\x01")
            if at >= 0:
                kind = "Expecting value" if c[at] in (1, 3) else "Expecting ',' delimiter"
                return kind, int(self.offsets([i + at + 1])[0])
        return None

    def _inside_mask(self):
        mark = np.zeros(len(self.codes) + 1, np.int8)
        mark[self.seg_ts[:, 0]] += 1
        mark[self.seg_ts[:, 1] + 1] -= 1
        return np.cumsum(mark[:-1], dtype=np.int8).view(bool)

    def where(self, msg, pos):
        """json's style of position: 'msg: line L column C (char N)' for byte offset pos."""
        raw = self.raw
        line = raw.count(b"\n", 0, pos) + 1
        bol = raw.rfind(b"\n", 0, pos) + 1
        if raw.isascii():
            char, col = pos, pos - bol + 1
        else:
            cont = lambda a, b: int(np.count_nonzero((self.buf[a:b] & 0xC0) == 0x80))
            char, col = pos - cont(0, pos), pos - bol - cont(bol, pos) + 1
        return f"{msg}: line {line} column {col} (char {char})"

    # -- segments into arrays ------------------------------------------------------------
    def bounds(self, segs):
        """(token start, token end, byte start, byte end) arrays of `segs` (inclusive)."""
        if all(type(g) is self.ref for g in segs):  # vectorized for the doc's own segments
            k = np.array(segs, np.int64)
            return (self.seg_ts[k, 0], self.seg_ts[k, 1], self.seg_off[k, 0],
                    self.seg_off[k, 1])
        return tuple(np.array([getattr(g, f) for g in segs], np.int64)
                     for f in ("ts_s", "ts_e", "off_s", "off_e"))

    def shape(self, segs, what, stack=False):
        """The shape of one segment, or of several stacked (rows), from their tokens."""
        if not stack:
            t, s, e, bounds = self.ts, segs[0].ts_s, segs[0].ts_e, None
        else:
            ts_s, ts_e = self.bounds(segs)[:2]
            ts = self.ts
            t = b"[" + b",".join([ts[a:b] for a, b in zip(ts_s.tolist(), (ts_e + 1).tolist())]) \
                + b"]"
            s, e = 0, len(t) - 1
            bounds = np.cumsum(np.concatenate(([1], ts_e - ts_s + 2)))
        shape = _rectangular(t, s, e)
        if shape is not None:
            return shape
        m = _T_BAD.search(t, s, e + 1)
        if m is not None:  # a syntax error: say where, as json.loads would
            i = m.start() + 1
            if bounds is None:
                g = i
            else:
                r = int(np.searchsorted(bounds, i, side="right")) - 1
                g = int(ts_s[r]) + i - int(bounds[r])
            kind = "Expecting value" if t[m.start()] in b"[," else "Expecting ',' delimiter"
            at = int(self.offsets([g])[0])
            raise _HTTPError(400, "malformed JSON: " + self.where(kind, at))
        raise _HTTPError(400, f"{what}: expected a rectangular nested list of numbers (every "
                              "row the same length and depth)")

    def fill(self, segs, out, what):
        """Parse the numbers of `segs` (in order) into the flat array `out`."""
        kind, pos = out.dtype.kind, 0
        with np.errstate(over="ignore", invalid="ignore"):
            for text in self._pieces(segs):
                vals = None
                if text.find(b".") < 0 and text.find(b"e") < 0 and text.find(b"E") < 0:
                    vals = np.fromstring(text, dtype=np.int64, sep=",")  # 5x faster
                    lo, hi = (int(vals.min()), int(vals.max())) if vals.size else (0, 0)
                    if lo == _I64.min or hi == _I64.max:  # saturated: too long for int64
                        vals = None
                    elif kind == "f" and not -2**24 <= lo <= hi <= 2**24:
                        vals = vals.astype(np.float64)  # rounded as json's ints were
                if vals is None:
                    vals = np.fromstring(text, dtype=np.float64, sep=",")
                if vals.size != text.count(b",") + 1 or pos + vals.size > out.size:
                    raise _HTTPError(400, f"{what}: malformed numbers")  # not reached
                dst = out[pos:pos + vals.size]
                if kind == "f":
                    dst[...] = vals
                else:
                    _store_integers(vals, text, dst, what)
                pos += vals.size
        if pos != out.size:
            raise _HTTPError(400, f"{what}: malformed numbers")  # not reached
        if kind == "f" and not np.isfinite(out).all():
            raise _HTTPError(400, _finite_message(what, out.dtype))

    def _pieces(self, segs):
        """Texts "n,n,...,n" of about _CHUNK bytes covering the numbers of `segs`."""
        raw, group, size = self.raw, [], 0

        def text(parts):
            return b",".join(parts).translate(None, b"[] \t\n\r").strip(b",")

        off_s, off_e = self.bounds(segs)[2:]
        for a, end in zip(off_s.tolist(), (off_e + 1).tolist()):
            if end - a <= _CHUNK:
                group.append(raw[a:end])
                size += end - a
                if size >= _CHUNK:
                    t = text(group)
                    group, size = [], 0
                    if t:
                        yield t
                continue
            if group:
                t = text(group)
                group, size = [], 0
                if t:
                    yield t
            while a < end:
                b = end
                if end - a > _CHUNK:
                    q = raw.rfind(b",", a, a + _CHUNK)
                    if q < 0:
                        q = raw.find(b",", a + _CHUNK, end)
                    if q >= 0:
                        b = q + 1
                t = text([raw[a:b]])
                if t:
                    yield t
                a = b
        if group:
            t = text(group)
            if t:
                yield t


class _Obj(tuple):
    """A JSON object as the tuple (keys, value, ...), the keys shared by all the objects
    that have the same (64 bytes for a row {"a": [...], "b": [...]}, where a dict takes
    184): `in` and [] by key, as a dict."""

    __slots__ = ()

    def __contains__(self, key):
        return key in tuple.__getitem__(self, 0)

    def __getitem__(self, key):
        keys = tuple.__getitem__(self, 0)
        if key not in keys:
            raise KeyError(key)
        return tuple.__getitem__(self, keys.index(key) + 1)

    def items(self):
        return zip(tuple.__getitem__(self, 0), tuple.__getitem__(self, slice(1, None)))


class _SegView:
    """A pure numeric array of the body (what its subclasses share)."""

    __slots__ = ()

    def is_empty(self):
        return self.ts_e == self.ts_s + 1

    def shape(self, what):
        key = (self.ts_s, self.ts_e)
        if key not in self.doc.shapes:
            self.doc.shapes[key] = self.doc.shape([self], what)
        return self.doc.shapes[key]

    def children(self):
        """The arrays this one lists ([A, B] -> [A, B]), or None if it lists anything else."""
        doc, ts_s, ts_e = self.doc, self.ts_s, self.ts_e
        c = doc.codes[ts_s:ts_e + 1]
        delta = (c == _T["["]).astype(np.int64) - (c == _T["]"])
        after = np.cumsum(delta)
        opens = np.flatnonzero((c == _T["["]) & (after == 2))
        closes = np.flatnonzero((c == _T["]"]) & (after == 1))
        top = np.count_nonzero((after == 1) & (c == _T[","]))
        if (np.count_nonzero((after == 1) & (c == _T["x"])) or len(opens) != len(closes)
                or len(opens) != top + 1):
            return None
        g = np.stack([opens, closes], axis=1).reshape(-1) + ts_s
        off = doc.offsets(g).reshape(-1, 2)
        return [_Seg(doc, int(a), int(b), int(o), int(p))
                for (a, b), (o, p) in zip(g.reshape(-1, 2), off)]


class _Seg(_SegView):
    """A segment given by its bounds: token indexes and byte offsets (inclusive)."""

    __slots__ = ("doc", "ts_s", "ts_e", "off_s", "off_e")

    def __init__(self, doc, ts_s, ts_e, off_s, off_e):
        self.doc, self.ts_s, self.ts_e, self.off_s, self.off_e = doc, ts_s, ts_e, off_s, off_e


class _SegRef(_SegView, int):
    """The doc's segment number int(self): what json.loads puts in place of a placeholder
    (an int, 48 bytes, the bounds staying in the doc's arrays). Subclassed per doc, which
    the subclass holds as `doc`."""

    __slots__ = ()
    ts_s = property(lambda self: int(self.doc.seg_ts[int(self), 0]))
    ts_e = property(lambda self: int(self.doc.seg_ts[int(self), 1]))
    off_s = property(lambda self: int(self.doc.seg_off[int(self), 0]))
    off_e = property(lambda self: int(self.doc.seg_off[int(self), 1]))


def _rectangular(t, s, e):
    """The shape of the nested list whose tokens are t[s:e + 1] ('[', ']', ',' and an 'x'
    per number) if it is rectangular and well formed, else None: the shape is read off the
    first array at each depth, then the tokens must equal the canonical ones of that shape."""
    end, depth = e + 1, 0
    while s + depth < end and t[s + depth] == _T["["]:
        depth += 1
    if depth == 0:
        return None
    shape, child = [], 1
    for d in range(depth, 0, -1):  # the first array at depth d ends at the first ']'*(D-d+1)
        k = depth - d + 1
        at = t.find(b"]" * k, s, end)
        if at < 0:
            return None
        length = at - s + k - (d - 1)
        if d == depth and length == 2:
            n = 0
        else:
            n, rem = divmod(length - 1, child + 1)
            if rem or n < 1:
                return None
        shape.append(n)
        child = length
    shape = shape[::-1]
    canon = b"x"
    for n in shape[::-1]:
        canon = b"[" + (canon + b",") * (n - 1) + canon + b"]" if n else b"[]"
    return tuple(shape) if len(canon) == end - s and canon == memoryview(t)[s:end] else None


def _finite_message(what, dtype):
    return (f"{what}: the values must be finite numbers within {np.dtype(dtype).name}'s range "
            "(no NaN, infinity or overflow)")


def _int_range(dtype):
    if dtype.kind == "b":
        return 0, 1
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def _store_integers(vals, text, dst, what):
    lo, hi = _int_range(dst.dtype)
    if vals.dtype.kind == "f":
        bad = ~np.isfinite(vals) | (vals != np.trunc(vals))
        if bad.any():
            tok = text.split(b",")[int(np.argmax(bad))].decode()
            short = tok if len(tok) <= 40 else tok[:20] + f"...({len(tok)} characters)"
            if tok.lstrip("-").isdigit():  # an integer beyond float64's range
                raise _HTTPError(400, f"{what}: {short} is out of range for dtype "
                                      f"{dst.dtype.name} [{lo}, {hi}]")
            raise _HTTPError(400, f"{what}: expected integers for dtype {dst.dtype.name}, "
                                  f"got {short}")
    if (vals.dtype.kind == "f" and dst.dtype.itemsize == 8
            and (np.abs(vals) >= 2.0**53).any()):  # beyond float64's integers: exactly
        import decimal

        exact = [int(decimal.Decimal(t.decode())) for t in text.split(b",")]
        out = [v for v in exact if not lo <= v <= hi]
        if out:
            raise _HTTPError(400, f"{what}: {out[0]} is out of range for dtype "
                                  f"{dst.dtype.name} [{lo}, {hi}]")
        dst[...] = np.array(exact, dtype=object).astype(dst.dtype)
        return
    out = (vals < lo) | (vals > hi)
    if out.any():
        raise _HTTPError(400, f"{what}: {text.split(b',')[int(np.argmax(out))].decode()} is out "
                              f"of range for dtype {dst.dtype.name} [{lo}, {hi}]")
    dst[...] = vals


def _describe(v):
    if isinstance(v, bool):
        return f"the boolean {'true' if v else 'false'}"
    if v is None:
        return "null"
    if isinstance(v, str):
        return f"the string {json.dumps(v[:40] + ('...' if len(v) > 40 else ''))}"
    return "an object"


def _py_shape(v, what, path):
    """Shape of a nested list of Python numbers and segments; names the first bad value."""
    if isinstance(v, _SegView):
        return v.shape(what)
    if isinstance(v, list):
        if not v:
            return (0,)
        shapes = [_py_shape(x, what, path + (i,)) for i, x in enumerate(v)]
        if any(s != shapes[0] for s in shapes):
            raise _HTTPError(400, f"{what}: expected a rectangular nested list of numbers "
                                  "(every row the same length and depth)")
        return (len(v),) + shapes[0]
    if type(v) in (int, float):  # json.loads' numbers (not bool, not a segment)
        return ()
    at = "".join(f"[{i}]" for i in path)
    raise _HTTPError(400, f"{what}: expected numbers (for dtype {{dtype}}), got {_describe(v)}"
                          + (f" at {at}" if at else ""))


def _py_leaves(v):
    if isinstance(v, list):
        for x in v:
            yield from _py_leaves(x)
    else:
        yield v


def _from_python(value, dtype, spec, what):
    try:
        shape = _py_shape(value, what, ())
    except _HTTPError as e:
        raise _HTTPError(e.status, str(e).replace("{dtype}", dtype.name)) from None
    _check_shape(shape, spec, what)
    out = np.empty(shape, dtype)
    flat, pos = out.reshape(-1), 0
    lo, hi = _int_range(dtype) if dtype.kind in "iub" else (None, None)
    with np.errstate(over="ignore", invalid="ignore"):
        for leaf in _py_leaves(value):
            if isinstance(leaf, _SegView):
                k = int(np.prod(leaf.shape(what)))
                leaf.doc.fill([leaf], flat[pos:pos + k], what)
                pos += k
                continue
            if dtype.kind == "f":
                try:
                    flat[pos] = float(leaf)
                except OverflowError:  # an integer of hundreds of digits
                    raise _HTTPError(400, _finite_message(what, dtype)) from None
            else:
                if isinstance(leaf, float):
                    if not leaf.is_integer():
                        raise _HTTPError(400, f"{what}: expected integers for dtype "
                                              f"{dtype.name}, got {leaf!r}")
                    leaf = int(leaf)
                if not lo <= leaf <= hi:
                    raise _HTTPError(400, f"{what}: {leaf} is out of range for dtype "
                                          f"{dtype.name} [{lo}, {hi}]")
                flat[pos] = leaf
            pos += 1
    if dtype.kind == "f" and not np.isfinite(out).all():
        raise _HTTPError(400, _finite_message(what, dtype))
    return out


def _check_shape(shape, spec, what):
    want = spec["shape"]
    if len(shape) != len(want) or any(w is not None and w != g
                                      for w, g in zip(want[1:], shape[1:])):
        raise _HTTPError(400, f"{what}: expected shape {tuple(want)}, got {tuple(shape)}")


def _metadata(model):
    def spec(t, name):
        return {"name": name, "shape": list(t.shape), "dtype": t.dtype.name}

    ins = model.inputs or []
    names = [t._keras_history[0].name for t in ins]
    outs = model.outputs or []
    return {"name": model.name,
            "inputs": [spec(t, n) for t, n in zip(ins, names)],
            "outputs": [spec(t, n) for t, n in zip(outs, model.output_names)]}


def _as_array(value, spec, what):
    """One input's array from a segment, a list of segments (one per instance) or Python
    values (what json.loads made of the rest), checked against the input's spec."""
    dtype = np.dtype(spec["dtype"])
    if dtype.kind not in "fiub":
        raise _HTTPError(400, f"{what}: inputs of dtype {dtype.name} cannot be sent as JSON")
    if isinstance(value, _SegView) or (isinstance(value, list) and value
                                   and all(isinstance(v, _SegView) for v in value)):
        segs = [value] if isinstance(value, _SegView) else value
        doc = segs[0].doc
        shape = value.shape(what) if segs is not value else doc.shape(segs, what, stack=True)
        _check_shape(shape, spec, what)
        out = np.empty(shape, dtype)
        doc.fill(segs, out.reshape(-1), what)
        return out
    return _from_python(value, dtype, spec, what)


def _parse_inputs(body, meta):
    """The request's model inputs as arrays, in the model's input order."""
    specs = meta["inputs"]
    names = [s["name"] for s in specs]
    if not isinstance(body, _Obj) or ("instances" in body) == ("inputs" in body):
        raise _HTTPError(400, 'the body must be a JSON object with "instances" (a list of '
                              'examples) or "inputs" (whole arrays)')
    if "instances" in body:
        rows = body["instances"]
        if not (isinstance(rows, list) and rows or isinstance(rows, _SegView)
                and not rows.is_empty()):
            raise _HTTPError(400, '"instances" must be a non-empty list of examples')
        if len(specs) == 1:
            columns = [rows]
        else:
            if not isinstance(rows, list) or not all(isinstance(r, _Obj) for r in rows):
                raise _HTTPError(400, f"this model has inputs {names}: each instance must be "
                                      "an object with one entry per input")
            try:
                columns = [[r[n] for r in rows] for n in names]
            except KeyError as e:
                raise _HTTPError(400, f"an instance lacks the input {e.args[0]!r}; the "
                                      f"inputs are {names}") from None
    else:
        given = body["inputs"]
        if isinstance(given, _Obj):
            missing = [n for n in names if n not in given]
            if missing:
                raise _HTTPError(400, f'"inputs" lacks {missing}; the inputs are {names}')
            columns = [given[n] for n in names]
        elif len(specs) == 1:
            columns = [given]
        else:
            if isinstance(given, _SegView):
                given = given.children()
            if isinstance(given, list) and len(given) == len(specs):
                columns = given
            else:
                raise _HTTPError(400, f"this model has {len(specs)} inputs {names}: give "
                                      '"inputs" as an object by name or a list of arrays')
    arrays = [_as_array(c, s, f"input {s['name']!r}") for c, s in zip(columns, specs)]
    if len({len(a) for a in arrays}) != 1:
        raise _HTTPError(400, "every input must have the same number of examples")
    return arrays


def _parse_request(raw, meta, budget=None):
    """The model inputs of a /predict body (bytes); `budget`: the most bytes its JSON may
    take as Python objects (default 4x the body + 64 MiB)."""
    budget = 4 * len(raw) + (64 << 20) if budget is None else budget
    return _parse_inputs(_Doc(raw, budget).loads(), meta)


class _Pieces(list):
    """An answer already encoded, in pieces of bytes."""


_ANSWER_BLOCK = 1 << 20  # numbers turned into Python objects at a time for an answer


def _json_pieces(a):
    """json.dumps(a.tolist()) as pieces of bytes, a block of rows at a time: the answer
    never holds the whole array as Python floats (~10x its JSON) at once."""
    a = np.asarray(a)
    step = max(1, _ANSWER_BLOCK // max(1, a[0].size)) if a.ndim and len(a) else 1
    if a.ndim == 0 or len(a) <= step:
        return [json.dumps(a.tolist()).encode()]
    parts = [b"["]
    for i in range(0, len(a), step):
        parts += [b", "] if i else []
        parts.append(json.dumps(a[i:i + step].tolist())[1:-1].encode())
    return parts + [b"]"]


# --- the protocols: TensorFlow Serving's REST API (/v1) and KServe v2 (/v2) -------------
#
# Facts from the two specifications (TF Serving's "RESTful API" page, the Open Inference
# Protocol's REST section); the request bodies go through the same parser, budgets and array
# checks as /predict.

_TF_DTYPES = {"float16": "DT_HALF", "float32": "DT_FLOAT", "float64": "DT_DOUBLE",
              "bfloat16": "DT_BFLOAT16", "int8": "DT_INT8", "int16": "DT_INT16",
              "int32": "DT_INT32", "int64": "DT_INT64", "uint8": "DT_UINT8",
              "uint16": "DT_UINT16", "uint32": "DT_UINT32", "uint64": "DT_UINT64",
              "bool": "DT_BOOL", "string": "DT_STRING"}
_V2_DTYPES = {"float16": "FP16", "float32": "FP32", "float64": "FP64", "bfloat16": "BF16",
              "int8": "INT8", "int16": "INT16", "int32": "INT32", "int64": "INT64",
              "uint8": "UINT8", "uint16": "UINT16", "uint32": "UINT32", "uint64": "UINT64",
              "bool": "BOOL", "string": "BYTES"}
_V2_FLOAT = {"FP16", "FP32", "FP64", "BF16"}
_V2_INT = {"INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"}
_TF_SIGNATURE = "serving_default"
_V1_PATH = re.compile(r"/v1/models/([^/:]+)(?:/versions/([^/:]*)|/labels/([^/:]*))?"
                      r"(/metadata|:[A-Za-z]*)?")
_V2_PATH = re.compile(r"/v2/models/([^/]+)(?:/versions/([^/]*))?(/ready|/infer)?")


class _Served:
    """One model of the app: its name in the URLs, its runner, its metadata and, with
    batching on, the batcher that merges concurrent requests (serving_batching)."""

    def __init__(self, name, model, batch_size, batching=None, metrics=None):
        self.name, self.model, self.batch_size = name, model, batch_size
        self.metrics = metrics  # the app's ServerMetrics, where prometheus_client is installed
        self.runner = model.compile_for_inference()
        self.meta = _metadata(model)
        self.out_names = [o["name"] for o in self.meta["outputs"]]
        self.batcher = None
        if batching is not None:
            waited = None if metrics is None else (
                lambda seconds: metrics.queue_wait(name, seconds))
            self.batcher = _Batcher(self._call, batching, waited)

    def run(self, arrays):
        """The outputs (always a list) of the model on `arrays` (a list, one per input)."""
        return self._call(arrays) if self.batcher is None else self.batcher(arrays)

    def _call(self, arrays):
        """One runner call (the rows of one request, or of several merged)."""
        if self.metrics is not None and arrays:
            self.metrics.model_call(self.name, len(arrays[0]))
        out = self.runner(arrays[0] if len(arrays) == 1 else arrays, batch_size=self.batch_size)
        return out if isinstance(out, list) else [out]

    def close(self):
        if self.batcher is not None:
            self.batcher.close()


def _served_models(models, batch_size, batching=None, metrics=None):
    if isinstance(models, dict):
        if not models:
            raise ValueError("make_app: models must name at least one model, got {}")
        bad = [k for k in models if not isinstance(k, str) or not k or "/" in k or ":" in k]
        if bad:
            raise ValueError(f"make_app: model names must be non-empty strings without '/' "
                             f"or ':', got {bad[0]!r}")
        items = list(models.items())
    else:
        items = [(models.name, models)]
    return {name: _Served(name, m, batch_size, batching, metrics) for name, m in items}


def _load(raw):
    return _Doc(raw, 4 * len(raw) + (64 << 20)).loads()


def _dumps(v):
    return json.dumps(v).encode()


def _tf_shape(shape):
    return {"dim": [{"size": str(-1 if d is None else d), "name": ""} for d in shape],
            "unknown_rank": False}


def _tf_metadata(m):
    def tensors(specs):
        return {s["name"]: {"dtype": _TF_DTYPES.get(s["dtype"], "DT_INVALID"),
                            "tensor_shape": _tf_shape(s["shape"]), "name": s["name"]}
                for s in specs}

    sig = {"inputs": tensors(m.meta["inputs"]), "outputs": tensors(m.meta["outputs"]),
           "method_name": "tensorflow/serving/predict"}
    return {"model_spec": {"name": m.name, "signature_name": "", "version": "1"},
            "metadata": {"signature_def": {"signature_def": {_TF_SIGNATURE: sig}}}}


def _tf_status():
    return {"model_version_status": [{"version": "1", "state": "AVAILABLE",
                                      "status": {"error_code": "OK", "error_message": ""}}]}


def _rows_pieces(names, outs):
    """TF Serving's row answer for several outputs: one object per example."""
    n = len(outs[0])
    width = max(1, sum(o[0].size for o in outs) if n else 1)
    step = max(1, _ANSWER_BLOCK // width)
    parts = [b"["]
    for i in range(0, n, step):
        block = [{k: o[j].tolist() for k, o in zip(names, outs)}
                 for j in range(i, min(n, i + step))]
        parts += [b", "] if i else []
        parts.append(json.dumps(block)[1:-1].encode())
    return parts + [b"]"]


def _tf_predict(m, raw):
    body = _load(raw)
    if isinstance(body, _Obj) and "signature_name" in body:
        sig = body["signature_name"]
        if not isinstance(sig, str):
            raise _HTTPError(400, '"signature_name" must be a string')
        if sig not in ("", _TF_SIGNATURE):
            raise _HTTPError(400, f'"signature_name": Serving signature name: "{sig}" not '
                                  f'found in signature def (this model has only '
                                  f'"{_TF_SIGNATURE}")')
    arrays = _parse_inputs(body, m.meta)
    outs = m.run(arrays)
    if "instances" in body:  # row format
        head = b'{"predictions": '
        parts = _json_pieces(outs[0]) if len(outs) == 1 else _rows_pieces(m.out_names, outs)
    else:  # columnar format
        head = b'{"outputs": '
        if len(outs) == 1:
            parts = _json_pieces(outs[0])
        else:
            parts = [b"{"]
            for k, (n, o) in enumerate(zip(m.out_names, outs)):
                parts += [b", " if k else b"", _dumps(n), b": "] + _json_pieces(o)
            parts.append(b"}")
    return _Pieces([head] + parts + [b"}"])


def _v2_tensor_meta(spec):
    return {"name": spec["name"], "datatype": _V2_DTYPES.get(spec["dtype"], "BYTES"),
            "shape": [-1 if d is None else d for d in spec["shape"]]}


def _v2_metadata(m):
    return {"name": m.name, "versions": ["1"], "platform": "fastkeras",
            "inputs": [_v2_tensor_meta(s) for s in m.meta["inputs"]],
            "outputs": [_v2_tensor_meta(s) for s in m.meta["outputs"]]}


def _field(obj, key, what):
    if key not in obj:
        raise _HTTPError(400, f'{what}: the field "{key}" is missing')
    return obj[key]


def _v2_shape(value, what):
    """A tensor's "shape": a list of non-negative integers."""
    if not isinstance(value, (list, _SegView)):
        raise _HTTPError(400, f"{what}: expected a list of non-negative integers")
    if isinstance(value, list) and not value:
        return ()
    shape = _as_array(value, {"shape": [None], "dtype": "int64"}, what)
    if (shape < 0).any() or (shape > 1 << 40).any():
        raise _HTTPError(400, f"{what}: expected integers in [0, 2**40], got {shape.tolist()}")
    return tuple(int(d) for d in shape)


def _v2_data_shape(value, dtype, what):
    if isinstance(value, _SegView):
        return value.shape(what)
    if not isinstance(value, list):
        raise _HTTPError(400, f"{what}: expected a list of numbers (flat, row-major, or "
                              f"nested as the shape), got {_describe(value)}")
    try:
        return _py_shape(value, what, ())
    except _HTTPError as e:
        raise _HTTPError(e.status, str(e).replace("{dtype}", dtype.name)) from None


def _v2_input(tensor, spec, k):
    """One input's array from its request tensor, checked against the model's input."""
    what = f"inputs[{k}] ({spec['name']!r})"
    shape = _v2_shape(_field(tensor, "shape", what), what + ".shape")
    datatype = _field(tensor, "datatype", what)
    want = _V2_DTYPES.get(spec["dtype"], "BYTES")
    ok = isinstance(datatype, str) and (
        datatype == want or want in _V2_FLOAT and datatype in _V2_FLOAT | _V2_INT
        or want in _V2_INT and datatype in _V2_INT)
    if not ok:
        also = (" (or another FP, INT or UINT type)" if want in _V2_FLOAT else
                " (or another INT or UINT type)" if want in _V2_INT else "")
        got = json.dumps(datatype) if isinstance(datatype, str) else _describe(datatype)
        raise _HTTPError(400, f"{what}.datatype: this input takes {want}{also}, got {got}")
    if want not in _V2_FLOAT | _V2_INT:
        raise _HTTPError(400, f"{what}.datatype: {want} tensors cannot be sent as JSON here")
    dtype = np.dtype(spec["dtype"])
    data = _field(tensor, "data", what)
    got = _v2_data_shape(data, dtype, what + ".data")
    size = int(np.prod(shape, dtype=np.int64))
    if int(np.prod(got, dtype=np.int64)) != size or (len(got) > 1 and got != shape):
        raise _HTTPError(400, f"{what}.data: {int(np.prod(got))} values "
                              f"{'in shape ' + str(got) + ' ' if len(got) > 1 else ''}do not "
                              f"fill the shape {list(shape)} ({size} values)")
    if size == 0:
        raise _HTTPError(400, f"{what}.shape: the tensor must hold at least one example, "
                              f"got shape {list(shape)}")
    flat = _as_array(data, {"shape": [None] * len(got), "dtype": spec["dtype"]},
                     what + ".data").reshape(shape)
    _check_shape(shape, spec, what + ".shape")
    return flat


def _v2_infer(m, raw):
    body = _load(raw)
    if not isinstance(body, _Obj):
        raise _HTTPError(400, 'the body must be a JSON object with "inputs" (a list of '
                              'tensors {"name", "shape", "datatype", "data"})')
    rid = body["id"] if "id" in body else None
    if rid is not None and not isinstance(rid, str):
        raise _HTTPError(400, f'"id": expected a string, got {_describe(rid)}')
    tensors = _field(body, "inputs", "the request")
    names = [s["name"] for s in m.meta["inputs"]]
    if not isinstance(tensors, list) or not tensors or not all(isinstance(t, _Obj)
                                                               for t in tensors):
        raise _HTTPError(400, '"inputs": expected a non-empty list of tensors {"name", '
                              '"shape", "datatype", "data"}')
    by_name = {}
    for k, t in enumerate(tensors):
        n = _field(t, "name", f"inputs[{k}]")
        if not isinstance(n, str) or n not in names:
            raise _HTTPError(400, f"inputs[{k}].name: this model has no input "
                                  f"{json.dumps(n) if isinstance(n, str) else _describe(n)}; "
                                  f"its inputs are {names}")
        if n in by_name:
            raise _HTTPError(400, f"inputs[{k}].name: the input {n!r} is given twice")
        by_name[n] = k
    missing = [n for n in names if n not in by_name]
    if missing:
        raise _HTTPError(400, f'"inputs" lacks {missing}; the inputs are {names}')
    arrays = [_v2_input(tensors[by_name[s["name"]]], s, by_name[s["name"]])
              for s in m.meta["inputs"]]
    if len({len(a) for a in arrays}) != 1:
        raise _HTTPError(400, '"inputs": every input must have the same number of examples '
                              "(first dimension)")
    want = list(range(len(m.out_names)))
    if "outputs" in body:
        asked = body["outputs"]
        if not isinstance(asked, list) or not all(isinstance(o, _Obj) for o in asked):
            raise _HTTPError(400, '"outputs": expected a list of objects {"name": ...}')
        want = []
        for k, o in enumerate(asked):
            n = _field(o, "name", f"outputs[{k}]")
            if not isinstance(n, str) or n not in m.out_names:
                raise _HTTPError(400, f"outputs[{k}].name: this model has no output "
                                      f"{json.dumps(n) if isinstance(n, str) else _describe(n)}"
                                      f"; its outputs are {m.out_names}")
            want.append(m.out_names.index(n))
    outs = m.run(arrays)
    parts = [b'{"model_name": ', _dumps(m.name), b', "model_version": "1"']
    if rid is not None:
        parts += [b', "id": ', _dumps(rid)]
    parts.append(b', "outputs": [')
    for k, i in enumerate(want):
        o = np.asarray(outs[i])
        parts += [b", " if k else b"", b'{"name": ', _dumps(m.out_names[i]),
                  b', "datatype": ', _dumps(_V2_DTYPES.get(o.dtype.name, "BYTES")),
                  b', "shape": ', _dumps(list(o.shape)), b', "data": ']
        parts += _json_pieces(o.reshape(-1)) + [b"}"]
    return _Pieces(parts + [b"]}"])


def make_app(model, max_body=64 << 20, batch_size=1024, batching=None):
    """The WSGI application serving `model` (see the module's docstring): one model, or a
    dict {name: model} of several (the URLs' names; /predict, /metadata serve the first).

    `batching`: None (each request is its own runner call) or a ``Batching``: concurrent
    requests to one model, from every route, are merged into runner calls of up to
    ``max_batch_size`` rows, the oldest waiting at most ``max_wait_ms`` for others.
    Batching starts no thread: the server's own threads run the merged calls.
    ``app.close()`` turns batching off for later requests (those queued are answered)."""
    from fastkeras.serving_metrics import server_metrics

    if batching is not None and not isinstance(batching, Batching):
        raise ValueError("make_app: batching must be None or a fastkeras.serving_http."
                         f"Batching(max_batch_size=..., max_wait_ms=...), got {batching!r}")
    metrics = server_metrics()
    served = _served_models(model, batch_size, batching, metrics)
    first = next(iter(served.values()))
    meta = first.meta
    names = list(served)

    def predict(raw):
        arrays = _parse_request(raw, meta)
        out = first.run(arrays)
        out = out if len(out) > 1 else out[0]
        if isinstance(out, list):  # what json.dumps({"predictions": {...}}) writes
            parts = [b'{"predictions": {']
            for k, (n, o) in enumerate(zip(first.out_names, out)):
                parts += [b", " if k else b"", json.dumps(n).encode(), b": "]
                parts += _json_pieces(o)
            return _Pieces(parts + [b"}}"])
        return _Pieces([b'{"predictions": '] + _json_pieces(out) + [b"}"])

    def read_body(environ):
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise _HTTPError(400, "bad Content-Length") from None
        if length > max_body:
            raise _HTTPError(413, f"the body is {length:,} bytes; the limit is {max_body:,}")
        raw = environ["wsgi.input"].read(length) if length > 0 else b""
        if not raw.strip():
            raise _HTTPError(400, "empty body: send a JSON object")
        return raw

    def v1_route(match, environ):
        name, version, label, verb = match.groups()
        if name not in served:
            raise _HTTPError(404, f"Servable not found for request: Latest({name}) (this "
                                  f"server has {names})")
        m = served[name]
        if label is not None:
            raise _HTTPError(404, f"Servable not found for request: label {label!r} of "
                                  f"{name} (model labels are not supported)")
        if version is not None and version != "1":
            raise _HTTPError(404, f"Servable not found for request: Specific({name}, "
                                  f"{version}) (only version 1 is served)")
        if verb is None:
            return "GET", _tf_status
        if verb == "/metadata":
            return "GET", lambda: _tf_metadata(m)
        if verb == ":predict":
            return "POST", lambda: _tf_predict(m, read_body(environ))
        raise _HTTPError(404, f"{verb[1:]!r} is not supported here (only :predict, not "
                              ":classify or :regress)")

    def v2_route(match, environ):
        name, version, verb = match.groups()
        if name not in served:
            raise _HTTPError(404, f"no model named {name!r}; this server has {names}")
        if version is not None and version != "1":
            raise _HTTPError(404, f"model {name!r} has no version {version!r} (only version "
                                  "1 is served)")
        m = served[name]
        if verb is None:
            return "GET", lambda: _v2_metadata(m)
        if verb == "/ready":
            return "GET", lambda: {"name": name, "ready": True}
        return "POST", lambda: _v2_infer(m, read_body(environ))

    def exposition():
        if metrics is None:
            raise _HTTPError(501, "metrics need prometheus_client: pip install "
                                  "\"fastkeras[serve]\" (or pip install prometheus_client)")
        return _Exposition(*metrics.exposition())

    def route(path, environ):
        fixed = {"/health": ("GET", lambda: {"status": "ok"}),
                 "/metrics": ("GET", exposition),
                 "/metadata": ("GET", lambda: meta),
                 "/predict": ("POST", lambda: predict(read_body(environ))),
                 "/v2": ("GET", lambda: {"name": "fastkeras", "version": _version(),
                                         "extensions": []}),
                 "/v2/health/live": ("GET", lambda: {"live": True}),
                 "/v2/health/ready": ("GET", lambda: {"ready": True})}
        if path in fixed:
            return fixed[path]
        match = _V1_PATH.fullmatch(path)
        if match:
            return v1_route(match, environ)
        match = _V2_PATH.fullmatch(path)
        if match:
            return v2_route(match, environ)
        raise _HTTPError(404, f"no such path {path!r}; try /predict, /metadata, /health, "
                              f"/v1/models/{names[0]}:predict or /v2/models/{names[0]}/infer")

    def app(environ, start_response):
        path, method = environ.get("PATH_INFO", "/"), environ.get("REQUEST_METHOD", "GET")
        want, label, t0 = None, "unmatched", time.perf_counter()
        try:
            want, handler = route(path, environ)
            label = _route_label(path, served)
            if method != want:
                raise _HTTPError(405, f"{path} takes {want} requests")
            status, payload = 200, handler()
        except _HTTPError as e:
            status, payload = e.status, {"error": str(e)}
        except (ValueError, TypeError) as e:  # the model refused the inputs
            status, payload = 400, {"error": str(e)}
        except MemoryError:
            status, payload = 503, {"error": "the server ran out of memory for this request"}
        except Exception as e:  # never take the server down
            status, payload = 500, {"error": f"{type(e).__name__}: {e}"}
        if isinstance(payload, _Exposition):
            data, content_type = [payload.body], payload.content_type
        else:
            data = payload if isinstance(payload, _Pieces) else [json.dumps(payload).encode()]
            content_type = "application/json"
        headers = [("Content-Type", content_type), ("Content-Length", str(sum(map(len, data))))]
        if metrics is not None:
            metrics.answered(label, status, time.perf_counter() - t0)
        if status == 405:
            headers.append(("Allow", want))
        start_response(f"{status} {_REASONS[status]}", headers)
        return data

    def close():
        for m in served.values():
            m.close()

    app.close = close
    return app


class _Exposition:
    """A /metrics answer: Prometheus' text format, not JSON."""

    def __init__(self, body, content_type):
        self.body, self.content_type = body, content_type


def _route_label(path, served):
    """The metrics' route label: the path for fixed routes, the template with the (served)
    model's name for /v1 and /v2 (routing has already refused unknown names)."""
    match = _V1_PATH.fullmatch(path)
    if match:
        name, version, _, verb = match.groups()
        return f"/v1/models/{name}{'/versions/' + version if version else ''}{verb or ''}"
    match = _V2_PATH.fullmatch(path)
    if match:
        name, version, verb = match.groups()
        return f"/v2/models/{name}{'/versions/' + version if version else ''}{verb or ''}"
    return path


def _version():
    from fastkeras import __version__

    return __version__


def _raise_fd_limit(want):
    """Lift the soft limit on open files towards `want` (each connection holds one)."""
    try:
        import resource
    except ImportError:  # not on POSIX
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        except (ValueError, OSError):
            pass


def serve(model_path, host="127.0.0.1", port=8080, threads=4, custom_objects=None,
          max_body=64 << 20, connection_limit=1000, channel_timeout=30, ready=print,
          batching=None):
    """Load `model_path` (a path, or a list of paths: several models, named by their files'
    stems in the /v1 and /v2 URLs, /predict serving the first) and serve until interrupted
    (blocks).

    `connection_limit`: open connections at most (beyond it waitress stops accepting until
    some close); `channel_timeout`: seconds after which a connection with no activity and
    no request in progress is closed (idle keep-alives, requests stuck mid-header);
    `batching`: None (off) or a ``Batching``, dynamic batching of concurrent requests (see
    ``make_app``)."""
    if connection_limit < 1 or channel_timeout < 1:
        raise ValueError("connection_limit and channel_timeout must be at least 1, got "
                         f"{connection_limit} and {channel_timeout}")
    if batching is not None and not isinstance(batching, Batching):
        raise ValueError("serve: batching must be None or a fastkeras.serving_http.Batching("
                         f"max_batch_size=..., max_wait_ms=...), got {batching!r}")
    try:
        import waitress
    except ImportError:
        raise ImportError('the server needs waitress: pip install "fastkeras[serve]" (or pip '
                          "install waitress)") from None
    from fastkeras.models import load_model

    paths = [model_path] if isinstance(model_path, (str, os.PathLike)) else list(model_path)
    if not paths:
        raise ValueError("serve: model_path must name at least one model file")
    stems = [os.path.splitext(os.path.basename(os.fspath(p)))[0] for p in paths]
    twice = sorted({n for n in stems if stems.count(n) > 1})
    if twice:
        raise ValueError(f"serve: the models are named by their files' stems and {twice} "
                         "would name two; rename the files")
    models = {n: load_model(p, custom_objects=custom_objects, compile=False)
              for n, p in zip(stems, paths)}
    model = models[stems[0]]
    app = make_app(models, max_body=max_body, batching=batching)
    _raise_fd_limit(connection_limit + 64)
    # waitress refuses (413, plain text) bodies far over the limit before reading them;
    # the application answers the ones just over it with its JSON error. poll() rather
    # than select(), which fails past 1024 file descriptors; idle channels are looked at
    # every channel_timeout / 2 seconds (at most 30)
    server = waitress.create_server(app, host=host, port=port, threads=threads,
                                    max_request_body_size=max_body + (1 << 20),
                                    connection_limit=connection_limit,
                                    channel_timeout=channel_timeout,
                                    cleanup_interval=max(1, min(30, channel_timeout // 2)),
                                    asyncore_use_poll=True)
    ready(f"fastkeras serving {model.name!r} on http://{host}:{server.effective_port} "
          f"(POST /predict, GET /metadata, GET /health; models {stems} at /v1/models/<name> "
          "and /v2/models/<name>)" + (
              "" if batching is None else f"; dynamic batching: up to "
              f"{batching.max_batch_size} rows, {batching.max_wait_ms:g} ms wait"))
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        app.close()
