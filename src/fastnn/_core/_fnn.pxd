# Declarations of the C kernels in csrc/ (see each header's design note).
from libc.stdint cimport int32_t, int64_t, uint64_t

# The two dtypes every kernel serves (one Cython body per call, like the C).
ctypedef fused floating:
    float
    double

cdef extern from "fnn_common.h" nogil:
    ctypedef int64_t fnn_int
    enum:
        FNN_OK
        FNN_EINVAL
        FNN_EWORK

cdef extern from "fnn_blas.h" nogil:
    ctypedef struct fnn_blas:
        void *sgemm
        void *dgemm
        void *ssyrk
        void *dsyrk
        fnn_int small_mnk

cdef extern from "fnn_loss.h" nogil:
    enum:
        FNN_LOSS_SQUARED
        FNN_LOSS_LOGISTIC
        FNN_LOSS_MULTINOMIAL
        FNN_LOSS_POISSON
        FNN_LOSS_CLIP
        FNN_LOSS_STEP_SHIFT
    fnn_int fnn_loss_y_width(int kind, fnn_int k)
    int fnn_loss_kind_ok(int kind, fnn_int k)
    int fnn_loss_grad_f32(int kind, fnn_int n, fnn_int k, const float *z, const float *y,
                          const float *sw, double scale, float *grad, double *loss_out,
                          int n_threads)
    int fnn_loss_grad_f64(int kind, fnn_int n, fnn_int k, const double *z, const double *y,
                          const double *sw, double scale, double *grad, double *loss_out,
                          int n_threads)

cdef extern from "fnn_optim.h" nogil:
    enum:
        FNN_OPTIM_SGD
        FNN_OPTIM_ADAGRAD
        FNN_OPTIM_RMSPROP
        FNN_OPTIM_ADADELTA
        FNN_OPTIM_ADAM
    ctypedef struct fnn_optim:
        int kind
        int nesterov
        double momentum
        double beta1
        double beta2
        double rho
        double eps
    int fnn_optim_state_per_param(int kind)
    int fnn_optim_step_f32(const fnn_optim *opt, fnn_int n, fnn_int n_decay, double l2,
                           double lr, int64_t t, float *params, const float *grads,
                           float *state, int n_threads)
    int fnn_optim_step_f64(const fnn_optim *opt, fnn_int n, fnn_int n_decay, double l2,
                           double lr, int64_t t, double *params, const double *grads,
                           double *state, int n_threads)

cdef extern from "fnn_linear.h" nogil:
    ctypedef struct fnn_linear_problem_f32:
        fnn_int n_samples, n_features, n_outputs
        const float *X
        fnn_int ldx
        const float *data
        const int32_t *indices
        const int64_t *indptr
        const float *y
        const float *sw
        int loss
        int fit_intercept
    ctypedef struct fnn_linear_problem_f64:
        fnn_int n_samples, n_features, n_outputs
        const double *X
        fnn_int ldx
        const double *data
        const int32_t *indices
        const int64_t *indptr
        const double *y
        const double *sw
        int loss
        int fit_intercept
    size_t fnn_linear_workspace_f32(const fnn_linear_problem_f32 *pb, fnn_int max_rows,
                                    int n_threads)
    size_t fnn_linear_workspace_f64(const fnn_linear_problem_f64 *pb, fnn_int max_rows,
                                    int n_threads)
    int fnn_linear_loss_grad_f32(const fnn_linear_problem_f32 *pb, const fnn_int *rows,
                                 fnn_int m, const float *params, double scale, double *grad,
                                 double *loss_out, void *work, size_t work_size,
                                 const fnn_blas *blas, int n_threads)
    int fnn_linear_loss_grad_f64(const fnn_linear_problem_f64 *pb, const fnn_int *rows,
                                 fnn_int m, const double *params, double scale, double *grad,
                                 double *loss_out, void *work, size_t work_size,
                                 const fnn_blas *blas, int n_threads)
    int fnn_linear_epoch_f32(const fnn_linear_problem_f32 *pb, const fnn_int *perm, fnn_int n,
                             fnn_int batch_size, double sw_mean, const fnn_optim *opt,
                             double lr, double l2, int64_t *t, float *params, float *grad,
                             float *state, double *loss_out, void *work, size_t work_size,
                             const fnn_blas *blas, int n_threads)
    int fnn_linear_epoch_f64(const fnn_linear_problem_f64 *pb, const fnn_int *perm, fnn_int n,
                             fnn_int batch_size, double sw_mean, const fnn_optim *opt,
                             double lr, double l2, int64_t *t, double *params, double *grad,
                             double *state, double *loss_out, void *work, size_t work_size,
                             const fnn_blas *blas, int n_threads)
    size_t fnn_linear_gram_workspace_f32(fnn_int n, fnn_int p, fnn_int k, int n_threads)
    size_t fnn_linear_gram_workspace_f64(fnn_int n, fnn_int p, fnn_int k, int n_threads)
    int fnn_linear_gram_f32(fnn_int n, fnn_int p, const float *X, fnn_int ldx, const float *Y,
                            fnn_int k, const float *sw, const double *x_mean,
                            const double *y_mean, double *G, double *XtY, void *work,
                            size_t work_size, const fnn_blas *blas, int n_threads)
    int fnn_linear_gram_f64(fnn_int n, fnn_int p, const double *X, fnn_int ldx,
                            const double *Y, fnn_int k, const double *sw,
                            const double *x_mean, const double *y_mean, double *G,
                            double *XtY, void *work, size_t work_size,
                            const fnn_blas *blas, int n_threads)

cdef extern from "fnn_act.h" nogil:
    enum:
        FNN_ACT_IDENTITY
        FNN_ACT_LOGISTIC
        FNN_ACT_TANH
        FNN_ACT_RELU
        FNN_ACT_LEAKY_RELU
        FNN_ACT_ELU

cdef extern from "fnn_layer.h" nogil:
    enum:
        FNN_LAYER_DENSE
        FNN_LAYER_ACTIVATION
        FNN_LAYER_DROPOUT
        FNN_LAYER_BATCHNORM
        FNN_LAYER_CONV2D
        FNN_LAYER_POOL2D
        FNN_LAYER_NOISE
        FNN_LAYER_AFFINE
        FNN_LAYER_RNN
        FNN_LAYER_TREE
        FNN_TREE_RNN
        FNN_TREE_LSTM
        FNN_CELL_RNN_TANH
        FNN_CELL_RNN_RELU
        FNN_CELL_LSTM
        FNN_CELL_GRU
        FNN_POOL_MAX
        FNN_POOL_AVG
        FNN_FILL_REFLECT
        FNN_FILL_CONSTANT
        FNN_FILL_NEAREST
        FNN_FILL_WRAP
        FNN_STATS_KEEP
        FNN_STATS_MOVE
        FNN_STATS_REPLACE
    ctypedef struct fnn_act_cfg:
        int activation
        double param
    ctypedef struct fnn_dropout_cfg:
        double rate
    ctypedef struct fnn_bn_cfg:
        double momentum, eps
        fnn_int channels, spatial
    ctypedef struct fnn_conv_cfg:
        fnn_act_cfg act
        fnn_int kh, kw, sh, sw
        fnn_int pt, pb, pl, pr
    ctypedef struct fnn_pool_cfg:
        int mode
        fnn_int kh, kw, sh, sw
    ctypedef struct fnn_noise_cfg:
        double stddev
    ctypedef struct fnn_affine_cfg:
        double tx[2]
        double ty[2]
        double turn[2]
        double zy[2]
        double zx[2]
        int zoom_same, flip_h, flip_v, fill, bilinear
        double fill_value
    ctypedef struct fnn_rnn_cfg:
        int cell
        fnn_int units
        int sequences
    ctypedef struct fnn_tree_cfg:
        int cell
        fnn_int tokens, dim, units
        double dropout
        int all_nodes
    ctypedef union fnn_layer_cfg:
        fnn_act_cfg act
        fnn_dropout_cfg dropout
        fnn_bn_cfg bn
        fnn_conv_cfg conv
        fnn_pool_cfg pool
        fnn_noise_cfg noise
        fnn_affine_cfg affine
        fnn_rnn_cfg rnn
        fnn_tree_cfg tree
    ctypedef struct fnn_layer:
        int kind
        fnn_int in_shape[3]
        fnn_int out_shape[3]
        int in_ndim, out_ndim
        fnn_int in_size, out_size
        fnn_int w_off, n_w
        fnn_int b_off, n_b
        fnn_int s_off, n_s
        int frozen
        fnn_int sp_rows, sp_width
        fnn_layer_cfg cfg

cdef extern from "fnn_net.h" nogil:
    ctypedef struct fnn_net:
        int n_layers
        const fnn_layer *layers
        int loss
        fnn_int n_params, n_train, n_decay, n_stats
    int fnn_net_check(const fnn_net *net)
    int fnn_net_team_size(const fnn_net *net, fnn_int m, int n_threads)
    size_t fnn_net_workspace_f32(const fnn_net *net, fnn_int batch, int training,
                                 int n_threads)
    size_t fnn_net_workspace_f64(const fnn_net *net, fnn_int batch, int training,
                                 int n_threads)
    int fnn_net_predict_f32(const fnn_net *net, const float *params, const float *stats,
                            const float *X, fnn_int n, float *out, fnn_int batch, void *work,
                            size_t work_size, const fnn_blas *blas, int n_threads)
    int fnn_net_predict_f64(const fnn_net *net, const double *params, const double *stats,
                            const double *X, fnn_int n, double *out, fnn_int batch, void *work,
                            size_t work_size, const fnn_blas *blas, int n_threads)
    int fnn_net_loss_grad_f32(const fnn_net *net, const float *params, float *stats,
                              const float *X, const float *y, const float *sw,
                              const fnn_int *rows, fnn_int m, double scale, uint64_t seed,
                              int update_stats, float *grad, float *dX, double *loss_out,
                              void *work, size_t work_size, const fnn_blas *blas, int n_threads)
    int fnn_net_loss_grad_f64(const fnn_net *net, const double *params, double *stats,
                              const double *X, const double *y, const double *sw,
                              const fnn_int *rows, fnn_int m, double scale, uint64_t seed,
                              int update_stats, double *grad, double *dX, double *loss_out,
                              void *work, size_t work_size, const fnn_blas *blas, int n_threads)
    ctypedef struct fnn_epoch_data_f32:
        const float *X
        const float *y
        const float *sw
        const fnn_int *perm
        fnn_int n, batch
    ctypedef struct fnn_epoch_data_f64:
        const double *X
        const double *y
        const double *sw
        const fnn_int *perm
        fnn_int n, batch
    ctypedef struct fnn_epoch_bufs_f32:
        float *params
        float *grad
        float *state
        float *stats
    ctypedef struct fnn_epoch_bufs_f64:
        double *params
        double *grad
        double *state
        double *stats
    ctypedef struct fnn_epoch_step:
        const fnn_optim *opt
        double lr, alpha, value_scale, clip_norm
        int64_t t
        uint64_t seed
        double *phases
    int fnn_net_phase_slots(const fnn_net *net)
    int fnn_net_epoch_f32(const fnn_net *net, const fnn_epoch_data_f32 *data,
                          const fnn_epoch_bufs_f32 *bufs, fnn_epoch_step *step,
                          double *loss_out, void *work, size_t work_size,
                          const fnn_blas *blas, int n_threads)
    int fnn_net_epoch_f64(const fnn_net *net, const fnn_epoch_data_f64 *data,
                          const fnn_epoch_bufs_f64 *bufs, fnn_epoch_step *step,
                          double *loss_out, void *work, size_t work_size,
                          const fnn_blas *blas, int n_threads)

cdef extern from "fnn_rbm.h" nogil:
    fnn_int fnn_rbm_work_size(fnn_int F, fnn_int K, fnn_int B, fnn_int C)
    int fnn_rbm_team_size(fnn_int F, fnn_int K, fnn_int B, fnn_int C, int n_threads)
    int fnn_rbm_fit_f32(const fnn_blas *blas, fnn_int n, fnn_int F, fnn_int K, fnn_int B,
                        fnn_int C, const float *X, float *W, float *bh, float *bv, float *H,
                        double learning_rate, uint64_t seed, uint64_t batch0,
                        const double *u_vis, const double *u_hid, float *work,
                        fnn_int work_size, double *acc, int n_threads)
    int fnn_rbm_fit_f64(const fnn_blas *blas, fnn_int n, fnn_int F, fnn_int K, fnn_int B,
                        fnn_int C, const double *X, double *W, double *bh, double *bv,
                        double *H, double learning_rate, uint64_t seed, uint64_t batch0,
                        const double *u_vis, const double *u_hid, double *work,
                        fnn_int work_size, double *acc, int n_threads)
