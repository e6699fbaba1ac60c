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
 * and two per-channel sums or coefficients). */
#ifndef FNN_BATCHNORM_INFO
#define FNN_BATCHNORM_INFO
static int fnn_batchnorm_check(const fnn_layer *L)
{
    const fnn_bn_cfg *k = &L->cfg.bn;
    return L->in_size == L->out_size && k->channels >= 1 && k->spatial >= 1 &&
           k->channels * k->spatial == L->in_size && L->n_w == 0 && L->n_b == 2 * k->channels &&
           L->n_s == 2 * k->channels && k->eps > 0.0 && k->momentum >= 0.0 &&
           k->momentum <= 1.0;
}

/* the normalised input, for backward */
static fnn_int fnn_batchnorm_saved(const fnn_layer *L) { return L->in_size; }

/* mean, 1/std and two per-channel sums or coefficients */
static fnn_int fnn_batchnorm_scratch(const fnn_layer *L, fnn_int batch, int training, int nt)
{
    (void)batch; (void)training; (void)nt;
    return 4 * L->cfg.bn.channels;
}

static fnn_int fnn_batchnorm_flops(const fnn_layer *L) { return 8 * L->out_size; }
#endif

#include "fnn_real.h"

/* acc[c] += sum over the S positions of channel c of f(x) for one row's
 * channels [c0, c1); f is x or (x - mean[c])^2. */
static FNN_ALWAYS_INLINE void FNN_SIMD_BODY(FNN_SFX(fnn_bn_row_sums))(
    const real_t *restrict x, fnn_int c0, fnn_int c1, fnn_int S, const double *restrict mean,
    double *restrict acc)
{
    if (S == 1) {
        if (mean) {
            #pragma omp simd
            for (fnn_int c = c0; c < c1; ++c) {
                const double d = (double)x[c] - mean[c];
                acc[c] += d * d;
            }
        } else {
            #pragma omp simd
            for (fnn_int c = c0; c < c1; ++c) acc[c] += (double)x[c];
        }
        return;
    }
    for (fnn_int c = c0; c < c1; ++c) {
        const real_t *restrict xc = x + c * S;
        const double mc = mean ? mean[c] : 0.0;
        double s = 0.0;
        if (mean) {
            #pragma omp simd reduction(+ : s)
            for (fnn_int q = 0; q < S; ++q) s += ((double)xc[q] - mc) * ((double)xc[q] - mc);
        } else {
            #pragma omp simd reduction(+ : s)
            for (fnn_int q = 0; q < S; ++q) s += (double)xc[q];
        }
        acc[c] += s;
    }
}
FNN_SIMD_DISPATCH(void, FNN_SFX(fnn_bn_row_sums),
                  (const real_t *restrict x, fnn_int c0, fnn_int c1, fnn_int S,
                   const double *restrict mean, double *restrict acc),
                  (x, c0, c1, S, mean, acc))

/* out = a[c] x + b[c] over one row's channels [c0, c1), and xhat = (x -
 * mean[c]) inv[c] when xhat is not NULL. */
static FNN_ALWAYS_INLINE void FNN_SIMD_BODY(FNN_SFX(fnn_bn_row_affine))(
    const real_t *restrict x, real_t *restrict out, real_t *restrict xhat, fnn_int c0, fnn_int c1,
    fnn_int S, const double *restrict a, const double *restrict b, const double *restrict mean,
    const double *restrict inv)
{
    for (fnn_int c = c0; c < c1; c += (S == 1 ? c1 - c0 : 1)) {
        const fnn_int lo = S == 1 ? c0 : c * S, hi = S == 1 ? c1 : (c + 1) * S;
        if (S == 1) {
            #pragma omp simd
            for (fnn_int e = lo; e < hi; ++e) {
                out[e] = (real_t)(a[e] * (double)x[e] + b[e]);
                if (xhat) xhat[e] = (real_t)(((double)x[e] - mean[e]) * inv[e]);
            }
        } else {
            const double ac = a[c], bc = b[c], mc = mean[c], ic = inv[c];
            #pragma omp simd
            for (fnn_int e = lo; e < hi; ++e) {
                out[e] = (real_t)(ac * (double)x[e] + bc);
                if (xhat) xhat[e] = (real_t)(((double)x[e] - mc) * ic);
            }
        }
    }
}
FNN_SIMD_DISPATCH(void, FNN_SFX(fnn_bn_row_affine),
                  (const real_t *restrict x, real_t *restrict out, real_t *restrict xhat,
                   fnn_int c0, fnn_int c1, fnn_int S, const double *restrict a,
                   const double *restrict b, const double *restrict mean,
                   const double *restrict inv),
                  (x, out, xhat, c0, c1, S, a, b, mean, inv))

static void FNN_SFX(fnn_batchnorm_forward)(const fnn_layer *L, const FNN_SFX(fnn_call) *call)
{
    const fnn_int C = L->cfg.bn.channels, S = L->cfg.bn.spatial, F = C * S, m = call->m;
    const real_t *in = call->in, *gamma = call->params + L->b_off, *beta = gamma + C;
    real_t *out = call->out, *xhat = call->saved;
    real_t *rmean = call->stats + L->s_off, *rvar = rmean + C;
    double *fixed = call->scratch;
    const int training = call->training, update_stats = call->update_stats;
    double *mean = fixed, *invstd = fixed + C, *s1 = fixed + 2 * C, *s2 = fixed + 3 * C;
    const double N = (double)(m * S);
    fnn_int c0, c1;
    fnn_span(C, 16, call->tid, call->nt, &c0, &c1);
    if (c0 >= c1) return;
    if (training) {
        for (fnn_int c = c0; c < c1; ++c) s1[c] = s2[c] = 0.0;
        for (fnn_int i = 0; i < m; ++i)
            FNN_SFX(fnn_bn_row_sums)(in + i * F, c0, c1, S, NULL, s1);
        for (fnn_int c = c0; c < c1; ++c) mean[c] = s1[c] / N;
        for (fnn_int i = 0; i < m; ++i)
            FNN_SFX(fnn_bn_row_sums)(in + i * F, c0, c1, S, mean, s2);
        for (fnn_int c = c0; c < c1; ++c) {
            const double var = s2[c] / N;
            if (update_stats) {
                /* FNN_STATS_REPLACE: the running statistics become this batch's */
                const double mom = update_stats == FNN_STATS_REPLACE ? 1.0 : L->cfg.bn.momentum;
                const double unbiased = N > 1 ? s2[c] / (N - 1) : var;
                rmean[c] = (real_t)((1.0 - mom) * (double)rmean[c] + mom * mean[c]);
                rvar[c] = (real_t)((1.0 - mom) * (double)rvar[c] + mom * unbiased);
            }
            invstd[c] = 1.0 / sqrt(var + L->cfg.bn.eps);
        }
    } else {
        for (fnn_int c = c0; c < c1; ++c) {
            mean[c] = (double)rmean[c];
            invstd[c] = 1.0 / sqrt((double)rvar[c] + L->cfg.bn.eps);
        }
    }
    /* out = gamma xhat + beta as a per-channel affine map a x + b */
    for (fnn_int c = c0; c < c1; ++c) {
        s1[c] = (double)gamma[c] * invstd[c];
        s2[c] = (double)beta[c] - s1[c] * mean[c];
    }
    for (fnn_int i = 0; i < m; ++i)
        FNN_SFX(fnn_bn_row_affine)(in + i * F, out + i * F, xhat ? xhat + i * F : NULL, c0, c1,
                                   S, s1, s2, mean, invstd);
}

/* dg[c] += sum d xhat, db[c] += sum d over one row's channels [c0, c1). */
static FNN_ALWAYS_INLINE void FNN_SIMD_BODY(FNN_SFX(fnn_bn_row_grads))(
    const real_t *restrict d, const real_t *restrict xh, fnn_int c0, fnn_int c1, fnn_int S,
    double *restrict dg, double *restrict db)
{
    if (S == 1) {
        #pragma omp simd
        for (fnn_int c = c0; c < c1; ++c) {
            dg[c] += (double)d[c] * (double)xh[c];
            db[c] += (double)d[c];
        }
        return;
    }
    for (fnn_int c = c0; c < c1; ++c) {
        double g = 0.0, b = 0.0;
        #pragma omp simd reduction(+ : g, b)
        for (fnn_int q = c * S; q < (c + 1) * S; ++q) {
            g += (double)d[q] * (double)xh[q];
            b += (double)d[q];
        }
        dg[c] += g;
        db[c] += b;
    }
}
FNN_SIMD_DISPATCH(void, FNN_SFX(fnn_bn_row_grads),
                  (const real_t *restrict d, const real_t *restrict xh, fnn_int c0, fnn_int c1,
                   fnn_int S, double *restrict dg, double *restrict db),
                  (d, xh, c0, c1, S, dg, db))

/* d = k[c] (d - u[c] - xhat v[c]) over one row's channels [c0, c1). */
static FNN_ALWAYS_INLINE void FNN_SIMD_BODY(FNN_SFX(fnn_bn_row_din))(
    real_t *restrict d, const real_t *restrict xh, fnn_int c0, fnn_int c1, fnn_int S,
    const double *restrict k, const double *restrict u, const double *restrict v)
{
    if (S == 1) {
        #pragma omp simd
        for (fnn_int c = c0; c < c1; ++c)
            d[c] = (real_t)(k[c] * ((double)d[c] - u[c] - (double)xh[c] * v[c]));
        return;
    }
    for (fnn_int c = c0; c < c1; ++c) {
        const double kc = k[c], uc = u[c], vc = v[c];
        #pragma omp simd
        for (fnn_int q = c * S; q < (c + 1) * S; ++q)
            d[q] = (real_t)(kc * ((double)d[q] - uc - (double)xh[q] * vc));
    }
}
FNN_SIMD_DISPATCH(void, FNN_SFX(fnn_bn_row_din),
                  (real_t *restrict d, const real_t *restrict xh, fnn_int c0, fnn_int c1,
                   fnn_int S, const double *restrict k, const double *restrict u,
                   const double *restrict v),
                  (d, xh, c0, c1, S, k, u, v))

/* In place on d: d loss / d out -> d loss / d in (train mode statistics). */
static void FNN_SFX(fnn_batchnorm_backward)(const fnn_layer *L, const FNN_SFX(fnn_call) *call)
{
    const fnn_int C = L->cfg.bn.channels, S = L->cfg.bn.spatial, F = C * S, m = call->m;
    const real_t *gamma = call->params + L->b_off, *xhat = call->saved;
    real_t *d = call->d, *grad = call->grad;
    double *fixed = call->scratch;
    double *invstd = fixed + C, *dg = fixed + 2 * C, *db = fixed + 3 * C;
    const double N = (double)(m * S);
    fnn_int c0, c1;
    fnn_span(C, 16, call->tid, call->nt, &c0, &c1);
    if (c0 >= c1) return;
    for (fnn_int c = c0; c < c1; ++c) dg[c] = db[c] = 0.0;
    for (fnn_int i = 0; i < m; ++i)
        FNN_SFX(fnn_bn_row_grads)(d + i * F, xhat + i * F, c0, c1, S, dg, db);
    if (!L->frozen) {
        for (fnn_int c = c0; c < c1; ++c) {
            grad[L->b_off + c] += (real_t)dg[c];
            grad[L->b_off + C + c] += (real_t)db[c];
        }
    }
    if (!call->din) return; /* in place: din is d */
    /* d_in = gamma inv / N (N d - db - xhat dg) = k (d - db/N - xhat dg/N):
     * invstd becomes k, dg and db their means (this batch's last use of them) */
    for (fnn_int c = c0; c < c1; ++c) {
        invstd[c] = (double)gamma[c] * invstd[c];
        db[c] /= N;
        dg[c] /= N;
    }
    for (fnn_int i = 0; i < m; ++i)
        FNN_SFX(fnn_bn_row_din)(d + i * F, xhat + i * F, c0, c1, S, invstd, db, dg);
}

#include "fnn_real_end.h"
