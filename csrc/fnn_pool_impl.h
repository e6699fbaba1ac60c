/* 2-D pooling over NCHW samples: in (C, H, W) -> out (C, OH, OW), windows
 * kh x kw every sh rows and sw columns, no padding, OH = (H - kh) / sh + 1
 * (PyTorch's floor rule). Max pooling keeps the first largest value of each
 * window (a NaN wins, the last one, as in PyTorch) and, in training, its
 * position in the
 * plane (saved_int) for backward; average pooling divides by kh kw. One body
 * for both dtypes. Team-parallel over (sample, channel) planes. Backward is
 * not in place (din has the input's size). */
#ifndef FNN_POOL_INFO
#define FNN_POOL_INFO
static int fnn_pool_check(const fnn_layer *L)
{
    const fnn_pool_cfg *k = &L->cfg.pool;
    if (L->in_ndim != 3 || L->out_ndim != 3 || L->n_w || L->n_b || L->n_s) return 0;
    if (k->mode != FNN_POOL_MAX && k->mode != FNN_POOL_AVG) return 0;
    if (k->kh < 1 || k->kw < 1 || k->sh < 1 || k->sw < 1) return 0;
    const fnn_int H = L->in_shape[1], W = L->in_shape[2];
    return H >= k->kh && W >= k->kw && L->out_shape[0] == L->in_shape[0] &&
           L->out_shape[1] == (H - k->kh) / k->sh + 1 && L->out_shape[2] == (W - k->kw) / k->sw + 1;
}

/* max pooling: each output's position in its input plane */
static fnn_int fnn_pool_saved_int(const fnn_layer *L)
{
    return L->cfg.pool.mode == FNN_POOL_MAX ? L->out_size : 0;
}

static fnn_int fnn_pool_flops(const fnn_layer *L)
{
    return 2 * L->cfg.pool.kh * L->cfg.pool.kw * L->out_size;
}
#endif

#include "fnn_real.h"

static void FNN_SFX(fnn_pool_forward)(const fnn_layer *L, const FNN_SFX(fnn_call) *c)
{
    const fnn_pool_cfg *k = &L->cfg.pool;
    const fnn_int C = L->in_shape[0], H = L->in_shape[1], W = L->in_shape[2];
    const fnn_int OH = L->out_shape[1], OW = L->out_shape[2];
    const real_t inv = (real_t)(1.0 / (double)(k->kh * k->kw));
    fnn_int q0, q1;
    fnn_span(c->m * C, 1, c->tid, c->nt, &q0, &q1);
    for (fnn_int q = q0; q < q1; ++q) { /* plane q: sample q / C, channel q % C */
        const real_t *x = c->in + q * H * W;
        real_t *o = c->out + q * OH * OW;
        int32_t *arg = c->saved_int ? c->saved_int + q * OH * OW : NULL;
        if (k->mode == FNN_POOL_MAX && k->kh == 2 && k->kw == 2 && k->sh == 2 && k->sw == 2) {
            /* the common 2x2 / 2 case, unrolled (the same choices as below) */
            for (fnn_int oy = 0; oy < OH; ++oy) {
                const real_t *r0 = x + 2 * oy * W, *r1 = r0 + W;
                real_t *orow = o + oy * OW;
                int32_t *arow = arg ? arg + oy * OW : NULL;
                /* selects, not branches: which input wins is data, unpredictable */
                for (fnn_int ox = 0; ox < OW; ++ox) {
                    const fnn_int a = 2 * ox;
                    int32_t best = (int32_t)a;
                    real_t v = r0[a], t;
                    int take;
                    t = r0[a + 1]; take = (t > v) | (t != t);
                    v = take ? t : v; best = take ? (int32_t)(a + 1) : best;
                    t = r1[a]; take = (t > v) | (t != t);
                    v = take ? t : v; best = take ? (int32_t)(W + a) : best;
                    t = r1[a + 1]; take = (t > v) | (t != t);
                    v = take ? t : v; best = take ? (int32_t)(W + a + 1) : best;
                    orow[ox] = v;
                    if (arow) arow[ox] = (int32_t)(2 * oy * W) + best;
                }
            }
            continue;
        }
        for (fnn_int oy = 0; oy < OH; ++oy)
            for (fnn_int ox = 0; ox < OW; ++ox) {
                const fnn_int y0 = oy * k->sh, x0 = ox * k->sw;
                if (k->mode == FNN_POOL_MAX) {
                    fnn_int best = y0 * W + x0;
                    real_t v = x[best];
                    for (fnn_int i = 0; i < k->kh; ++i)
                        for (fnn_int j = 0; j < k->kw; ++j) {
                            const fnn_int at = (y0 + i) * W + x0 + j;
                            if (x[at] > v || x[at] != x[at]) { v = x[at]; best = at; }
                        }
                    o[oy * OW + ox] = v;
                    if (arg) arg[oy * OW + ox] = (int32_t)best;
                } else {
                    real_t sum = 0;
                    for (fnn_int i = 0; i < k->kh; ++i)
                        for (fnn_int j = 0; j < k->kw; ++j) sum += x[(y0 + i) * W + x0 + j];
                    o[oy * OW + ox] = sum * inv;
                }
            }
    }
}

static void FNN_SFX(fnn_pool_backward)(const fnn_layer *L, const FNN_SFX(fnn_call) *c)
{
    const fnn_pool_cfg *k = &L->cfg.pool;
    if (!c->din) return;
    const fnn_int C = L->in_shape[0], H = L->in_shape[1], W = L->in_shape[2];
    const fnn_int OH = L->out_shape[1], OW = L->out_shape[2];
    const real_t inv = (real_t)(1.0 / (double)(k->kh * k->kw));
    fnn_int q0, q1;
    fnn_span(c->m * C, 1, c->tid, c->nt, &q0, &q1);
    for (fnn_int q = q0; q < q1; ++q) {
        real_t *dx = c->din + q * H * W;
        const real_t *d = c->d + q * OH * OW;
        memset(dx, 0, sizeof(real_t) * (size_t)(H * W));
        if (k->mode == FNN_POOL_MAX) {
            const int32_t *arg = c->saved_int + q * OH * OW;
            for (fnn_int p = 0; p < OH * OW; ++p) dx[arg[p]] += d[p];
        } else {
            for (fnn_int oy = 0; oy < OH; ++oy)
                for (fnn_int ox = 0; ox < OW; ++ox) {
                    const real_t g = d[oy * OW + ox] * inv;
                    const fnn_int y0 = oy * k->sh, x0 = ox * k->sw;
                    for (fnn_int i = 0; i < k->kh; ++i)
                        for (fnn_int j = 0; j < k->kw; ++j) dx[(y0 + i) * W + x0 + j] += g;
                }
        }
    }
}

#include "fnn_real_end.h"
