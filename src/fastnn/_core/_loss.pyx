"""Loss kernels (csrc/fnn_loss.h): fused loss and gradient on raw predictions.

``loss_grad`` checks shapes with the GIL held, then runs the kernel without
it. Inputs are ``const`` memoryviews, so read-only arrays (memmaps) work; the
gradient is written into ``grad`` (which may be ``z`` itself).
"""
from fastnn._core._fnn cimport (
    fnn_int, floating, FNN_OK, fnn_loss_grad_f32, fnn_loss_grad_f64,
    FNN_LOSS_SQUARED, FNN_LOSS_LOGISTIC, FNN_LOSS_MULTINOMIAL, FNN_LOSS_POISSON, FNN_LOSS_CLIP,
    FNN_LOSS_STEP_SHIFT, fnn_loss_y_width, fnn_loss_kind_ok,
)


# or-ed into 'log_loss' / 'multinomial': the value uses probabilities clipped
# to [eps, 1 - eps] (scikit-learn's MLP); the gradient is unchanged
LOSS_CLIP = FNN_LOSS_CLIP


def with_steps(int kind, int steps):
    """``kind`` per step: each row's outputs are ``steps`` steps of equal
    width, with a target each (class -1, or a NaN first value: unlabelled),
    and a row's loss is the mean over its labelled steps (csrc/fnn_loss.h)."""
    if steps < 1 or steps >= (1 << (31 - FNN_LOSS_STEP_SHIFT)):
        raise ValueError(f"steps must be in [1, {1 << (31 - FNN_LOSS_STEP_SHIFT)}), got {steps}")
    return kind | (steps << FNN_LOSS_STEP_SHIFT)

LOSSES = {
    "squared_error": FNN_LOSS_SQUARED,
    "log_loss": FNN_LOSS_LOGISTIC,
    "multinomial": FNN_LOSS_MULTINOMIAL,
    "poisson": FNN_LOSS_POISSON,
}


def loss_grad(int kind, const floating[:, ::1] z, const floating[::1] y,
              const floating[::1] sample_weight=None, double scale=1.0,
              floating[:, ::1] grad=None, int n_threads=1):
    """Return sum_i sw_i loss_i; write grad = scale * sw_i * dloss/dz if given.
    kind: a LOSSES value, possibly or-ed with LOSS_CLIP, possibly per step
    (with_steps).

    z: (n, k) raw predictions. y: flattened (n*k) targets, or (n) class
    indices for the multinomial loss ((n * steps) per step). sample_weight:
    (n) or None.
    """
    cdef fnn_int n = z.shape[0], k = z.shape[1]
    if k < 1 or not fnn_loss_kind_ok(kind, k):
        raise ValueError(f"invalid loss kind {kind} for {k} outputs per row")
    cdef fnn_int ny = n * fnn_loss_y_width(kind, k)
    cdef double loss = 0.0
    cdef int status
    if y.shape[0] != ny:
        raise ValueError(f"y has {y.shape[0]} entries, expected {ny}")
    if sample_weight is not None and sample_weight.shape[0] != n:
        raise ValueError(f"sample_weight has {sample_weight.shape[0]} entries, expected {n}")
    if grad is not None and (grad.shape[0] != n or grad.shape[1] != k):
        raise ValueError(f"grad has shape {(grad.shape[0], grad.shape[1])}, expected {(n, k)}")
    cdef const floating *zp = &z[0, 0] if n > 0 else NULL
    cdef const floating *yp = &y[0] if n > 0 else NULL
    cdef const floating *swp = &sample_weight[0] if sample_weight is not None and n > 0 else NULL
    cdef floating *gp = &grad[0, 0] if grad is not None and n > 0 else NULL
    with nogil:
        if floating is float:
            status = fnn_loss_grad_f32(kind, n, k, zp, yp, swp, scale, gp, &loss, n_threads)
        else:
            status = fnn_loss_grad_f64(kind, n, k, zp, yp, swp, scale, gp, &loss, n_threads)
    if status != FNN_OK:
        raise ValueError("invalid loss kind or class index out of range [0, n_classes)")
    return loss
