# Convolution and pooling geometries from the dicts fastkeras.ops.convolution builds,
# checked by the C core (shared by conv, pool and devops).
cdef fk_conv_geom make_conv_geom(dict g) except *:
    cdef fk_conv_geom c
    cdef int d
    c.n = g["n"]
    for d in range(3):
        c.in_[d] = g["in"][d]
        c.out[d] = g["out"][d]
        c.k[d] = g["k"][d]
        c.stride[d] = g["stride"][d]
        c.dil[d] = g["dil"][d]
        c.pad[d] = g["pad"][d]
    c.cin = g["cin"]
    c.cout = g["cout"]
    c.groups = g["groups"]
    c.algo = g.get("algo", 0)  # fk_conv_algo; fastkeras.ops.convolution.ConvAlgorithm
    check_status(fk_conv_check(&c), "fk_conv_check")
    return c


cdef fk_pool_geom make_pool_geom(dict g) except *:
    cdef fk_pool_geom c
    cdef int d
    c.n = g["n"]
    for d in range(3):
        c.in_[d] = g["in"][d]
        c.out[d] = g["out"][d]
        c.k[d] = g["k"][d]
        c.stride[d] = g["stride"][d]
        c.pad[d] = g["pad"][d]
    c.c = g["c"]
    check_status(fk_pool_check(&c), "fk_pool_check")
    return c
