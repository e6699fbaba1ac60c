/* fnn_rbm.h -- a Bernoulli restricted Boltzmann machine trained by
 * persistent contrastive divergence (stochastic maximum likelihood), the
 * update scikit-learn's BernoulliRBM makes, batch by batch:
 *
 *   Hp = sigmoid(Xb W^T + bh)                 (m rows of data)
 *   Vn = [u < sigmoid(H W + bv)]              (C persistent chains H)
 *   Hn = sigmoid(Vn W^T + bh)
 *   W += lr (Hp^T Xb - Hn^T Vn),  bh += lr (sum Hp - sum Hn),
 *   bv += lr (sum Xb - sum Vn),   H = [u' < Hn],    lr = learning_rate / m
 *
 * W is K x F (hidden x visible, components_), everything row-major. Batches
 * are rows [b B, min((b + 1) B, n)) of X, as gen_even_slices cuts them.
 *
 * One OpenMP team runs the whole pass, two barriers a batch. The hidden
 * units come in chunks of FNN_RBM_CHUNK; each thread owns whole chunks: its
 * rows of W, its columns of Hp, Hn, H and bh, the update of its rows, and
 * the partial products H[:, chunk] W[chunk, :] of its chunks. The visible
 * sampling (and bv) is split by columns and adds the chunks' partial
 * products in chunk order. So W never moves between cores (on a 2-core Xeon
 * the column-split product H W, reading the rows the other core had just
 * updated, made two threads slower than one), each sum has the same order
 * on any team, and the uniforms are a hash of (seed, element): a pass gives
 * the same model on any number of threads. The GEMMs call SciPy's BLAS: the
 * caller limits it to one thread.
 *
 * u_vis / u_hid, when not NULL, replace the hashed uniforms by given ones
 * (batch-major: n_batches x C x F and n_batches x C x K), which lets a test
 * replay scikit-learn's random stream exactly.
 */
#ifndef FNN_RBM_H
#define FNN_RBM_H

#include "fnn_common.h"
#include "fnn_blas.h"

/* Hidden units per chunk (see above), fixed so that the partial sums do not
 * depend on the team; the chunked product is also faster than the whole one
 * (a 10 x 256 by 256 x 784 product: 36 us in four chunks, 46 us whole, one
 * Xeon core, SciPy's OpenBLAS small kernels). */
#define FNN_RBM_CHUNK ((fnn_int)64)
static inline fnn_int fnn_rbm_chunks(fnn_int K)
{
    return (K + FNN_RBM_CHUNK - 1) / FNN_RBM_CHUNK;
}

/* Workspace entries (of the dtype) that fnn_rbm_fit_* needs in work; acc
 * takes F + K doubles. */
fnn_int fnn_rbm_work_size(fnn_int F, fnn_int K, fnn_int B, fnn_int C);

/* Threads worth using for an RBM with K hidden and F visible units. */
int fnn_rbm_team_size(fnn_int F, fnn_int K, fnn_int B, fnn_int C, int n_threads);

int fnn_rbm_fit_f32(const fnn_blas *blas, fnn_int n, fnn_int F, fnn_int K, fnn_int B,
                    fnn_int C, const float *X, float *W, float *bh, float *bv, float *H,
                    double learning_rate, uint64_t seed, uint64_t batch0,
                    const double *u_vis, const double *u_hid, float *work, fnn_int work_size,
                    double *acc, int n_threads);
int fnn_rbm_fit_f64(const fnn_blas *blas, fnn_int n, fnn_int F, fnn_int K, fnn_int B,
                    fnn_int C, const double *X, double *W, double *bh, double *bv, double *H,
                    double learning_rate, uint64_t seed, uint64_t batch0,
                    const double *u_vis, const double *u_hid, double *work,
                    fnn_int work_size, double *acc, int n_threads);

#endif /* FNN_RBM_H */
