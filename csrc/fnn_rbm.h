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
 * One OpenMP team runs the whole pass, two barriers a batch: each thread
 * owns the rows [k0, k1) of W (its hidden units: Hp, Hn, the update, bh and
 * its columns of H) and the columns [f0, f1) of Vn (the visible sampling and
 * bv, reading every row of W). Each output element is one GEMM's, whoever
 * computes it, and the uniforms are a hash of (seed, element), so a pass
 * gives the same model on any number of threads (up to the BLAS's rounding
 * of a column panel). The GEMMs call SciPy's BLAS: the caller limits it to
 * one thread.
 *
 * u_vis / u_hid, when not NULL, replace the hashed uniforms by given ones
 * (batch-major: n_batches x C x F and n_batches x C x K), which lets a test
 * replay scikit-learn's random stream exactly.
 */
#ifndef FNN_RBM_H
#define FNN_RBM_H

#include "fnn_common.h"
#include "fnn_blas.h"

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
