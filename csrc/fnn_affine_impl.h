/* Random affine resampling of (C, H, W) images in training (RandomFlip,
 * RandomTranslation, RandomRotation, RandomZoom): each sample draws its own
 * map from a counter-based hash of (seed, sample), so the draws do not
 * depend on the thread count. The map takes an output pixel (x, y) to the
 * input point
 *     flip:      x1 = W - 1 - x (horizontal), y1 = H - 1 - y (vertical)
 *     shift:     x2 = x1 - tx W, y2 = y1 - ty H (the content moves by +t)
 *     rotate, zoom about the centre (cx, cy) = ((W - 1) / 2, (H - 1) / 2):
 *                x = cx + zx (cos a (x2 - cx) - sin a (y2 - cy)),
 *                y = cy + zy (sin a (x2 - cx) + cos a (y2 - cy)),
 * a counter-clockwise turn of the content by a; zoom z > 1 shows more of the
 * image (zooms out). The value there is read bilinearly or from the nearest
 * pixel; neighbours beyond the edge come from the fill mode (reflect: d c b a
 * | a b c d | d c b a; wrap; nearest; constant: fill_value). The identity at
 * predict. The map (6 reals) is saved per sample; backward scatters d loss /
 * d out back through the same weights. Team-parallel over samples. */
#ifndef FNN_AFFINE_INFO
#define FNN_AFFINE_INFO
static int fnn_affine_check(const fnn_layer *L)
{
    const fnn_affine_cfg *k = &L->cfg.affine;
    if (L->in_ndim != 3 || L->out_ndim != 3 || L->n_w || L->n_b || L->n_s) return 0;
    for (int i = 0; i < 3; ++i)
        if (L->in_shape[i] != L->out_shape[i]) return 0;
    if (k->fill < FNN_FILL_REFLECT || k->fill > FNN_FILL_WRAP) return 0;
    const double *r[5] = {k->tx, k->ty, k->turn, k->zy, k->zx};
    for (int i = 0; i < 5; ++i)
        if (!(r[i][0] <= r[i][1]) || !isfinite(r[i][0]) || !isfinite(r[i][1])) return 0;
    return k->zy[0] >= -1.0 && k->zx[0] >= -1.0 && isfinite(k->fill_value);
}

static fnn_int fnn_affine_saved(const fnn_layer *L) { (void)L; return 6; }
static fnn_int fnn_affine_flops(const fnn_layer *L) { return 16 * L->out_size; }

/* draw k of sample i: a uniform in [0, 1) */
static inline double fnn_affine_unit(uint64_t seed, fnn_int i, int k)
{
    return fnn_hash_unit(fnn_hash64(fnn_hash64(seed, (uint64_t)i), (uint64_t)k));
}

static inline double fnn_affine_draw(uint64_t seed, fnn_int i, int k, const double r[2])
{
    return r[0] == r[1] ? r[0] : r[0] + (r[1] - r[0]) * fnn_affine_unit(seed, i, k);
}

/* sample i's map: input x = A[0] x + A[1] y + A[2], y = A[3] x + A[4] y + A[5] */
static void fnn_affine_map(const fnn_layer *L, uint64_t seed, fnn_int i, double A[6])
{
    const fnn_affine_cfg *k = &L->cfg.affine;
    const double H = (double)L->in_shape[1], W = (double)L->in_shape[2];
    const double cx = 0.5 * (W - 1.0), cy = 0.5 * (H - 1.0);
    const double tx = fnn_affine_draw(seed, i, 0, k->tx) * W;
    const double ty = fnn_affine_draw(seed, i, 1, k->ty) * H;
    const double a = fnn_affine_draw(seed, i, 2, k->turn) * 6.283185307179586;
    const double zy = 1.0 + fnn_affine_draw(seed, i, 3, k->zy);
    const double zx = k->zoom_same ? zy : 1.0 + fnn_affine_draw(seed, i, 4, k->zx);
    const int fh = k->flip_h && fnn_affine_unit(seed, i, 5) < 0.5;
    const int fv = k->flip_v && fnn_affine_unit(seed, i, 6) < 0.5;
    const double sx = fh ? -1.0 : 1.0, sy = fv ? -1.0 : 1.0;
    const double ex = (fh ? W - 1.0 : 0.0) - tx - cx, ey = (fv ? H - 1.0 : 0.0) - ty - cy;
    const double ca = a == 0.0 ? 1.0 : cos(a), sa = a == 0.0 ? 0.0 : sin(a);
    A[0] = zx * ca * sx;
    A[1] = -zx * sa * sy;
    A[2] = cx + zx * (ca * ex - sa * ey);
    A[3] = zy * sa * sx;
    A[4] = zy * ca * sy;
    A[5] = cy + zy * (sa * ex + ca * ey);
}

/* index i of an axis of n pixels under the fill mode; -1: the constant */
static inline fnn_int fnn_affine_index(fnn_int i, fnn_int n, int fill)
{
    if (i >= 0 && i < n) return i;
    switch (fill) {
    case FNN_FILL_NEAREST: return i < 0 ? 0 : n - 1;
    case FNN_FILL_WRAP: { fnn_int r = i % n; return r < 0 ? r + n : r; }
    case FNN_FILL_REFLECT: {
        const fnn_int p = 2 * n;
        fnn_int r = i % p;
        if (r < 0) r += p;
        return r < n ? r : p - 1 - r;
    }
    default: return -1;
    }
}

/* The (up to 4) input pixels of output pixel (x, y) and their weights. */
static inline int fnn_affine_taps(const fnn_layer *L, const double A[6], fnn_int x, fnn_int y,
                                  fnn_int idx[4], double w[4])
{
    const fnn_int H = L->in_shape[1], W = L->in_shape[2];
    const int fill = L->cfg.affine.fill;
    const double xi = A[0] * (double)x + A[1] * (double)y + A[2];
    const double yi = A[3] * (double)x + A[4] * (double)y + A[5];
    if (!L->cfg.affine.bilinear) {
        const fnn_int c = fnn_affine_index((fnn_int)floor(xi + 0.5), W, fill);
        const fnn_int r = fnn_affine_index((fnn_int)floor(yi + 0.5), H, fill);
        idx[0] = (c < 0 || r < 0) ? -1 : r * W + c;
        w[0] = 1.0;
        return 1;
    }
    const double fx0 = floor(xi), fy0 = floor(yi);
    const double u = xi - fx0, v = yi - fy0;
    const fnn_int x0 = (fnn_int)fx0, y0 = (fnn_int)fy0;
    const fnn_int c0 = fnn_affine_index(x0, W, fill), c1 = fnn_affine_index(x0 + 1, W, fill);
    const fnn_int r0 = fnn_affine_index(y0, H, fill), r1 = fnn_affine_index(y0 + 1, H, fill);
    idx[0] = (c0 < 0 || r0 < 0) ? -1 : r0 * W + c0;
    idx[1] = (c1 < 0 || r0 < 0) ? -1 : r0 * W + c1;
    idx[2] = (c0 < 0 || r1 < 0) ? -1 : r1 * W + c0;
    idx[3] = (c1 < 0 || r1 < 0) ? -1 : r1 * W + c1;
    w[0] = (1.0 - u) * (1.0 - v);
    w[1] = u * (1.0 - v);
    w[2] = (1.0 - u) * v;
    w[3] = u * v;
    return 4;
}
#endif

#include "fnn_real.h"

static void FNN_SFX(fnn_affine_forward)(const fnn_layer *L, const FNN_SFX(fnn_call) *c)
{
    const fnn_int C = L->in_shape[0], H = L->in_shape[1], W = L->in_shape[2], HW = H * W;
    const double fv = L->cfg.affine.fill_value;
    fnn_int s0, s1;
    fnn_span(c->m, 1, c->tid, c->nt, &s0, &s1);
    if (!c->training) {
        if (s0 < s1)
            memcpy(c->out + s0 * L->in_size, c->in + s0 * L->in_size,
                   sizeof(real_t) * (size_t)((s1 - s0) * L->in_size));
        return;
    }
    for (fnn_int s = s0; s < s1; ++s) {
        double A[6];
        fnn_affine_map(L, c->seed, s, A);
        /* the map backward reads (in the layer's dtype): both use the same */
        for (int q = 0; q < 6; ++q) {
            c->saved[s * 6 + q] = (real_t)A[q];
            A[q] = (double)c->saved[s * 6 + q];
        }
        const real_t *x = c->in + s * L->in_size;
        real_t *o = c->out + s * L->out_size;
        for (fnn_int y = 0; y < H; ++y)
            for (fnn_int xo = 0; xo < W; ++xo) {
                fnn_int idx[4];
                double w[4];
                const int n = fnn_affine_taps(L, A, xo, y, idx, w);
                for (fnn_int ch = 0; ch < C; ++ch) {
                    double acc = 0.0;
                    for (int t = 0; t < n; ++t)
                        acc += w[t] * (idx[t] < 0 ? fv : (double)x[ch * HW + idx[t]]);
                    o[ch * HW + y * W + xo] = (real_t)acc;
                }
            }
    }
}

/* din = the transpose of the resampling applied to d (constant fill
 * contributes nothing that depends on the input). */
static void FNN_SFX(fnn_affine_backward)(const fnn_layer *L, const FNN_SFX(fnn_call) *c)
{
    if (!c->din) return;
    const fnn_int C = L->in_shape[0], H = L->in_shape[1], W = L->in_shape[2], HW = H * W;
    fnn_int s0, s1;
    fnn_span(c->m, 1, c->tid, c->nt, &s0, &s1);
    for (fnn_int s = s0; s < s1; ++s) {
        double A[6];
        for (int q = 0; q < 6; ++q) A[q] = (double)c->saved[s * 6 + q];
        const real_t *d = c->d + s * L->out_size;
        real_t *dx = c->din + s * L->in_size;
        memset(dx, 0, sizeof(real_t) * (size_t)L->in_size);
        for (fnn_int y = 0; y < H; ++y)
            for (fnn_int xo = 0; xo < W; ++xo) {
                fnn_int idx[4];
                double w[4];
                const int n = fnn_affine_taps(L, A, xo, y, idx, w);
                for (fnn_int ch = 0; ch < C; ++ch) {
                    const double g = (double)d[ch * HW + y * W + xo];
                    for (int t = 0; t < n; ++t)
                        if (idx[t] >= 0) dx[ch * HW + idx[t]] += (real_t)(w[t] * g);
                }
            }
    }
}

#include "fnn_real_end.h"
