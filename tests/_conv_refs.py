"""A float64 NumPy convolution and the geometries the inference-plan convolution tests
run (the direct kernel, tests/kernels/test_conv_direct.py; int8, test_qdense_kernel.py)."""
import numpy as np

from fastkeras.ops.convolution import conv_geometry

LINEAR = -1


def geometry(n, spatial, cin, cout, k, strides, padding, dil, groups=1):
    geom, out = conv_geometry(n, spatial, cin, tuple(k) + (cin // groups, cout), strides,
                              padding, dil)
    geom["in_shape"] = tuple(spatial) + (cin,)
    geom["out_shape"] = tuple(out) + (cout,)
    return geom


def reference(geom, x, w, b):
    """float64 channels-last convolution by kernel taps (2-D; 1-D as height 1)."""
    nd = len(geom["in_shape"]) - 1
    x = np.asarray(x, np.float64).reshape((x.shape[0],) + (1,) * (2 - nd) + geom["in_shape"])
    w = np.asarray(w, np.float64).reshape((1,) * (2 - nd) + w.shape)
    (_, oh, ow), (_, sh, sw), (_, dh, dw), (_, ph, pw) = (
        geom["out"], geom["stride"], geom["dil"], geom["pad"])
    kh, kw = w.shape[:2]
    need_h, need_w = (oh - 1) * sh + (kh - 1) * dh + 1, (ow - 1) * sw + (kw - 1) * dw + 1
    xp = np.zeros((x.shape[0], max(need_h, ph + x.shape[1]), max(need_w, pw + x.shape[2]),
                   x.shape[3]))
    xp[:, ph:ph + x.shape[1], pw:pw + x.shape[2]] = x
    y = np.zeros((x.shape[0], oh, ow, w.shape[3]))
    for i in range(kh):
        for j in range(kw):
            y += xp[:, i * dh:i * dh + (oh - 1) * sh + 1:sh,
                    j * dw:j * dw + (ow - 1) * sw + 1:sw] @ w[i, j]
    if b is not None:
        y += b
    return y.reshape((x.shape[0],) + geom["out_shape"])


CASES = [  # spatial, cin, cout, kernel, strides, padding, dilation
    ((8, 8), 1, 32, (3, 3), (1, 1), "same", (1, 1)),        # the digits CNN's first layer
    ((6, 6), 32, 64, (3, 3), (1, 1), "valid", (1, 1)),
    ((9, 7), 3, 33, (3, 2), (2, 1), "same", (1, 1)),
    ((11, 10), 5, 1, (3, 3), (2, 3), "valid", (1, 1)),
    ((10, 12), 4, 70, (3, 3), (1, 1), "same", (2, 3)),      # dilated along the width
    ((13, 13), 67, 31, (5, 5), (3, 3), "same", (1, 1)),
    ((5, 5), 8, 16, (1, 1), (1, 1), "valid", (1, 1)),       # pointwise
    ((4, 4), 2, 5, (4, 4), (1, 1), "valid", (1, 1)),        # one output position
    ((3, 3), 2, 40, (5, 5), (1, 1), "same", (1, 1)),        # kernel wider than the input
    ((30, 30), 16, 48, (3, 3), (1, 1), "same", (1, 1)),     # several bands per image
    ((20,), 3, 32, (3,), (1,), "valid", (1,)),
    ((17,), 7, 9, (4,), (2,), "same", (1,)),
    ((16,), 6, 65, (3,), (1,), "causal", (2,)),
]
