/* fnn_rbm.c -- persistent contrastive divergence for float32 and float64
 * (see fnn_rbm.h). */
#include "fnn_rbm.h"
#include "fnn_team.h"

fnn_int fnn_rbm_work_size(fnn_int F, fnn_int K, fnn_int B, fnn_int C)
{
    /* S = [Xb; Vn] ((B + C) x F), T = [Hp; Hn] ((B + C) x K), and one C x F
     * partial product per chunk of hidden units */
    return (B + C) * (F + K) + fnn_rbm_chunks(K) * C * F;
}

/* A batch's multiply-adds ((B + 2 C) F K: the three GEMMs) per thread below
 * which the barriers are not worth it. Not tuned finely: a 784 x 256 RBM at
 * batch 10 (6e6) runs 1.6x faster on two threads than on one; RBMs of a
 * few thousand weights stay on one. */
#define FNN_RBM_MIN_WORK ((fnn_int)400000)

int fnn_rbm_team_size(fnn_int F, fnn_int K, fnn_int B, fnn_int C, int n_threads)
{
#ifdef _OPENMP
    const fnn_int work = (B + 2 * C) * F * K;
    fnn_int useful = work / FNN_RBM_MIN_WORK;
    if (useful > fnn_rbm_chunks(K)) useful = fnn_rbm_chunks(K); /* whole chunks a thread */
    if (n_threads < 1) n_threads = 1;
    if (useful < 1) return 1;
    return useful < n_threads ? (int)useful : n_threads;
#else
    (void)F; (void)K; (void)B; (void)C; (void)n_threads;
    return 1;
#endif
}

#define FNN_F32
#include "fnn_rbm_impl.h"
#define FNN_F64
#include "fnn_rbm_impl.h"
