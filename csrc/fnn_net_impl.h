/* The network driver (see fnn_net.h), one body for both dtypes: workspace
 * carving, forward and backward through the layer contract, the loss, and
 * the compiled epoch. */
#include "fnn_real.h"

typedef struct {
    real_t **act;     /* per layer: batch x out_size outputs */
    real_t **saved;   /* per layer: batch x saved() reals (training) */
    int32_t **saved_int; /* per layer: batch x saved_int() (training) */
    double **scratch; /* per layer: scratch(batch, training) doubles */
    real_t *xb;       /* gathered input rows */
    real_t *yb;       /* gathered targets */
    real_t *swb;      /* gathered weights */
    real_t *d0, *d1;  /* ping-pong gradients, batch x the widest layer side */
    double *ssq;      /* per update chunk: sum of squares of its decayed entries */
    double *gsq;      /* per update chunk: sum of squares of its gradient (clipping) */
} FNN_SFX(fnn_net_ws);

/* Carves `base` (NULL: only measures); returns the bytes used. Prediction
 * (training = 0) needs only the layers' outputs and their predict scratch. */
static size_t FNN_SFX(fnn_net_layout)(const fnn_net *net, fnn_int B, int training, int nt,
                                      char *base, FNN_SFX(fnn_net_ws) *ws)
{
    const fnn_int T = training ? B : 0; /* rows of the training-only buffers */
    const int L = net->n_layers;
    const fnn_int ky = fnn_net_target_width(net);
    fnn_int widest = net->layers[0].in_size;
    for (int l = 0; l < L; ++l) widest = fnn_max_i(widest, net->layers[l].out_size);
    size_t off = 0;
#define FNN_CARVE(ptr, type, count) do { \
        size_t nbytes_ = fnn_align_up(sizeof(type) * (size_t)(count)); \
        if (base) ptr = (type *)(base + off); \
        off += nbytes_; \
    } while (0)
    real_t **act = NULL, **saved = NULL;
    int32_t **saved_int = NULL;
    double **scratch = NULL;
    FNN_CARVE(act, real_t *, L);
    FNN_CARVE(saved, real_t *, L);
    FNN_CARVE(saved_int, int32_t *, L);
    FNN_CARVE(scratch, double *, L);
    if (ws) { ws->act = act; ws->saved = saved; ws->saved_int = saved_int; ws->scratch = scratch; }
    real_t *xb = NULL, *yb = NULL, *swb = NULL, *d0 = NULL, *d1 = NULL;
    double *ssq = NULL;
    FNN_CARVE(ssq, double, training ? 2 * fnn_net_update_chunks(net) : 0);
    FNN_CARVE(xb, real_t, T * net->layers[0].in_size);
    FNN_CARVE(yb, real_t, T * ky);
    FNN_CARVE(swb, real_t, T);
    FNN_CARVE(d0, real_t, T * widest);
    FNN_CARVE(d1, real_t, T * widest);
    if (ws) { ws->xb = xb; ws->yb = yb; ws->swb = swb; ws->d0 = d0; ws->d1 = d1; ws->ssq = ssq;
              ws->gsq = ssq ? ssq + fnn_net_update_chunks(net) : NULL; }
    for (int l = 0; l < L; ++l) {
        const fnn_layer *Ly = &net->layers[l];
        const fnn_layer_ops *ops = fnn_layer_ops_of(Ly);
        const fnn_int ns = T * ops->saved(Ly), ni = T * ops->saved_int(Ly);
        real_t *a = NULL, *e = NULL;
        int32_t *ei = NULL;
        double *f = NULL;
        FNN_CARVE(a, real_t, B * Ly->out_size);
        FNN_CARVE(e, real_t, ns);
        FNN_CARVE(ei, int32_t, ni);
        FNN_CARVE(f, double, ops->scratch(Ly, B, training, nt));
        if (ws) {
            act[l] = a;
            saved[l] = ns ? e : NULL;
            saved_int[l] = ni ? ei : NULL;
            scratch[l] = f;
        }
    }
#undef FNN_CARVE
    return off;
}

size_t FNN_SFX(fnn_net_workspace)(const fnn_net *net, fnn_int batch, int training,
                                 int n_threads)
{
    if (net->n_layers < 1 || batch < 1) return 0;
    return FNN_SFX(fnn_net_layout)(net, batch, training,
                                   fnn_net_team_size(net, batch, n_threads), NULL, NULL);
}

/* This dtype's forward and backward of L's kind. */
#if defined(FNN_F32)
#define FNN_LAYER_FORWARD(L) (fnn_layer_ops_of(L)->forward_f32)
#define FNN_LAYER_BACKWARD(L) (fnn_layer_ops_of(L)->backward_f32)
#else
#define FNN_LAYER_FORWARD(L) (fnn_layer_ops_of(L)->forward_f64)
#define FNN_LAYER_BACKWARD(L) (fnn_layer_ops_of(L)->backward_f64)
#endif

/* Forward through every layer; team-parallel, a barrier after each layer. */
static void FNN_SFX(fnn_net_forward)(const fnn_net *net, fnn_int m, const real_t *x,
                                     const real_t *params, real_t *stats, int training,
                                     int update_stats, uint64_t seed,
                                     FNN_SFX(fnn_net_ws) *ws, const fnn_blas *blas, int tid,
                                     int nt)
{
    FNN_SFX(fnn_call) c = {0};
    c.m = m;
    c.params = params;
    c.stats = stats;
    c.training = training;
    c.update_stats = update_stats;
    c.blas = blas;
    c.tid = tid;
    c.nt = nt;
    c.in = x;
    for (int l = 0; l < net->n_layers; ++l) {
        const fnn_layer *L = &net->layers[l];
        c.out = ws->act[l];
        c.saved = training ? ws->saved[l] : NULL;
        c.saved_int = training ? ws->saved_int[l] : NULL;
        c.scratch = ws->scratch[l];
        c.seed = fnn_hash64(seed, (uint64_t)l);
        FNN_PHASE(fnn_phase_forward(net, l));
        FNN_LAYER_FORWARD(L)(L, &c);
        FNN_BARRIER();
        c.in = c.out;
    }
}

/* d loss / d (last output) in ws->d0 on entry. Returns the buffer holding
 * d loss / d x when want_dx, else NULL. Team-parallel. */
static real_t *FNN_SFX(fnn_net_backward)(const fnn_net *net, fnn_int m, const real_t *x,
                                         const real_t *params, real_t *grad, int want_dx,
                                         FNN_SFX(fnn_net_ws) *ws, const fnn_blas *blas,
                                         int tid, int nt)
{
    int first_trainable = net->n_layers;
    for (int l = 0; l < net->n_layers; ++l) {
        const fnn_layer *L = &net->layers[l];
        if (!L->frozen && L->n_w + L->n_b > 0) { first_trainable = l; break; }
    }
    FNN_SFX(fnn_call) c = {0};
    c.m = m;
    c.params = params;
    c.grad = grad;
    c.training = 1;
    c.blas = blas;
    c.tid = tid;
    c.nt = nt;
    real_t *d = ws->d0, *spare = ws->d1;
    for (int l = net->n_layers - 1; l >= 0; --l) {
        const fnn_layer *L = &net->layers[l];
        const int in_place = fnn_layer_ops_of(L)->in_place;
        const int need_din = want_dx || l > first_trainable;
        if (!need_din && (L->frozen || L->n_w + L->n_b == 0)) break;
        c.in = l ? ws->act[l - 1] : x;
        c.out = ws->act[l];
        c.saved = ws->saved[l];
        c.saved_int = ws->saved_int[l];
        c.scratch = ws->scratch[l];
        c.d = d;
        c.din = need_din ? (in_place ? d : spare) : NULL;
        FNN_PHASE(fnn_phase_backward(net, l));
        FNN_LAYER_BACKWARD(L)(L, &c);
        FNN_BARRIER();
        if (!need_din) break;
        if (!in_place) { real_t *tmp = d; d = spare; spare = tmp; }
    }
    return want_dx ? d : NULL;
}

#undef FNN_LAYER_FORWARD
#undef FNN_LAYER_BACKWARD

/* Rows [lo, hi) of the batch: gather X (and y, sw) rows into ws. */
static void FNN_SFX(fnn_net_gather)(const fnn_net *net, const real_t *X, const real_t *y,
                                    const real_t *sw, const fnn_int *rows, fnn_int lo,
                                    fnn_int hi, FNN_SFX(fnn_net_ws) *ws)
{
    const fnn_int ni = net->layers[0].in_size;
    const fnn_int ky = fnn_net_target_width(net);
    /* rows are random: ask for rows a few ahead so their first lines are on
     * the way while this one is copied (latency, not bandwidth, bounds it) */
    const fnn_int ahead = 4, lines = fnn_min_i(8, (ni * (fnn_int)sizeof(real_t) + 63) / 64);
    for (fnn_int i = lo; i < hi; ++i) {
        const fnn_int r = rows[i];
        if (i + ahead < hi) {
            const char *next = (const char *)(X + rows[i + ahead] * ni);
            for (fnn_int q = 0; q < lines; ++q) FNN_PREFETCH(next + 64 * q);
        }
        memcpy(ws->xb + i * ni, X + r * ni, sizeof(real_t) * (size_t)ni);
        if (y) memcpy(ws->yb + i * ky, y + r * ky, sizeof(real_t) * (size_t)ky);
        if (sw) ws->swb[i] = sw[r];
    }
}

int FNN_SFX(fnn_net_predict)(const fnn_net *net, const real_t *params, const real_t *stats,
                             const real_t *X, fnn_int n, real_t *out, fnn_int batch, void *work,
                             size_t work_size, const fnn_blas *blas, int n_threads)
{
    if (fnn_net_check(net) != FNN_OK || batch < 1 || n < 0) return FNN_EINVAL;
    if (work_size < FNN_SFX(fnn_net_workspace)(net, batch, 0, n_threads)) return FNN_EWORK;
    /* the team is never larger than the one the workspace was sized for */
    const int nt = fnn_net_team_size(net, fnn_min_i(batch, n), n_threads);
    FNN_SFX(fnn_net_ws) ws;
    FNN_SFX(fnn_net_layout)(net, batch, 0, nt, (char *)work, &ws);
    const fnn_int ni = net->layers[0].in_size;
    const fnn_int no = net->layers[net->n_layers - 1].out_size;
    FNN_TEAM_SYNC(sync);
    #pragma omp parallel num_threads(nt) if (nt > 1)
    {
        FNN_TEAM_ENTER(sync);
        const int tid = fnn_thread_id(), T = fnn_team_size();
        for (fnn_int r0 = 0; r0 < n; r0 += batch) {
            const fnn_int m = fnn_min_i(batch, n - r0);
            /* eval mode writes no statistics: the cast only satisfies the signature */
            FNN_SFX(fnn_net_forward)(net, m, X + r0 * ni, params, (real_t *)stats, 0, 0, 0,
                                     &ws, blas, tid, T);
            fnn_int lo, hi;
            fnn_span(m, 1, tid, T, &lo, &hi);
            if (lo < hi)
                memcpy(out + (r0 + lo) * no, ws.act[net->n_layers - 1] + lo * no,
                       sizeof(real_t) * (size_t)((hi - lo) * no));
            FNN_BARRIER();
        }
        FNN_TEAM_LEAVE();
    }
    return FNN_OK;
}

/* One batch on the team: forward (train), loss into ws->d0, backward.
 * *loss (shared) and *status (shared) are accumulated atomically. */
static void FNN_SFX(fnn_net_batch)(const fnn_net *net, fnn_int m, const real_t *x,
                                   const real_t *y, const real_t *sw, const real_t *params,
                                   real_t *stats, double scale, uint64_t seed, int update_stats,
                                   real_t *grad, real_t **dx_out, double *loss, int *status,
                                   FNN_SFX(fnn_net_ws) *ws, const fnn_blas *blas, int tid,
                                   int nt)
{
    const fnn_layer *last = &net->layers[net->n_layers - 1];
    const fnn_int k = last->out_size;
    const fnn_int yw = fnn_loss_y_width(net->loss, k);
    FNN_SFX(fnn_net_forward)(net, m, x, params, stats, 1, update_stats, seed, ws, blas, tid,
                             nt);
    fnn_int lo, hi;
    fnn_span(m, 1, tid, nt, &lo, &hi);
    FNN_PHASE(FNN_PHASE_LOSS);
    if (lo < hi) {
        double part = 0.0;
        const real_t *z = ws->act[net->n_layers - 1];
        int st = FNN_SFX(fnn_loss_grad_samples)(net->loss, hi - lo, k, z + lo * k,
                                                y + lo * yw, sw ? sw + lo : NULL, scale,
                                                ws->d0 + lo * k, &part);
        #pragma omp atomic
        *loss += part;
        if (st != FNN_OK) {
            #pragma omp atomic write
            *status = st;
        }
    }
    FNN_BARRIER();
    if (*status != FNN_OK || !grad) return; /* every thread sees it after the barrier */
    real_t *dx = FNN_SFX(fnn_net_backward)(net, m, x, params, grad, dx_out != NULL, ws, blas,
                                           tid, nt);
    if (dx_out) *dx_out = dx;
}

int FNN_SFX(fnn_net_loss_grad)(const fnn_net *net, const real_t *params, real_t *stats,
                               const real_t *X, const real_t *y, const real_t *sw,
                               const fnn_int *rows, fnn_int m, double scale, uint64_t seed,
                               int update_stats, real_t *grad, real_t *dX, double *loss_out,
                               void *work, size_t work_size, const fnn_blas *blas, int n_threads)
{
    if (fnn_net_check(net) != FNN_OK || m < 1 || (!grad && dX)) return FNN_EINVAL;
    if (work_size < FNN_SFX(fnn_net_workspace)(net, m, 1, n_threads)) return FNN_EWORK;
    const int nt = fnn_net_team_size(net, m, n_threads);
    FNN_SFX(fnn_net_ws) ws;
    FNN_SFX(fnn_net_layout)(net, m, 1, nt, (char *)work, &ws);
    /* frozen parameters (and any a layer leaves alone) read as zero */
    if (grad) memset(grad, 0, sizeof(real_t) * (size_t)net->n_params);
    const real_t *x = X, *yy = y, *ss = sw;
    if (rows) { x = ws.xb; yy = ws.yb; ss = sw ? ws.swb : NULL; }
    double loss = 0.0;
    int status = FNN_OK;
    real_t *dx = NULL;
    FNN_TEAM_SYNC(sync);
    #pragma omp parallel num_threads(nt) if (nt > 1)
    {
        FNN_TEAM_ENTER(sync);
        const int tid = fnn_thread_id(), T = fnn_team_size();
        if (rows) {
            fnn_int lo, hi;
            fnn_span(m, 1, tid, T, &lo, &hi);
            FNN_SFX(fnn_net_gather)(net, X, y, sw, rows, lo, hi, &ws);
            FNN_BARRIER();
        }
        real_t *mine = NULL;
        FNN_SFX(fnn_net_batch)(net, m, x, yy, ss, params, stats, scale, seed, update_stats,
                               grad, dX ? &mine : NULL, &loss, &status, &ws, blas, tid, T);
        if (tid == 0) dx = mine;
        FNN_TEAM_LEAVE();
    }
    if (status != FNN_OK) return status;
    *loss_out = loss;
    if (dX) memcpy(dX, dx, sizeof(real_t) * (size_t)(m * net->layers[0].in_size));
    return FNN_OK;
}

/* The update of [lo, hi) of the trainable parameters (fnn_optim_range, the
 * gradient cleared), except that the layers' sparse rows (fnn_layer.sp_rows)
 * whose gradient row is all zero do not move (no leaf of the batch used that
 * embedding row: lazy updates, as TensorFlow's LazyAdam). A row belongs to
 * the range its first entry is in. Adds the decayed entries' ||W||^2 to *ssq. */
static void FNN_SFX(fnn_net_update)(const fnn_net *net, const fnn_optim *opt, fnn_int lo,
                                    fnn_int hi, double l2, double lr, int64_t t, real_t *params,
                                    real_t *grad, real_t *state, double *ssq)
{
    const fnn_int n = net->n_train, nd = net->n_decay;
    fnn_int at = lo;
    for (int l = 0; l < net->n_layers && at < hi; ++l) {
        const fnn_layer *L = &net->layers[l];
        if (!L->sp_rows || L->frozen) continue;
        const fnn_int a = L->b_off, W = L->sp_width, b = a + L->sp_rows * W;
        if (b <= at || a >= hi) continue;
        if (at < a) {
            FNN_SFX(fnn_optim_range)(opt, at, a, n, nd, l2, lr, t, params, grad, state, ssq, 1);
            at = a;
        }
        /* the rows starting in [at, hi) (one starting before belongs to the range before) */
        const fnn_int r1 = fnn_min_i(L->sp_rows, (hi - a + W - 1) / W);
        for (fnn_int r = (at - a + W - 1) / W; r < r1; ++r) {
            const real_t *g = grad + a + r * W;
            fnn_int j = 0;
            while (j < W && g[j] == (real_t)0) ++j;
            if (j < W)
                FNN_SFX(fnn_optim_range)(opt, a + r * W, a + (r + 1) * W, n, nd, l2, lr, t,
                                         params, grad, state, ssq, 1);
        }
        at = fnn_max_i(at, fnn_min_i(b, a + r1 * W));
    }
    if (at < hi)
        FNN_SFX(fnn_optim_range)(opt, at, hi, n, nd, l2, lr, t, params, grad, state, ssq, 1);
}

int FNN_SFX(fnn_net_epoch)(const fnn_net *net, const FNN_SFX(fnn_epoch_data) *data,
                           const FNN_SFX(fnn_epoch_bufs) *bufs, fnn_epoch_step *step,
                           double *loss_out, void *work, size_t work_size,
                           const fnn_blas *blas, int n_threads)
{
    const real_t *X = data->X, *y = data->y, *sw = data->sw;
    const fnn_int *perm = data->perm, n = data->n, batch = data->batch;
    real_t *params = bufs->params, *grad = bufs->grad, *state = bufs->state;
    real_t *stats = bufs->stats;
    const fnn_optim *opt = step->opt;
    const double lr = step->lr, alpha = step->alpha, value_scale = step->value_scale;
    const double clip = step->clip_norm;
    const uint64_t seed = step->seed;
    if (fnn_net_check(net) != FNN_OK || batch < 1 || n < 1 || !perm) return FNN_EINVAL;
    if (fnn_optim_state_per_param(opt->kind) == 0 || step->t < 0) return FNN_EINVAL;
    if (!(clip >= 0.0)) return FNN_EINVAL;
    if (work_size < FNN_SFX(fnn_net_workspace)(net, batch, 1, n_threads)) return FNN_EWORK;
    const int nt = fnn_net_team_size(net, fnn_min_i(batch, n), n_threads);
    FNN_SFX(fnn_net_ws) ws;
    FNN_SFX(fnn_net_layout)(net, batch, 1, nt, (char *)work, &ws);
    /* shared by the team */
    double total = 0.0, loss = 0.0;
    fnn_int next_chunk = 0;
    const fnn_int n_chunks = fnn_net_update_chunks(net);
    int status = FNN_OK;
    int64_t steps_done = 0;
    const int64_t t0 = step->t;
    const int n_slots = fnn_net_phase_slots(net);
    FNN_TEAM_SYNC(sync);
    #pragma omp parallel num_threads(nt) if (nt > 1)
    {
        /* on the phase clock, each thread adds into its own slots (none: untimed) */
        double *phase_acc = step->phases ? calloc(2 * (size_t)n_slots, sizeof(double)) : NULL;
        FNN_TEAM_ENTER_TIMED(sync, phase_acc);
        const int tid = fnn_thread_id(), T = fnn_team_size();
        int64_t steps = 0; /* each thread counts; the same on all */
        fnn_int p_lo, p_hi;
        fnn_span(net->n_train, 16, tid, T, &p_lo, &p_hi);
        /* backward adds into grad; from here on the optimizer re-zeroes it */
        memset(grad + p_lo, 0, sizeof(real_t) * (size_t)(p_hi - p_lo));
        for (fnn_int b0 = 0; b0 < n; b0 += batch) {
            const fnn_int m = fnn_min_i(batch, n - b0);
            fnn_int lo, hi;
            fnn_span(m, 1, tid, T, &lo, &hi);
            FNN_PHASE(FNN_PHASE_GATHER);
            FNN_SFX(fnn_net_gather)(net, X, y, sw, perm + b0, lo, hi, &ws);
            if (tid == 0) { loss = 0.0; next_chunk = 0; }
            FNN_BARRIER();
            /* every thread sums the batch's weights itself, in the same order */
            double Sb = (double)m;
            if (sw) {
                Sb = 0.0;
                for (fnn_int i = 0; i < m; ++i) Sb += (double)ws.swb[i];
            }
            if (!(Sb > 0.0)) {
                /* an all-zero-weight batch moves nothing; the barrier keeps the
                 * next gather from overwriting weights another thread still sums */
                FNN_BARRIER();
                continue;
            }
            FNN_SFX(fnn_net_batch)(net, m, ws.xb, ws.yb, sw ? ws.swb : NULL, params, stats,
                                   1.0 / Sb, fnn_hash64(seed, (uint64_t)(t0 + steps)), 1, grad,
                                   NULL, &loss, &status, &ws, blas, tid, T);
            if (status != FNN_OK) break; /* read after the batch's barriers: all agree */
            /* clip_grad_norm_: every thread sums the chunks' parts in chunk order */
            FNN_PHASE(FNN_PHASE_UPDATE);
            double coef = 1.0;
            if (clip > 0.0) {
                for (fnn_int c = tid; c < n_chunks; c += T) {
                    const fnn_int c0 = c * FNN_NET_UPDATE_CHUNK;
                    const fnn_int c1 = fnn_min_i(net->n_train, c0 + FNN_NET_UPDATE_CHUNK);
                    double part = 0.0;
                    for (fnn_int i = c0; i < c1; ++i) part += (double)grad[i] * (double)grad[i];
                    ws.gsq[c] = part;
                }
                FNN_BARRIER();
                double g2 = 0.0;
                for (fnn_int c = 0; c < n_chunks; ++c) g2 += ws.gsq[c];
                coef = fmin(1.0, clip / (sqrt(g2) + 1e-6));
            }
            /* the update (see FNN_NET_UPDATE_CHUNK) also measures ||W||^2 at the
             * weights this batch used */
            for (;;) {
                fnn_int c;
                #pragma omp atomic capture
                c = next_chunk++;
                if (c >= n_chunks) break;
                const fnn_int c0 = c * FNN_NET_UPDATE_CHUNK;
                double part = 0.0;
                const fnn_int c1 = fnn_min_i(net->n_train, c0 + FNN_NET_UPDATE_CHUNK);
                if (coef < 1.0) {
                    const real_t k = (real_t)coef;
                    for (fnn_int i = c0; i < c1; ++i) grad[i] *= k;
                }
                FNN_SFX(fnn_net_update)(net, opt, c0, c1, alpha / Sb, lr, t0 + steps + 1, params,
                                        grad, state, &part);
                ws.ssq[c] = part;
            }
            FNN_BARRIER();
            if (tid == 0) {
                double w2 = 0.0;
                if (alpha > 0.0)
                    for (fnn_int c = 0; c < n_chunks; ++c) w2 += ws.ssq[c];
                total += (double)m * (value_scale * loss / Sb + 0.5 * alpha * w2 / Sb);
            }
            steps += 1;
        }
        if (tid == 0) steps_done = steps;
        FNN_TEAM_LEAVE();
        if (phase_acc) {
            for (int s = 0; s < 2 * n_slots; ++s) {
                #pragma omp atomic
                step->phases[s] += phase_acc[s];
            }
            free(phase_acc);
        }
    }
    if (status != FNN_OK) return status;
    step->t = t0 + steps_done;
    *loss_out = total / (double)n;
    return FNN_OK;
}

#include "fnn_real_end.h"
