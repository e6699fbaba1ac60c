/* Update-rule bodies (see fnn_optim.h), one body for both dtypes.
 * Arithmetic is in the parameter dtype, as in PyTorch and scikit-learn. */
#include "fnn_real.h"

/* Entries [lo, hi), all with the same weight decay wd (0 for biases);
 * returns the sum of squares of the parameters before the update. With
 * clear (a constant where this is inlined) each gradient entry is zeroed as
 * it is read, while its line is in L1. */
static FNN_ALWAYS_INLINE double FNN_SFX(fnn_optim_body)(const fnn_optim *opt, fnn_int lo,
                                                        fnn_int hi, fnn_int n, real_t wd,
                                                        double lr, double adam_step,
                                                        real_t *restrict p,
                                                        real_t *restrict g,
                                                        real_t *restrict state, const int clear)
{
    const real_t lrr = (real_t)lr, eps = (real_t)opt->eps;
    real_t *restrict s0 = state, *restrict s1 = state + n;
    double ss = 0.0;
    fnn_int i;
#define FNN_TAKE_GRAD(gi, i) \
    const real_t gi = g[i] + wd * p[i]; \
    if (clear) g[i] = (real_t)0
    switch (opt->kind) {
    case FNN_OPTIM_SGD: {
        const real_t mu = (real_t)opt->momentum;
        if (opt->nesterov) {
            #pragma omp simd reduction(+ : ss)
            for (i = lo; i < hi; ++i) {
                ss += (double)p[i] * (double)p[i];
                FNN_TAKE_GRAD(gi, i);
                real_t v = mu * s0[i] - lrr * gi;
                s0[i] = v;
                p[i] += mu * v - lrr * gi;
            }
        } else {
            #pragma omp simd reduction(+ : ss)
            for (i = lo; i < hi; ++i) {
                ss += (double)p[i] * (double)p[i];
                FNN_TAKE_GRAD(gi, i);
                real_t v = mu * s0[i] - lrr * gi;
                s0[i] = v;
                p[i] += v;
            }
        }
        break;
    }
    case FNN_OPTIM_ADAGRAD:
        #pragma omp simd reduction(+ : ss)
        for (i = lo; i < hi; ++i) {
            ss += (double)p[i] * (double)p[i];
            FNN_TAKE_GRAD(gi, i);
            real_t s = s0[i] + gi * gi;
            s0[i] = s;
            p[i] -= lrr * gi / (FNN_SQRT(s) + eps);
        }
        break;
    case FNN_OPTIM_RMSPROP: {
        const real_t rho = (real_t)opt->rho, omr = (real_t)(1.0 - opt->rho);
        #pragma omp simd reduction(+ : ss)
        for (i = lo; i < hi; ++i) {
            ss += (double)p[i] * (double)p[i];
            FNN_TAKE_GRAD(gi, i);
            real_t s = rho * s0[i] + omr * gi * gi;
            s0[i] = s;
            p[i] -= lrr * gi / (FNN_SQRT(s) + eps);
        }
        break;
    }
    case FNN_OPTIM_ADADELTA: {
        const real_t rho = (real_t)opt->rho, omr = (real_t)(1.0 - opt->rho);
        #pragma omp simd reduction(+ : ss)
        for (i = lo; i < hi; ++i) {
            ss += (double)p[i] * (double)p[i];
            FNN_TAKE_GRAD(gi, i);
            real_t s = rho * s0[i] + omr * gi * gi;
            real_t u = FNN_SQRT(s1[i] + eps) / FNN_SQRT(s + eps) * gi;
            s0[i] = s;
            s1[i] = rho * s1[i] + omr * u * u;
            p[i] -= lrr * u;
        }
        break;
    }
    case FNN_OPTIM_ADAM: {
        const real_t b1 = (real_t)opt->beta1, b2 = (real_t)opt->beta2;
        const real_t omb1 = (real_t)(1.0 - opt->beta1), omb2 = (real_t)(1.0 - opt->beta2);
        const real_t step = (real_t)adam_step;
        #pragma omp simd reduction(+ : ss)
        for (i = lo; i < hi; ++i) {
            ss += (double)p[i] * (double)p[i];
            FNN_TAKE_GRAD(gi, i);
            real_t m = b1 * s0[i] + omb1 * gi;
            real_t v = b2 * s1[i] + omb2 * gi * gi;
            s0[i] = m;
            s1[i] = v;
            p[i] -= step * m / (FNN_SQRT(v) + eps);
        }
        break;
    }
    default:
        break;
    }
#undef FNN_TAKE_GRAD
    return ss;
}

static FNN_ALWAYS_INLINE double FNN_SIMD_BODY(FNN_SFX(fnn_optim_segment))(
    const fnn_optim *opt, fnn_int lo, fnn_int hi, fnn_int n, real_t wd, double lr,
    double adam_step, real_t *restrict p, real_t *restrict g, real_t *restrict state, int clear)
{
    return clear ? FNN_SFX(fnn_optim_body)(opt, lo, hi, n, wd, lr, adam_step, p, g, state, 1)
                 : FNN_SFX(fnn_optim_body)(opt, lo, hi, n, wd, lr, adam_step, p, g, state, 0);
}
FNN_SIMD_DISPATCH(double, FNN_SFX(fnn_optim_segment),
                  (const fnn_optim *opt, fnn_int lo, fnn_int hi, fnn_int n, real_t wd, double lr,
                   double adam_step, real_t *restrict p, real_t *restrict g,
                   real_t *restrict state, int clear),
                  (opt, lo, hi, n, wd, lr, adam_step, p, g, state, clear))

/* The update of entries [lo, hi) of a buffer of n (state rows are n apart),
 * serially: callers split [0, n) between threads. Adds to *sumsq (when not
 * NULL) the sum of squares of the decayed entries before the update: the
 * L2 penalty of the weights this step's gradient was computed at. With
 * clear, g[lo, hi) is zero afterwards, so the next step's GEMMs can
 * accumulate into it (beta = 1) instead of BLAS zeroing it in a pass of
 * its own. */
int FNN_SFX(fnn_optim_range)(const fnn_optim *opt, fnn_int lo, fnn_int hi, fnn_int n,
                             fnn_int n_decay, double l2, double lr, int64_t t,
                             real_t *restrict p, real_t *restrict g, real_t *restrict state,
                             double *sumsq, int clear)
{
    if (fnn_optim_state_per_param(opt->kind) == 0) return FNN_EINVAL;
    const double adam_step = opt->kind == FNN_OPTIM_ADAM
        ? lr * sqrt(1.0 - pow(opt->beta2, (double)t)) / (1.0 - pow(opt->beta1, (double)t))
        : 0.0;
    const fnn_int mid = n_decay < lo ? lo : (n_decay > hi ? hi : n_decay);
    double ss = 0.0;
    if (lo < mid)
        ss = FNN_SFX(fnn_optim_segment)(opt, lo, mid, n, (real_t)l2, lr, adam_step, p, g, state,
                                        clear);
    if (mid < hi)
        FNN_SFX(fnn_optim_segment)(opt, mid, hi, n, (real_t)0, lr, adam_step, p, g, state, clear);
    if (sumsq) *sumsq += ss;
    return FNN_OK;
}


int FNN_SFX(fnn_optim_step)(const fnn_optim *opt, fnn_int n, fnn_int n_decay, double l2,
                            double lr, int64_t t, real_t *restrict p,
                            const real_t *restrict g, real_t *restrict state, int n_threads)
{
    if (n < 0 || n_decay < 0 || n_decay > n || t < 1) return FNN_EINVAL;
    if (fnn_optim_state_per_param(opt->kind) == 0) return FNN_EINVAL;
    const int nt = fnn_threads_for(n, n_threads);
    #pragma omp parallel num_threads(nt) if (nt > 1)
    {
        fnn_flush_denormals(); /* see fnn_team.h */
        fnn_int lo, hi;
        fnn_span(n, 16, fnn_thread_id(), fnn_team_size(), &lo, &hi);
        FNN_SFX(fnn_optim_range)(opt, lo, hi, n, n_decay, l2, lr, t, p, (real_t *)g, state,
                                 NULL, 0); /* clear = 0: g is only read */
        fnn_restore_denormals();
    }
    return FNN_OK;
}

#include "fnn_real_end.h"
