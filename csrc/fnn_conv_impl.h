/* Conv2D layer over NCHW samples: in (C, H, W) -> out (F, OH, OW),
 *   out[f] = act(b[f] + sum_{c,i,j} W[f, c, i, j] x[c, oy*sh + i - pt, ox*sw + j - pl]),
 * zero outside the image (padding pt/pb rows on top/bottom, pl/pr columns
 * left/right), OH = (H + pt + pb - kh) / sh + 1 and the same for OW.
 * W (F, C, kh, kw) is PyTorch's Conv2d.weight layout, read as the row-major
 * F x K matrix, K = C kh kw; b (F). One body for both dtypes.
 *
 * GEMM over im2col: a group of G samples at a time (enough that the GEMM has
 * FNN_CONV_MIN_COLS columns) is unrolled into col (K x G P, P = OH OW), and
 *   forward   tmp (F x G P) = W col, then out = act(tmp + b) per sample;
 *   backward  dW += dout col^T, db += row sums of dout,
 *             dcol = W^T dout, din = col2im(dcol).
 * Team-parallel by samples: each thread unrolls its own samples into its own
 * slot of the scratch and adds its dW, db into its own partial sums, which
 * are added up in thread order after one barrier (the same team size gives
 * the same result). Backward is not in place (din has the input's size).
 * In training, when a sample's columns are few (K P <= FNN_CONV_SAVE_MAX),
 * forward unrolls straight into the saved buffer (a group's block at its
 * first sample's offset: forward and backward of a batch form the same
 * groups) and backward reads them back instead of unrolling again. */
#ifndef FNN_CONV_INFO
#define FNN_CONV_INFO

#define FNN_CONV_MIN_COLS ((fnn_int)256)
#define FNN_CONV_SAVE_MAX ((fnn_int)65536)

static inline fnn_int fnn_conv_K(const fnn_layer *L)
{
    return L->in_shape[0] * L->cfg.conv.kh * L->cfg.conv.kw;
}

static inline fnn_int fnn_conv_P(const fnn_layer *L) { return L->out_shape[1] * L->out_shape[2]; }

static int fnn_conv_check(const fnn_layer *L)
{
    const fnn_conv_cfg *k = &L->cfg.conv;
    if (L->in_ndim != 3 || L->out_ndim != 3) return 0;
    if (k->kh < 1 || k->kw < 1 || k->sh < 1 || k->sw < 1) return 0;
    if (k->pt < 0 || k->pb < 0 || k->pl < 0 || k->pr < 0) return 0;
    if (k->pt >= k->kh || k->pb >= k->kh || k->pl >= k->kw || k->pr >= k->kw) return 0;
    const fnn_int H = L->in_shape[1] + k->pt + k->pb, W = L->in_shape[2] + k->pl + k->pr;
    if (H < k->kh || W < k->kw) return 0;
    if (L->out_shape[1] != (H - k->kh) / k->sh + 1 || L->out_shape[2] != (W - k->kw) / k->sw + 1)
        return 0;
    const fnn_int F = L->out_shape[0];
    return L->n_w == F * fnn_conv_K(L) && L->n_b == F && k->act.activation >= 0 &&
           k->act.activation < FNN_ACT_COUNT;
}

/* the unrolled columns, when they are few */
static fnn_int fnn_conv_saved(const fnn_layer *L)
{
    const fnn_int n = fnn_conv_K(L) * fnn_conv_P(L);
    return n <= FNN_CONV_SAVE_MAX ? n : 0;
}

/* samples unrolled together */
static inline fnn_int fnn_conv_group(const fnn_layer *L, fnn_int batch)
{
    const fnn_int P = fnn_conv_P(L);
    const fnn_int g = (FNN_CONV_MIN_COLS + P - 1) / P;
    return fnn_max_i(1, fnn_min_i(g, batch));
}

/* One thread's slot, in doubles (sized as if reals were doubles, so one size
 * serves both dtypes): col (K x G P) and tmp (F x G P) reals, in training
 * also the partial dW (F x K) reals and db (F) doubles. */
static inline fnn_int fnn_conv_reals(const fnn_layer *L, fnn_int batch, int training)
{
    const fnn_int K = fnn_conv_K(L), F = L->out_shape[0];
    const fnn_int GP = fnn_conv_group(L, batch) * fnn_conv_P(L);
    return K * GP + F * GP + (training ? F * K : 0);
}

static inline fnn_int fnn_conv_slot(const fnn_layer *L, fnn_int batch, int training)
{
    const fnn_int n = fnn_conv_reals(L, batch, training) + (training ? L->out_shape[0] : 0);
    return (n + 7) / 8 * 8; /* slots 64 bytes apart */
}

static fnn_int fnn_conv_scratch(const fnn_layer *L, fnn_int batch, int training, int nt)
{
    return (fnn_int)(nt < 1 ? 1 : nt) * fnn_conv_slot(L, batch, training);
}

static fnn_int fnn_conv_flops(const fnn_layer *L)
{
    return 3 * fnn_conv_K(L) * L->out_shape[0] * fnn_conv_P(L);
}

/* the output columns [lo, hi) whose input column ox * s + j - p is inside [0, W) */
static inline void fnn_conv_valid(fnn_int W, fnn_int OW, fnn_int s, fnn_int off, fnn_int *lo,
                                  fnn_int *hi)
{
    /* off = j - p: input column = ox * s + off */
    fnn_int a = off >= 0 ? 0 : (-off + s - 1) / s;
    fnn_int b = W - off <= 0 ? 0 : (W - off - 1) / s + 1;
    *lo = fnn_min_i(a, OW);
    *hi = fnn_max_i(*lo, fnn_min_i(b, OW));
}
#endif

#include "fnn_real.h"

/* Thread t's slot of the scratch (see fnn_conv_slot): its col, tmp and, in
 * training, partial dW (reals) and db (doubles). */
typedef struct {
    real_t *col, *tmp, *pdw;
    double *pdb;
} FNN_SFX(fnn_conv_slot_parts);

static inline FNN_SFX(fnn_conv_slot_parts) FNN_SFX(fnn_conv_slot_of)(
    const fnn_layer *L, double *scratch, fnn_int m, int training, int t)
{
    const fnn_int GP = fnn_conv_group(L, m) * fnn_conv_P(L);
    double *base = scratch + (fnn_int)t * fnn_conv_slot(L, m, training);
    FNN_SFX(fnn_conv_slot_parts) s;
    s.col = (real_t *)base;
    s.tmp = s.col + fnn_conv_K(L) * GP;
    s.pdw = s.tmp + L->out_shape[0] * GP;
    s.pdb = base + fnn_conv_reals(L, m, training);
    return s;
}

/* col (K x ld) columns [gi P, (gi + 1) P) <- sample x unrolled, for g samples */
static FNN_ALWAYS_INLINE void FNN_SIMD_BODY(FNN_SFX(fnn_conv_im2col))(
    const fnn_layer *L, const real_t *restrict x, fnn_int g, fnn_int ld, real_t *restrict col)
{
    const fnn_conv_cfg *k = &L->cfg.conv;
    const fnn_int C = L->in_shape[0], H = L->in_shape[1], W = L->in_shape[2];
    const fnn_int OH = L->out_shape[1], OW = L->out_shape[2], P = OH * OW;
    for (fnn_int gi = 0; gi < g; ++gi) {
        const real_t *xs = x + gi * L->in_size;
        for (fnn_int c = 0; c < C; ++c)
            for (fnn_int i = 0; i < k->kh; ++i)
                for (fnn_int j = 0; j < k->kw; ++j) {
                    real_t *dst = col + ((c * k->kh + i) * k->kw + j) * ld + gi * P;
                    fnn_int lo, hi;
                    fnn_conv_valid(W, OW, k->sw, j - k->pl, &lo, &hi);
                    for (fnn_int oy = 0; oy < OH; ++oy) {
                        real_t *row = dst + oy * OW;
                        const fnn_int iy = oy * k->sh + i - k->pt;
                        if (iy < 0 || iy >= H) {
                            memset(row, 0, sizeof(real_t) * (size_t)OW);
                            continue;
                        }
                        const real_t *src = xs + (c * H + iy) * W + j - k->pl;
                        for (fnn_int ox = 0; ox < lo; ++ox) row[ox] = 0;
                        if (k->sw == 1) /* short rows: a loop, not a memcpy call */
                            for (fnn_int ox = lo; ox < hi; ++ox) row[ox] = src[ox];
                        else
                            for (fnn_int ox = lo; ox < hi; ++ox) row[ox] = src[ox * k->sw];
                        for (fnn_int ox = hi; ox < OW; ++ox) row[ox] = 0;
                    }
                }
    }
}
FNN_SIMD_DISPATCH(void, FNN_SFX(fnn_conv_im2col),
                  (const fnn_layer *L, const real_t *restrict x, fnn_int g, fnn_int ld,
                   real_t *restrict col),
                  (L, x, g, ld, col))

/* din (g samples, zeroed here) <- col2im of dcol (K x ld), adding overlaps */
static FNN_ALWAYS_INLINE void FNN_SIMD_BODY(FNN_SFX(fnn_conv_col2im))(
    const fnn_layer *L, const real_t *restrict dcol, fnn_int g, fnn_int ld, real_t *restrict din)
{
    const fnn_conv_cfg *k = &L->cfg.conv;
    const fnn_int C = L->in_shape[0], H = L->in_shape[1], W = L->in_shape[2];
    const fnn_int OH = L->out_shape[1], OW = L->out_shape[2], P = OH * OW;
    memset(din, 0, sizeof(real_t) * (size_t)(g * L->in_size));
    for (fnn_int gi = 0; gi < g; ++gi) {
        real_t *xs = din + gi * L->in_size;
        for (fnn_int c = 0; c < C; ++c)
            for (fnn_int i = 0; i < k->kh; ++i)
                for (fnn_int j = 0; j < k->kw; ++j) {
                    const real_t *src = dcol + ((c * k->kh + i) * k->kw + j) * ld + gi * P;
                    fnn_int lo, hi;
                    fnn_conv_valid(W, OW, k->sw, j - k->pl, &lo, &hi);
                    for (fnn_int oy = 0; oy < OH; ++oy) {
                        const fnn_int iy = oy * k->sh + i - k->pt;
                        if (iy < 0 || iy >= H) continue;
                        real_t *dst = xs + (c * H + iy) * W + j - k->pl;
                        const real_t *row = src + oy * OW;
                        if (k->sw == 1) {
                            #pragma omp simd
                            for (fnn_int ox = lo; ox < hi; ++ox) dst[ox] += row[ox];
                        } else {
                            for (fnn_int ox = lo; ox < hi; ++ox) dst[ox * k->sw] += row[ox];
                        }
                    }
                }
    }
}
FNN_SIMD_DISPATCH(void, FNN_SFX(fnn_conv_col2im),
                  (const fnn_layer *L, const real_t *restrict dcol, fnn_int g, fnn_int ld,
                   real_t *restrict din),
                  (L, dcol, g, ld, din))

/* acc[f] += the sum of row f of the F x n matrix d (leading dimension ld) */
static FNN_ALWAYS_INLINE void FNN_SIMD_BODY(FNN_SFX(fnn_conv_row_sums))(
    const real_t *restrict d, fnn_int F, fnn_int n, fnn_int ld, double *restrict acc)
{
    for (fnn_int f = 0; f < F; ++f) {
        const real_t *row = d + f * ld;
        double a = 0.0;
        #pragma omp simd reduction(+:a)
        for (fnn_int p = 0; p < n; ++p) a += (double)row[p];
        acc[f] += a;
    }
}
FNN_SIMD_DISPATCH(void, FNN_SFX(fnn_conv_row_sums),
                  (const real_t *restrict d, fnn_int F, fnn_int n, fnn_int ld,
                   double *restrict acc),
                  (d, F, n, ld, acc))

static void FNN_SFX(fnn_conv_forward)(const fnn_layer *L, const FNN_SFX(fnn_call) *c)
{
    const fnn_conv_cfg *k = &L->cfg.conv;
    const fnn_int F = L->out_shape[0], K = fnn_conv_K(L), P = fnn_conv_P(L);
    const fnn_int G = fnn_conv_group(L, c->m);
    const real_t *Wt = c->params + L->w_off, *b = c->params + L->b_off;
    const FNN_SFX(fnn_conv_slot_parts) mine =
        FNN_SFX(fnn_conv_slot_of)(L, c->scratch, c->m, c->training, c->tid);
    real_t *col = mine.col, *tmp = mine.tmp;
    fnn_int s0, s1;
    fnn_span(c->m, 1, c->tid, c->nt, &s0, &s1);
    for (fnn_int s = s0; s < s1; s += G) {
        const fnn_int g = fnn_min_i(G, s1 - s), ld = g * P;
        if (c->saved) col = c->saved + s * K * P;
        FNN_SFX(fnn_conv_im2col)(L, c->in + s * L->in_size, g, ld, col);
        if (g == 1) {
            /* straight into the output, the bias first (GEMM with beta = 1) */
            real_t *o = c->out + s * L->out_size;
            for (fnn_int f = 0; f < F; ++f)
                for (fnn_int p = 0; p < P; ++p) o[f * P + p] = b[f];
            FNN_SFX(fnn_gemm_rm)(c->blas, 0, 0, F, P, K, (real_t)1, Wt, K, col, P, (real_t)1,
                                 o, P);
        } else {
            FNN_SFX(fnn_gemm_rm)(c->blas, 0, 0, F, ld, K, (real_t)1, Wt, K, col, ld, (real_t)0,
                                 tmp, ld);
            for (fnn_int gi = 0; gi < g; ++gi) {
                real_t *o = c->out + (s + gi) * L->out_size;
                for (fnn_int f = 0; f < F; ++f) {
                    const real_t *src = tmp + f * ld + gi * P;
                    const real_t bf = b[f];
                    #pragma omp simd
                    for (fnn_int p = 0; p < P; ++p) o[f * P + p] = src[p] + bf;
                }
            }
        }
        if (k->act.activation != FNN_ACT_IDENTITY)
            FNN_SFX(fnn_act_forward)(k->act.activation, k->act.param,
                                     c->out + s * L->out_size, g * L->out_size);
    }
}

/* c->d is d loss / d out on entry and d loss / d (pre-activation) after.
 * Adds dW, db to grad (unless frozen; one barrier then) and writes
 * d loss / d in into din when it is not NULL. */
static void FNN_SFX(fnn_conv_backward)(const fnn_layer *L, const FNN_SFX(fnn_call) *c)
{
    const fnn_conv_cfg *k = &L->cfg.conv;
    const fnn_int F = L->out_shape[0], K = fnn_conv_K(L), P = fnn_conv_P(L);
    const fnn_int G = fnn_conv_group(L, c->m);
    const real_t *Wt = c->params + L->w_off;
    const FNN_SFX(fnn_conv_slot_parts) mine =
        FNN_SFX(fnn_conv_slot_of)(L, c->scratch, c->m, 1, c->tid);
    real_t *col = mine.col, *tmp = mine.tmp, *pdw = mine.pdw;
    double *pdb = mine.pdb;
    const int grads = !L->frozen;
    if (grads) {
        memset(pdw, 0, sizeof(real_t) * (size_t)(F * K));
        for (fnn_int f = 0; f < F; ++f) pdb[f] = 0.0;
    }
    fnn_int s0, s1;
    fnn_span(c->m, 1, c->tid, c->nt, &s0, &s1);
    for (fnn_int s = s0; s < s1; s += G) {
        const fnn_int g = fnn_min_i(G, s1 - s), ld = g * P;
        real_t *d = c->d + s * L->out_size;
        if (k->act.activation != FNN_ACT_IDENTITY)
            FNN_SFX(fnn_act_backward)(k->act.activation, k->act.param,
                                      c->out + s * L->out_size, d, g * L->out_size);
        /* dout of the group as F x (g P) */
        const real_t *dg = d;
        if (g > 1) {
            for (fnn_int gi = 0; gi < g; ++gi)
                for (fnn_int f = 0; f < F; ++f)
                    memcpy(tmp + f * ld + gi * P, d + gi * L->out_size + f * P,
                           sizeof(real_t) * (size_t)P);
            dg = tmp;
        }
        if (grads) {
            FNN_SFX(fnn_conv_row_sums)(dg, F, ld, ld, pdb);
            const real_t *cols = col;
            if (c->saved)
                cols = c->saved + s * K * P; /* forward's */
            else
                FNN_SFX(fnn_conv_im2col)(L, c->in + s * L->in_size, g, ld, col);
            FNN_SFX(fnn_gemm_rm)(c->blas, 0, 1, F, K, ld, (real_t)1, dg, ld, cols, ld, (real_t)1,
                                 pdw, K);
        }
        if (c->din) {
            FNN_SFX(fnn_gemm_rm)(c->blas, 1, 0, K, ld, F, (real_t)1, Wt, K, dg, ld, (real_t)0,
                                 col, ld);
            FNN_SFX(fnn_conv_col2im)(L, col, g, ld, c->din + s * L->in_size);
        }
    }
    if (!grads) return;
    FNN_BARRIER(); /* every thread's partial sums are in */
    real_t *gW = c->grad + L->w_off, *gb = c->grad + L->b_off;
    fnn_int e0, e1;
    fnn_span(F * K, 16, c->tid, c->nt, &e0, &e1);
    for (int t = 0; t < c->nt; ++t) {
        const real_t *part = FNN_SFX(fnn_conv_slot_of)(L, c->scratch, c->m, 1, t).pdw;
        for (fnn_int e = e0; e < e1; ++e) gW[e] += part[e];
    }
    fnn_span(F, 1, c->tid, c->nt, &e0, &e1);
    for (fnn_int f = e0; f < e1; ++f) {
        double acc = 0.0;
        for (int t = 0; t < c->nt; ++t)
            acc += FNN_SFX(fnn_conv_slot_of)(L, c->scratch, c->m, 1, t).pdb[f];
        gb[f] += (real_t)acc;
    }
}

#include "fnn_real_end.h"
