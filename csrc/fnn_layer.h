/* fnn_layer.h -- the layer contract: a descriptor, a per-kind configuration,
 * and one operations table that the network driver walks without knowing
 * any kind.
 *
 * A layer maps a batch of m samples, each of in_shape (up to 3 dims: (F),
 * (T, F) or (C, H, W); in_size values), to m samples of out_shape. It holds
 * offsets into the network's flat buffers, never pointers, so one
 * descriptor serves float32 and float64:
 *   - parameters: n_w decayed entries at w_off (weights: L2 applies) and
 *     n_b at b_off (biases, normalisation scales: no L2);
 *   - statistics: n_s entries at s_off of the statistics buffer (batch
 *     norm's running mean and variance), which no optimizer touches.
 *
 * Per kind, one row of fnn_layer_table (fnn_net.c):
 *   check       the kind's own consistency (sizes, configuration)
 *   saved       reals per sample that forward keeps for backward (training
 *               only: a dropout mask, batch norm's normalised input, gates)
 *   saved_int   int32 per sample kept the same way (max-pool's argmax)
 *   scratch     doubles for a batch of B rows, in training or predict, on
 *               a team of up to nt threads (column sums, batch statistics,
 *               per-thread im2col panels, a recurrent layer's carried
 *               dh/dc), shared by the team
 *   flops       multiply-adds per sample of forward + backward: the driver's
 *               thread decision
 *   in_place    backward writes d loss / d in over d loss / d out (else into
 *               a second buffer the driver provides and swaps in)
 *   forward, backward (per dtype): one signature, a call struct.
 * Forward runs in training or eval mode; backward ADDS parameter gradients
 * to grad (a GEMM with beta = 1: the driver hands it a zeroed gradient) and
 * writes d loss / d in when din is not NULL. Both are called by every
 * thread of the team with its id and the team size; a layer splits its work
 * itself and may meet the team at FNN_BARRIER() inside (every thread calls
 * it, so every thread reaches the same barriers). The driver puts a barrier
 * after each layer.
 *
 * Adding a kind: its fnn_<kind>_impl.h (the info functions once, forward
 * and backward per dtype), a FNN_LAYER_* number and configuration struct
 * here, one table row, and its Python spec in fastnn.layers.
 */
#ifndef FNN_LAYER_H
#define FNN_LAYER_H

#include "fnn_common.h"
#include "fnn_blas.h"

enum {
    FNN_LAYER_DENSE = 0,
    FNN_LAYER_ACTIVATION = 1,
    FNN_LAYER_DROPOUT = 2,
    FNN_LAYER_BATCHNORM = 3,
    FNN_LAYER_CONV2D = 4,
    FNN_LAYER_POOL2D = 5,
    FNN_LAYER_NOISE = 6,
    FNN_LAYER_AFFINE = 7,
    FNN_LAYER_RNN = 8,
    FNN_LAYER_TREE = 9,
    FNN_LAYER_COUNT
};

/* running statistics during a training forward */
enum {
    FNN_STATS_KEEP = 0,     /* leave them */
    FNN_STATS_MOVE = 1,     /* move them by each layer's momentum */
    FNN_STATS_REPLACE = 2   /* set them to this batch's */
};

/* Per-kind configuration. */
typedef struct {
    int activation;           /* FNN_ACT_*: Dense's fused activation, the Activation layer's */
    double param;             /* leaky_relu slope, elu alpha */
} fnn_act_cfg;

typedef struct {
    double rate;              /* probability of dropping */
} fnn_dropout_cfg;

typedef struct {
    double momentum, eps;     /* running = (1 - momentum) running + momentum batch */
    fnn_int channels, spatial;/* in_size = channels * spatial: statistics per channel */
} fnn_bn_cfg;

typedef struct {
    fnn_act_cfg act;          /* fused after the bias */
    fnn_int kh, kw, sh, sw;   /* kernel, stride */
    fnn_int pt, pb, pl, pr;   /* zero padding: top, bottom, left, right */
} fnn_conv_cfg;

enum { FNN_POOL_MAX = 0, FNN_POOL_AVG = 1 };
typedef struct {
    int mode;                 /* FNN_POOL_* */
    fnn_int kh, kw, sh, sw;   /* window, stride */
} fnn_pool_cfg;

typedef struct {
    double stddev;            /* additive Gaussian noise in training */
} fnn_noise_cfg;

enum { FNN_FILL_REFLECT = 0, FNN_FILL_CONSTANT = 1, FNN_FILL_NEAREST = 2, FNN_FILL_WRAP = 3 };
typedef struct {
    /* each sample's draws (uniform in the ranges; equal ranges: fixed) */
    double tx[2], ty[2];      /* shift, fractions of the width / height */
    double turn[2];           /* rotation, fractions of a full turn, counter-clockwise */
    double zy[2], zx[2];      /* zoom: 1 + draw (> 0 zooms out) */
    int zoom_same;            /* zx takes zy's draw (aspect kept) */
    int flip_h, flip_v;       /* flip with probability 1/2 each */
    int fill;                 /* FNN_FILL_* beyond the edges */
    int bilinear;             /* else nearest */
    double fill_value;        /* FNN_FILL_CONSTANT */
} fnn_affine_cfg;

/* recurrent cells (PyTorch's RNN with tanh or relu, LSTM, GRU) */
enum { FNN_CELL_RNN_TANH = 0, FNN_CELL_RNN_RELU = 1, FNN_CELL_LSTM = 2, FNN_CELL_GRU = 3,
       FNN_CELL_COUNT };
typedef struct {
    int cell;                 /* FNN_CELL_* */
    fnn_int units;            /* hidden size H */
    int sequences;            /* output every step's h (T, H), else the last (H) */
} fnn_rnn_cfg;

/* tree cells (fnn_tree_impl.h) */
enum { FNN_TREE_RNN = 0, FNN_TREE_LSTM = 1, FNN_TREE_CELL_COUNT };
typedef struct {
    int cell;                 /* FNN_TREE_* */
    fnn_int tokens, dim;      /* embedding rows V and width D */
    fnn_int units;            /* node state size H */
    double dropout;           /* rate on the node states in training */
    int all_nodes;            /* output every internal node's h (NI, H), else the root's */
} fnn_tree_cfg;

typedef union {
    fnn_act_cfg act;          /* FNN_LAYER_DENSE, FNN_LAYER_ACTIVATION */
    fnn_noise_cfg noise;
    fnn_affine_cfg affine;
    fnn_dropout_cfg dropout;
    fnn_bn_cfg bn;
    fnn_conv_cfg conv;
    fnn_pool_cfg pool;
    fnn_rnn_cfg rnn;
    fnn_tree_cfg tree;
} fnn_layer_cfg;

typedef struct {
    int kind;                 /* FNN_LAYER_* */
    fnn_int in_shape[3], out_shape[3];
    int in_ndim, out_ndim;
    fnn_int in_size, out_size;
    fnn_int w_off, n_w;       /* decayed parameters */
    fnn_int b_off, n_b;       /* other parameters */
    fnn_int s_off, n_s;       /* running statistics in the stats buffer */
    int frozen;               /* parameters neither get gradients nor move */
    /* sparse rows: the first sp_rows x sp_width parameters at b_off are rows
     * (an embedding) that the first-order optimizers move only in a batch
     * whose gradient row is not all zero (0: none) */
    fnn_int sp_rows, sp_width;
    fnn_layer_cfg cfg;        /* the kind's own settings */
} fnn_layer;

/* One call of forward or backward on one thread of the team. */
#define FNN_DECLARE_CALL(real, sfx)                                                     \
    typedef struct {                                                                    \
        fnn_int m;               /* rows of the batch */                                \
        const real *in;          /* m x in_size: the layer's input */                   \
        real *out;               /* m x out_size: its output (read by backward) */      \
        real *saved;             /* m x saved(): training only, else NULL */            \
        int32_t *saved_int;      /* m x saved_int(): training only, else NULL */        \
        double *scratch;         /* scratch(B) doubles, shared by the team */           \
        const real *params;      /* the network's flat parameters */                    \
        real *stats;             /* running statistics (forward may move them) */       \
        int training;            /* forward: train mode (batch statistics, masks) */    \
        int update_stats;        /* forward, training: FNN_STATS_* */                   \
        uint64_t seed;           /* forward: this layer's random stream (dropout) */    \
        real *grad;              /* backward: parameter gradients, added to */          \
        real *d;                 /* backward: d loss / d out on entry */                \
        real *din;               /* backward: d loss / d in out (== d when in place), */\
                                 /* NULL when not wanted */                             \
        const fnn_blas *blas;                                                           \
        int tid, nt;             /* this thread, the team's size */                     \
    } fnn_call_##sfx;                                                                   \
    typedef void (*fnn_layer_fn_##sfx)(const fnn_layer *L, const fnn_call_##sfx *c);

FNN_DECLARE_CALL(float, f32)
FNN_DECLARE_CALL(double, f64)
#undef FNN_DECLARE_CALL

typedef struct {
    const char *name;
    int (*check)(const fnn_layer *L);
    fnn_int (*saved)(const fnn_layer *L);
    fnn_int (*saved_int)(const fnn_layer *L);
    fnn_int (*scratch)(const fnn_layer *L, fnn_int batch, int training, int nt);
    fnn_int (*flops)(const fnn_layer *L);
    int in_place;
    fnn_layer_fn_f32 forward_f32, backward_f32;
    fnn_layer_fn_f64 forward_f64, backward_f64;
} fnn_layer_ops;

/* The row of L's kind (kinds are checked once, by fnn_net_check). */
const fnn_layer_ops *fnn_layer_ops_of(const fnn_layer *L);

/* Info functions for kinds that keep or need nothing. */
static inline fnn_int fnn_layer_nothing(const fnn_layer *L) { (void)L; return 0; }
static inline fnn_int fnn_layer_no_scratch(const fnn_layer *L, fnn_int batch, int training,
                                           int nt)
{
    (void)L; (void)batch; (void)training; (void)nt;
    return 0;
}

#endif /* FNN_LAYER_H */
