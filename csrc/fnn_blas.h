/* fnn_blas.h -- BLAS as function pointers, taken from scipy.linalg.cython_blas.
 *
 * fastnn never writes a GEMM. The Cython module fastnn._core._blas fills one
 * fnn_blas table from SciPy's exported Fortran BLAS (LP64, column-major) and
 * every kernel that needs BLAS receives `const fnn_blas *`.
 *
 * fnn_gemm_rm_<sfx> / fnn_syrk_rm_<sfx> take row-major operands: a row-major
 * C = op(A) op(B) is the column-major C^T = op(B)^T op(A)^T, so A and B swap.
 * Callers that run BLAS inside their own OpenMP region must have limited the
 * BLAS library to one thread (the Python engine does, with threadpoolctl).
 */
#ifndef FNN_BLAS_H
#define FNN_BLAS_H

#include "fnn_common.h"

typedef void (*fnn_sgemm_t)(char *ta, char *tb, int *m, int *n, int *k, float *alpha,
                            float *a, int *lda, float *b, int *ldb, float *beta,
                            float *c, int *ldc);
typedef void (*fnn_dgemm_t)(char *ta, char *tb, int *m, int *n, int *k, double *alpha,
                            double *a, int *lda, double *b, int *ldb, double *beta,
                            double *c, int *ldc);
typedef void (*fnn_ssyrk_t)(char *uplo, char *trans, int *n, int *k, float *alpha,
                            float *a, int *lda, float *beta, float *c, int *ldc);
typedef void (*fnn_dsyrk_t)(char *uplo, char *trans, int *n, int *k, double *alpha,
                            double *a, int *lda, double *beta, double *c, int *ldc);

typedef struct {
    fnn_sgemm_t sgemm;
    fnn_dgemm_t dgemm;
    fnn_ssyrk_t ssyrk;
    fnn_dsyrk_t dsyrk;
    /* the largest M N K the BLAS multiplies without packing its operands
     * (OpenBLAS's small-matrix kernels), 0 when it packs every product */
    fnn_int small_mnk;
} fnn_blas;

/* Output columns per GEMM call for an M x N x K row-major product split by
 * columns. OpenBLAS's AVX-512 kernels (SkylakeX, Cooperlake, SapphireRapids)
 * multiply products of up to ~1e6 multiply-adds with "small matrix" kernels
 * that read the operands where they are, larger ones after copying both into
 * packed panels. With the small batches of SGD the copy of the weight matrix
 * costs about as much as the product (a batch-32 784->256 layer: 57 us per
 * thread packed, 39 us in 32-column calls), so there such products go in
 * column panels (multiples of 16, at least 32) under that size. Narrower
 * panels lose to packing (a batch-200 256->784 layer: 293 us in 16-column
 * calls, 213 us whole), and a BLAS that packs every product (OpenBLAS's
 * Haswell and Zen kernels) only loses by the cut (batch 32: 100 us in
 * 32-column calls, 90 us whole): there every product stays whole. */
static inline fnn_int fnn_gemm_panel(const fnn_blas *blas, fnn_int M, fnn_int K, fnn_int N)
{
    if (blas->small_mnk <= 0) return fnn_max_i(N, 1);
    const fnn_int mk = fnn_max_i(1, M * K);
    const fnn_int w = blas->small_mnk / mk / 16 * 16;
    return w >= 32 && w < N ? w : fnn_max_i(N, 1);
}

#define FNN_F32
#include "fnn_blas_impl.h"
#define FNN_F64
#include "fnn_blas_impl.h"

#endif /* FNN_BLAS_H */
