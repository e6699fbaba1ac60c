/* fnn_net.h -- the sequential-network runtime.
 *
 * A network is an array of fnn_layer descriptors plus one flat parameter
 * buffer, one flat gradient buffer of the same layout and one flat buffer of
 * non-trainable statistics (batch norm's running mean and variance). Layers
 * hold offsets into those buffers, never pointers, so one descriptor serves
 * float32 and float64 and Python owns every array.
 *
 * The layer contract, its per-kind operations table and what adding a kind
 * takes are in fnn_layer.h; the driver here knows no kind.
 *
 * Calls:
 *   fnn_net_workspace   bytes of workspace for batches of up to `batch` rows, for
 *                       training calls (training = 1) or predict (0), on up to
 *                       n_threads threads (a call must ask for no more)
 *   fnn_net_predict     eval-mode forward over n rows, in blocks: the last
 *                       layer's raw output (logits) into out (n x out_size)
 *   fnn_net_loss_grad   train-mode forward + loss (+ backward) over m rows
 *                       (rows[] or the first m), treated as one batch
 *   fnn_net_epoch       one epoch of mini-batch training: gather the batch,
 *                       forward, loss, backward, update, for every batch of
 *                       perm, with no allocation and no Python
 */
#ifndef FNN_NET_H
#define FNN_NET_H

#include "fnn_common.h"
#include "fnn_blas.h"
#include "fnn_optim.h"
#include "fnn_layer.h"

typedef struct {
    int n_layers;
    const fnn_layer *layers;
    int loss;                 /* FNN_LOSS_* applied to the last layer's output */
    fnn_int n_params;         /* size of the parameter and gradient buffers */
    fnn_int n_train;          /* params [0, n_train) are updated by the optimizer */
    fnn_int n_decay;          /* params [0, n_decay) get L2 */
    fnn_int n_stats;          /* size of the statistics buffer */
} fnn_net;

/* Checks a descriptor (sizes chain, offsets in range); FNN_OK or FNN_EINVAL. */
int fnn_net_check(const fnn_net *net);

/* Threads a call on batches of m rows runs with when n_threads are allowed
 * (small networks run on one: see FNN_NET_MIN_WORK). */
int fnn_net_team_size(const fnn_net *net, fnn_int m, int n_threads);

size_t fnn_net_workspace_f32(const fnn_net *net, fnn_int batch, int training, int n_threads);
size_t fnn_net_workspace_f64(const fnn_net *net, fnn_int batch, int training, int n_threads);

int fnn_net_predict_f32(const fnn_net *net, const float *params, const float *stats,
                        const float *X, fnn_int n, float *out, fnn_int batch, void *work,
                        size_t work_size, const fnn_blas *blas, int n_threads);
int fnn_net_predict_f64(const fnn_net *net, const double *params, const double *stats,
                        const double *X, fnn_int n, double *out, fnn_int batch, void *work,
                        size_t work_size, const fnn_blas *blas, int n_threads);

/* grad (n_params, written whole; zeros for frozen layers) and dX (m x
 * in_size, d loss / d input, may be NULL) of
 *     loss = sum_i sw_i loss_i * scale;
 * grad NULL (dX NULL too): the loss only, no backward pass.
 * *loss_out gets sum_i sw_i loss_i (unscaled). seed drives dropout masks;
 * update_stats: FNN_STATS_KEEP leaves batch norm's running statistics,
 * FNN_STATS_MOVE moves them by each layer's momentum, FNN_STATS_REPLACE sets
 * them to this batch's (after full-batch training). */
int fnn_net_loss_grad_f32(const fnn_net *net, const float *params, float *stats,
                          const float *X, const float *y, const float *sw, const fnn_int *rows,
                          fnn_int m, double scale, uint64_t seed, int update_stats,
                          float *grad, float *dX, double *loss_out, void *work,
                          size_t work_size, const fnn_blas *blas, int n_threads);
int fnn_net_loss_grad_f64(const fnn_net *net, const double *params, double *stats,
                          const double *X, const double *y, const double *sw,
                          const fnn_int *rows, fnn_int m, double scale, uint64_t seed,
                          int update_stats, double *grad, double *dX, double *loss_out,
                          void *work, size_t work_size, const fnn_blas *blas, int n_threads);

/* An epoch's data: rows perm[0..n) of X (and y, sw), in batches of `batch`. */
#define FNN_DECLARE_EPOCH_DATA(real, sfx)                                           \
    typedef struct {                                                                \
        const real *X, *y, *sw;   /* sw may be NULL: every weight 1 */              \
        const fnn_int *perm;                                                        \
        fnn_int n, batch;                                                           \
    } fnn_epoch_data_##sfx;                                                         \
    typedef struct {                                                                \
        real *params, *grad;      /* n_params each */                               \
        real *state;              /* the optimizer's, state_per_param x n_train */  \
        real *stats;              /* running statistics */                          \
    } fnn_epoch_bufs_##sfx;
FNN_DECLARE_EPOCH_DATA(float, f32)
FNN_DECLARE_EPOCH_DATA(double, f64)
#undef FNN_DECLARE_EPOCH_DATA

/* An epoch's step settings. */
typedef struct {
    const fnn_optim *opt;
    double lr, alpha;         /* learning rate, L2 */
    double value_scale;       /* scales the reported data loss */
    double clip_norm;         /* > 0: the batch gradient's global L2 norm is
                               * clipped to it before the L2 term and the
                               * update (PyTorch's clip_grad_norm_); 0: off */
    int64_t t;                /* steps before the epoch; the epoch adds its own */
    uint64_t seed;            /* dropout masks */
    double *phases;           /* NULL, or 2 fnn_net_phase_slots(net) doubles
                               * the epoch adds its time by phase to: per
                               * slot the seconds of work, then of barrier
                               * waits, summed over the team's threads */
} fnn_epoch_step;

/* The epoch's phases (fnn_epoch_step.phases): a batch's row gather, its
 * loss, its update (with the clipping), and each layer's forward and
 * backward (a layer's own barriers count in its phase). */
enum { FNN_PHASE_GATHER = 0, FNN_PHASE_LOSS = 1, FNN_PHASE_UPDATE = 2, FNN_PHASE_LAYERS = 3 };
static inline int fnn_phase_forward(const fnn_net *net, int l)
{
    (void)net;
    return FNN_PHASE_LAYERS + l;
}
static inline int fnn_phase_backward(const fnn_net *net, int l)
{
    return FNN_PHASE_LAYERS + net->n_layers + l;
}
static inline int fnn_net_phase_slots(const fnn_net *net)
{
    return FNN_PHASE_LAYERS + 2 * net->n_layers;
}

/* scikit-learn's MLP step: for each batch b of perm (size <= batch),
 *     S_b = sum of its weights (its size without weights),
 *     gradient = d/dparams [ sum_i sw_i loss_i / S_b ], plus (alpha / S_b) W,
 *     one optimizer step at step count ++step->t,
 * (with step->clip_norm > 0 the gradient of the loss is first scaled by
 * min(1, clip_norm / (||gradient|| + 1e-6)), the norm over all trainable
 * parameters, as PyTorch's clip_grad_norm_ before an optimizer whose
 * weight_decay adds the L2 term),
 * and *loss_out = sum_b m_b (value_scale sum_i sw_i loss_i / S_b
 *                            + 0.5 alpha ||W||^2 / S_b) / n,
 * the epoch's loss as scikit-learn reports it (value_scale is 1/n_outputs
 * for the squared error, whose reported value averages over outputs). */
int fnn_net_epoch_f32(const fnn_net *net, const fnn_epoch_data_f32 *data,
                      const fnn_epoch_bufs_f32 *bufs, fnn_epoch_step *step, double *loss_out,
                      void *work, size_t work_size, const fnn_blas *blas, int n_threads);
int fnn_net_epoch_f64(const fnn_net *net, const fnn_epoch_data_f64 *data,
                      const fnn_epoch_bufs_f64 *bufs, fnn_epoch_step *step, double *loss_out,
                      void *work, size_t work_size, const fnn_blas *blas, int n_threads);

#endif /* FNN_NET_H */
