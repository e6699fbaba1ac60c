/* The network driver (see fnn_net.h), one body for both dtypes: workspace
 * carving, forward and backward through the layer contract, the loss, and
 * the compiled epoch. */
#include "fnn_real.h"

typedef struct {
    real_t **act;     /* per layer: batch x out_size outputs */
    real_t **extra;   /* per layer: batch x fnn_layer_extra() */
    double **fixed;   /* per layer: fnn_layer_fixed() doubles */
    real_t *xb;       /* gathered input rows */
    real_t *yb;       /* gathered targets */
    real_t *swb;      /* gathered weights */
    real_t *d0, *d1;  /* ping-pong gradients, batch x the widest layer side */
} FNN_SFX(fnn_net_ws);

/* Carves `base` (NULL: only measures); returns the bytes used. */
static size_t FNN_SFX(fnn_net_layout)(const fnn_net *net, fnn_int B, char *base,
                                      FNN_SFX(fnn_net_ws) *ws)
{
    const int L = net->n_layers;
    const fnn_layer *last = &net->layers[L - 1];
    const fnn_int ky = FNN_LOSS_KIND(net->loss) == FNN_LOSS_MULTINOMIAL ? 1 : last->out_size;
    fnn_int widest = net->layers[0].in_size;
    for (int l = 0; l < L; ++l) widest = fnn_max_i(widest, net->layers[l].out_size);
    size_t off = 0;
#define FNN_CARVE(ptr, type, count) do { \
        size_t nbytes_ = fnn_align_up(sizeof(type) * (size_t)(count)); \
        if (base) ptr = (type *)(base + off); \
        off += nbytes_; \
    } while (0)
    real_t **act = NULL, **extra = NULL;
    double **fixed = NULL;
    FNN_CARVE(act, real_t *, L);
    FNN_CARVE(extra, real_t *, L);
    FNN_CARVE(fixed, double *, L);
    if (ws) { ws->act = act; ws->extra = extra; ws->fixed = fixed; }
    real_t *xb = NULL, *yb = NULL, *swb = NULL, *d0 = NULL, *d1 = NULL;
    FNN_CARVE(xb, real_t, B * net->layers[0].in_size);
    FNN_CARVE(yb, real_t, B * ky);
    FNN_CARVE(swb, real_t, B);
    FNN_CARVE(d0, real_t, B * widest);
    FNN_CARVE(d1, real_t, B * widest);
    if (ws) { ws->xb = xb; ws->yb = yb; ws->swb = swb; ws->d0 = d0; ws->d1 = d1; }
    for (int l = 0; l < L; ++l) {
        real_t *a = NULL, *e = NULL;
        double *f = NULL;
        FNN_CARVE(a, real_t, B * net->layers[l].out_size);
        FNN_CARVE(e, real_t, B * fnn_layer_extra(&net->layers[l]));
        FNN_CARVE(f, double, fnn_layer_fixed(&net->layers[l]));
        if (ws) { act[l] = a; extra[l] = e; fixed[l] = f; }
    }
#undef FNN_CARVE
    return off;
}

size_t FNN_SFX(fnn_net_workspace)(const fnn_net *net, fnn_int batch)
{
    if (net->n_layers < 1 || batch < 1) return 0;
    return FNN_SFX(fnn_net_layout)(net, batch, NULL, NULL);
}

static void FNN_SFX(fnn_net_forward)(const fnn_net *net, fnn_int m, const real_t *x,
                                     const real_t *params, real_t *stats, int training,
                                     int update_stats, uint64_t seed,
                                     FNN_SFX(fnn_net_ws) *ws, const fnn_blas *blas, int nt)
{
    const real_t *in = x;
    for (int l = 0; l < net->n_layers; ++l) {
        const fnn_layer *L = &net->layers[l];
        real_t *out = ws->act[l];
        switch (L->kind) {
        case FNN_LAYER_DENSE:
            FNN_SFX(fnn_dense_forward)(L, m, in, out, params, blas, nt);
            break;
        case FNN_LAYER_ACTIVATION:
            FNN_SFX(fnn_activation_forward)(L, m, in, out, nt);
            break;
        case FNN_LAYER_DROPOUT:
            FNN_SFX(fnn_dropout_forward)(L, m, in, out, training ? ws->extra[l] : NULL,
                                         training, fnn_hash64(seed, (uint64_t)l), nt);
            break;
        case FNN_LAYER_BATCHNORM:
            FNN_SFX(fnn_batchnorm_forward)(L, m, in, out, training ? ws->extra[l] : NULL,
                                           ws->fixed[l], params, stats, training,
                                           update_stats, nt);
            break;
        }
        in = out;
    }
}

/* d = d loss / d (last output) in ws->d0 on entry. Returns d loss / d x in
 * one of the ping-pong buffers when want_dx, else NULL. */
static real_t *FNN_SFX(fnn_net_backward)(const fnn_net *net, fnn_int m, const real_t *x,
                                         const real_t *params, real_t *grad, int want_dx,
                                         FNN_SFX(fnn_net_ws) *ws, const fnn_blas *blas, int nt)
{
    int first_trainable = net->n_layers;
    for (int l = 0; l < net->n_layers; ++l) {
        const fnn_layer *L = &net->layers[l];
        if (!L->frozen && L->n_w + L->n_b > 0) { first_trainable = l; break; }
    }
    real_t *d = ws->d0, *spare = ws->d1;
    for (int l = net->n_layers - 1; l >= 0; --l) {
        const fnn_layer *L = &net->layers[l];
        const real_t *in = l ? ws->act[l - 1] : x;
        const int need_din = want_dx || l > first_trainable;
        if (!need_din && (L->frozen || L->n_w + L->n_b == 0)) break;
        switch (L->kind) {
        case FNN_LAYER_DENSE:
            FNN_SFX(fnn_dense_backward)(L, m, in, ws->act[l], d, need_din ? spare : NULL,
                                        params, grad, ws->fixed[l], blas, nt);
            { real_t *tmp = d; d = spare; spare = tmp; }
            break;
        case FNN_LAYER_ACTIVATION:
            FNN_SFX(fnn_activation_backward)(L, m, ws->act[l], d, nt);
            break;
        case FNN_LAYER_DROPOUT:
            FNN_SFX(fnn_dropout_backward)(L, m, ws->extra[l], d, nt);
            break;
        case FNN_LAYER_BATCHNORM:
            FNN_SFX(fnn_batchnorm_backward)(L, m, ws->extra[l], d, ws->fixed[l], params, grad,
                                            need_din, nt);
            break;
        }
        if (!need_din) break;
    }
    return want_dx ? d : NULL;
}

static void FNN_SFX(fnn_net_gather)(const fnn_net *net, const real_t *X, const real_t *y,
                                    const real_t *sw, const fnn_int *rows, fnn_int m,
                                    FNN_SFX(fnn_net_ws) *ws)
{
    const fnn_int ni = net->layers[0].in_size;
    const fnn_int ky = FNN_LOSS_KIND(net->loss) == FNN_LOSS_MULTINOMIAL ? 1
                       : net->layers[net->n_layers - 1].out_size;
    for (fnn_int i = 0; i < m; ++i) {
        const fnn_int r = rows[i];
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
    if (work_size < FNN_SFX(fnn_net_workspace)(net, batch)) return FNN_EWORK;
    FNN_SFX(fnn_net_ws) ws;
    FNN_SFX(fnn_net_layout)(net, batch, (char *)work, &ws);
    const fnn_int ni = net->layers[0].in_size;
    const fnn_int no = net->layers[net->n_layers - 1].out_size;
    for (fnn_int r0 = 0; r0 < n; r0 += batch) {
        const fnn_int m = fnn_min_i(batch, n - r0);
        /* eval mode writes no statistics: the cast only satisfies the signature */
        FNN_SFX(fnn_net_forward)(net, m, X + r0 * ni, params, (real_t *)stats, 0, 0, 0, &ws,
                                 blas, n_threads);
        memcpy(out + r0 * no, ws.act[net->n_layers - 1], sizeof(real_t) * (size_t)(m * no));
    }
    return FNN_OK;
}

/* One batch: forward (train), loss into ws->d0, backward. Rows already in
 * ws (gathered) or x pointing at m contiguous rows. */
static int FNN_SFX(fnn_net_batch)(const fnn_net *net, fnn_int m, const real_t *x,
                                  const real_t *y, const real_t *sw, const real_t *params,
                                  real_t *stats, double scale, uint64_t seed, int update_stats,
                                  real_t *grad, real_t *dX, double *loss_out,
                                  FNN_SFX(fnn_net_ws) *ws, const fnn_blas *blas, int nt)
{
    const fnn_layer *last = &net->layers[net->n_layers - 1];
    FNN_SFX(fnn_net_forward)(net, m, x, params, stats, 1, update_stats, seed, ws, blas, nt);
    double loss = 0.0;
    int status = FNN_SFX(fnn_loss_grad)(net->loss, m, last->out_size, ws->act[net->n_layers - 1],
                                        y, sw, scale, ws->d0, &loss, nt);
    if (status != FNN_OK) return status;
    *loss_out = loss;
    real_t *dx = FNN_SFX(fnn_net_backward)(net, m, x, params, grad, dX != NULL, ws, blas, nt);
    if (dX) memcpy(dX, dx, sizeof(real_t) * (size_t)(m * net->layers[0].in_size));
    return FNN_OK;
}

int FNN_SFX(fnn_net_loss_grad)(const fnn_net *net, const real_t *params, real_t *stats,
                               const real_t *X, const real_t *y, const real_t *sw,
                               const fnn_int *rows, fnn_int m, double scale, uint64_t seed,
                               int update_stats, real_t *grad, real_t *dX, double *loss_out,
                               void *work, size_t work_size, const fnn_blas *blas, int n_threads)
{
    if (fnn_net_check(net) != FNN_OK || m < 1) return FNN_EINVAL;
    if (work_size < FNN_SFX(fnn_net_workspace)(net, m)) return FNN_EWORK;
    FNN_SFX(fnn_net_ws) ws;
    FNN_SFX(fnn_net_layout)(net, m, (char *)work, &ws);
    /* frozen parameters (and any a layer leaves alone) read as zero */
    memset(grad, 0, sizeof(real_t) * (size_t)net->n_params);
    const real_t *x = X, *yy = y, *ss = sw;
    if (rows) {
        FNN_SFX(fnn_net_gather)(net, X, y, sw, rows, m, &ws);
        x = ws.xb; yy = ws.yb; ss = sw ? ws.swb : NULL;
    }
    return FNN_SFX(fnn_net_batch)(net, m, x, yy, ss, params, stats, scale, seed, update_stats,
                                  grad, dX, loss_out, &ws, blas, n_threads);
}

int FNN_SFX(fnn_net_epoch)(const fnn_net *net, const real_t *X, const real_t *y,
                           const real_t *sw, const fnn_int *perm, fnn_int n, fnn_int batch,
                           const fnn_optim *opt, double lr, double alpha, double value_scale,
                           int64_t *t, real_t *params, real_t *grad, real_t *state,
                           real_t *stats, uint64_t seed, double *loss_out, void *work,
                           size_t work_size, const fnn_blas *blas, int n_threads)
{
    if (fnn_net_check(net) != FNN_OK || batch < 1 || n < 1 || !perm) return FNN_EINVAL;
    if (work_size < FNN_SFX(fnn_net_workspace)(net, batch)) return FNN_EWORK;
    FNN_SFX(fnn_net_ws) ws;
    FNN_SFX(fnn_net_layout)(net, batch, (char *)work, &ws);
    double total = 0.0;
    for (fnn_int b0 = 0; b0 < n; b0 += batch) {
        const fnn_int m = fnn_min_i(batch, n - b0);
        FNN_SFX(fnn_net_gather)(net, X, y, sw, perm + b0, m, &ws);
        double S = (double)m;
        if (sw) {
            S = 0.0;
            for (fnn_int i = 0; i < m; ++i) S += (double)ws.swb[i];
            if (!(S > 0.0)) continue; /* an all-zero-weight batch moves nothing */
        }
        double penalty = 0.0;
        if (alpha > 0.0) {
            double w2 = 0.0;
            for (fnn_int q = 0; q < net->n_decay; ++q) w2 += (double)params[q] * (double)params[q];
            penalty = 0.5 * alpha * w2 / S;
        }
        double loss = 0.0;
        int status = FNN_SFX(fnn_net_batch)(net, m, ws.xb, ws.yb, sw ? ws.swb : NULL, params,
                                            stats, 1.0 / S, fnn_hash64(seed, (uint64_t)*t), 1,
                                            grad, NULL, &loss, &ws, blas, n_threads);
        if (status != FNN_OK) return status;
        total += (double)m * (value_scale * loss / S + penalty);
        *t += 1;
        status = FNN_SFX(fnn_optim_step)(opt, net->n_train, net->n_decay, alpha / S, lr, *t,
                                         params, grad, state, n_threads);
        if (status != FNN_OK) return status;
    }
    *loss_out = total / (double)n;
    return FNN_OK;
}

#include "fnn_real_end.h"
