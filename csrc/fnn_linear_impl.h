/* Linear-model kernel bodies (see fnn_linear.h), one body for both dtypes. */
#include "fnn_real.h"

/* Rows per block: a dense block of X stays around 256 KiB. */
static inline fnn_int FNN_SFX(fnn_linear_block_rows)(fnn_int p)
{
    fnn_int b = (fnn_int)(262144 / sizeof(real_t)) / fnn_max_i(p, 1);
    return fnn_max_i(16, fnn_min_i(b, 1024));
}

/* dot(x, w) in double, and acc += g * x: the single-output row kernels. */
static FNN_ALWAYS_INLINE double FNN_SIMD_BODY(FNN_SFX(fnn_linear_dot))(
    const real_t *x, const real_t *w, fnn_int p)
{
    double s = 0.0;
    #pragma omp simd reduction(+ : s)
    for (fnn_int j = 0; j < p; ++j) s += (double)x[j] * (double)w[j];
    return s;
}
FNN_SIMD_DISPATCH(double, FNN_SFX(fnn_linear_dot),
                  (const real_t *x, const real_t *w, fnn_int p),
                  (x, w, p))

static FNN_ALWAYS_INLINE void FNN_SIMD_BODY(FNN_SFX(fnn_linear_axpy))(
    double *acc, double g, const real_t *x, fnn_int p)
{
    #pragma omp simd
    for (fnn_int j = 0; j < p; ++j) acc[j] += g * (double)x[j];
}
FNN_SIMD_DISPATCH(void, FNN_SFX(fnn_linear_axpy),
                  (double *acc, double g, const real_t *x, fnn_int p),
                  (acc, g, x, p))

typedef struct {
    real_t *xb;   /* B x p gathered dense rows (dense data with a row list) */
    real_t *zb;   /* B x k raw predictions, then their gradient */
    real_t *yb;   /* B x ky gathered targets */
    real_t *swb;  /* B gathered weights */
    real_t *gw;   /* p x k one block's weight gradient (BLAS output) */
    double *acc;  /* p*k + k gradient accumulator */
} FNN_SFX(fnn_linear_ws);

/* Per-thread workspace layout; returns its size in bytes. */
static size_t FNN_SFX(fnn_linear_ws_layout)(const FNN_SFX(fnn_linear_problem) *pb, fnn_int B,
                                            char *base, FNN_SFX(fnn_linear_ws) *ws)
{
    fnn_int p = pb->n_features, k = pb->n_outputs;
    fnn_int ky = pb->loss == FNN_LOSS_MULTINOMIAL ? 1 : k;
    size_t sizes[6] = {
        fnn_align_up(sizeof(real_t) * (size_t)(pb->X ? B * p : 0)),
        fnn_align_up(sizeof(real_t) * (size_t)(B * k)),
        fnn_align_up(sizeof(real_t) * (size_t)(B * ky)),
        fnn_align_up(sizeof(real_t) * (size_t)B),
        fnn_align_up(sizeof(real_t) * (size_t)(p * k)),
        fnn_align_up(sizeof(double) * (size_t)(p * k + k)),
    };
    size_t off = 0;
    if (ws) {
        ws->xb = (real_t *)(base + off); off += sizes[0];
        ws->zb = (real_t *)(base + off); off += sizes[1];
        ws->yb = (real_t *)(base + off); off += sizes[2];
        ws->swb = (real_t *)(base + off); off += sizes[3];
        ws->gw = (real_t *)(base + off); off += sizes[4];
        ws->acc = (double *)(base + off); off += sizes[5];
        return off;
    }
    for (int i = 0; i < 6; ++i) off += sizes[i];
    return off;
}

static int FNN_SFX(fnn_linear_threads)(const FNN_SFX(fnn_linear_problem) *pb, fnn_int m,
                                       int n_threads)
{
    fnn_int B = FNN_SFX(fnn_linear_block_rows)(pb->n_features);
    fnn_int nb = (m + B - 1) / B;
    int nt = fnn_threads_for(m * fnn_max_i(pb->n_features, 1) * pb->n_outputs, n_threads);
    return (int)fnn_max_i(1, fnn_min_i(nt, nb));
}

size_t FNN_SFX(fnn_linear_workspace)(const FNN_SFX(fnn_linear_problem) *pb, fnn_int max_rows,
                                     int n_threads)
{
    fnn_int B = FNN_SFX(fnn_linear_block_rows)(pb->n_features);
    int nt = FNN_SFX(fnn_linear_threads)(pb, max_rows, n_threads);
    size_t per = FNN_SFX(fnn_linear_ws_layout)(pb, B, NULL, NULL);
    /* + one double gradient of the whole model, used by the epoch */
    size_t model = fnn_align_up(sizeof(double) * (size_t)(pb->n_features * pb->n_outputs +
                                                          pb->n_outputs));
    return per * (size_t)nt + model;
}

/* One block of m rows starting at rows[r0] (or row r0): adds into ws->acc
 * and *loss. */
static int FNN_SFX(fnn_linear_block)(const FNN_SFX(fnn_linear_problem) *pb, const fnn_int *rows,
                                     fnn_int r0, fnn_int m, const real_t *W, const real_t *b,
                                     double scale, int want_grad, FNN_SFX(fnn_linear_ws) *ws,
                                     const fnn_blas *blas, double *loss)
{
    const fnn_int p = pb->n_features, k = pb->n_outputs;
    const fnn_int ky = pb->loss == FNN_LOSS_MULTINOMIAL ? 1 : k;
    const real_t *A = NULL, *yb, *swb;
    fnn_int lda = p;
    real_t *Z = ws->zb;
    int status;

    /* Gather targets, weights and (dense with a row list) the rows of X. */
    if (rows) {
        for (fnn_int i = 0; i < m; ++i) {
            fnn_int r = rows[r0 + i];
            memcpy(ws->yb + i * ky, pb->y + r * ky, sizeof(real_t) * (size_t)ky);
            if (pb->sw) ws->swb[i] = pb->sw[r];
            if (pb->X) memcpy(ws->xb + i * p, pb->X + r * pb->ldx, sizeof(real_t) * (size_t)p);
        }
        yb = ws->yb;
        swb = pb->sw ? ws->swb : NULL;
        A = ws->xb;
    } else {
        yb = pb->y + r0 * ky;
        swb = pb->sw ? pb->sw + r0 : NULL;
        if (pb->X) { A = pb->X + r0 * pb->ldx; lda = pb->ldx; }
    }

    /* One output over dense float64 rows: each row is read from memory once,
     * its dot product, loss and gradient contribution done while it sits in
     * L1, instead of two BLAS calls per block that read the block twice. */
    if (pb->X && k == 1 && sizeof(real_t) == sizeof(double)) {
        double *accW = ws->acc, *accb = ws->acc + p;
        const real_t b0 = b ? b[0] : (real_t)0;
        for (fnn_int i = 0; i < m; ++i) {
            const real_t *xi = A + i * lda;
            Z[i] = (real_t)(FNN_SFX(fnn_linear_dot)(xi, W, p) + (double)b0);
            status = FNN_SFX(fnn_loss_grad_rows)(pb->loss, 1, 1, Z + i, yb + i,
                                                 swb ? swb + i : NULL, scale,
                                                 want_grad ? Z + i : NULL, loss);
            if (status != FNN_OK) return status;
            if (want_grad) {
                FNN_SFX(fnn_linear_axpy)(accW, (double)Z[i], xi, p);
                if (pb->fit_intercept) accb[0] += (double)Z[i];
            }
        }
        return FNN_OK;
    }

    /* Z = X_b W + b */
    if (pb->X) {
        FNN_SFX(fnn_gemm_rm)(blas, 0, 0, m, k, p, (real_t)1, A, lda, W, k, (real_t)0, Z, k);
    } else {
        for (fnn_int i = 0; i < m; ++i) {
            fnn_int r = rows ? rows[r0 + i] : r0 + i;
            real_t *zi = Z + i * k;
            for (fnn_int j = 0; j < k; ++j) zi[j] = 0;
            for (int64_t q = pb->indptr[r]; q < pb->indptr[r + 1]; ++q) {
                const real_t v = pb->data[q];
                const real_t *wr = W + (fnn_int)pb->indices[q] * k;
                for (fnn_int j = 0; j < k; ++j) zi[j] += v * wr[j];
            }
        }
    }
    if (b) {
        for (fnn_int i = 0; i < m; ++i)
            for (fnn_int j = 0; j < k; ++j) Z[i * k + j] += b[j];
    }

    status = FNN_SFX(fnn_loss_grad_rows)(pb->loss, m, k, Z, yb, swb, scale,
                                         want_grad ? Z : NULL, loss);
    if (status != FNN_OK || !want_grad) return status;

    /* dW += X_b^T dZ, db += colsum(dZ) */
    double *accW = ws->acc, *accb = ws->acc + p * k;
    if (pb->X) {
        FNN_SFX(fnn_gemm_rm)(blas, 1, 0, p, k, m, (real_t)1, A, lda, Z, k, (real_t)0, ws->gw, k);
        for (fnn_int q = 0; q < p * k; ++q) accW[q] += (double)ws->gw[q];
    } else {
        for (fnn_int i = 0; i < m; ++i) {
            fnn_int r = rows ? rows[r0 + i] : r0 + i;
            const real_t *gi = Z + i * k;
            for (int64_t q = pb->indptr[r]; q < pb->indptr[r + 1]; ++q) {
                const double v = (double)pb->data[q];
                double *ar = accW + (fnn_int)pb->indices[q] * k;
                for (fnn_int j = 0; j < k; ++j) ar[j] += v * (double)gi[j];
            }
        }
    }
    if (pb->fit_intercept) {
        for (fnn_int i = 0; i < m; ++i)
            for (fnn_int j = 0; j < k; ++j) accb[j] += (double)Z[i * k + j];
    }
    return FNN_OK;
}

int FNN_SFX(fnn_linear_loss_grad)(const FNN_SFX(fnn_linear_problem) *pb, const fnn_int *rows,
                                  fnn_int m, const real_t *params, double scale, double *grad,
                                  double *loss_out, void *work, size_t work_size,
                                  const fnn_blas *blas, int n_threads)
{
    const fnn_int p = pb->n_features, k = pb->n_outputs;
    const fnn_int nparam = p * k + (pb->fit_intercept ? k : 0);
    const fnn_int B = FNN_SFX(fnn_linear_block_rows)(p);
    const fnn_int nb = (m + B - 1) / B;
    const int nt = FNN_SFX(fnn_linear_threads)(pb, m, n_threads);
    const size_t per = FNN_SFX(fnn_linear_ws_layout)(pb, B, NULL, NULL);
    const real_t *W = params, *b = pb->fit_intercept ? params + p * k : NULL;
    double total = 0.0;
    int status = FNN_OK;

    if (m < 0 || k < 1 || (pb->X == NULL && (pb->data == NULL || pb->indptr == NULL)))
        return FNN_EINVAL;
    if (work_size < per * (size_t)nt) return FNN_EWORK;

    #pragma omp parallel num_threads(nt) if (nt > 1) reduction(+ : total) reduction(| : status)
    {
        fnn_flush_denormals(); /* see fnn_team.h */
        int tid = fnn_thread_id(), T = 1;
#ifdef _OPENMP
        T = omp_get_num_threads();
#endif
        FNN_SFX(fnn_linear_ws) ws;
        FNN_SFX(fnn_linear_ws_layout)(pb, B, (char *)work + per * (size_t)tid, &ws);
        if (grad) memset(ws.acc, 0, sizeof(double) * (size_t)(p * k + k));
        /* contiguous runs of blocks per thread */
        fnn_int blo = nb * tid / T, bhi = nb * (tid + 1) / T;
        for (fnn_int blk = blo; blk < bhi && status == FNN_OK; ++blk) {
            fnn_int r0 = blk * B, mb = fnn_min_i(B, m - r0);
            status |= FNN_SFX(fnn_linear_block)(pb, rows, r0, mb, W, b, scale, grad != NULL,
                                                &ws, blas, &total);
        }
        fnn_restore_denormals();
    }
    if (status != FNN_OK) return FNN_EINVAL;
    *loss_out = total;
    if (grad) {
        /* reduce the per-thread accumulators (thread 0's first) */
        for (fnn_int q = 0; q < nparam; ++q) grad[q] = 0.0;
        for (int tid = 0; tid < nt; ++tid) {
            FNN_SFX(fnn_linear_ws) ws;
            FNN_SFX(fnn_linear_ws_layout)(pb, B, (char *)work + per * (size_t)tid, &ws);
            for (fnn_int q = 0; q < nparam; ++q) grad[q] += ws.acc[q];
        }
    }
    return FNN_OK;
}

int FNN_SFX(fnn_linear_epoch)(const FNN_SFX(fnn_linear_problem) *pb, const fnn_int *perm,
                              fnn_int n, fnn_int batch_size, double sw_mean,
                              const fnn_optim *opt, double lr, double l2, int64_t *t,
                              real_t *params, real_t *grad, real_t *state, double *loss_out,
                              void *work, size_t work_size, const fnn_blas *blas,
                              int n_threads)
{
    const fnn_int p = pb->n_features, k = pb->n_outputs;
    const fnn_int nparam = p * k + (pb->fit_intercept ? k : 0);
    double total = 0.0;
    if (batch_size < 1 || n < 0 || !(sw_mean > 0)) return FNN_EINVAL;
    const fnn_int bs = fnn_min_i(batch_size, fnn_max_i(n, 1));
    const int nt = FNN_SFX(fnn_linear_threads)(pb, bs, n_threads);
    const size_t per = FNN_SFX(fnn_linear_ws_layout)(pb, FNN_SFX(fnn_linear_block_rows)(p),
                                                     NULL, NULL);
    if (work_size < FNN_SFX(fnn_linear_workspace)(pb, bs, n_threads)) return FNN_EWORK;
    double *gd = (double *)((char *)work + per * (size_t)nt);

    for (fnn_int s = 0; s < n; s += bs) {
        fnn_int m = fnn_min_i(bs, n - s);
        double part = 0.0;
        int status = FNN_SFX(fnn_linear_loss_grad)(pb, perm + s, m, params,
                                                   1.0 / ((double)m * sw_mean), gd, &part,
                                                   work, per * (size_t)nt, blas, n_threads);
        if (status != FNN_OK) return status;
        total += part;
        for (fnn_int q = 0; q < nparam; ++q) grad[q] = (real_t)gd[q];
        *t += 1;
        status = FNN_SFX(fnn_optim_step)(opt, nparam, p * k, l2, lr, *t, params, grad, state,
                                         n_threads);
        if (status != FNN_OK) return status;
    }
    *loss_out = total;
    return FNN_OK;
}

/* fnn_linear_gram's per-thread layout: block rows, then section sizes. */
static size_t FNN_SFX(fnn_gram_layout)(fnn_int p, fnn_int k, fnn_int *B, size_t *sx, size_t *sg)
{
    *B = fnn_max_i(64, FNN_SFX(fnn_linear_block_rows)(p));
    *sx = fnn_align_up(sizeof(real_t) * (size_t)(*B * (p + k)));
    *sg = fnn_align_up(sizeof(real_t) * (size_t)(p * (p + k)));
    return *sx + *sg + fnn_align_up(sizeof(double) * (size_t)(p * (p + k)));
}

size_t FNN_SFX(fnn_linear_gram_workspace)(fnn_int n, fnn_int p, fnn_int k, int n_threads)
{
    fnn_int B; size_t sx, sg;
    size_t per = FNN_SFX(fnn_gram_layout)(p, k, &B, &sx, &sg);
    fnn_int nb = (n + B - 1) / B;
    int nt = (int)fnn_max_i(1, fnn_min_i(fnn_threads_for(n * p, n_threads), nb));
    return per * (size_t)nt;
}

int FNN_SFX(fnn_linear_gram)(fnn_int n, fnn_int p, const real_t *X, fnn_int ldx,
                             const real_t *Y, fnn_int k, const real_t *sw,
                             const double *x_mean, const double *y_mean, double *G,
                             double *XtY, void *work, size_t work_size,
                             const fnn_blas *blas, int n_threads)
{
    fnn_int B; size_t sx, sg;
    const size_t per = FNN_SFX(fnn_gram_layout)(p, k, &B, &sx, &sg);
    const fnn_int nb = (n + B - 1) / B;
    const int nt = (int)fnn_max_i(1, fnn_min_i(fnn_threads_for(n * p, n_threads), nb));
    if (n < 0 || p < 1 || k < 0) return FNN_EINVAL;
    if (work_size < per * (size_t)nt) return FNN_EWORK;

    #pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int tid = fnn_thread_id(), T = 1;
#ifdef _OPENMP
        T = omp_get_num_threads();
#endif
        char *base = (char *)work + per * (size_t)tid;
        real_t *xb = (real_t *)base;              /* B x p centred, sqrt(sw)-scaled rows */
        real_t *yb = xb + B * p;                  /* B x k likewise for Y */
        real_t *gb = (real_t *)(base + sx);       /* p x p block Gram, then p x k block XtY */
        double *acc = (double *)(base + sx + sg); /* p x p then p x k */
        memset(acc, 0, sizeof(double) * (size_t)(p * (p + k)));
        fnn_int blo = nb * tid / T, bhi = nb * (tid + 1) / T;
        for (fnn_int blk = blo; blk < bhi; ++blk) {
            fnn_int r0 = blk * B, m = fnn_min_i(B, n - r0);
            for (fnn_int i = 0; i < m; ++i) {
                const real_t *xi = X + (r0 + i) * ldx;
                double s = sw ? sqrt((double)sw[r0 + i]) : 1.0;
                for (fnn_int j = 0; j < p; ++j) xb[i * p + j] = (real_t)(s * ((double)xi[j] - x_mean[j]));
                for (fnn_int j = 0; j < k; ++j)
                    yb[i * k + j] = (real_t)(s * ((double)Y[(r0 + i) * k + j] - y_mean[j]));
            }
            /* G_b = X_b^T X_b (upper), accumulated in double */
            FNN_SFX(fnn_syrk_t_rm)(blas, p, m, (real_t)1, xb, p, (real_t)0, gb, p);
            for (fnn_int a = 0; a < p; ++a)
                for (fnn_int c = a; c < p; ++c) acc[a * p + c] += (double)gb[a * p + c];
            if (k > 0) {
                FNN_SFX(fnn_gemm_rm)(blas, 1, 0, p, k, m, (real_t)1, xb, p, yb, k, (real_t)0, gb, k);
                for (fnn_int q = 0; q < p * k; ++q) acc[p * p + q] += (double)gb[q];
            }
        }
    }
    memset(G, 0, sizeof(double) * (size_t)(p * p));
    if (k > 0) memset(XtY, 0, sizeof(double) * (size_t)(p * k));
    for (int tid = 0; tid < nt; ++tid) {
        const double *acc = (const double *)((char *)work + per * (size_t)tid + sx + sg);
        for (fnn_int a = 0; a < p; ++a)
            for (fnn_int c = a; c < p; ++c) G[a * p + c] += acc[a * p + c];
        for (fnn_int q = 0; q < p * k; ++q) XtY[q] += acc[p * p + q];
    }
    return FNN_OK;
}

#include "fnn_real_end.h"
