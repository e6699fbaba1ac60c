/* Batch normalisation over (channels, spatial) samples: statistics per
 * channel over the batch and the spatial positions (per feature after a
 * Dense layer: spatial = 1; per channel after a convolution).
 *   train:   xhat = (x - mean_B) / sqrt(var_B + eps), out = gamma xhat + beta,
 *            running = (1 - momentum) running + momentum batch (PyTorch's
 *            convention; the running variance is the unbiased one);
 *   predict: the running statistics replace the batch's.
 * Parameters at b_off: gamma (channels) then beta (channels). Statistics at
 * s_off: running mean then running variance. Sums in double. */
#include "fnn_real.h"

static void FNN_SFX(fnn_batchnorm_forward)(const fnn_layer *L, fnn_int m, const real_t *in,
                                           real_t *out, real_t *xhat, double *fixed,
                                           const real_t *params, real_t *stats, int training,
                                           int update_stats, int n_threads)
{
    const fnn_int C = L->channels, S = L->spatial, F = C * S;
    const real_t *gamma = params + L->b_off, *beta = gamma + C;
    real_t *rmean = stats + L->s_off, *rvar = rmean + C;
    double *invstd = fixed + C;
    const double N = (double)(m * S);
    const int nt = fnn_threads_for(m * F, n_threads);
    #pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (fnn_int c = 0; c < C; ++c) {
        double mean, var;
        if (training) {
            double s = 0.0, s2 = 0.0;
            for (fnn_int i = 0; i < m; ++i)
                for (fnn_int q = 0; q < S; ++q) s += (double)in[i * F + c * S + q];
            mean = s / N;
            for (fnn_int i = 0; i < m; ++i)
                for (fnn_int q = 0; q < S; ++q) {
                    double e = (double)in[i * F + c * S + q] - mean;
                    s2 += e * e;
                }
            var = s2 / N;
            if (update_stats) {
                double unbiased = N > 1 ? s2 / (N - 1) : var;
                rmean[c] = (real_t)((1.0 - L->momentum) * (double)rmean[c] + L->momentum * mean);
                rvar[c] = (real_t)((1.0 - L->momentum) * (double)rvar[c] +
                                   L->momentum * unbiased);
            }
        } else {
            mean = (double)rmean[c];
            var = (double)rvar[c];
        }
        const double inv = 1.0 / sqrt(var + L->eps);
        fixed[c] = mean;
        invstd[c] = inv;
        const double g = (double)gamma[c], bt = (double)beta[c];
        for (fnn_int i = 0; i < m; ++i)
            for (fnn_int q = 0; q < S; ++q) {
                fnn_int e = i * F + c * S + q;
                double xh = ((double)in[e] - mean) * inv;
                if (xhat) xhat[e] = (real_t)xh;
                out[e] = (real_t)(g * xh + bt);
            }
    }
}

/* In place on d: d loss / d out -> d loss / d in (train mode statistics). */
static void FNN_SFX(fnn_batchnorm_backward)(const fnn_layer *L, fnn_int m, const real_t *xhat,
                                            real_t *d, const double *fixed,
                                            const real_t *params, real_t *grad, int want_din,
                                            int n_threads)
{
    const fnn_int C = L->channels, S = L->spatial, F = C * S;
    const real_t *gamma = params + L->b_off;
    const double *invstd = fixed + C;
    const double N = (double)(m * S);
    const int nt = fnn_threads_for(m * F, n_threads);
    #pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (fnn_int c = 0; c < C; ++c) {
        double dg = 0.0, db = 0.0;
        for (fnn_int i = 0; i < m; ++i)
            for (fnn_int q = 0; q < S; ++q) {
                fnn_int e = i * F + c * S + q;
                dg += (double)d[e] * (double)xhat[e];
                db += (double)d[e];
            }
        if (!L->frozen) {
            grad[L->b_off + c] = (real_t)dg;
            grad[L->b_off + C + c] = (real_t)db;
        }
        if (want_din) {
            const double k = (double)gamma[c] * invstd[c] / N;
            for (fnn_int i = 0; i < m; ++i)
                for (fnn_int q = 0; q < S; ++q) {
                    fnn_int e = i * F + c * S + q;
                    d[e] = (real_t)(k * (N * (double)d[e] - db - (double)xhat[e] * dg));
                }
        }
    }
}

#include "fnn_real_end.h"
