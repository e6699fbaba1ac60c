/* The PCD pass (see fnn_rbm.h), one body for both dtypes. */
#include "fnn_real.h"

/* C = alpha op(A) op(B) + beta C in column panels small enough for the BLAS's
 * unpacked small-matrix kernels (see fnn_gemm_panel): packing all of W for a
 * 10-row batch cost as much as the product. */
static void FNN_SFX(fnn_rbm_gemm)(const fnn_blas *blas, int transA, int transB, fnn_int M,
                                  fnn_int N, fnn_int K, real_t alpha, const real_t *A,
                                  fnn_int lda, const real_t *B, fnn_int ldb, real_t beta,
                                  real_t *C, fnn_int ldc)
{
    const fnn_int pw = fnn_gemm_panel(M, K, N);
    for (fnn_int s0 = 0; s0 < N; s0 += pw)
        FNN_SFX(fnn_gemm_rm)(blas, transA, transB, M, fnn_min_i(pw, N - s0), K, alpha, A, lda,
                             transB ? B + s0 * ldb : B + s0, ldb, beta, C + s0, ldc);
}

/* y = sigmoid(y + b) over rows x cols of a row-major block with stride ld
 * (float32 in float: the probability only meets a uniform). */
static void FNN_SFX(fnn_rbm_sigmoid)(real_t *y, fnn_int rows, fnn_int cols, fnn_int ld,
                                     const real_t *b)
{
    for (fnn_int r = 0; r < rows; ++r) {
        real_t *yr = y + r * ld;
        for (fnn_int j = 0; j < cols; ++j) {
            const real_t x = yr[j] + b[j];
#ifdef FNN_F32
            const float e = expf(-fabsf(x));
#else
            const double e = exp(-fabs(x));
#endif
            yr[j] = x >= 0 ? (real_t)1 / ((real_t)1 + e) : e / ((real_t)1 + e);
        }
    }
}

/* y = [u < y] elementwise over columns [c0, c1) of rows x ld; the uniform of
 * (r, j) is given[r * ld + j] or the hash of (seed, base + r * ld + j). */
static void FNN_SFX(fnn_rbm_sample)(real_t *y, fnn_int rows, fnn_int c0, fnn_int c1,
                                    fnn_int ld, const double *given, uint64_t seed,
                                    uint64_t base)
{
    for (fnn_int r = 0; r < rows; ++r) {
        real_t *yr = y + r * ld;
        for (fnn_int j = c0; j < c1; ++j) {
            const uint64_t i = (uint64_t)(r * ld + j);
            const double u = given ? given[i] : fnn_hash_unit(fnn_hash64(seed, base + i));
            yr[j] = u < (double)yr[j] ? (real_t)1 : (real_t)0;
        }
    }
}

/* b[j] += lr (sum_r P[r, j] - sum_r N[r, j]) for j in [c0, c1), summed in
 * double in acc (c1 - c0 entries), row by row. */
static void FNN_SFX(fnn_rbm_bias)(real_t *b, const real_t *P, fnn_int mp, fnn_int ldp,
                                  const real_t *N, fnn_int mn, fnn_int ldn, fnn_int c0,
                                  fnn_int c1, double lr, double *acc)
{
    const fnn_int w = c1 - c0;
    for (fnn_int j = 0; j < w; ++j) acc[j] = 0.0;
    for (fnn_int r = 0; r < mp; ++r) {
        const real_t *pr = P + r * ldp + c0;
        for (fnn_int j = 0; j < w; ++j) acc[j] += (double)pr[j];
    }
    for (fnn_int r = 0; r < mn; ++r) {
        const real_t *nr = N + r * ldn + c0;
        for (fnn_int j = 0; j < w; ++j) acc[j] -= (double)nr[j];
    }
    for (fnn_int j = 0; j < w; ++j) b[c0 + j] = (real_t)((double)b[c0 + j] + lr * acc[j]);
}

int FNN_SFX(fnn_rbm_fit)(const fnn_blas *blas, fnn_int n, fnn_int F, fnn_int K, fnn_int B,
                         fnn_int C, const real_t *X, real_t *W, real_t *bh, real_t *bv,
                         real_t *H, double learning_rate, uint64_t seed, uint64_t batch0,
                         const double *u_vis, const double *u_hid, real_t *work,
                         fnn_int work_size, double *acc, int n_threads)
{
    if (n < 0 || F < 1 || K < 1 || B < 1 || C < 1) return FNN_EINVAL;
    if (work_size < fnn_rbm_work_size(F, K, B, C)) return FNN_EWORK;
    if (n == 0) return FNN_OK;
    const fnn_int n_batches = (n + B - 1) / B;
    /* one batch's uniforms: C x F visible, then C x K hidden */
    const uint64_t per_batch = (uint64_t)(C * (F + K));
    /* S = [Xb; Vn] ((m + C) x F) and T = [Hp; Hn] ((m + C) x K): the positive
     * and negative phases share one GEMM each way */
    real_t *S = work, *T = S + (B + C) * F;
    const int nt = fnn_rbm_team_size(F, K, B, C, n_threads);
    FNN_TEAM_SYNC(sync);

    #pragma omp parallel num_threads(nt) if (nt > 1)
    {
        FNN_TEAM_ENTER(sync);
        const int t = fnn_thread_id();
        const int nth = nt > 1 ? nt : 1;
        fnn_int k0, k1, f0, f1;
        fnn_rbm_part(K, nth, t, &k0, &k1);
        fnn_rbm_part(F, nth, t, &f0, &f1);
        const fnn_int kw = k1 - k0, fw = f1 - f0;
        for (fnn_int b = 0; b < n_batches; ++b) {
            const fnn_int r0 = b * B, m = n - r0 < B ? n - r0 : B, mc = m + C;
            const real_t *Xb = X + r0 * F;
            real_t *Vn = S + m * F, *Hn = T + m * K;
            const double lr = learning_rate / (double)m;
            const uint64_t base = (batch0 + (uint64_t)b) * per_batch;
            /* visible columns f0:f1: Vn = [u < sigmoid(H W + bv)], Xb into S, bv */
            FNN_SFX(fnn_rbm_gemm)(blas, 0, 0, C, fw, K, (real_t)1, H, K, W + f0, F,
                                  (real_t)0, Vn + f0, F);
            FNN_SFX(fnn_rbm_sigmoid)(Vn + f0, C, fw, F, bv + f0);
            FNN_SFX(fnn_rbm_sample)(Vn, C, f0, f1, F, u_vis ? u_vis + b * C * F : NULL,
                                    seed, base);
            for (fnn_int r = 0; r < m; ++r)
                memcpy(S + r * F + f0, Xb + r * F + f0, (size_t)fw * sizeof(real_t));
            FNN_SFX(fnn_rbm_bias)(bv, Xb, m, F, Vn, C, F, f0, f1, lr, acc + f0);
            FNN_BARRIER(); /* S whole */
            /* hidden units k0:k1: [Hp; Hn] = sigmoid(S W^T + bh), bh, the chains,
             * then W += lr [Hp; -Hn]^T S */
            FNN_SFX(fnn_rbm_gemm)(blas, 0, 1, mc, kw, F, (real_t)1, S, F, W + k0 * F, F,
                                  (real_t)0, T + k0, K);
            FNN_SFX(fnn_rbm_sigmoid)(T + k0, mc, kw, K, bh + k0);
            FNN_SFX(fnn_rbm_bias)(bh, T, m, K, Hn, C, K, k0, k1, lr, acc + F + k0);
            for (fnn_int r = 0; r < C; ++r) {
                real_t *hr = Hn + r * K;
                memcpy(H + r * K + k0, hr + k0, (size_t)kw * sizeof(real_t));
                for (fnn_int j = k0; j < k1; ++j) hr[j] = -hr[j];
            }
            FNN_SFX(fnn_rbm_sample)(H, C, k0, k1, K, u_hid ? u_hid + b * C * K : NULL, seed,
                                    base + (uint64_t)(C * F));
            FNN_SFX(fnn_rbm_gemm)(blas, 1, 0, kw, F, mc, (real_t)lr, T + k0, K, S, F,
                                  (real_t)1, W + k0 * F, F);
            FNN_BARRIER(); /* W rows and H columns of every thread, before the next Vn */
        }
        FNN_TEAM_LEAVE();
    }
    return FNN_OK;
}

#include "fnn_real_end.h"
