# Convolution and pooling geometries from the dicts fastkeras.ops.convolution builds,
# checked by the C core (shared by conv, pool and devops).
cdef tuple geom_triple(dict g, str key):
    """g[key] as a 3-tuple: the bridges index it without bounds checks, so a shorter
    sequence (or a missing key) must be refused here."""
    if key not in g:
        raise ValueError(f"geometry: missing {key!r}")
    v = tuple(g[key])
    if len(v) != 3:
        raise ValueError(f"geometry: {key!r} must have 3 entries, got {v!r}")
    return v


cdef object geom_value(dict g, str key):
    if key not in g:
        raise ValueError(f"geometry: missing {key!r}")
    return g[key]


cdef fk_conv_geom make_conv_geom(dict g) except *:
    cdef fk_conv_geom c
    cdef int d
    c.n = geom_value(g, "n")
    gin, gout, gk = geom_triple(g, "in"), geom_triple(g, "out"), geom_triple(g, "k")
    gs, gdil, gpad = geom_triple(g, "stride"), geom_triple(g, "dil"), geom_triple(g, "pad")
    for d in range(3):
        c.in_[d] = gin[d]
        c.out[d] = gout[d]
        c.k[d] = gk[d]
        c.stride[d] = gs[d]
        c.dil[d] = gdil[d]
        c.pad[d] = gpad[d]
    c.cin = geom_value(g, "cin")
    c.cout = geom_value(g, "cout")
    c.groups = geom_value(g, "groups")
    c.algo = g.get("algo", 0)  # fk_conv_algo; fastkeras.ops.convolution.ConvAlgorithm
    check_status(fk_conv_check(&c), "fk_conv_check")
    return c


cdef fk_pool_geom make_pool_geom(dict g) except *:
    cdef fk_pool_geom c
    cdef int d
    c.n = geom_value(g, "n")
    gin, gout, gk = geom_triple(g, "in"), geom_triple(g, "out"), geom_triple(g, "k")
    gs, gpad = geom_triple(g, "stride"), geom_triple(g, "pad")
    for d in range(3):
        c.in_[d] = gin[d]
        c.out[d] = gout[d]
        c.k[d] = gk[d]
        c.stride[d] = gs[d]
        c.pad[d] = gpad[d]
    c.c = geom_value(g, "c")
    check_status(fk_pool_check(&c), "fk_pool_check")
    return c
