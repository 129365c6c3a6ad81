# The cross-entropy options struct from Python values (shared by softmax_xent and devops).
cdef fk_xent_opts make_opts(bint from_logits, double label_smoothing, double epsilon,
                            object ignore_class, double grad_scale=1.0):
    cdef fk_xent_opts o
    fk_xent_opts_init(&o)
    o.grad_scale = grad_scale
    o.from_logits = from_logits
    o.label_smoothing = label_smoothing
    o.epsilon = epsilon
    if ignore_class is not None:
        o.has_ignore_class = 1
        o.ignore_class = <int64_t>ignore_class
    return o
