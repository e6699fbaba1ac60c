/* Dense layer: out = act(in W + b), W (n_in x n_out) row-major as
 * scikit-learn's coefs_, b (n_out). On (T, n_in) samples (a recurrent
 * layer's sequences) the same map at every step: (T, n_out) out, the batch
 * read as m T rows. One body for both dtypes.
 * Team-parallel (see fnn_common.h): each thread computes whole output
 * columns with a single-thread GEMM, so no partial sums cross threads.
 * Backward is not in place: d loss / d in has another width. */
#ifndef FNN_DENSE_INFO
#define FNN_DENSE_INFO
/* rows per sample: the steps of (T, n_in) samples, else 1 */
static inline fnn_int fnn_dense_steps(const fnn_layer *L)
{
    return L->in_ndim == 2 && L->out_ndim == 2 ? L->in_shape[0] : 1;
}

static int fnn_dense_check(const fnn_layer *L)
{
    const fnn_int T = fnn_dense_steps(L);
    if (T > 1 && L->out_shape[0] != T) return 0;
    const fnn_int ni = L->in_size / T, no = L->out_size / T;
    return L->n_w == ni * no && L->n_b == no && L->cfg.act.activation >= 0 &&
           L->cfg.act.activation < FNN_ACT_COUNT;
}

/* the bias gradient's column sums, in double */
static fnn_int fnn_dense_scratch(const fnn_layer *L, fnn_int batch, int training, int nt)
{
    (void)batch; (void)nt;
    return training ? L->n_b : 0;
}

static fnn_int fnn_dense_flops(const fnn_layer *L) { return 3 * L->n_w * fnn_dense_steps(L); }

/* Fewer 16-column blocks than threads (a classifier's output layer): a split
 * of dW's columns would leave threads idle, so the backward splits dW's rows
 * (the inputs) instead, after the barrier din already needs. (The forward
 * keeps its column split: a row split changes BLAS's blocking, and with it
 * the last bits, by the thread count.) */
static inline int fnn_dense_narrow(fnn_int n_out, int nt)
{
    return nt > 1 && (n_out + 15) / 16 < nt;
}
#endif

#include "fnn_real.h"

/* The layer's elementwise passes over the column span [c0, c1) of m rows
 * (row stride ld), compiled for each SIMD level: fnn_act_impl.h's loops are
 * otherwise built for the baseline only (SSE2 in a 4-wide loop: a fifth of
 * a b256 epoch's non-GEMM time on an AVX-512 CPU). */
static FNN_ALWAYS_INLINE void FNN_SIMD_BODY(FNN_SFX(fnn_dense_act_rows))(
    int act, double a, real_t *y, fnn_int m, fnn_int ld, fnn_int c0, fnn_int c1)
{
    for (fnn_int i = 0; i < m; ++i) FNN_SFX(fnn_act_forward)(act, a, y + i * ld + c0, c1 - c0);
}
FNN_SIMD_DISPATCH(void, FNN_SFX(fnn_dense_act_rows),
                  (int act, double a, real_t *y, fnn_int m, fnn_int ld, fnn_int c0, fnn_int c1),
                  (act, a, y, m, ld, c0, c1))

/* d *= act'(y) and, when acc is not NULL, acc[j] = sum over the rows of d[., j]
 * (acc indexed from c0), in one pass over d. The sums run in double, row by
 * row in order, so every SIMD level gives the same numbers. */
static FNN_ALWAYS_INLINE void FNN_SIMD_BODY(FNN_SFX(fnn_dense_back_rows))(
    int act, double a, const real_t *y, real_t *d, double *acc, fnn_int m, fnn_int ld,
    fnn_int c0, fnn_int c1)
{
    const fnn_int n = c1 - c0;
    if (acc)
        for (fnn_int j = 0; j < n; ++j) acc[j] = 0.0;
    for (fnn_int i = 0; i < m; ++i) {
        real_t *di = d + i * ld + c0;
        if (act != FNN_ACT_IDENTITY) FNN_SFX(fnn_act_backward)(act, a, y + i * ld + c0, di, n);
        if (acc)
            for (fnn_int j = 0; j < n; ++j) acc[j] += (double)di[j];
    }
}
FNN_SIMD_DISPATCH(void, FNN_SFX(fnn_dense_back_rows),
                  (int act, double a, const real_t *y, real_t *d, double *acc, fnn_int m,
                   fnn_int ld, fnn_int c0, fnn_int c1),
                  (act, a, y, d, acc, m, ld, c0, c1))

static void FNN_SFX(fnn_dense_forward)(const fnn_layer *L, const FNN_SFX(fnn_call) *c)
{
    const fnn_int no = L->n_b, ni = L->n_w / no, m = c->m * fnn_dense_steps(L);
    const real_t *W = c->params + L->w_off, *b = c->params + L->b_off;
    real_t *out = c->out;
    fnn_int c0, c1;
    fnn_span(no, 16, c->tid, c->nt, &c0, &c1);
    if (c0 >= c1) return;
    /* the bias first, then GEMM with beta = 1: BLAS's own zeroing pass and a
     * separate bias pass both disappear */
    for (fnn_int i = 0; i < m; ++i)
        memcpy(out + i * no + c0, b + c0, sizeof(real_t) * (size_t)(c1 - c0));
    const fnn_int pw = fnn_gemm_panel(c->blas, m, ni, c1 - c0);
    for (fnn_int s0 = c0; s0 < c1; s0 += pw)
        FNN_SFX(fnn_gemm_rm)(c->blas, 0, 0, m, fnn_min_i(pw, c1 - s0), ni, (real_t)1, c->in, ni,
                             W + s0, no, (real_t)1, out + s0, no);
    if (L->cfg.act.activation != FNN_ACT_IDENTITY)
        FNN_SFX(fnn_dense_act_rows)(L->cfg.act.activation, L->cfg.act.param, out, m, no, c0, c1);
}

/* c->d (m x n_out, m counting rows) is d loss / d out on entry and d loss /
 * d (pre-activation) after. Adds dW, db to grad (unless frozen) and, when
 * din is not NULL, d loss / d in into din (m x n_in). Has one barrier inside. */
static void FNN_SFX(fnn_dense_backward)(const fnn_layer *L, const FNN_SFX(fnn_call) *c)
{
    const fnn_int no = L->n_b, ni = L->n_w / no, m = c->m * fnn_dense_steps(L);
    real_t *d = c->d;
    const int narrow = fnn_dense_narrow(no, c->nt);
    double *acc = L->frozen ? NULL : c->scratch;
    real_t *gW = c->grad + L->w_off, *gb = c->grad + L->b_off;
    fnn_int c0, c1;
    fnn_span(no, 16, c->tid, c->nt, &c0, &c1);
    if (c0 < c1) {
        if (acc || L->cfg.act.activation != FNN_ACT_IDENTITY)
            FNN_SFX(fnn_dense_back_rows)(L->cfg.act.activation, L->cfg.act.param, c->out, d,
                                         acc ? acc + c0 : NULL, m, no, c0, c1);
        if (acc) {
            for (fnn_int j = c0; j < c1; ++j) gb[j] += (real_t)acc[j];
            if (!narrow) {
                const fnn_int pw = fnn_gemm_panel(c->blas, ni, m, c1 - c0);
                for (fnn_int s0 = c0; s0 < c1; s0 += pw)
                    FNN_SFX(fnn_gemm_rm)(c->blas, 1, 0, ni, fnn_min_i(pw, c1 - s0), m,
                                         (real_t)1, c->in, ni, d + s0, no, (real_t)1, gW + s0,
                                         no);
            }
        }
    }
    if (!c->din && !(narrow && acc)) return;
    FNN_BARRIER(); /* din, and a narrow layer's dW, need every column of d */
    fnn_int r0, r1;
    fnn_span(ni, 16, c->tid, c->nt, &r0, &r1);
    if (r0 >= r1) return;
    if (narrow && acc) /* rows [r0, r1) of dW: in's columns [r0, r1) */
        FNN_SFX(fnn_gemm_rm)(c->blas, 1, 0, r1 - r0, no, m, (real_t)1, c->in + r0, ni, d, no,
                             (real_t)1, gW + r0 * no, no);
    if (c->din)
        FNN_SFX(fnn_gemm_rm)(c->blas, 0, 1, m, r1 - r0, no, (real_t)1, d, no,
                             c->params + L->w_off + r0 * no, no, (real_t)0, c->din + r0, ni);
}

#include "fnn_real_end.h"
