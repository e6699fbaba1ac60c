/* fnn_linear.h -- linear models: fused objective, compiled epoch, Gram matrix.
 *
 * Data X is n x p, either dense row-major (X, ldx) or CSR (data, indices,
 * indptr; indices int32, indptr int64), never copied. Parameters are one flat
 * buffer: W (p x k, row-major, as scikit-learn's coefs_[0]) then b (k) when
 * fit_intercept. Raw predictions Z = X W + b go through fnn_loss (fnn_loss.h).
 *
 * fnn_linear_loss_grad: over the rows `rows[0..m)` (or all n when rows is
 * NULL) returns the weighted loss sum and, when grad is not NULL, writes
 * grad = scale * dLoss/dparams in double. Rows are processed in blocks that
 * stay in cache: for dense data Z_b = X_b W (GEMM), the loss kernel turns
 * Z_b into dZ_b in place, then dW += X_b^T dZ_b (GEMM), so X is read once
 * per evaluation. Blocks are split over threads, each with its own double
 * accumulator, reduced at the end. BLAS must be single-threaded when
 * n_threads > 1.
 *
 * fnn_linear_epoch: one pass of mini-batch training over a permutation:
 * per batch the objective gradient (scale = 1 / (m * sw_mean), an unbiased
 * estimate of the full mean-loss gradient), then one update rule step
 * (fnn_optim.h, L2 folded in over W). No allocation, no Python.
 *
 * fnn_linear_gram: G = Xc^T S Xc and XtY = Xc^T S Yc with Xc, Yc centred by
 * the given means and S = diag(sw), accumulated in double, upper triangle of
 * G filled (the caller mirrors it). Blocks are centred in the workspace
 * before SYRK, so large means do not cancel.
 */
#ifndef FNN_LINEAR_H
#define FNN_LINEAR_H

#include "fnn_blas.h"
#include "fnn_loss.h"
#include "fnn_optim.h"

#define FNN_F32
#include "fnn_linear_types.h"
#define FNN_F64
#include "fnn_linear_types.h"

size_t fnn_linear_workspace_f32(const fnn_linear_problem_f32 *pb, fnn_int max_rows, int n_threads);
size_t fnn_linear_workspace_f64(const fnn_linear_problem_f64 *pb, fnn_int max_rows, int n_threads);

int fnn_linear_loss_grad_f32(const fnn_linear_problem_f32 *pb, const fnn_int *rows, fnn_int m,
                             const float *params, double scale, double *grad,
                             double *loss_out, void *work, size_t work_size,
                             const fnn_blas *blas, int n_threads);
int fnn_linear_loss_grad_f64(const fnn_linear_problem_f64 *pb, const fnn_int *rows, fnn_int m,
                             const double *params, double scale, double *grad,
                             double *loss_out, void *work, size_t work_size,
                             const fnn_blas *blas, int n_threads);

int fnn_linear_epoch_f32(const fnn_linear_problem_f32 *pb, const fnn_int *perm, fnn_int n,
                         fnn_int batch_size, double sw_mean, const fnn_optim *opt, double lr,
                         double l2, int64_t *t, float *params, float *grad, float *state,
                         double *loss_out, void *work, size_t work_size,
                         const fnn_blas *blas, int n_threads);
int fnn_linear_epoch_f64(const fnn_linear_problem_f64 *pb, const fnn_int *perm, fnn_int n,
                         fnn_int batch_size, double sw_mean, const fnn_optim *opt, double lr,
                         double l2, int64_t *t, double *params, double *grad, double *state,
                         double *loss_out, void *work, size_t work_size,
                         const fnn_blas *blas, int n_threads);

size_t fnn_linear_gram_workspace_f32(fnn_int n, fnn_int p, fnn_int k, int n_threads);
size_t fnn_linear_gram_workspace_f64(fnn_int n, fnn_int p, fnn_int k, int n_threads);
int fnn_linear_gram_f32(fnn_int n, fnn_int p, const float *X, fnn_int ldx, const float *Y,
                        fnn_int k, const float *sw, const double *x_mean, const double *y_mean,
                        double *G, double *XtY, void *work, size_t work_size,
                        const fnn_blas *blas, int n_threads);
int fnn_linear_gram_f64(fnn_int n, fnn_int p, const double *X, fnn_int ldx, const double *Y,
                        fnn_int k, const double *sw, const double *x_mean, const double *y_mean,
                        double *G, double *XtY, void *work, size_t work_size,
                        const fnn_blas *blas, int n_threads);

#endif /* FNN_LINEAR_H */
