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
} fnn_blas;

/* Output columns per GEMM call for an M x N x K row-major product split by
 * columns. OpenBLAS multiplies products of up to ~1e6 multiply-adds with
 * "small matrix" kernels that read the operands where they are, and larger
 * ones after copying both into packed panels. With the small batches of
 * SGD the copy of the weight matrix costs about as much as the product (a
 * batch-32 784->256 layer: 96 us per thread packed, 65 us in 32-column
 * calls), so such products go in column panels (multiples of 16) under that
 * size; products that cannot be cut that way stay whole. Another BLAS just
 * sees more, smaller calls. */
#define FNN_GEMM_SMALL_MNK ((fnn_int)1000000)
static inline fnn_int fnn_gemm_panel(fnn_int M, fnn_int K, fnn_int N)
{
    const fnn_int mk = fnn_max_i(1, M * K);
    const fnn_int w = FNN_GEMM_SMALL_MNK / mk / 16 * 16;
    return w >= 16 && w < N ? w : fnn_max_i(N, 1);
}

#define FNN_F32
#include "fnn_blas_impl.h"
#define FNN_F64
#include "fnn_blas_impl.h"

#endif /* FNN_BLAS_H */
