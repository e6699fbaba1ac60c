/* Recurrent layer over (T, F) samples, PyTorch's cells, layouts and gate
 * orders (G gates of H units each):
 *   SimpleRNN (G = 1)  h' = act(W_ih x + b_ih + W_hh h + b_hh), act tanh or relu
 *   LSTM (G = 4: i, f, g, o)
 *       i, f, o = sigmoid(.), g = tanh(.) of W_ih x + b_ih + W_hh h + b_hh
 *       c' = f c + i g, h' = o tanh(c')
 *   GRU (G = 3: r, z, n)
 *       r, z = sigmoid(W_i. x + b_i. + W_h. h + b_h.)
 *       n = tanh(W_in x + b_in + r (W_hn h + b_hn)), h' = (1 - z) n + z h
 * from h = c = 0. Parameters: W = [weight_ih (G H x F) | weight_hh (G H x H)]
 * (decayed), b = [bias_ih (G H) | bias_hh (G H)]. Output: every step's h
 * (T, H) with return_sequences, else the last one (H).
 *
 * Team-parallel by samples: each thread runs the whole recurrence of its own
 * samples (no barrier per step): the input projection of all its steps as
 * one GEMM (biases first, beta = 1), then per step one GEMM with W_hh and the
 * fused gates. Training keeps, for the batch of m samples, region by region:
 *   Z  (m T x S)  the activated gates per (sample, step) row, S = G H (GRU:
 *                 4 H, the fourth block W_hn h + b_hn), overwritten in
 *                 backward by the gradients of the pre-activations
 *   Hp (m T x H)  h before each step (zero before step 0)
 *   C  (m T x H)  LSTM's c after each step
 * Backward runs BPTT per thread over its samples (carried dh, dc in its
 * scratch slot; dh_{t-1} = dG_t W_hh by GEMM), writes its samples' d loss /
 * d in = dG W_ih as one GEMM, then after one barrier the weight gradients as
 * GEMMs over all m T rows, the threads splitting the G H gate rows:
 *   dW_ih += dG^T X, dW_hh += dGh^T Hp, db_ih, db_hh += column sums
 * (dGh, the gradient at W_hh h + b_hh, is dG except GRU's n block:
 * dn_pre * r, kept in the fourth block). Predict runs the same code on
 * chunks of a thread's samples, Z, Hp, C in its scratch slot. */
#ifndef FNN_RNN_INFO
#define FNN_RNN_INFO

/* reals per predict chunk of a thread's samples: at least one sample */
#define FNN_RNN_PREDICT_REALS ((fnn_int)1 << 21)

static inline fnn_int fnn_rnn_gates(const fnn_layer *L)
{
    switch (L->cfg.rnn.cell) {
    case FNN_CELL_LSTM: return 4;
    case FNN_CELL_GRU: return 3;
    default: return 1;
    }
}

/* columns of a Z row */
static inline fnn_int fnn_rnn_S(const fnn_layer *L)
{
    return (fnn_rnn_gates(L) + (L->cfg.rnn.cell == FNN_CELL_GRU)) * L->cfg.rnn.units;
}

/* reals kept per sample: Z, Hp and (LSTM) C rows of its T steps */
static fnn_int fnn_rnn_per_sample(const fnn_layer *L)
{
    const fnn_int H = L->cfg.rnn.units;
    return L->in_shape[0] * (fnn_rnn_S(L) + H + (L->cfg.rnn.cell == FNN_CELL_LSTM ? H : 0));
}

static int fnn_rnn_check(const fnn_layer *L)
{
    const fnn_rnn_cfg *k = &L->cfg.rnn;
    if (L->in_ndim != 2 || k->cell < 0 || k->cell >= FNN_CELL_COUNT || k->units < 1) return 0;
    const fnn_int T = L->in_shape[0], F = L->in_shape[1], H = k->units;
    const fnn_int GH = fnn_rnn_gates(L) * H;
    if (k->sequences ? (L->out_ndim != 2 || L->out_shape[0] != T || L->out_shape[1] != H)
                     : (L->out_ndim != 1 || L->out_shape[0] != H))
        return 0;
    return L->n_w == GH * (F + H) && L->n_b == 2 * GH && L->n_s == 0;
}

static fnn_int fnn_rnn_saved(const fnn_layer *L) { return fnn_rnn_per_sample(L); }

/* samples of a thread's predict chunk */
static inline fnn_int fnn_rnn_chunk(const fnn_layer *L, fnn_int rows)
{
    return fnn_max_i(1, fnn_min_i(rows, FNN_RNN_PREDICT_REALS / fnn_rnn_per_sample(L)));
}

/* One thread's slot, in reals: dh, dc (R x H each) and GRU's W_hh h (R x 3 H),
 * plus in predict the chunk's Z, Hp, C; then G H doubles of column sums.
 * R = the most samples a thread gets. */
static inline fnn_int fnn_rnn_slot_reals(const fnn_layer *L, fnn_int R, int training)
{
    const fnn_int H = L->cfg.rnn.units;
    fnn_int n = R * (2 * H + (L->cfg.rnn.cell == FNN_CELL_GRU ? 3 * H : 0));
    if (!training) n += fnn_rnn_chunk(L, R) * fnn_rnn_per_sample(L);
    return n;
}

static inline fnn_int fnn_rnn_rows(fnn_int batch, int nt)
{
    nt = nt < 1 ? 1 : nt;
    return (batch + nt - 1) / nt;
}

/* doubles per slot (sized as if reals were doubles: one size for both dtypes) */
static inline fnn_int fnn_rnn_slot(const fnn_layer *L, fnn_int batch, int training, int nt)
{
    const fnn_int n = fnn_rnn_slot_reals(L, fnn_rnn_rows(batch, nt), training) +
                      fnn_rnn_gates(L) * L->cfg.rnn.units;
    return (n + 7) / 8 * 8;
}

static fnn_int fnn_rnn_scratch(const fnn_layer *L, fnn_int batch, int training, int nt)
{
    return (fnn_int)(nt < 1 ? 1 : nt) * fnn_rnn_slot(L, batch, training, nt);
}

static fnn_int fnn_rnn_flops(const fnn_layer *L)
{
    const fnn_int GH = fnn_rnn_gates(L) * L->cfg.rnn.units;
    return 3 * L->in_shape[0] * GH * (L->in_shape[1] + L->cfg.rnn.units);
}
#endif

#include "fnn_real.h"

#include "fnn_vmath_impl.h"

/* LSTM's gates and state for one row; `first` (step 0: no cp) is a
 * constant where this is inlined: two branch-free loops */
static FNN_ALWAYS_INLINE void FNN_SFX(fnn_rnn_lstm_step)(fnn_int H, int first,
                                                         real_t *restrict z,
                                                         const real_t *restrict cp,
                                                         real_t *restrict c, real_t *restrict h)
{
    #pragma omp simd
    for (fnn_int j = 0; j < H; ++j) {
        const real_t ig = FNN_SFX(fnn_vsigmoid)(z[j]);
        const real_t fg = FNN_SFX(fnn_vsigmoid)(z[H + j]);
        const real_t gg = FNN_SFX(fnn_vtanh)(z[2 * H + j]);
        const real_t og = FNN_SFX(fnn_vsigmoid)(z[3 * H + j]);
        const real_t cv = (first ? (real_t)0 : fg * cp[j]) + ig * gg;
        z[j] = ig; z[H + j] = fg; z[2 * H + j] = gg; z[3 * H + j] = og;
        c[j] = cv;
        h[j] = og * FNN_SFX(fnn_vtanh)(cv);
    }
}

/* GRU's gates and state for one row; step 0 (`first`) has no hp */
static FNN_ALWAYS_INLINE void FNN_SFX(fnn_rnn_gru_step)(fnn_int H, int first,
                                                        real_t *restrict z,
                                                        const real_t *restrict hw,
                                                        const real_t *restrict bhn,
                                                        const real_t *restrict hp,
                                                        real_t *restrict h)
{
    #pragma omp simd
    for (fnn_int j = 0; j < H; ++j) {
        const real_t r = FNN_SFX(fnn_vsigmoid)(z[j] + hw[j]);
        const real_t u = FNN_SFX(fnn_vsigmoid)(z[H + j] + hw[H + j]);
        const real_t hn = hw[2 * H + j] + bhn[j];
        const real_t nn = FNN_SFX(fnn_vtanh)(z[2 * H + j] + r * hn);
        z[j] = r; z[H + j] = u; z[2 * H + j] = nn; z[3 * H + j] = hn;
        h[j] = first ? nn - u * nn : nn + u * (hp[j] - nn);
    }
}

/* one step's gates for n rows: z rows (ldz apart) hold the pre-activations
 * (LSTM, SimpleRNN: both projections added; GRU: the input one, hw rows the
 * W_hh h + b_hh of all three gates); cp, hp the previous c, h rows (NULL at
 * step 0), c rows (LSTM) all lds apart. Writes the activated gates over z
 * (GRU: its fourth block the W_hn h + b_hn), c, and h rows (ldh apart; hq,
 * when not NULL, a second copy, ldq apart). */
static FNN_ALWAYS_INLINE void FNN_SIMD_BODY(FNN_SFX(fnn_rnn_cell_forward))(
    int cell, fnn_int n, fnn_int H, real_t *restrict z, fnn_int ldz,
    const real_t *restrict hw, const real_t *restrict bhn, const real_t *restrict cp,
    const real_t *restrict hp, real_t *restrict c, fnn_int lds, real_t *restrict h,
    fnn_int ldh, real_t *restrict hq, fnn_int ldq)
{
    for (fnn_int i = 0; i < n; ++i) {
        real_t *zi = z + i * ldz, *hi = h + i * ldh;
        const fnn_int o = i * lds;
        if (cell == FNN_CELL_LSTM) {
            if (cp)
                FNN_SFX(fnn_rnn_lstm_step)(H, 0, zi, cp + o, c + o, hi);
            else
                FNN_SFX(fnn_rnn_lstm_step)(H, 1, zi, NULL, c + o, hi);
        } else if (cell == FNN_CELL_GRU) {
            if (hp)
                FNN_SFX(fnn_rnn_gru_step)(H, 0, zi, hw + i * 3 * H, bhn, hp + o, hi);
            else
                FNN_SFX(fnn_rnn_gru_step)(H, 1, zi, hw + i * 3 * H, bhn, NULL, hi);
        } else if (cell == FNN_CELL_RNN_RELU) {
            #pragma omp simd
            for (fnn_int j = 0; j < H; ++j) hi[j] = zi[j] = zi[j] > 0 ? zi[j] : (real_t)0;
        } else {
            #pragma omp simd
            for (fnn_int j = 0; j < H; ++j) hi[j] = zi[j] = FNN_SFX(fnn_vtanh)(zi[j]);
        }
        if (hq) memcpy(hq + i * ldq, hi, sizeof(real_t) * (size_t)H);
    }
}
FNN_SIMD_DISPATCH(void, FNN_SFX(fnn_rnn_cell_forward),
                  (int cell, fnn_int n, fnn_int H, real_t *restrict z, fnn_int ldz,
                   const real_t *restrict hw, const real_t *restrict bhn,
                   const real_t *restrict cp, const real_t *restrict hp, real_t *restrict c,
                   fnn_int lds, real_t *restrict h, fnn_int ldh, real_t *restrict hq,
                   fnn_int ldq),
                  (cell, n, H, z, ldz, hw, bhn, cp, hp, c, lds, h, ldh, hq, ldq))

static FNN_ALWAYS_INLINE void FNN_SFX(fnn_rnn_lstm_back)(fnn_int H, int first,
                                                         real_t *restrict z,
                                                         const real_t *restrict c,
                                                         const real_t *restrict cp,
                                                         real_t *restrict dh,
                                                         real_t *restrict dc)
{
    #pragma omp simd
    for (fnn_int j = 0; j < H; ++j) {
        const real_t ig = z[j], fg = z[H + j], gg = z[2 * H + j], og = z[3 * H + j];
        const real_t tc = FNN_SFX(fnn_vtanh)(c[j]);
        const real_t d = dh[j];
        const real_t dct = dc[j] + d * og * ((real_t)1 - tc * tc);
        const real_t cpj = first ? (real_t)0 : cp[j];
        z[j] = dct * gg * ig * ((real_t)1 - ig);
        z[H + j] = dct * cpj * fg * ((real_t)1 - fg);
        z[2 * H + j] = dct * ig * ((real_t)1 - gg * gg);
        z[3 * H + j] = d * tc * og * ((real_t)1 - og);
        dc[j] = dct * fg;
        dh[j] = 0;
    }
}

static FNN_ALWAYS_INLINE void FNN_SFX(fnn_rnn_gru_back)(fnn_int H, int first,
                                                        real_t *restrict z,
                                                        const real_t *restrict hp,
                                                        real_t *restrict dh)
{
    #pragma omp simd
    for (fnn_int j = 0; j < H; ++j) {
        const real_t r = z[j], u = z[H + j], nn = z[2 * H + j], hn = z[3 * H + j];
        const real_t d = dh[j], hpj = first ? (real_t)0 : hp[j];
        const real_t dn = d * ((real_t)1 - u) * ((real_t)1 - nn * nn);
        z[j] = dn * hn * r * ((real_t)1 - r);
        z[H + j] = d * (hpj - nn) * u * ((real_t)1 - u);
        z[2 * H + j] = dn;
        z[3 * H + j] = dn * r;
        dh[j] = d * u;
    }
}

/* one step backward for n rows: dh (n x H) is d loss / d h of the step, dc
 * (LSTM, n x H) the carried d loss / d c; the activated gates in z become
 * the gradients at their pre-activations (GRU: the fourth block the gradient
 * at W_hn h + b_hn). dc becomes the carry to the step before; dh the part of
 * d loss / d h_prev that does not go through W_hh (GRU's z h, else 0). c, cp
 * (LSTM) and hp (GRU) rows ldh apart, cp and hp NULL at step 0. */
static FNN_ALWAYS_INLINE void FNN_SIMD_BODY(FNN_SFX(fnn_rnn_cell_backward))(
    int cell, fnn_int n, fnn_int H, real_t *restrict z, fnn_int ldz, const real_t *restrict c,
    const real_t *restrict cp, const real_t *restrict hp, fnn_int ldh, real_t *restrict dh,
    real_t *restrict dc)
{
    for (fnn_int i = 0; i < n; ++i) {
        real_t *zi = z + i * ldz, *dhi = dh + i * H;
        const fnn_int o = i * ldh;
        if (cell == FNN_CELL_LSTM) {
            if (cp)
                FNN_SFX(fnn_rnn_lstm_back)(H, 0, zi, c + o, cp + o, dhi, dc + i * H);
            else
                FNN_SFX(fnn_rnn_lstm_back)(H, 1, zi, c + o, NULL, dhi, dc + i * H);
        } else if (cell == FNN_CELL_GRU) {
            if (hp)
                FNN_SFX(fnn_rnn_gru_back)(H, 0, zi, hp + o, dhi);
            else
                FNN_SFX(fnn_rnn_gru_back)(H, 1, zi, NULL, dhi);
        } else if (cell == FNN_CELL_RNN_RELU) {
            #pragma omp simd
            for (fnn_int j = 0; j < H; ++j) {
                zi[j] = zi[j] > 0 ? dhi[j] : (real_t)0;
                dhi[j] = 0;
            }
        } else {
            #pragma omp simd
            for (fnn_int j = 0; j < H; ++j) {
                zi[j] = dhi[j] * ((real_t)1 - zi[j] * zi[j]);
                dhi[j] = 0;
            }
        }
    }
}
FNN_SIMD_DISPATCH(void, FNN_SFX(fnn_rnn_cell_backward),
                  (int cell, fnn_int n, fnn_int H, real_t *restrict z, fnn_int ldz,
                   const real_t *restrict c, const real_t *restrict cp,
                   const real_t *restrict hp, fnn_int ldh, real_t *restrict dh,
                   real_t *restrict dc),
                  (cell, n, H, z, ldz, c, cp, hp, ldh, dh, dc))

/* Z, Hp, C of n samples (region by region: T rows per sample in each) */
typedef struct {
    real_t *Z, *Hp, *C;
} FNN_SFX(fnn_rnn_regions);

static inline FNN_SFX(fnn_rnn_regions) FNN_SFX(fnn_rnn_regions_of)(const fnn_layer *L,
                                                                   real_t *base, fnn_int n)
{
    const fnn_int T = L->in_shape[0], H = L->cfg.rnn.units;
    FNN_SFX(fnn_rnn_regions) r;
    r.Z = base;
    r.Hp = r.Z + n * T * fnn_rnn_S(L);
    r.C = r.Hp + n * T * H;
    return r;
}

/* thread t's slot: dh, dc, hw reals, its predict chunk, the column sums */
typedef struct {
    real_t *dh, *dc, *hw, *chunk;
    double *sums;
} FNN_SFX(fnn_rnn_slot_parts);

static inline FNN_SFX(fnn_rnn_slot_parts) FNN_SFX(fnn_rnn_slot_of)(const fnn_layer *L,
                                                                   double *scratch, fnn_int m,
                                                                   int training, int t, int nt)
{
    const fnn_int H = L->cfg.rnn.units, R = fnn_rnn_rows(m, nt);
    double *base = scratch + (fnn_int)t * fnn_rnn_slot(L, m, training, nt);
    FNN_SFX(fnn_rnn_slot_parts) s;
    s.dh = (real_t *)base;
    s.dc = s.dh + R * H;
    s.hw = s.dc + R * H;
    s.chunk = s.hw + (L->cfg.rnn.cell == FNN_CELL_GRU ? R * 3 * H : 0);
    s.sums = base + fnn_rnn_slot_reals(L, R, training);
    return s;
}

/* samples [s, s + n) through all steps; their Z, Hp, C in g (n samples') */
static void FNN_SFX(fnn_rnn_run)(const fnn_layer *L, const FNN_SFX(fnn_call) *c, fnn_int s,
                                 fnn_int n, FNN_SFX(fnn_rnn_regions) g, real_t *hw)
{
    const fnn_rnn_cfg *k = &L->cfg.rnn;
    const int cell = k->cell;
    const fnn_int T = L->in_shape[0], F = L->in_shape[1], H = k->units;
    const fnn_int GH = fnn_rnn_gates(L) * H, S = fnn_rnn_S(L);
    const real_t *Wih = c->params + L->w_off, *Whh = Wih + GH * F;
    const real_t *bih = c->params + L->b_off, *bhh = bih + GH;
    /* every step's input projection in one GEMM over the biases */
    for (fnn_int r = 0; r < n * T; ++r) {
        real_t *zr = g.Z + r * S;
        for (fnn_int j = 0; j < GH; ++j)
            zr[j] = bih[j] + (cell == FNN_CELL_GRU && j >= 2 * H ? (real_t)0 : bhh[j]);
    }
    FNN_SFX(fnn_gemm_rm)(c->blas, 0, 1, n * T, GH, F, (real_t)1, c->in + s * T * F, F, Wih, F,
                         (real_t)1, g.Z, S);
    const fnn_int ldz = T * S, ldh = T * H;
    for (fnn_int t = 0; t < T; ++t) {
        real_t *z = g.Z + t * S, *hp = g.Hp + t * H;
        if (t == 0) {
            for (fnn_int i = 0; i < n; ++i) memset(hp + i * ldh, 0, sizeof(real_t) * (size_t)H);
            if (cell == FNN_CELL_GRU) {
                /* W_hh h = 0: hw holds b_hh for r, z (already in z): zeros */
                memset(hw, 0, sizeof(real_t) * (size_t)(n * 3 * H));
            }
        } else if (cell == FNN_CELL_GRU) {
            FNN_SFX(fnn_gemm_rm)(c->blas, 0, 1, n, 3 * H, H, (real_t)1, hp, ldh, Whh, H,
                                 (real_t)0, hw, 3 * H);
        } else {
            FNN_SFX(fnn_gemm_rm)(c->blas, 0, 1, n, GH, H, (real_t)1, hp, ldh, Whh, H, (real_t)1,
                                 z, ldz);
        }
        /* h goes to the next step's Hp row, and to the output when it is one */
        real_t *out_t = NULL;
        fnn_int ldo = 0;
        if (k->sequences) {
            out_t = c->out + s * T * H + t * H;
            ldo = T * H;
        } else if (t == T - 1) {
            out_t = c->out + s * H;
            ldo = H;
        }
        real_t *h = t + 1 < T ? g.Hp + (t + 1) * H : out_t;
        const fnn_int ld = t + 1 < T ? ldh : ldo;
        real_t *hq = t + 1 < T ? out_t : NULL;
        const int lstm = cell == FNN_CELL_LSTM;
        FNN_SFX(fnn_rnn_cell_forward)(cell, n, H, z, ldz, hw, bhh + 2 * H,
                                      lstm && t ? g.C + (t - 1) * H : NULL, t ? hp : NULL,
                                      lstm ? g.C + t * H : NULL, ldh, h, ld, hq, ldo);
    }
}

static void FNN_SFX(fnn_rnn_forward)(const fnn_layer *L, const FNN_SFX(fnn_call) *c)
{
    const fnn_int T = L->in_shape[0], H = L->cfg.rnn.units, S = fnn_rnn_S(L);
    fnn_int s0, s1;
    fnn_span(c->m, 1, c->tid, c->nt, &s0, &s1);
    if (s0 >= s1) return;
    const int training = c->saved != NULL;
    const FNN_SFX(fnn_rnn_slot_parts) mine =
        FNN_SFX(fnn_rnn_slot_of)(L, c->scratch, c->m, training, c->tid, c->nt);
    if (training) {
        /* this thread's rows of the batch's regions */
        FNN_SFX(fnn_rnn_regions) g = FNN_SFX(fnn_rnn_regions_of)(L, c->saved, c->m);
        g.Z += s0 * T * S;
        g.Hp += s0 * T * H;
        g.C += s0 * T * H;
        FNN_SFX(fnn_rnn_run)(L, c, s0, s1 - s0, g, mine.hw);
        return;
    }
    const fnn_int R = fnn_rnn_chunk(L, fnn_rnn_rows(c->m, c->nt));
    for (fnn_int s = s0; s < s1; s += R) {
        const fnn_int n = fnn_min_i(R, s1 - s);
        FNN_SFX(fnn_rnn_run)(L, c, s, n, FNN_SFX(fnn_rnn_regions_of)(L, mine.chunk, n), mine.hw);
    }
}

/* d loss / d out in c->d; adds the parameter gradients (unless frozen; one
 * barrier then) and writes d loss / d in into din when it is not NULL. */
static void FNN_SFX(fnn_rnn_backward)(const fnn_layer *L, const FNN_SFX(fnn_call) *c)
{
    const fnn_rnn_cfg *k = &L->cfg.rnn;
    const int cell = k->cell, lstm = cell == FNN_CELL_LSTM, gru = cell == FNN_CELL_GRU;
    const fnn_int T = L->in_shape[0], F = L->in_shape[1], H = k->units, m = c->m;
    const fnn_int GH = fnn_rnn_gates(L) * H, S = fnn_rnn_S(L);
    const real_t *Wih = c->params + L->w_off, *Whh = Wih + GH * F;
    const FNN_SFX(fnn_rnn_regions) all = FNN_SFX(fnn_rnn_regions_of)(L, c->saved, m);
    const FNN_SFX(fnn_rnn_slot_parts) mine =
        FNN_SFX(fnn_rnn_slot_of)(L, c->scratch, m, 1, c->tid, c->nt);
    fnn_int s0, s1;
    fnn_span(m, 1, c->tid, c->nt, &s0, &s1);
    if (s0 < s1) {
        const fnn_int n = s1 - s0, ldz = T * S, ldh = T * H;
        real_t *Z = all.Z + s0 * T * S, *dh = mine.dh, *dc = mine.dc;
        const real_t *Hp = all.Hp + s0 * T * H, *C = all.C + s0 * T * H;
        /* d loss / d h of the last step */
        for (fnn_int i = 0; i < n; ++i)
            memcpy(dh + i * H, c->d + (s0 + i) * (k->sequences ? T * H : H) +
                                   (k->sequences ? (T - 1) * H : 0),
                   sizeof(real_t) * (size_t)H);
        if (lstm) memset(dc, 0, sizeof(real_t) * (size_t)(n * H));
        for (fnn_int t = T - 1; t >= 0; --t) {
            real_t *z = Z + t * S;
            FNN_SFX(fnn_rnn_cell_backward)(cell, n, H, z, ldz, lstm ? C + t * H : NULL,
                                           lstm && t ? C + (t - 1) * H : NULL,
                                           gru && t ? Hp + t * H : NULL, ldh, dh, dc);
            if (t == 0) break;
            if (k->sequences)
                for (fnn_int i = 0; i < n; ++i) {
                    const real_t *di = c->d + ((s0 + i) * T + t - 1) * H;
                    real_t *hi = dh + i * H;
                    for (fnn_int j = 0; j < H; ++j) hi[j] += di[j];
                }
            /* the rest of d loss / d h_{t-1}: through W_hh */
            if (gru) {
                FNN_SFX(fnn_gemm_rm)(c->blas, 0, 0, n, H, 2 * H, (real_t)1, z, ldz, Whh, H,
                                     (real_t)1, dh, H);
                FNN_SFX(fnn_gemm_rm)(c->blas, 0, 0, n, H, H, (real_t)1, z + 3 * H, ldz,
                                     Whh + 2 * H * H, H, (real_t)1, dh, H);
            } else {
                FNN_SFX(fnn_gemm_rm)(c->blas, 0, 0, n, H, GH, (real_t)1, z, ldz, Whh, H,
                                     (real_t)1, dh, H);
            }
        }
        if (c->din)
            FNN_SFX(fnn_gemm_rm)(c->blas, 0, 0, n * T, F, GH, (real_t)1, Z, S, Wih, F, (real_t)0,
                                 c->din + s0 * T * F, F);
    }
    if (L->frozen) return;
    FNN_BARRIER(); /* every sample's gate gradients are in */
    fnn_int g0, g1;
    fnn_span(GH, 16, c->tid, c->nt, &g0, &g1);
    if (g0 >= g1) return;
    const fnn_int K = m * T;
    real_t *gWih = c->grad + L->w_off, *gWhh = gWih + GH * F;
    real_t *gbih = c->grad + L->b_off, *gbhh = gbih + GH;
    FNN_SFX(fnn_gemm_rm)(c->blas, 1, 0, g1 - g0, F, K, (real_t)1, all.Z + g0, S, c->in, F,
                         (real_t)1, gWih + g0 * F, F);
    /* W_hh's gate rows [a0, a1) read Z's columns [a0, a1) + shift: GRU's n
     * rows its fourth block */
    const fnn_int split = gru ? fnn_max_i(g0, fnn_min_i(g1, 2 * H)) : g1;
    const fnn_int parts[2][3] = {{g0, split, 0}, {split, g1, H}};
    double *acc = mine.sums;
    for (int p = 0; p < 2; ++p) {
        const fnn_int a0 = parts[p][0], a1 = parts[p][1], shift = parts[p][2];
        if (a0 >= a1) continue;
        FNN_SFX(fnn_gemm_rm)(c->blas, 1, 0, a1 - a0, H, K, (real_t)1, all.Z + a0 + shift, S,
                             all.Hp, H, (real_t)1, gWhh + a0 * H, H);
    }
    /* bias gradients: column sums of Z, in double */
    for (int hidden = 0; hidden < 2; ++hidden) {
        const fnn_int a0 = hidden ? split : g0, shift = hidden ? H : 0;
        if (a0 >= g1) continue;
        for (fnn_int j = a0; j < g1; ++j) acc[j - a0] = 0.0;
        for (fnn_int r = 0; r < K; ++r) {
            const real_t *zr = all.Z + r * S + shift;
            for (fnn_int j = a0; j < g1; ++j) acc[j - a0] += (double)zr[j];
        }
        for (fnn_int j = a0; j < g1; ++j) {
            if (!hidden) gbih[j] += (real_t)acc[j - g0];
            if (hidden || j < split) gbhh[j] += (real_t)acc[j - a0];
        }
    }
}

#include "fnn_real_end.h"
