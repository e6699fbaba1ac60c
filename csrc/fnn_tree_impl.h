/* Tree-recursive layer over binary trees (the first layer of a tree
 * network): each sample is a table of N node rows (left, right, token), as
 * reals holding integers, children before parents (post-order), the root
 * the last node; a leaf has left = right = -1 and a token id in [0, V) and
 * comes before every internal node, which has two children at smaller
 * indices and token -1; rows after the tree are padding (all -1). The
 * first row that is neither ends the
 * tree (fastnn.datasets.check_trees rejects such input before it gets here:
 * this only keeps every read in bounds). Output: the root's state (H), or
 * with all_nodes every internal node's (NI x H, NI = max(1, (N - 1) / 2)),
 * in the table's order (post-order, the root last), zero rows after the
 * tree's; an empty tree gives zeros.
 *
 * With dropout (training only), every node's h is dropped (inverted
 * dropout, a mask per element) before its parent or the output reads it.
 *
 * Cells (x = E[token] the leaf's embedding, D wide; G gates of H):
 *   rnn   leaf h = tanh(x Wx + bx); internal h = tanh([h_l, h_r] Wc + bc)
 *         (Socher's composition)
 *   lstm  binary Tree-LSTM (Tai et al. 2015), a forget gate per child:
 *         leaf: i, o, u from x Wx + bx (3 H): c = i u, h = o tanh(c);
 *         internal: i, f_l, f_r, o, u from [h_l, h_r] Wc + bc (5 H):
 *         c = i u + f_l c_l + f_r c_r, h = o tanh(c)
 *         (i, f, o sigmoid; u tanh)
 * Parameters: W = [Wx (D x SL) | Wc (2 H x SI)] (decayed), b = [E (V x D) |
 * bx (SL) | bc (SI)]; SL = SI = H for rnn, 3 H and 5 H for lstm. The
 * embedding E is the layer's sparse rows (fnn_layer.sp_rows = V, sp_width =
 * D): a row moves only in a batch with a leaf of its token, and no L2.
 *
 * Team-parallel by samples (runs of trees with about equal node counts),
 * level-batched: a thread orders its trees' nodes by height (leaves 0, a
 * parent one above its higher child) and runs each level of all its trees
 * as one gather, one GEMM and one fused cell pass;
 * backward the same from the top level down, the children's d h by one GEMM
 * per level scattered to them. Training keeps per sample and node (N slots):
 * Z (N x SI) the activated gates, then d loss / d pre-activations; Hs, C
 * (N x H) the states. The weight gradients, after a barrier, are GEMMs over
 * all nodes of the batch in sample order (the rows compacted into the
 * layer's scratch), the threads splitting the gate columns; the embedding
 * rows' gradients by token ranges, in the same order: no result depends on
 * the team size. */
#ifndef FNN_TREE_INFO
#define FNN_TREE_INFO

/* entry j of a node's row, as the integer it holds */
#define FNN_TREE_AT(row, j) FNN_SFX(fnn_tree_int)((row)[j])

/* reals per predict chunk of a thread's samples: at least one sample */
#define FNN_TREE_PREDICT_REALS ((fnn_int)1 << 21)

static inline int fnn_tree_lstm(const fnn_layer *L) { return L->cfg.tree.cell == FNN_TREE_LSTM; }
static inline fnn_int fnn_tree_SL(const fnn_layer *L)
{
    return (fnn_tree_lstm(L) ? 3 : 1) * L->cfg.tree.units;
}
static inline fnn_int fnn_tree_SI(const fnn_layer *L)
{
    return (fnn_tree_lstm(L) ? 5 : 1) * L->cfg.tree.units;
}
static inline fnn_int fnn_tree_nodes(const fnn_layer *L) { return L->in_shape[0]; }
/* the width of a gathered GEMM input row: x (D) or [h_l, h_r] (2 H) */
static inline fnn_int fnn_tree_KG(const fnn_layer *L)
{
    return fnn_max_i(L->cfg.tree.dim, 2 * L->cfg.tree.units);
}

/* output rows per sample: every internal node's (at least one row), or the root's */
static inline fnn_int fnn_tree_outputs(const fnn_layer *L)
{
    return L->cfg.tree.all_nodes ? fnn_max_i(1, (fnn_tree_nodes(L) - 1) / 2) : 1;
}

/* reals kept per sample: Z, Hs and (lstm) C of its N nodes */
static fnn_int fnn_tree_per_sample(const fnn_layer *L)
{
    const fnn_int H = L->cfg.tree.units;
    return fnn_tree_nodes(L) * (fnn_tree_SI(L) + H + (fnn_tree_lstm(L) ? H : 0));
}

static int fnn_tree_check(const fnn_layer *L)
{
    const fnn_tree_cfg *k = &L->cfg.tree;
    if (L->in_ndim != 2 || L->in_shape[1] != 3) return 0;
    if (k->all_nodes ? L->out_ndim != 2 || L->out_shape[0] != fnn_tree_outputs(L) ||
                       L->out_shape[1] != k->units
                     : L->out_ndim != 1 || L->out_shape[0] != k->units)
        return 0;
    if (k->cell < 0 || k->cell >= FNN_TREE_CELL_COUNT || k->units < 1 || k->dim < 1 ||
        k->tokens < 1 || !(k->dropout >= 0.0) || !(k->dropout < 1.0))
        return 0;
    const fnn_int V = k->tokens, D = k->dim, H = k->units;
    return L->n_w == D * fnn_tree_SL(L) + 2 * H * fnn_tree_SI(L) &&
           L->n_b == V * D + fnn_tree_SL(L) + fnn_tree_SI(L) && L->n_s == 0 &&
           L->sp_rows == V && L->sp_width == D;
}

/* training keeps the dropout mask of the node states too */
static fnn_int fnn_tree_saved(const fnn_layer *L)
{
    return fnn_tree_per_sample(L) +
           (L->cfg.tree.dropout > 0.0 ? fnn_tree_nodes(L) * L->cfg.tree.units : 0);
}

static inline fnn_int fnn_tree_rows(fnn_int batch, int nt)
{
    nt = nt < 1 ? 1 : nt;
    return (batch + nt - 1) / nt;
}

/* samples of a thread's predict chunk */
static inline fnn_int fnn_tree_chunk(const fnn_layer *L, fnn_int rows)
{
    return fnn_max_i(1, fnn_min_i(rows, FNN_TREE_PREDICT_REALS / fnn_tree_per_sample(L)));
}

/* a tree of at most N nodes has at most (N + 1) / 2 leaves and (N - 1) / 2
 * internal nodes (the kernel ends a table where it would exceed them) */
static inline fnn_int fnn_tree_max_leaves(fnn_int N) { return (N + 1) / 2; }
static inline fnn_int fnn_tree_max_internal(fnn_int N) { return (N - 1) / 2; }

/* Scratch, in doubles (reals counted as doubles: one size for both
 * dtypes). Every thread: its level bounds (N + 2 int32, also the parse
 * scratch). In training, for the batch: by sample, the level order and
 * heights (m N int32 each) and d h, d c per node slot (m N x H each); by
 * leaf (a thread's rows start after the leaves of the trees before its
 * own, and no level of a thread's trees has more nodes than its leaves):
 * each level row's two children (2 m NL int32), the gathered rows G (KG
 * wide) and GEMM output rows Zb (SI wide); then the compacted rows of the
 * weight gradients. In predict, each thread the same for a chunk of its
 * samples, and the chunk's node slots. */
static inline fnn_int fnn_tree_lev_part(const fnn_layer *L)
{
    return (fnn_tree_nodes(L) + 3) / 2;
}

/* the by-sample and by-leaf arrays of R samples (ints, then reals) */
static inline fnn_int fnn_tree_rows_part(const fnn_layer *L, fnn_int R, int training)
{
    const fnn_int N = fnn_tree_nodes(L), H = L->cfg.tree.units;
    const fnn_int RN = R * N, RL = R * fnn_tree_max_leaves(N);
    const fnn_int ints = 2 * RN + 2 * RL;
    fnn_int reals = RL * (fnn_tree_KG(L) + fnn_tree_SI(L));
    reals += training ? RN * 2 * H : R * fnn_tree_per_sample(L);
    return (ints + 1) / 2 + reals + 8;
}

/* The batch's compacted rows for the weight gradients (training): children
 * states Ac (2 H) and d pre-activations dZc (SI) of the internal nodes,
 * embeddings Xl (D), d pre-activations dZl (SL), d embeddings dXl (D) and
 * tokens of the leaves; then the bias column sums. */
static inline fnn_int fnn_tree_batch_part(const fnn_layer *L, fnn_int batch)
{
    const fnn_int N = fnn_tree_nodes(L), H = L->cfg.tree.units, D = L->cfg.tree.dim;
    const fnn_int MI = batch * fnn_tree_max_internal(N), ML = batch * fnn_tree_max_leaves(N);
    return MI * (2 * H + fnn_tree_SI(L)) + ML * (2 * D + fnn_tree_SL(L)) + (ML + 1) / 2 +
           fnn_tree_SL(L) + fnn_tree_SI(L) + 8;
}

/* doubles before the compacted part (training) */
static inline fnn_int fnn_tree_front(const fnn_layer *L, fnn_int batch, int training, int nt)
{
    nt = nt < 1 ? 1 : nt;
    return training ? (fnn_int)nt * fnn_tree_lev_part(L) + fnn_tree_rows_part(L, batch, 1)
                    : (fnn_int)nt * (fnn_tree_lev_part(L) +
                                     fnn_tree_rows_part(L, fnn_tree_chunk(
                                         L, fnn_tree_rows(batch, nt)), 0));
}

static fnn_int fnn_tree_scratch(const fnn_layer *L, fnn_int batch, int training, int nt)
{
    return fnn_tree_front(L, batch, training, nt) +
           (training ? fnn_tree_batch_part(L, batch) : 0);
}

/* a tree's root: its last node (heights ht of its N slots, -1 past the
 * tree, which is a prefix); -1 for an empty tree */
static inline fnn_int fnn_tree_root(const int32_t *ht, fnn_int N)
{
    fnn_int k = 0;
    while (k < N && ht[k] >= 0) ++k;
    return k - 1;
}

/* the nodes a tree outputs, *count consecutive ones from *first: its root,
 * or its internal nodes (after its leaves, the root last); none for an
 * empty tree, or a leaf alone with all_nodes */
static inline void fnn_tree_out_nodes(const fnn_layer *L, const int32_t *ht, fnn_int *first,
                                      fnn_int *count)
{
    const fnn_int N = fnn_tree_nodes(L), last = fnn_tree_root(ht, N);
    *first = last < 0 ? 0 : last;
    *count = last < 0 ? 0 : 1;
    if (!L->cfg.tree.all_nodes || last < 0) return;
    fnn_int leaves = 0;
    while (leaves <= last && ht[leaves] == 0) ++leaves;
    *first = leaves;
    *count = fnn_min_i(last + 1 - leaves, fnn_tree_outputs(L)); /* the parse bounds it */
}

/* a thread's samples and the batch's counts (see fnn_tree_span) */
typedef struct {
    fnn_int s0, s1, leaf_before, int_before, n_leaf, n_int;
} fnn_tree_share;

static fnn_int fnn_tree_flops(const fnn_layer *L)
{
    /* about half the nodes are internal: 3 multiply-adds per weight, per node */
    const fnn_int N = fnn_tree_nodes(L), H = L->cfg.tree.units, D = L->cfg.tree.dim;
    return 3 * (N / 2 + 1) * (D * fnn_tree_SL(L) + 2 * H * fnn_tree_SI(L));
}

#endif

#include "fnn_real.h"

#include "fnn_vmath_impl.h"

/* a table entry as the integer it holds (the nearest: a real within 0.5 of
 * it reads the same; NaN and huge values read as -1, padding) */
static inline fnn_int FNN_SFX(fnn_tree_int)(real_t v)
{
    const double d = floor((double)v + 0.5);
    return d >= -1.0 && d < 2147483647.0 ? (fnn_int)d : -1;
}

/* Sample row x (N x 3): its node count (the valid prefix), each node's
 * height in ht, and how many of them are leaves in *n_leaf. */
static fnn_int FNN_SFX(fnn_tree_parse)(const real_t *x, fnn_int N, fnn_int V, int32_t *ht,
                                       fnn_int *n_leaf)
{
    const fnn_int max_leaves = fnn_tree_max_leaves(N), max_int = fnn_tree_max_internal(N);
    fnn_int k = 0, leaves = 0;
    for (; k < N; ++k) {
        const real_t *row = x + 3 * k;
        const fnn_int l = FNN_TREE_AT(row, 0), r = FNN_TREE_AT(row, 1), t = FNN_TREE_AT(row, 2);
        if (l < 0 && r < 0 && t >= 0 && t < V && leaves < max_leaves && k == leaves) {
            ht[k] = 0;
            ++leaves;
        } else if (l >= 0 && r >= 0 && l < k && r < k && t < 0 && k - leaves < max_int) {
            const int32_t a = ht[l], b = ht[r];
            ht[k] = 1 + (a > b ? a : b);
        } else {
            break;
        }
    }
    *n_leaf = leaves;
    return k;
}

/* Where thread tid's trees are in the batch of m: its samples [s0, s1) (a
 * contiguous run; the runs have about equal numbers of nodes: trees differ
 * in size, and an even split of the samples left one thread waiting at
 * every barrier), the leaves and internal nodes of the trees before them,
 * and the batch's totals. ht: N scratch ints. */
static fnn_tree_share FNN_SFX(fnn_tree_span)(const real_t *in, fnn_int m, fnn_int N, fnn_int V,
                                             int tid, int nt, int32_t *ht)
{
    fnn_tree_share sh = {0, 0, 0, 0, 0, 0};
    fnn_int total = 0, lv;
    for (fnn_int i = 0; i < m; ++i) {
        const fnn_int cnt = FNN_SFX(fnn_tree_parse)(in + i * 3 * N, N, V, ht, &lv);
        total += cnt;
        sh.n_leaf += lv;
        sh.n_int += cnt - lv;
    }
    /* sample i goes to the thread whose share holds the middle of its nodes */
    fnn_int before = 0, lo = m, hi = m;
    for (fnn_int i = 0; i < m; ++i) {
        const fnn_int cnt = FNN_SFX(fnn_tree_parse)(in + i * 3 * N, N, V, ht, &lv);
        const fnn_int mid2 = 2 * before + cnt; /* twice the middle */
        int t = total ? (int)((mid2 * (fnn_int)nt) / (2 * total)) : (int)(i * nt / m);
        t = t >= nt ? nt - 1 : t;
        if (t == tid && lo == m) lo = i;
        if (t > tid) { hi = i; break; }
        if (t < tid) {
            sh.leaf_before += lv;
            sh.int_before += cnt - lv;
        }
        before += cnt;
    }
    sh.s0 = lo;
    sh.s1 = lo == m ? m : hi;
    return sh;
}

/* a thread's view of the scratch (see fnn_tree_front) */
typedef struct {
    int32_t *ord, *ht, *lev, *kid;
    real_t *G, *Zb, *dH, *dC, *chunk;
} FNN_SFX(fnn_tree_slot_parts);

static int32_t *FNN_SFX(fnn_tree_lev)(const fnn_layer *L, double *scratch, fnn_int m,
                                      int training, int t, int nt)
{
    const fnn_int step = training ? fnn_tree_lev_part(L)
                                  : fnn_tree_lev_part(L) + fnn_tree_rows_part(
                                        L, fnn_tree_chunk(L, fnn_tree_rows(m, nt)), 0);
    return (int32_t *)(scratch + (fnn_int)t * step);
}

/* thread t's arrays: in training the batch's, from its first sample s0 and
 * the leaves before it; in predict its own, for a chunk */
static FNN_SFX(fnn_tree_slot_parts) FNN_SFX(fnn_tree_slot_of)(const fnn_layer *L,
                                                              double *scratch, fnn_int m,
                                                              int training, int t, int nt,
                                                              const fnn_tree_share *sh)
{
    const fnn_int N = fnn_tree_nodes(L), H = L->cfg.tree.units, NL = fnn_tree_max_leaves(N);
    const fnn_int R = training ? m : fnn_tree_chunk(L, fnn_tree_rows(m, nt));
    const fnn_int s0 = training ? sh->s0 : 0, lb = training ? sh->leaf_before : 0;
    FNN_SFX(fnn_tree_slot_parts) s;
    s.lev = FNN_SFX(fnn_tree_lev)(L, scratch, m, training, t, nt);
    double *base = training ? scratch + (fnn_int)(nt < 1 ? 1 : nt) * fnn_tree_lev_part(L)
                            : (double *)s.lev + fnn_tree_lev_part(L);
    const fnn_int ints = 2 * R * N + 2 * R * NL;
    int32_t *ord = (int32_t *)base, *ht = ord + R * N, *kid = ht + R * N;
    real_t *G = (real_t *)(base + (ints + 1) / 2);
    real_t *Zb = G + R * NL * fnn_tree_KG(L);
    real_t *rest = Zb + R * NL * fnn_tree_SI(L);
    s.ord = ord + s0 * N;
    s.ht = ht + s0 * N;
    s.kid = kid + 2 * lb;
    s.G = G + lb * fnn_tree_KG(L);
    s.Zb = Zb + lb * fnn_tree_SI(L);
    s.dH = training ? rest + s0 * N * H : NULL;
    s.dC = training ? rest + R * N * H + s0 * N * H : NULL;
    s.chunk = training ? NULL : rest;
    return s;
}

/* node slots of n samples: Z (N x SI), Hs, C (N x H each), region by region */
typedef struct {
    real_t *Z, *Hs, *C, *Mk; /* Mk: the dropout mask (training with dropout), else NULL */
} FNN_SFX(fnn_tree_regions);

static inline FNN_SFX(fnn_tree_regions) FNN_SFX(fnn_tree_regions_of)(const fnn_layer *L,
                                                                     real_t *base, fnn_int n)
{
    const fnn_int N = fnn_tree_nodes(L), H = L->cfg.tree.units;
    FNN_SFX(fnn_tree_regions) r;
    r.Z = base;
    r.Hs = r.Z + n * N * fnn_tree_SI(L);
    r.C = r.Hs + n * N * H;
    r.Mk = L->cfg.tree.dropout > 0.0 ? r.C + (fnn_tree_lstm(L) ? n * N * H : 0) : NULL;
    return r;
}

/* Samples [s, s + n) of the input: their nodes' heights (-1 past a tree's
 * end) and the level order of their nodes (slot ids i N + k, by sample and
 * node within a level) with bounds lev[0..levels]; returns the number of
 * levels. */
static int FNN_SFX(fnn_tree_order)(const fnn_layer *L, const real_t *in, fnn_int s, fnn_int n,
                                   FNN_SFX(fnn_tree_slot_parts) *w)
{
    const fnn_int N = fnn_tree_nodes(L), V = L->cfg.tree.tokens;
    int levels = 0;
    for (fnn_int h = 0; h <= N; ++h) w->lev[h] = 0;
    for (fnn_int i = 0; i < n; ++i) {
        fnn_int leaves;
        int32_t *ht = w->ht + i * N;
        const fnn_int cnt = FNN_SFX(fnn_tree_parse)(in + (s + i) * 3 * N, N, V, ht, &leaves);
        for (fnn_int k = cnt; k < N; ++k) ht[k] = -1;
        for (fnn_int k = 0; k < cnt; ++k) {
            w->lev[ht[k] + 1] += 1;
            if (ht[k] + 1 > levels) levels = ht[k] + 1;
        }
    }
    for (int h = 0; h < levels; ++h) w->lev[h + 1] += w->lev[h];
    /* fill: lev[h] runs to the end of level h, then every bound shifts back */
    for (fnn_int i = 0; i < n; ++i)
        for (fnn_int k = 0; k < N; ++k) {
            const int32_t h = w->ht[i * N + k];
            if (h >= 0) w->ord[w->lev[h]++] = (int32_t)(i * N + k);
        }
    for (int h = levels; h > 0; --h) w->lev[h] = w->lev[h - 1];
    w->lev[0] = 0;
    return levels;
}

/* The cells of one level's cnt nodes: Zb rows (SI apart) hold their
 * pre-activations; writes the activated gates to the node slots' Z rows,
 * h to Hs and (lstm) c to C; kid holds each internal node's children's
 * slots. */
static FNN_ALWAYS_INLINE void FNN_SIMD_BODY(FNN_SFX(fnn_tree_cells))(
    int lstm, int leaf, fnn_int cnt, fnn_int H, fnn_int SI, const int32_t *restrict ord,
    const int32_t *restrict kid, const real_t *restrict Zb, real_t *restrict Z,
    real_t *restrict Hs, real_t *restrict C)
{
    for (fnn_int r = 0; r < cnt; ++r) {
        const fnn_int q = ord[r];
        const real_t *zb = Zb + r * SI;
        real_t *z = Z + q * SI, *hs = Hs + q * H;
        if (!lstm) {
            #pragma omp simd
            for (fnn_int j = 0; j < H; ++j) hs[j] = z[j] = FNN_SFX(fnn_vtanh)(zb[j]);
            continue;
        }
        real_t *cs = C + q * H;
        if (leaf) {
            #pragma omp simd
            for (fnn_int j = 0; j < H; ++j) {
                const real_t ig = FNN_SFX(fnn_vsigmoid)(zb[j]);
                const real_t og = FNN_SFX(fnn_vsigmoid)(zb[H + j]);
                const real_t ug = FNN_SFX(fnn_vtanh)(zb[2 * H + j]);
                const real_t cv = ig * ug;
                z[j] = ig; z[H + j] = og; z[2 * H + j] = ug;
                cs[j] = cv;
                hs[j] = og * FNN_SFX(fnn_vtanh)(cv);
            }
            continue;
        }
        const real_t *cl = C + (fnn_int)kid[2 * r] * H, *cr = C + (fnn_int)kid[2 * r + 1] * H;
        #pragma omp simd
        for (fnn_int j = 0; j < H; ++j) {
            const real_t ig = FNN_SFX(fnn_vsigmoid)(zb[j]);
            const real_t fl = FNN_SFX(fnn_vsigmoid)(zb[H + j]);
            const real_t fr = FNN_SFX(fnn_vsigmoid)(zb[2 * H + j]);
            const real_t og = FNN_SFX(fnn_vsigmoid)(zb[3 * H + j]);
            const real_t ug = FNN_SFX(fnn_vtanh)(zb[4 * H + j]);
            const real_t cv = ig * ug + fl * cl[j] + fr * cr[j];
            z[j] = ig; z[H + j] = fl; z[2 * H + j] = fr; z[3 * H + j] = og; z[4 * H + j] = ug;
            cs[j] = cv;
            hs[j] = og * FNN_SFX(fnn_vtanh)(cv);
        }
    }
}
FNN_SIMD_DISPATCH(void, FNN_SFX(fnn_tree_cells),
                  (int lstm, int leaf, fnn_int cnt, fnn_int H, fnn_int SI,
                   const int32_t *restrict ord, const int32_t *restrict kid,
                   const real_t *restrict Zb, real_t *restrict Z, real_t *restrict Hs,
                   real_t *restrict C),
                  (lstm, leaf, cnt, H, SI, ord, kid, Zb, Z, Hs, C))

/* Backward through one level's cells: d h (and the carried d c) of each
 * node in dH, dC; writes d loss / d pre-activations over the node's Z row
 * and into Zb (row r, SI apart), and (lstm) adds the children's share of d c. */
static FNN_ALWAYS_INLINE void FNN_SIMD_BODY(FNN_SFX(fnn_tree_cells_back))(
    int lstm, int leaf, fnn_int cnt, fnn_int H, fnn_int SI, const int32_t *restrict ord,
    const int32_t *restrict kid, real_t *restrict Z, const real_t *restrict Mk,
    const real_t *restrict C, real_t *restrict dH, real_t *restrict dC, real_t *restrict Zb)
{
    for (fnn_int r = 0; r < cnt; ++r) {
        const fnn_int q = ord[r];
        real_t *z = Z + q * SI, *dz = Zb + r * SI;
        real_t *dh = dH + q * H;
        if (Mk) {
            /* d loss / d h before the dropout */
            const real_t *mk = Mk + q * H;
            #pragma omp simd
            for (fnn_int j = 0; j < H; ++j) dh[j] *= mk[j];
        }
        if (!lstm) {
            /* z holds h = tanh(pre-activation) (Hs may hold it dropped) */
            #pragma omp simd
            for (fnn_int j = 0; j < H; ++j) z[j] = dz[j] = dh[j] * ((real_t)1 - z[j] * z[j]);
            continue;
        }
        const real_t *cs = C + q * H, *dc = dC + q * H;
        if (leaf) {
            #pragma omp simd
            for (fnn_int j = 0; j < H; ++j) {
                const real_t ig = z[j], og = z[H + j], ug = z[2 * H + j];
                const real_t tc = FNN_SFX(fnn_vtanh)(cs[j]);
                const real_t dct = dc[j] + dh[j] * og * ((real_t)1 - tc * tc);
                z[j] = dz[j] = dct * ug * ig * ((real_t)1 - ig);
                z[H + j] = dz[H + j] = dh[j] * tc * og * ((real_t)1 - og);
                z[2 * H + j] = dz[2 * H + j] = dct * ig * ((real_t)1 - ug * ug);
            }
            continue;
        }
        const fnn_int ql = kid[2 * r], qr = kid[2 * r + 1];
        const real_t *cl = C + ql * H, *cr = C + qr * H;
        real_t *dcl = dC + ql * H, *dcr = dC + qr * H;
        #pragma omp simd
        for (fnn_int j = 0; j < H; ++j) {
            const real_t ig = z[j], fl = z[H + j], fr = z[2 * H + j];
            const real_t og = z[3 * H + j], ug = z[4 * H + j];
            const real_t tc = FNN_SFX(fnn_vtanh)(cs[j]);
            const real_t dct = dc[j] + dh[j] * og * ((real_t)1 - tc * tc);
            z[j] = dz[j] = dct * ug * ig * ((real_t)1 - ig);
            z[H + j] = dz[H + j] = dct * cl[j] * fl * ((real_t)1 - fl);
            z[2 * H + j] = dz[2 * H + j] = dct * cr[j] * fr * ((real_t)1 - fr);
            z[3 * H + j] = dz[3 * H + j] = dh[j] * tc * og * ((real_t)1 - og);
            z[4 * H + j] = dz[4 * H + j] = dct * ig * ((real_t)1 - ug * ug);
            dcl[j] += dct * fl;
            dcr[j] += dct * fr;
        }
    }
}
FNN_SIMD_DISPATCH(void, FNN_SFX(fnn_tree_cells_back),
                  (int lstm, int leaf, fnn_int cnt, fnn_int H, fnn_int SI,
                   const int32_t *restrict ord, const int32_t *restrict kid,
                   real_t *restrict Z, const real_t *restrict Mk, const real_t *restrict C,
                   real_t *restrict dH, real_t *restrict dC, real_t *restrict Zb),
                  (lstm, leaf, cnt, H, SI, ord, kid, Z, Mk, C, dH, dC, Zb))

/* each of a level's internal nodes' children's slots, into kid */
static void FNN_SFX(fnn_tree_kids)(const real_t *in, fnn_int s, fnn_int N, const int32_t *ord,
                                   fnn_int cnt, int32_t *kid)
{
    for (fnn_int r = 0; r < cnt; ++r) {
        const fnn_int q = ord[r], i = q / N;
        const real_t *row = in + (s + i) * 3 * N + 3 * (q % N);
        kid[2 * r] = (int32_t)(i * N + FNN_TREE_AT(row, 0));
        kid[2 * r + 1] = (int32_t)(i * N + FNN_TREE_AT(row, 1));
    }
}

/* Dropout of the states of a level's nodes (inverted: kept with probability
 * 1 - rate, scaled by 1 / (1 - rate)): parents and the output read the
 * dropped h; the mask, a counter-based hash of (seed, the node's element in
 * the batch), is kept for backward. Samples from s (their slots i N + k). */
static void FNN_SFX(fnn_tree_drop)(double rate, uint64_t seed, fnn_int s, fnn_int N, fnn_int H,
                                   const int32_t *ord, fnn_int cnt, real_t *Hs, real_t *Mk)
{
    const double keep = 1.0 - rate;
    const real_t scale = (real_t)(1.0 / keep);
    const uint64_t threshold = (uint64_t)(keep * 9007199254740992.0); /* top 53 bits */
    for (fnn_int r = 0; r < cnt; ++r) {
        const fnn_int q = ord[r];
        const uint64_t first = (uint64_t)((s * N + q) * H);
        real_t *h = Hs + q * H, *mk = Mk + q * H;
        for (fnn_int j = 0; j < H; ++j) {
            const real_t k = (fnn_hash64(seed, first + (uint64_t)j) >> 11) < threshold
                                 ? scale : (real_t)0;
            mk[j] = k;
            h[j] *= k;
        }
    }
}

/* A level's GEMM input rows into G (KG apart): the leaves' embeddings (h
 * = 0) or each internal node's children's states [h_l, h_r] (their slots
 * in kid); samples from s. */
static void FNN_SFX(fnn_tree_gather)(const fnn_layer *L, const real_t *in, const real_t *E,
                                     fnn_int s, int h, const int32_t *ord, fnn_int cnt,
                                     const int32_t *kid, const real_t *Hs, real_t *G)
{
    const fnn_int N = fnn_tree_nodes(L), D = L->cfg.tree.dim, H = L->cfg.tree.units;
    const fnn_int KG = fnn_tree_KG(L);
    const size_t hb = sizeof(real_t) * (size_t)H;
    for (fnn_int r = 0; r < cnt; ++r) {
        real_t *gr = G + r * KG;
        if (h == 0) {
            const fnn_int q = ord[r];
            const real_t *row = in + (s + q / N) * 3 * N + 3 * (q % N);
            memcpy(gr, E + FNN_TREE_AT(row, 2) * D, sizeof(real_t) * (size_t)D);
        } else {
            memcpy(gr, Hs + (fnn_int)kid[2 * r] * H, hb);
            memcpy(gr + H, Hs + (fnn_int)kid[2 * r + 1] * H, hb);
        }
    }
}

/* Zb's rows [0, rows) (SI apart, the first `width` columns) = b, then +=
 * G W: a level's pre-activations (leaves: W = Wx, width SL, K = D; internal
 * nodes: Wc, SI, 2 H) */
static void FNN_SFX(fnn_tree_level_gemm)(const fnn_layer *L, const FNN_SFX(fnn_call) *c,
                                         int h, fnn_int rows, fnn_int width, const real_t *G,
                                         real_t *Zb)
{
    const fnn_int V = L->cfg.tree.tokens, D = L->cfg.tree.dim, H = L->cfg.tree.units;
    const fnn_int SL = fnn_tree_SL(L), SI = fnn_tree_SI(L), KG = fnn_tree_KG(L);
    const real_t *Wx = c->params + L->w_off, *Wc = Wx + D * SL;
    const real_t *bx = c->params + L->b_off + V * D, *bc = bx + SL;
    const real_t *W = h ? Wc : Wx, *b = h ? bc : bx;
    const fnn_int K = h ? 2 * H : D;
    if (rows < 1) return;
    for (fnn_int r = 0; r < rows; ++r) memcpy(Zb + r * SI, b, sizeof(real_t) * (size_t)width);
    /* in column panels BLAS multiplies without packing W (see fnn_gemm_panel):
     * a level has few rows, and the copy of Wc cost as much as the product */
    const fnn_int pw = fnn_gemm_panel(c->blas, rows, K, width);
    for (fnn_int p0 = 0; p0 < width; p0 += pw)
        FNN_SFX(fnn_gemm_rm)(c->blas, 0, 0, rows, fnn_min_i(pw, width - p0), K, (real_t)1, G,
                             KG, W + p0, width, (real_t)1, Zb + p0, SI);
}

/* the outputs of n samples from s: their roots' states, or every internal
 * node's (zero rows after a tree's) */
static void FNN_SFX(fnn_tree_emit)(const fnn_layer *L, const FNN_SFX(fnn_call) *c, fnn_int s,
                                   fnn_int n, FNN_SFX(fnn_tree_regions) g,
                                   const FNN_SFX(fnn_tree_slot_parts) *w)
{
    const fnn_int N = fnn_tree_nodes(L), H = L->cfg.tree.units;
    const size_t hb = sizeof(real_t) * (size_t)H;
    const fnn_int NO = fnn_tree_outputs(L);
    for (fnn_int i = 0; i < n; ++i) {
        fnn_int first, count;
        fnn_tree_out_nodes(L, w->ht + i * N, &first, &count);
        real_t *o = c->out + (s + i) * NO * H;
        if (count) memcpy(o, g.Hs + (i * N + first) * H, hb * (size_t)count);
        if (count < NO) memset(o + count * H, 0, hb * (size_t)(NO - count));
    }
}

/* forward of n samples from s, node slots in g (training: with the dropout
 * mask g.Mk when dropping), the outputs to c->out */
static void FNN_SFX(fnn_tree_run)(const fnn_layer *L, const FNN_SFX(fnn_call) *c, fnn_int s,
                                  fnn_int n, FNN_SFX(fnn_tree_regions) g,
                                  FNN_SFX(fnn_tree_slot_parts) *w)
{
    const int lstm = fnn_tree_lstm(L);
    const fnn_int N = fnn_tree_nodes(L), H = L->cfg.tree.units, SI = fnn_tree_SI(L);
    const real_t *E = c->params + L->b_off;
    const int levels = FNN_SFX(fnn_tree_order)(L, c->in, s, n, w);
    for (int h = 0; h < levels; ++h) {
        const int32_t *ord = w->ord + w->lev[h];
        const fnn_int cnt = w->lev[h + 1] - w->lev[h];
        if (h) FNN_SFX(fnn_tree_kids)(c->in, s, N, ord, cnt, w->kid);
        FNN_SFX(fnn_tree_gather)(L, c->in, E, s, h, ord, cnt, w->kid, g.Hs, w->G);
        FNN_SFX(fnn_tree_level_gemm)(L, c, h, cnt, h ? SI : fnn_tree_SL(L), w->G, w->Zb);
        FNN_SFX(fnn_tree_cells)(lstm, h == 0, cnt, H, SI, ord, w->kid, w->Zb, g.Z, g.Hs, g.C);
        if (g.Mk)
            FNN_SFX(fnn_tree_drop)(L->cfg.tree.dropout, c->seed, s, N, H, ord, cnt, g.Hs, g.Mk);
    }
    FNN_SFX(fnn_tree_emit)(L, c, s, n, g, w);
}

static void FNN_SFX(fnn_tree_forward)(const fnn_layer *L, const FNN_SFX(fnn_call) *c)
{
    const int training = c->saved != NULL;
    const fnn_int N = fnn_tree_nodes(L), H = L->cfg.tree.units;
    const fnn_tree_share sh = FNN_SFX(fnn_tree_span)(
        c->in, c->m, N, L->cfg.tree.tokens, c->tid, c->nt,
        FNN_SFX(fnn_tree_lev)(L, c->scratch, c->m, training, c->tid, c->nt));
    const fnn_int s0 = sh.s0, s1 = sh.s1;
    if (s0 >= s1) return;
    FNN_SFX(fnn_tree_slot_parts) w =
        FNN_SFX(fnn_tree_slot_of)(L, c->scratch, c->m, training, c->tid, c->nt, &sh);
    if (training) {
        FNN_SFX(fnn_tree_regions) g = FNN_SFX(fnn_tree_regions_of)(L, c->saved, c->m);
        g.Z += s0 * N * fnn_tree_SI(L);
        g.Hs += s0 * N * H;
        g.C += s0 * N * H;
        if (g.Mk) g.Mk += s0 * N * H;
        FNN_SFX(fnn_tree_run)(L, c, s0, s1 - s0, g, &w);
        return;
    }
    const fnn_int R = fnn_tree_chunk(L, fnn_tree_rows(c->m, c->nt));
    for (fnn_int s = s0; s < s1; s += R) {
        const fnn_int n = fnn_min_i(R, s1 - s);
        FNN_SFX(fnn_tree_regions) g = FNN_SFX(fnn_tree_regions_of)(L, w.chunk, n);
        g.Mk = NULL; /* no dropout at predict */
        FNN_SFX(fnn_tree_run)(L, c, s, n, g, &w);
    }
}

/* the compacted batch rows (see fnn_tree_batch_part) */
typedef struct {
    real_t *Ac, *dZc, *Xl, *dZl, *dXl;
    int32_t *tok;
    double *sums;
} FNN_SFX(fnn_tree_batch);

static FNN_SFX(fnn_tree_batch) FNN_SFX(fnn_tree_batch_of)(const fnn_layer *L, double *scratch,
                                                          fnn_int m, int nt)
{
    const fnn_int N = fnn_tree_nodes(L), H = L->cfg.tree.units, D = L->cfg.tree.dim;
    const fnn_int MI = m * fnn_tree_max_internal(N), ML = m * fnn_tree_max_leaves(N);
    double *base = scratch + fnn_tree_front(L, m, 1, nt);
    FNN_SFX(fnn_tree_batch) b;
    b.sums = base;
    b.tok = (int32_t *)(base + fnn_tree_SL(L) + fnn_tree_SI(L));
    b.Ac = (real_t *)(base + fnn_tree_SL(L) + fnn_tree_SI(L) + (ML + 1) / 2);
    b.dZc = b.Ac + MI * 2 * H;
    b.Xl = b.dZc + MI * fnn_tree_SI(L);
    b.dZl = b.Xl + ML * D;
    b.dXl = b.dZl + ML * fnn_tree_SL(L);
    return b;
}

/* Backward: d h per node from the roots down, level by level; then the
 * weight gradients over the whole batch (two barriers inside). d loss / d in
 * (the trees' structure): zeros. */
static void FNN_SFX(fnn_tree_backward)(const fnn_layer *L, const FNN_SFX(fnn_call) *c)
{
    const fnn_tree_cfg *k = &L->cfg.tree;
    const int lstm = fnn_tree_lstm(L);
    const fnn_int N = fnn_tree_nodes(L), V = k->tokens, D = k->dim, H = k->units;
    const fnn_int SL = fnn_tree_SL(L), SI = fnn_tree_SI(L), KG = fnn_tree_KG(L);
    const real_t *Wx = c->params + L->w_off, *Wc = Wx + D * SL;
    const real_t *E = c->params + L->b_off;
    const real_t *in = c->in;
    const fnn_int m = c->m;
    const int nt = c->nt;
    const size_t hb = sizeof(real_t) * (size_t)H;
    FNN_SFX(fnn_tree_batch) b = FNN_SFX(fnn_tree_batch_of)(L, c->scratch, m, nt);
    /* forward's split, and where this thread's rows go in the compacted batch */
    const fnn_tree_share sh = FNN_SFX(fnn_tree_span)(
        in, m, N, V, c->tid, nt, FNN_SFX(fnn_tree_lev)(L, c->scratch, m, 1, c->tid, nt));
    const fnn_int s0 = sh.s0, s1 = sh.s1, n_leaf = sh.n_leaf, n_int = sh.n_int;
    FNN_SFX(fnn_tree_slot_parts) w =
        FNN_SFX(fnn_tree_slot_of)(L, c->scratch, m, 1, c->tid, nt, &sh);
    if (s0 < s1) {
        FNN_SFX(fnn_tree_regions) g = FNN_SFX(fnn_tree_regions_of)(L, c->saved, m);
        g.Z += s0 * N * SI;
        g.Hs += s0 * N * H;
        g.C += s0 * N * H;
        if (g.Mk) g.Mk += s0 * N * H;
        const fnn_int n = s1 - s0;
        /* the level order again (forward's was overwritten by the span's parses) */
        const int levels = FNN_SFX(fnn_tree_order)(L, in, s0, n, &w);
        memset(w.dH, 0, sizeof(real_t) * (size_t)(n * N * H));
        if (lstm) memset(w.dC, 0, sizeof(real_t) * (size_t)(n * N * H));
        const fnn_int NO = fnn_tree_outputs(L);
        for (fnn_int i = 0; i < n; ++i) {
            fnn_int first, count;
            fnn_tree_out_nodes(L, w.ht + i * N, &first, &count);
            if (count)
                memcpy(w.dH + (i * N + first) * H, c->d + (s0 + i) * NO * H,
                       hb * (size_t)count);
        }
        for (int h = levels - 1; h >= 0; --h) {
            const int32_t *ord = w.ord + w.lev[h];
            const fnn_int cnt = w.lev[h + 1] - w.lev[h];
            if (h) FNN_SFX(fnn_tree_kids)(in, s0, N, ord, cnt, w.kid);
            FNN_SFX(fnn_tree_cells_back)(lstm, h == 0, cnt, H, SI, ord, w.kid, g.Z, g.Mk, g.C,
                                         w.dH, w.dC, w.Zb);
            if (h == 0) break; /* the leaves' d x: after the barrier, by GEMM */
            /* the children's d h: [dh_l, dh_r] = dz Wc^T (in column panels, as
             * forward), added to their slots */
            const fnn_int pw = fnn_gemm_panel(c->blas, cnt, SI, 2 * H);
            for (fnn_int p0 = 0; p0 < 2 * H; p0 += pw)
                FNN_SFX(fnn_gemm_rm)(c->blas, 0, 1, cnt, fnn_min_i(pw, 2 * H - p0), SI,
                                     (real_t)1, w.Zb, SI, Wc + p0 * SI, SI, (real_t)0,
                                     w.G + p0, KG);
            for (fnn_int r = 0; r < cnt; ++r) {
                real_t *dl = w.dH + (fnn_int)w.kid[2 * r] * H;
                real_t *dr = w.dH + (fnn_int)w.kid[2 * r + 1] * H;
                const real_t *gr = w.G + r * KG;
                for (fnn_int j = 0; j < H; ++j) {
                    dl[j] += gr[j];
                    dr[j] += gr[H + j];
                }
            }
        }
        /* this thread's samples' rows of the compacted batch, in sample order */
        fnn_int pi = sh.int_before, pl = sh.leaf_before;
        for (fnn_int i = 0; i < n; ++i)
            for (fnn_int kk = 0; kk < N; ++kk) {
                const int32_t h = w.ht[i * N + kk];
                if (h < 0) break;
                const real_t *row = in + (s0 + i) * 3 * N + 3 * kk;
                const fnn_int q = i * N + kk;
                if (h == 0) {
                    const fnn_int t = FNN_TREE_AT(row, 2);
                    b.tok[pl] = (int32_t)t;
                    memcpy(b.Xl + pl * D, E + t * D, sizeof(real_t) * (size_t)D);
                    memcpy(b.dZl + pl * SL, g.Z + q * SI, sizeof(real_t) * (size_t)SL);
                    ++pl;
                } else {
                    memcpy(b.Ac + pi * 2 * H, g.Hs + (i * N + FNN_TREE_AT(row, 0)) * H, hb);
                    memcpy(b.Ac + pi * 2 * H + H, g.Hs + (i * N + FNN_TREE_AT(row, 1)) * H, hb);
                    memcpy(b.dZc + pi * SI, g.Z + q * SI, sizeof(real_t) * (size_t)SI);
                    ++pi;
                }
            }
        if (c->din) memset(c->din + s0 * 3 * N, 0, sizeof(real_t) * (size_t)(n * 3 * N));
    }
    FNN_BARRIER(); /* every thread's compacted rows are in */
    if (L->frozen) return;
    real_t *gWx = c->grad + L->w_off, *gWc = gWx + D * SL;
    real_t *gE = c->grad + L->b_off, *gbx = gE + V * D, *gbc = gbx + SL;
    fnn_int c0, c1;
    fnn_span(SI, 16, c->tid, nt, &c0, &c1);
    if (c0 < c1) {
        FNN_SFX(fnn_gemm_rm)(c->blas, 1, 0, 2 * H, c1 - c0, n_int, (real_t)1, b.Ac, 2 * H,
                             b.dZc + c0, SI, (real_t)1, gWc + c0, SI);
        for (fnn_int j = c0; j < c1; ++j) b.sums[SL + j] = 0.0;
        for (fnn_int r = 0; r < n_int; ++r)
            for (fnn_int j = c0; j < c1; ++j) b.sums[SL + j] += (double)b.dZc[r * SI + j];
        for (fnn_int j = c0; j < c1; ++j) gbc[j] += (real_t)b.sums[SL + j];
    }
    fnn_span(SL, 16, c->tid, nt, &c0, &c1);
    if (c0 < c1) {
        FNN_SFX(fnn_gemm_rm)(c->blas, 1, 0, D, c1 - c0, n_leaf, (real_t)1, b.Xl, D, b.dZl + c0,
                             SL, (real_t)1, gWx + c0, SL);
        for (fnn_int j = c0; j < c1; ++j) b.sums[j] = 0.0;
        for (fnn_int r = 0; r < n_leaf; ++r)
            for (fnn_int j = c0; j < c1; ++j) b.sums[j] += (double)b.dZl[r * SL + j];
        for (fnn_int j = c0; j < c1; ++j) gbx[j] += (real_t)b.sums[j];
    }
    /* the leaves' d x = dZl Wx^T, rows split */
    fnn_int r0, r1;
    fnn_span(n_leaf, 1, c->tid, nt, &r0, &r1);
    if (r0 < r1)
        FNN_SFX(fnn_gemm_rm)(c->blas, 0, 1, r1 - r0, D, SL, (real_t)1, b.dZl + r0 * SL, SL, Wx,
                             SL, (real_t)0, b.dXl + r0 * D, D);
    FNN_BARRIER(); /* every leaf's d x */
    /* the embedding rows: this thread's tokens, leaves in batch order */
    fnn_int v0, v1;
    fnn_span(V, 1, c->tid, nt, &v0, &v1);
    for (fnn_int r = 0; r < n_leaf; ++r) {
        const fnn_int t = b.tok[r];
        if (t < v0 || t >= v1) continue;
        real_t *ge = gE + t * D;
        const real_t *dx = b.dXl + r * D;
        for (fnn_int j = 0; j < D; ++j) ge[j] += dx[j];
    }
}

#include "fnn_real_end.h"
