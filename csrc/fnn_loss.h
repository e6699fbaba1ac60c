/* fnn_loss.h -- fused loss and gradient with respect to raw predictions.
 *
 * Z is n x k raw predictions (row-major, row stride k). Targets Y:
 *   FNN_LOSS_SQUARED     n x k reals        loss = 0.5 (z - y)^2          dz = z - y
 *   FNN_LOSS_LOGISTIC    n x k in {0, 1}    loss = log(1 + e^z) - y z     dz = sigmoid(z) - y
 *                        (binary and multilabel: one independent logistic per output)
 *   FNN_LOSS_MULTINOMIAL n class indices    loss = logsumexp(z) - z_y     dz = softmax(z) - onehot(y)
 *                        (stored as reals, 0 <= y < k; anything else is FNN_EINVAL)
 *   FNN_LOSS_POISSON     n x k, y >= 0      loss = e^z - y z + y log y - y   dz = e^z - y
 *                        (log link; the half Poisson deviance, zero at e^z = y)
 * Steps (per-step targets, e.g. a label per tree node): a kind carrying a
 * step count T >= 1 in its bits from FNN_LOSS_STEP_SHIFT reads each row of k = T K outputs
 * as T steps of K, with T targets per row for the multinomial loss (class
 * -1: the step has no label) and T K otherwise (a NaN first target: no
 * label); a row's loss is the mean over its labelled steps (0 with none).
 * Weights: sw (n, or NULL for ones). The kernels return through *loss_out
 * sum_i sw_i sum_j loss_ij (accumulated in double) and, when grad is not
 * NULL, write grad_ij = scale * sw_i * dz_ij. grad may alias z (in place).
 * Logistic and multinomial use log-sum-exp forms: logits of +-1e4 are finite.
 * Parallel over rows (static chunks), one thread below FNN_MIN_WORK.
 */
#ifndef FNN_LOSS_H
#define FNN_LOSS_H

#include "fnn_common.h"

enum {
    FNN_LOSS_SQUARED = 0,
    FNN_LOSS_LOGISTIC = 1,
    FNN_LOSS_MULTINOMIAL = 2,
    FNN_LOSS_POISSON = 3,
    /* or-ed into LOGISTIC / MULTINOMIAL: the loss *value* uses probabilities
     * clipped to [eps, 1 - eps] of the dtype, as scikit-learn's MLP reports
     * (and L-BFGS sees) it; the gradient is unchanged */
    FNN_LOSS_CLIP = 0x100
};
#define FNN_LOSS_KIND(kind) ((kind) & 0xff)
/* the step count T of a per-step kind in the bits from 16 (0: not per step) */
#define FNN_LOSS_STEP_SHIFT 16
static inline fnn_int fnn_loss_steps(int kind)
{
    return (fnn_int)((unsigned)kind >> FNN_LOSS_STEP_SHIFT);
}

/* targets per row of k outputs */
static inline fnn_int fnn_loss_y_width(int kind, fnn_int k)
{
    const fnn_int T = fnn_loss_steps(kind);
    return FNN_LOSS_KIND(kind) == FNN_LOSS_MULTINOMIAL ? (T ? T : 1) : k;
}

/* a known kind, CLIP only on the log losses, steps dividing k */
static inline int fnn_loss_kind_ok(int kind, fnn_int k)
{
    const int base = FNN_LOSS_KIND(kind);
    const fnn_int T = fnn_loss_steps(kind);
    if (kind < 0 || base < FNN_LOSS_SQUARED || base > FNN_LOSS_POISSON) return 0;
    if ((kind & 0xff00) & ~FNN_LOSS_CLIP) return 0;
    if ((kind & FNN_LOSS_CLIP) && base != FNN_LOSS_LOGISTIC && base != FNN_LOSS_MULTINOMIAL)
        return 0;
    return k >= 1 && (T == 0 || k % T == 0);
}

int fnn_loss_grad_f32(int kind, fnn_int n, fnn_int k, const float *z, const float *y,
                      const float *sw, double scale, float *grad, double *loss_out,
                      int n_threads);
int fnn_loss_grad_f64(int kind, fnn_int n, fnn_int k, const double *z, const double *y,
                      const double *sw, double scale, double *grad, double *loss_out,
                      int n_threads);

#endif /* FNN_LOSS_H */
