/* Activation layer: out = f(in) elementwise; backward in place on d. */
#include "fnn_real.h"

static void FNN_SFX(fnn_activation_forward)(const fnn_layer *L, fnn_int m, const real_t *in,
                                            real_t *out, int n_threads)
{
    const fnn_int n = m * L->in_size;
    const int nt = fnn_threads_for(n, n_threads);
    const fnn_int chunk = (n + nt - 1) / nt;
    #pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int c = 0; c < nt; ++c) {
        fnn_int lo = c * chunk, hi = fnn_min_i(n, lo + chunk);
        if (lo >= hi) continue;
        memcpy(out + lo, in + lo, sizeof(real_t) * (size_t)(hi - lo));
        FNN_SFX(fnn_act_forward)(L->activation, L->act_param, out + lo, hi - lo);
    }
}

static void FNN_SFX(fnn_activation_backward)(const fnn_layer *L, fnn_int m, const real_t *out,
                                             real_t *d, int n_threads)
{
    const fnn_int n = m * L->in_size;
    const int nt = fnn_threads_for(n, n_threads);
    const fnn_int chunk = (n + nt - 1) / nt;
    #pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int c = 0; c < nt; ++c) {
        fnn_int lo = c * chunk, hi = fnn_min_i(n, lo + chunk);
        if (lo < hi) FNN_SFX(fnn_act_backward)(L->activation, L->act_param, out + lo, d + lo,
                                               hi - lo);
    }
}

#include "fnn_real_end.h"
