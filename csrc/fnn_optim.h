/* fnn_optim.h -- first-order update rules over one flat parameter buffer.
 *
 * An update rule sees no layers: params p[n], grads g[n], its state, the
 * learning rate and the step count t (1 for the first step). L2 is folded
 * in: the first n_decay entries (the network puts every weight tensor
 * before biases and normalisation parameters) use g + l2 * p.
 * Each rule is one OpenMP loop, elementwise, so 1 thread == k threads.
 *
 * Rule (state layout, sizes in multiples of n):
 *   FNN_OPTIM_SGD       v  (1)  scikit-learn's form: v = mu v - lr g;
 *                               p += v, or with Nesterov p += mu v - lr g
 *   FNN_OPTIM_ADAGRAD   s  (1)  s += g^2;  p -= lr g / (sqrt(s) + eps)
 *   FNN_OPTIM_RMSPROP   s  (1)  s = rho s + (1 - rho) g^2;  p -= lr g / (sqrt(s) + eps)
 *   FNN_OPTIM_ADADELTA  s,d(2)  s = rho s + (1 - rho) g^2;
 *                               u = sqrt(d + eps) / sqrt(s + eps) g;
 *                               d = rho d + (1 - rho) u^2;  p -= lr u
 *   FNN_OPTIM_ADAM      m,v(2)  scikit-learn's form: m = b1 m + (1 - b1) g;
 *                               v = b2 v + (1 - b2) g^2;
 *                               p -= lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps)
 */
#ifndef FNN_OPTIM_H
#define FNN_OPTIM_H

#include "fnn_common.h"

enum {
    FNN_OPTIM_SGD = 0,
    FNN_OPTIM_ADAGRAD = 1,
    FNN_OPTIM_RMSPROP = 2,
    FNN_OPTIM_ADADELTA = 3,
    FNN_OPTIM_ADAM = 4
};

typedef struct {
    int kind;
    int nesterov;       /* SGD */
    double momentum;    /* SGD */
    double beta1;       /* Adam */
    double beta2;       /* Adam */
    double rho;         /* RMSprop, Adadelta */
    double eps;         /* Adagrad, RMSprop, Adadelta, Adam */
} fnn_optim;

/* Number of state entries per parameter for a rule (0 for an unknown kind). */
static inline int fnn_optim_state_per_param(int kind)
{
    switch (kind) {
    case FNN_OPTIM_SGD: case FNN_OPTIM_ADAGRAD: case FNN_OPTIM_RMSPROP: return 1;
    case FNN_OPTIM_ADADELTA: case FNN_OPTIM_ADAM: return 2;
    default: return 0;
    }
}

int fnn_optim_step_f32(const fnn_optim *opt, fnn_int n, fnn_int n_decay, double l2, double lr,
                       int64_t t, float *params, const float *grads, float *state,
                       int n_threads);
int fnn_optim_step_f64(const fnn_optim *opt, fnn_int n, fnn_int n_decay, double l2, double lr,
                       int64_t t, double *params, const double *grads, double *state,
                       int n_threads);

/* Entries [lo, hi) only, serially: for kernels that split the buffer among
 * the threads of their own parallel region. n is the buffer size. Adds the
 * decayed entries' sum of squares before the update to *sumsq (if not NULL).
 * With clear != 0 the grads of [lo, hi) are set to zero once used. */
int fnn_optim_range_f32(const fnn_optim *opt, fnn_int lo, fnn_int hi, fnn_int n,
                        fnn_int n_decay, double l2, double lr, int64_t t, float *params,
                        float *grads, float *state, double *sumsq, int clear);
int fnn_optim_range_f64(const fnn_optim *opt, fnn_int lo, fnn_int hi, fnn_int n,
                        fnn_int n_decay, double l2, double lr, int64_t t, double *params,
                        double *grads, double *state, double *sumsq, int clear);

#endif /* FNN_OPTIM_H */
