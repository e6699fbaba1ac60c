"""Update rules (csrc/fnn_optim.h) over one flat parameter buffer.

``UpdateRule`` holds a rule's C description (kind and hyper-parameters);
``step`` applies one update in place to ``params`` and ``state`` with the GIL
released. The Python optimizers in ``fastnn.optimizers`` build UpdateRules;
the compiled epochs take them as they are.
"""
from libc.stdint cimport int64_t

from fastnn._core._fnn cimport (
    fnn_int, floating, fnn_optim, FNN_OK, fnn_optim_state_per_param,
    fnn_optim_step_f32, fnn_optim_step_f64,
    FNN_OPTIM_SGD, FNN_OPTIM_ADAGRAD, FNN_OPTIM_RMSPROP, FNN_OPTIM_ADADELTA, FNN_OPTIM_ADAM,
)


KINDS = {
    "sgd": FNN_OPTIM_SGD,
    "adagrad": FNN_OPTIM_ADAGRAD,
    "rmsprop": FNN_OPTIM_RMSPROP,
    "adadelta": FNN_OPTIM_ADADELTA,
    "adam": FNN_OPTIM_ADAM,
}


cdef class UpdateRule:
    """One update rule and its hyper-parameters, as the C kernels see it."""

    def __init__(self, str kind, double momentum=0.0, bint nesterov=False,
                 double beta_1=0.9, double beta_2=0.999, double rho=0.9, double epsilon=1e-8):
        if kind not in KINDS:
            raise ValueError(f"unknown update rule {kind!r}; expected one of {sorted(KINDS)}")
        self.name = kind
        self.c.kind = KINDS[kind]
        self.c.momentum = momentum
        self.c.nesterov = nesterov
        self.c.beta1 = beta_1
        self.c.beta2 = beta_2
        self.c.rho = rho
        self.c.eps = epsilon

    @property
    def state_per_param(self):
        """How many state entries the rule keeps per parameter."""
        return fnn_optim_state_per_param(self.c.kind)

    def __reduce__(self):
        return (UpdateRule, (self.name, self.c.momentum, bool(self.c.nesterov), self.c.beta1,
                             self.c.beta2, self.c.rho, self.c.eps))

    def step(self, floating[::1] params, const floating[::1] grads, floating[::1] state,
             double lr, int64_t t, double l2=0.0, n_decay=None, int n_threads=1):
        """One update in place: params and state change; t counts steps from 1."""
        cdef fnn_int n = params.shape[0]
        cdef fnn_int nd = n if n_decay is None else n_decay
        cdef int status
        if grads.shape[0] != n:
            raise ValueError(f"grads has {grads.shape[0]} entries, params {n}")
        if state.shape[0] != n * self.state_per_param:
            raise ValueError(f"state has {state.shape[0]} entries, expected "
                             f"{n * self.state_per_param}")
        if not 0 <= nd <= n:
            raise ValueError(f"n_decay={nd} is outside [0, {n}]")
        if t < 1:
            raise ValueError("t counts steps from 1")
        if n == 0:
            return
        with nogil:
            if floating is float:
                status = fnn_optim_step_f32(&self.c, n, nd, l2, lr, t, &params[0], &grads[0],
                                            &state[0], n_threads)
            else:
                status = fnn_optim_step_f64(&self.c, n, nd, l2, lr, t, &params[0], &grads[0],
                                            &state[0], n_threads)
        if status != FNN_OK:
            raise ValueError("update rule rejected its arguments")
