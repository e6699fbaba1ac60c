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
    const fnn_int pw = fnn_gemm_panel(blas, M, K, N);
    for (fnn_int s0 = 0; s0 < N; s0 += pw)
        FNN_SFX(fnn_gemm_rm)(blas, transA, transB, M, fnn_min_i(pw, N - s0), K, alpha, A, lda,
                             transB ? B + s0 * ldb : B + s0, ldb, beta, C + s0, ldc);
}

#include "fnn_vmath_impl.h"

/* y = sigmoid(y + b) over rows x cols of a row-major block with stride ld
 * (fnn_vsigmoid: no library call, so each row is one vector loop). */
static FNN_ALWAYS_INLINE void FNN_SIMD_BODY(FNN_SFX(fnn_rbm_sigmoid))(
    real_t *restrict y, fnn_int rows, fnn_int cols, fnn_int ld, const real_t *restrict b)
{
    for (fnn_int r = 0; r < rows; ++r) {
        real_t *restrict yr = y + r * ld;
        #pragma omp simd
        for (fnn_int j = 0; j < cols; ++j) yr[j] = FNN_SFX(fnn_vsigmoid)(yr[j] + b[j]);
    }
}
FNN_SIMD_DISPATCH(void, FNN_SFX(fnn_rbm_sigmoid),
                  (real_t *restrict y, fnn_int rows, fnn_int cols, fnn_int ld,
                   const real_t *restrict b), (y, rows, cols, ld, b))

/* y = [u < y] elementwise over columns [c0, c1) of rows x ld; the uniform of
 * (r, j) is given[r * ld + j] or the hash of (seed, base + r * ld + j) (its
 * top 52 bits, by bit operations: the loop vectorises). */
static FNN_ALWAYS_INLINE void FNN_SIMD_BODY(FNN_SFX(fnn_rbm_sample))(
    real_t *restrict y, fnn_int rows, fnn_int c0, fnn_int c1, fnn_int ld,
    const double *restrict given, uint64_t seed, uint64_t base)
{
    for (fnn_int r = 0; r < rows; ++r) {
        real_t *restrict yr = y + r * ld;
        if (given) {
            const double *restrict gr = given + r * ld;
            #pragma omp simd
            for (fnn_int j = c0; j < c1; ++j)
                yr[j] = gr[j] < (double)yr[j] ? (real_t)1 : (real_t)0;
        } else {
            const uint64_t row = base + (uint64_t)(r * ld);
            #pragma omp simd
            for (fnn_int j = c0; j < c1; ++j) {
                const double u = fnn_hash_unit52(fnn_hash64(seed, row + (uint64_t)j));
                yr[j] = u < (double)yr[j] ? (real_t)1 : (real_t)0;
            }
        }
    }
}
FNN_SIMD_DISPATCH(void, FNN_SFX(fnn_rbm_sample),
                  (real_t *restrict y, fnn_int rows, fnn_int c0, fnn_int c1, fnn_int ld,
                   const double *restrict given, uint64_t seed, uint64_t base),
                  (y, rows, c0, c1, ld, given, seed, base))

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
    const fnn_int NC = fnn_rbm_chunks(K);
    /* one batch's uniforms: C x F visible, then C x K hidden */
    const uint64_t per_batch = (uint64_t)(C * (F + K));
    /* S = [Xb; Vn] ((m + C) x F) and T = [Hp; Hn] ((m + C) x K): the positive
     * and negative phases share one GEMM each way; P: NC partial products
     * H[:, chunk] W[chunk, :] (C x F each) */
    real_t *S = work, *T = S + (B + C) * F, *P = T + (B + C) * K;
    const int nt = fnn_rbm_team_size(F, K, B, C, n_threads);
    FNN_TEAM_SYNC(sync);

    #pragma omp parallel num_threads(nt) if (nt > 1)
    {
        FNN_TEAM_ENTER(sync);
        const int t = fnn_thread_id();
        const int nth = nt > 1 ? nt : 1;
        fnn_int c0, c1, f0, f1;
        fnn_span(NC, 1, t, nth, &c0, &c1);      /* hidden chunks: W rows, T and H columns */
        fnn_span(F, 16, t, nth, &f0, &f1);      /* visible columns: Vn, bv */
        const fnn_int k0 = c0 * FNN_RBM_CHUNK, k1 = fnn_min_i(c1 * FNN_RBM_CHUNK, K);
        const fnn_int kw = k1 - k0, fw = f1 - f0;
        for (fnn_int b = 0; b < n_batches; ++b) {
            const fnn_int r0 = b * B, m = n - r0 < B ? n - r0 : B, mc = m + C;
            const real_t *Xb = X + r0 * F;
            real_t *Vn = S + m * F, *Hn = T + m * K;
            const double lr = learning_rate / (double)m;
            const uint64_t base = (batch0 + (uint64_t)b) * per_batch;
            /* 1. the chains' visible input, per own chunk of hidden units */
            for (fnn_int c = c0; c < c1; ++c) {
                const fnn_int j0 = c * FNN_RBM_CHUNK, jw = fnn_min_i(FNN_RBM_CHUNK, K - j0);
                FNN_SFX(fnn_rbm_gemm)(blas, 0, 0, C, F, jw, (real_t)1, H + j0, K, W + j0 * F,
                                      F, (real_t)0, P + c * C * F, F);
            }
            FNN_BARRIER(); /* every chunk's product */
            /* 2. visible columns f0:f1: Vn = [u < sigmoid(sum_c P_c + bv)] (the
             * chunks added in their order: the same sum on any team), Xb into
             * S, bv */
            if (fw > 0) {
                for (fnn_int r = 0; r < C; ++r) {
                    real_t *v = Vn + r * F + f0;
                    memcpy(v, P + r * F + f0, (size_t)fw * sizeof(real_t));
                    for (fnn_int c = 1; c < NC; ++c) {
                        const real_t *pc = P + c * C * F + r * F + f0;
                        #pragma omp simd
                        for (fnn_int j = 0; j < fw; ++j) v[j] += pc[j];
                    }
                }
                FNN_SFX(fnn_rbm_sigmoid)(Vn + f0, C, fw, F, bv + f0);
                FNN_SFX(fnn_rbm_sample)(Vn, C, f0, f1, F, u_vis ? u_vis + b * C * F : NULL,
                                        seed, base);
                for (fnn_int r = 0; r < m; ++r)
                    memcpy(S + r * F + f0, Xb + r * F + f0, (size_t)fw * sizeof(real_t));
                FNN_SFX(fnn_rbm_bias)(bv, Xb, m, F, Vn, C, F, f0, f1, lr, acc + f0);
            }
            FNN_BARRIER(); /* S whole */
            /* 3. hidden units k0:k1: [Hp; Hn] = sigmoid(S W^T + bh), bh, the
             * chains, then W += lr [Hp; -Hn]^T S. Only this thread's rows of
             * W and columns of H: the next batch's step 1 needs no barrier */
            if (kw > 0) {
                FNN_SFX(fnn_rbm_gemm)(blas, 0, 1, mc, kw, F, (real_t)1, S, F, W + k0 * F, F,
                                      (real_t)0, T + k0, K);
                FNN_SFX(fnn_rbm_sigmoid)(T + k0, mc, kw, K, bh + k0);
                FNN_SFX(fnn_rbm_bias)(bh, T, m, K, Hn, C, K, k0, k1, lr, acc + F + k0);
                for (fnn_int r = 0; r < C; ++r) {
                    real_t *hr = Hn + r * K;
                    memcpy(H + r * K + k0, hr + k0, (size_t)kw * sizeof(real_t));
                    for (fnn_int j = k0; j < k1; ++j) hr[j] = -hr[j];
                }
                FNN_SFX(fnn_rbm_sample)(H, C, k0, k1, K, u_hid ? u_hid + b * C * K : NULL,
                                        seed, base + (uint64_t)(C * F));
                FNN_SFX(fnn_rbm_gemm)(blas, 1, 0, kw, F, mc, (real_t)lr, T + k0, K, S, F,
                                      (real_t)1, W + k0 * F, F);
            }
        }
        FNN_TEAM_LEAVE();
    }
    return FNN_OK;
}

#include "fnn_real_end.h"
