/* Parallel loss kernel body (see fnn_loss.h), one body for both dtypes. */
#include "fnn_real.h"

int FNN_SFX(fnn_loss_grad)(int kind, fnn_int n, fnn_int k, const real_t *z, const real_t *y,
                           const real_t *sw, double scale, real_t *grad, double *loss_out,
                           int n_threads)
{
    double total = 0.0;
    int status = FNN_OK;
    const fnn_int yw = fnn_loss_y_width(kind, k);
    if (!fnn_loss_kind_ok(kind, k) || n < 0) return FNN_EINVAL;
    int nt = fnn_threads_for(n * k * 8, n_threads); /* exp-heavy: count 8 per element */
    #pragma omp parallel num_threads(nt) if (nt > 1) reduction(+ : total) reduction(| : status)
    {
        int t = fnn_thread_id();
        int T = nt;
#ifdef _OPENMP
        T = omp_get_num_threads();
#endif
        fnn_int lo = n * t / T, hi = n * (t + 1) / T;
        double part = 0.0;
        status |= FNN_SFX(fnn_loss_grad_samples)(kind, hi - lo, k, z + lo * k, y + lo * yw,
                                                  sw ? sw + lo : NULL, scale,
                                                  grad ? grad + lo * k : NULL, &part);
        total += part;
    }
    *loss_out = total;
    return status ? FNN_EINVAL : FNN_OK;
}

#include "fnn_real_end.h"
