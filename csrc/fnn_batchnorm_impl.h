/* Batch normalisation over (channels, spatial) samples: statistics per
 * channel over the batch and the spatial positions (per feature after a
 * Dense layer: spatial = 1; per channel after a convolution).
 *   train:   xhat = (x - mean_B) / sqrt(var_B + eps), out = gamma xhat + beta,
 *            running = (1 - momentum) running + momentum batch (PyTorch's
 *            convention; the running variance is the unbiased one);
 *   predict: the running statistics replace the batch's.
 * Parameters at b_off: gamma (channels) then beta (channels). Statistics at
 * s_off: running mean then running variance. Sums in double.
 * Team-parallel over channels; every pass walks the rows in memory order
 * with per-channel accumulators (fixed: 4 x channels doubles: mean, 1/std,
 * and two sums). */
#include "fnn_real.h"

static void FNN_SFX(fnn_batchnorm_forward)(const fnn_layer *L, fnn_int m, const real_t *in,
                                           real_t *out, real_t *xhat, double *fixed,
                                           const real_t *params, real_t *stats, int training,
                                           int update_stats, int tid, int nt)
{
    const fnn_int C = L->channels, S = L->spatial, F = C * S;
    const real_t *gamma = params + L->b_off, *beta = gamma + C;
    real_t *rmean = stats + L->s_off, *rvar = rmean + C;
    double *mean = fixed, *invstd = fixed + C, *s1 = fixed + 2 * C, *s2 = fixed + 3 * C;
    const double N = (double)(m * S);
    fnn_int c0, c1;
    fnn_span(C, 16, tid, nt, &c0, &c1);
    if (c0 >= c1) return;
    const fnn_int e0 = c0 * S, e1 = c1 * S; /* this thread's slice of each row */
    if (training) {
        for (fnn_int c = c0; c < c1; ++c) s1[c] = s2[c] = 0.0;
        for (fnn_int i = 0; i < m; ++i) {
            const real_t *x = in + i * F;
            if (S == 1) {
                for (fnn_int c = c0; c < c1; ++c) s1[c] += (double)x[c];
            } else {
                for (fnn_int c = c0; c < c1; ++c)
                    for (fnn_int q = 0; q < S; ++q) s1[c] += (double)x[c * S + q];
            }
        }
        for (fnn_int c = c0; c < c1; ++c) mean[c] = s1[c] / N;
        for (fnn_int i = 0; i < m; ++i) {
            const real_t *x = in + i * F;
            for (fnn_int e = e0; e < e1; ++e) {
                const fnn_int c = S == 1 ? e : e / S;
                const double dv = (double)x[e] - mean[c];
                s2[c] += dv * dv;
            }
        }
        for (fnn_int c = c0; c < c1; ++c) {
            const double var = s2[c] / N;
            if (update_stats) {
                const double unbiased = N > 1 ? s2[c] / (N - 1) : var;
                rmean[c] = (real_t)((1.0 - L->momentum) * (double)rmean[c] +
                                    L->momentum * mean[c]);
                rvar[c] = (real_t)((1.0 - L->momentum) * (double)rvar[c] +
                                   L->momentum * unbiased);
            }
            invstd[c] = 1.0 / sqrt(var + L->eps);
        }
    } else {
        for (fnn_int c = c0; c < c1; ++c) {
            mean[c] = (double)rmean[c];
            invstd[c] = 1.0 / sqrt((double)rvar[c] + L->eps);
        }
    }
    /* out = gamma xhat + beta as a per-channel affine map of x */
    for (fnn_int c = c0; c < c1; ++c) {
        s1[c] = (double)gamma[c] * invstd[c];
        s2[c] = (double)beta[c] - s1[c] * mean[c];
    }
    for (fnn_int i = 0; i < m; ++i) {
        const real_t *x = in + i * F;
        real_t *o = out + i * F, *xh = xhat ? xhat + i * F : NULL;
        for (fnn_int e = e0; e < e1; ++e) {
            const fnn_int c = S == 1 ? e : e / S;
            o[e] = (real_t)(s1[c] * (double)x[e] + s2[c]);
            if (xh) xh[e] = (real_t)(((double)x[e] - mean[c]) * invstd[c]);
        }
    }
}

/* In place on d: d loss / d out -> d loss / d in (train mode statistics). */
static void FNN_SFX(fnn_batchnorm_backward)(const fnn_layer *L, fnn_int m, const real_t *xhat,
                                            real_t *d, double *fixed, const real_t *params,
                                            real_t *grad, int want_din, int tid, int nt)
{
    const fnn_int C = L->channels, S = L->spatial, F = C * S;
    const real_t *gamma = params + L->b_off;
    const double *invstd = fixed + C;
    double *dg = fixed + 2 * C, *db = fixed + 3 * C;
    const double N = (double)(m * S);
    fnn_int c0, c1;
    fnn_span(C, 16, tid, nt, &c0, &c1);
    if (c0 >= c1) return;
    const fnn_int e0 = c0 * S, e1 = c1 * S;
    for (fnn_int c = c0; c < c1; ++c) dg[c] = db[c] = 0.0;
    for (fnn_int i = 0; i < m; ++i) {
        const real_t *di = d + i * F, *xh = xhat + i * F;
        for (fnn_int e = e0; e < e1; ++e) {
            const fnn_int c = S == 1 ? e : e / S;
            dg[c] += (double)di[e] * (double)xh[e];
            db[c] += (double)di[e];
        }
    }
    if (!L->frozen) {
        for (fnn_int c = c0; c < c1; ++c) {
            grad[L->b_off + c] = (real_t)dg[c];
            grad[L->b_off + C + c] = (real_t)db[c];
        }
    }
    if (!want_din) return;
    for (fnn_int i = 0; i < m; ++i) {
        real_t *di = d + i * F;
        const real_t *xh = xhat + i * F;
        for (fnn_int e = e0; e < e1; ++e) {
            const fnn_int c = S == 1 ? e : e / S;
            const double k = (double)gamma[c] * invstd[c] / N;
            di[e] = (real_t)(k * (N * (double)di[e] - db[c] - (double)xh[e] * dg[c]));
        }
    }
}

#include "fnn_real_end.h"
