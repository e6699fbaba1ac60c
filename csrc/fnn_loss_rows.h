/* fnn_loss_rows.h -- the serial per-row loss body (see fnn_loss.h), one body
 * for both dtypes. Included by every kernel that ends in a loss so that the
 * maths lives in one place. */
#include "fnn_real.h"

/* softplus(z) = log(1 + e^z) and sigmoid(z) from one exp(-|z|), without
 * overflow for any z. */
static inline double FNN_SFX(fnn_softplus_sigmoid)(double z, double *sigmoid)
{
    double e = exp(-fabs(z)), r = 1.0 / (1.0 + e);
    *sigmoid = z >= 0 ? r : e * r;
    return (z > 0 ? z : 0.0) + log1p(e);
}

/* Rows [0, n): returns FNN_OK or FNN_EINVAL (bad class index); adds the
 * weighted loss to *loss. */
static inline int FNN_SFX(fnn_loss_grad_rows)(int kind, fnn_int n, fnn_int k, const real_t *z,
                                              const real_t *y, const real_t *sw, double scale,
                                              real_t *grad, double *loss)
{
    const int clip = kind & FNN_LOSS_CLIP;
    const double lo_p = FNN_REAL_EPS, hi_p = 1.0 - FNN_REAL_EPS;
    double total = 0.0;
    kind &= ~FNN_LOSS_CLIP;
    for (fnn_int i = 0; i < n; ++i) {
        const real_t *zi = z + i * k;
        real_t *gi = grad ? grad + i * k : NULL;
        double w = sw ? (double)sw[i] : 1.0;
        double gs = scale * w, li = 0.0;
        if (kind == FNN_LOSS_MULTINOMIAL) {
            double yv = (double)y[i];
            fnn_int c = (fnn_int)yv;
            if (!(yv >= 0.0) || c >= k || (double)c != yv) return FNN_EINVAL;
            double zmax = (double)zi[0], s = 0.0;
            for (fnn_int j = 1; j < k; ++j) if ((double)zi[j] > zmax) zmax = (double)zi[j];
            for (fnn_int j = 0; j < k; ++j) s += exp((double)zi[j] - zmax);
            double lse = zmax + log(s);
            li = lse - (double)zi[c];
            if (clip) { /* -log(clip(p_c)), scikit-learn MLP's value */
                double pc = exp(-li);
                if (pc < lo_p) li = -log(lo_p); else if (pc > hi_p) li = -log(hi_p);
            }
            if (gi) {
                for (fnn_int j = 0; j < k; ++j)
                    gi[j] = (real_t)(gs * (exp((double)zi[j] - lse) - (j == c ? 1.0 : 0.0)));
            }
        } else if (kind == FNN_LOSS_SQUARED) {
            /* the commonest wide case (autoencoders, regression): vectorised */
            const real_t *yi = y + i * k;
            if (gi) {
                #pragma omp simd reduction(+ : li)
                for (fnn_int j = 0; j < k; ++j) {
                    const double d = (double)zi[j] - (double)yi[j];
                    li += 0.5 * d * d;
                    gi[j] = (real_t)(gs * d);
                }
            } else {
                #pragma omp simd reduction(+ : li)
                for (fnn_int j = 0; j < k; ++j) {
                    const double d = (double)zi[j] - (double)yi[j];
                    li += 0.5 * d * d;
                }
            }
        } else {
            const real_t *yi = y + i * k;
            for (fnn_int j = 0; j < k; ++j) {
                double zj = (double)zi[j], yj = (double)yi[j], d;
                if (kind == FNN_LOSS_LOGISTIC) {
                    double sig;
                    double lj = FNN_SFX(fnn_softplus_sigmoid)(zj, &sig) - yj * zj;
                    if (clip && (sig < lo_p || sig > hi_p)) {
                        double pc = sig < lo_p ? lo_p : hi_p;
                        lj = -(yj * log(pc) + (1.0 - yj) * log(1.0 - pc));
                    }
                    li += lj;
                    d = sig - yj;
                } else { /* FNN_LOSS_POISSON */
                    double ez = exp(zj);
                    li += ez - yj * zj + (yj > 0.0 ? yj * log(yj) - yj : 0.0);
                    d = ez - yj;
                }
                if (gi) gi[j] = (real_t)(gs * d);
            }
        }
        total += w * li;
    }
    *loss += total;
    return FNN_OK;
}

/* Rows [0, n) of any kind (see fnn_loss.h): per-step kinds take each row's
 * T steps of K outputs, unlabelled steps with zero gradient, the row's loss
 * the mean over its labelled steps. */
static inline int FNN_SFX(fnn_loss_grad_samples)(int kind, fnn_int n, fnn_int k,
                                                 const real_t *z, const real_t *y,
                                                 const real_t *sw, double scale, real_t *grad,
                                                 double *loss)
{
    const fnn_int T = fnn_loss_steps(kind);
    if (T == 0) return FNN_SFX(fnn_loss_grad_rows)(kind, n, k, z, y, sw, scale, grad, loss);
    const int step_kind = kind & 0xffff;
    const int classes = FNN_LOSS_KIND(kind) == FNN_LOSS_MULTINOMIAL;
    const fnn_int K = k / T, yw = classes ? 1 : K;
    double total = 0.0;
    for (fnn_int i = 0; i < n; ++i) {
        const real_t *zi = z + i * k, *yi = y + i * T * yw;
        real_t *gi = grad ? grad + i * k : NULL;
        fnn_int labelled = 0;
        for (fnn_int t = 0; t < T; ++t) {
            const double v = (double)yi[t * yw];
            labelled += classes ? v != -1.0 : v == v;
        }
        const double w = sw ? (double)sw[i] : 1.0;
        double part = 0.0;
        for (fnn_int t = 0; t < T; ++t) {
            const double v = (double)yi[t * yw];
            if (classes ? v == -1.0 : v != v) {
                if (gi) memset(gi + t * K, 0, sizeof(real_t) * (size_t)K);
                continue;
            }
            const int st = FNN_SFX(fnn_loss_grad_rows)(step_kind, 1, K, zi + t * K,
                                                       yi + t * yw, NULL,
                                                       scale * w / (double)labelled,
                                                       gi ? gi + t * K : NULL, &part);
            if (st != FNN_OK) return st;
        }
        if (labelled) total += w * part / (double)labelled;
    }
    *loss += total;
    return FNN_OK;
}

#include "fnn_real_end.h"
