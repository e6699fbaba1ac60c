/* Row-major BLAS helpers, one body for both dtypes (included by fnn_blas.h). */
#include "fnn_real.h"

/* C[M,N] = alpha * op(A) op(B) + beta * C, all row-major.
 * op(A) is M x K (A is K x M when transA), op(B) is K x N (B is N x K when transB). */
static inline void FNN_SFX(fnn_gemm_rm)(const fnn_blas *blas, int transA, int transB,
                                        fnn_int M, fnn_int N, fnn_int K, real_t alpha,
                                        const real_t *A, fnn_int lda, const real_t *B,
                                        fnn_int ldb, real_t beta, real_t *C, fnn_int ldc)
{
    char ta = transB ? 'T' : 'N', tb = transA ? 'T' : 'N';
    int m = (int)N, n = (int)M, k = (int)K, la = (int)ldb, lb = (int)lda, lc = (int)ldc;
    if (M == 0 || N == 0) return;
    FNN_BLAS(blas, gemm)(&ta, &tb, &m, &n, &k, &alpha, (real_t *)B, &la, (real_t *)A, &lb,
                         &beta, C, &lc);
}

/* Upper triangle (row-major) of C[N,N] = alpha * A^T A + beta * C, A row-major K x N. */
static inline void FNN_SFX(fnn_syrk_t_rm)(const fnn_blas *blas, fnn_int N, fnn_int K,
                                          real_t alpha, const real_t *A, fnn_int lda,
                                          real_t beta, real_t *C, fnn_int ldc)
{
    /* Row-major A (K x N) is column-major A^T (N x K); C = A^T A is then
     * column-major op 'N'. Column-major lower == row-major upper. */
    char uplo = 'L', trans = 'N';
    int n = (int)N, k = (int)K, la = (int)lda, lc = (int)ldc;
    if (N == 0) return;
    FNN_BLAS(blas, syrk)(&uplo, &trans, &n, &k, &alpha, (real_t *)A, &la, &beta, C, &lc);
}

#include "fnn_real_end.h"
