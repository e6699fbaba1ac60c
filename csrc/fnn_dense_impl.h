/* Dense layer: out = act(in W + b), W (n_in x n_out) row-major as
 * scikit-learn's coefs_, b (n_out). One body for both dtypes. */
#include "fnn_real.h"

static void FNN_SFX(fnn_dense_forward)(const fnn_layer *L, fnn_int m, const real_t *in,
                                       real_t *out, const real_t *params,
                                       const fnn_blas *blas, int n_threads)
{
    const fnn_int ni = L->in_size, no = L->out_size;
    const real_t *W = params + L->w_off, *b = params + L->b_off;
    FNN_SFX(fnn_gemm_rm)(blas, 0, 0, m, no, ni, (real_t)1, in, ni, W, no, (real_t)0, out, no);
    const int nt = fnn_threads_for(m * no * (L->activation >= FNN_ACT_LOGISTIC &&
                                             L->activation <= FNN_ACT_TANH ? 8 : 1), n_threads);
    #pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (fnn_int i = 0; i < m; ++i) {
        real_t *o = out + i * no;
        for (fnn_int j = 0; j < no; ++j) o[j] += b[j];
        FNN_SFX(fnn_act_forward)(L->activation, L->act_param, o, no);
    }
}

/* d (m x n_out) is d loss / d out on entry and is overwritten by d loss /
 * d (pre-activation). Writes dW, db into grad (unless frozen) and, when din
 * is not NULL, d loss / d in into din (m x n_in). acc: n_out doubles. */
static void FNN_SFX(fnn_dense_backward)(const fnn_layer *L, fnn_int m, const real_t *in,
                                        const real_t *out, real_t *d, real_t *din,
                                        const real_t *params, real_t *grad, double *acc,
                                        const fnn_blas *blas, int n_threads)
{
    const fnn_int ni = L->in_size, no = L->out_size;
    if (L->activation != FNN_ACT_IDENTITY) {
        const int nt = fnn_threads_for(m * no, n_threads);
        #pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
        for (fnn_int i = 0; i < m; ++i)
            FNN_SFX(fnn_act_backward)(L->activation, L->act_param, out + i * no, d + i * no, no);
    }
    if (!L->frozen) {
        real_t *gW = grad + L->w_off, *gb = grad + L->b_off;
        FNN_SFX(fnn_gemm_rm)(blas, 1, 0, ni, no, m, (real_t)1, in, ni, d, no, (real_t)0, gW, no);
        for (fnn_int j = 0; j < no; ++j) acc[j] = 0.0;
        for (fnn_int i = 0; i < m; ++i) {
            const real_t *di = d + i * no;
            for (fnn_int j = 0; j < no; ++j) acc[j] += (double)di[j];
        }
        for (fnn_int j = 0; j < no; ++j) gb[j] = (real_t)acc[j];
    }
    if (din)
        FNN_SFX(fnn_gemm_rm)(blas, 0, 1, m, ni, no, (real_t)1, d, no, params + L->w_off, no,
                             (real_t)0, din, ni);
}

#include "fnn_real_end.h"
