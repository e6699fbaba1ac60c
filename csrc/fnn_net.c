/* fnn_net.c -- the network runtime for float32 and float64 (see fnn_net.h). */
#include "fnn_net.h"
#include "fnn_act.h"
#include "fnn_loss.h"
#include "fnn_team.h"

/* Parameters per unit of work of the epoch's update phase: threads take
 * chunks in turn (as fast as each runs: the update is memory-bound, and
 * which core's cache holds a line varies), and each chunk's ||W||^2 part is
 * added up in chunk order, so the loss does not depend on who took what. */
#define FNN_NET_UPDATE_CHUNK ((fnn_int)8192)
static fnn_int fnn_net_update_chunks(const fnn_net *net)
{
    return (net->n_train + FNN_NET_UPDATE_CHUNK - 1) / FNN_NET_UPDATE_CHUNK;
}

/* Threads worth using for batches of m rows: the work per batch (every
 * layer's multiply-adds, forward and backward: three GEMMs a Dense) must
 * give every thread FNN_NET_MIN_WORK, or the barriers between phases cost
 * more than they save.
 * Measured on the 2-core machine (whole fits, 1 vs 2 threads): 2 threads
 * were slower up to ~1.1e7 multiply-adds a batch (20-64-10 b32 0.65x,
 * 64-100-10 b200 0.74x, 64-256-10 b200 0.82x), even at 2.3e7 (64-512-10
 * b200 1.04x), and faster from ~2e7 on wide inputs (784-128-10 b64 1.19x,
 * 784-256-128-10 b32 1.36x, b256 1.50x). A small network on one thread also
 * keeps a busy neighbour from stalling it at every barrier. */
#ifndef FNN_NET_MIN_WORK
#define FNN_NET_MIN_WORK ((fnn_int)7500000)
#endif
int fnn_net_team_size(const fnn_net *net, fnn_int m, int n_threads)
{
#ifdef _OPENMP
    fnn_int work = 0;
    for (int l = 0; l < net->n_layers; ++l)
        work += fnn_layer_ops_of(&net->layers[l])->flops(&net->layers[l]);
    work *= m;
    fnn_int useful = work / FNN_NET_MIN_WORK;
    if (n_threads < 1) n_threads = 1;
    if (useful < 2) return 1;
    return useful < n_threads ? (int)useful : n_threads;
#else
    (void)net; (void)m; (void)n_threads;
    return 1;
#endif
}

/* Targets per sample: a class index (per step) for the softmax loss, else
 * one per output. */
static fnn_int fnn_net_target_width(const fnn_net *net)
{
    return fnn_loss_y_width(net->loss, net->layers[net->n_layers - 1].out_size);
}

/* What every layer must satisfy, whatever its kind; then its kind's own check. */
static int fnn_layer_check(const fnn_layer *L, const fnn_net *net)
{
    fnn_int in = 1, out = 1;
    if (L->kind < 0 || L->kind >= FNN_LAYER_COUNT) return 0;
    if (L->in_ndim < 1 || L->in_ndim > 3 || L->out_ndim < 1 || L->out_ndim > 3) return 0;
    for (int i = 0; i < L->in_ndim; ++i) { if (L->in_shape[i] < 1) return 0; in *= L->in_shape[i]; }
    for (int i = 0; i < L->out_ndim; ++i) { if (L->out_shape[i] < 1) return 0; out *= L->out_shape[i]; }
    if (in != L->in_size || out != L->out_size) return 0;
    if (L->n_w < 0 || L->n_b < 0 || L->n_s < 0) return 0;
    if (L->n_w && (L->w_off < 0 || L->w_off + L->n_w > net->n_params)) return 0;
    if (L->n_b && (L->b_off < 0 || L->b_off + L->n_b > net->n_params)) return 0;
    if (L->n_s && (L->s_off < 0 || L->s_off + L->n_s > net->n_stats)) return 0;
    if (L->sp_rows < 0 || L->sp_width < 0 || (L->sp_rows > 0) != (L->sp_width > 0) ||
        L->sp_rows * L->sp_width > L->n_b)
        return 0;
    return fnn_layer_ops_of(L)->check(L);
}

int fnn_net_check(const fnn_net *net)
{
    if (!net || net->n_layers < 1 || !net->layers) return FNN_EINVAL;
    if (net->n_train < 0 || net->n_train > net->n_params || net->n_decay < 0 ||
        net->n_decay > net->n_train)
        return FNN_EINVAL;
    if (!fnn_loss_kind_ok(net->loss, net->layers[net->n_layers - 1].out_size))
        return FNN_EINVAL;
    for (int l = 0; l < net->n_layers; ++l) {
        const fnn_layer *L = &net->layers[l];
        if (!fnn_layer_check(L, net)) return FNN_EINVAL;
        /* the optimizer's state covers [0, n_train), L2 [0, n_decay) */
        const int bad_frozen = (L->n_w && L->w_off < net->n_train) ||
                               (L->n_b && L->b_off < net->n_train);
        const int bad_trained = (L->n_w && L->w_off + L->n_w > net->n_decay) ||
                                (L->n_b && (L->b_off < net->n_decay ||
                                            L->b_off + L->n_b > net->n_train));
        if (L->frozen ? bad_frozen : bad_trained) return FNN_EINVAL;
        if (l && net->layers[l].in_size != net->layers[l - 1].out_size) return FNN_EINVAL;
    }
    return FNN_OK;
}

#define FNN_F32
#include "fnn_loss_rows.h"
#define FNN_F64
#include "fnn_loss_rows.h"

#define FNN_F32
#include "fnn_dense_impl.h"
#define FNN_F64
#include "fnn_dense_impl.h"
#define FNN_F32
#include "fnn_activation_impl.h"
#define FNN_F64
#include "fnn_activation_impl.h"
#define FNN_F32
#include "fnn_dropout_impl.h"
#define FNN_F64
#include "fnn_dropout_impl.h"
#define FNN_F32
#include "fnn_batchnorm_impl.h"
#define FNN_F64
#include "fnn_batchnorm_impl.h"
#define FNN_F32
#include "fnn_conv_impl.h"
#define FNN_F64
#include "fnn_conv_impl.h"
#define FNN_F32
#include "fnn_pool_impl.h"
#define FNN_F64
#include "fnn_pool_impl.h"
#define FNN_F32
#include "fnn_noise_impl.h"
#define FNN_F64
#include "fnn_noise_impl.h"
#define FNN_F32
#include "fnn_affine_impl.h"
#define FNN_F64
#include "fnn_affine_impl.h"
#define FNN_F32
#include "fnn_rnn_impl.h"
#define FNN_F64
#include "fnn_rnn_impl.h"
#define FNN_F32
#include "fnn_tree_impl.h"
#define FNN_F64
#include "fnn_tree_impl.h"

/* The operations table: one row per kind (see fnn_layer.h). */
#define FNN_LAYER_ROW(kind_name, prefix, saved_fn, saved_int_fn, scratch_fn, in_place)   \
    {kind_name, prefix##_check, saved_fn, saved_int_fn, scratch_fn, prefix##_flops,     \
     in_place, prefix##_forward_f32, prefix##_backward_f32, prefix##_forward_f64,        \
     prefix##_backward_f64}
static const fnn_layer_ops fnn_layer_table[FNN_LAYER_COUNT] = {
    [FNN_LAYER_DENSE] = FNN_LAYER_ROW("dense", fnn_dense, fnn_layer_nothing,
                                      fnn_layer_nothing, fnn_dense_scratch, 0),
    [FNN_LAYER_ACTIVATION] = FNN_LAYER_ROW("activation", fnn_activation, fnn_layer_nothing,
                                           fnn_layer_nothing, fnn_layer_no_scratch, 1),
    [FNN_LAYER_DROPOUT] = FNN_LAYER_ROW("dropout", fnn_dropout, fnn_dropout_saved,
                                        fnn_layer_nothing, fnn_layer_no_scratch, 1),
    [FNN_LAYER_BATCHNORM] = FNN_LAYER_ROW("batchnorm", fnn_batchnorm, fnn_batchnorm_saved,
                                          fnn_layer_nothing, fnn_batchnorm_scratch, 1),
    [FNN_LAYER_CONV2D] = FNN_LAYER_ROW("conv2d", fnn_conv, fnn_conv_saved,
                                       fnn_layer_nothing, fnn_conv_scratch, 0),
    [FNN_LAYER_POOL2D] = FNN_LAYER_ROW("pool2d", fnn_pool, fnn_layer_nothing,
                                       fnn_pool_saved_int, fnn_layer_no_scratch, 0),
    [FNN_LAYER_NOISE] = FNN_LAYER_ROW("noise", fnn_noise, fnn_layer_nothing, fnn_layer_nothing,
                                      fnn_layer_no_scratch, 1),
    [FNN_LAYER_AFFINE] = FNN_LAYER_ROW("affine", fnn_affine, fnn_affine_saved,
                                       fnn_layer_nothing, fnn_layer_no_scratch, 0),
    [FNN_LAYER_RNN] = FNN_LAYER_ROW("rnn", fnn_rnn, fnn_rnn_saved, fnn_layer_nothing,
                                    fnn_rnn_scratch, 0),
    [FNN_LAYER_TREE] = FNN_LAYER_ROW("tree", fnn_tree, fnn_tree_saved, fnn_layer_nothing,
                                     fnn_tree_scratch, 0),
};
#undef FNN_LAYER_ROW

const fnn_layer_ops *fnn_layer_ops_of(const fnn_layer *L) { return &fnn_layer_table[L->kind]; }

#define FNN_F32
#include "fnn_net_impl.h"
#define FNN_F64
#include "fnn_net_impl.h"
