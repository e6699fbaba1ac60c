/* Activation layer: out = f(in) elementwise; backward in place on d.
 * Team-parallel over elements. */
#include "fnn_real.h"

static void FNN_SFX(fnn_activation_forward)(const fnn_layer *L, fnn_int m, const real_t *in,
                                            real_t *out, int tid, int nt)
{
    fnn_int lo, hi;
    fnn_span(m * L->in_size, 16, tid, nt, &lo, &hi);
    if (lo >= hi) return;
    memcpy(out + lo, in + lo, sizeof(real_t) * (size_t)(hi - lo));
    FNN_SFX(fnn_act_forward)(L->activation, L->act_param, out + lo, hi - lo);
}

static void FNN_SFX(fnn_activation_backward)(const fnn_layer *L, fnn_int m, const real_t *out,
                                             real_t *d, int tid, int nt)
{
    fnn_int lo, hi;
    fnn_span(m * L->in_size, 16, tid, nt, &lo, &hi);
    if (lo < hi)
        FNN_SFX(fnn_act_backward)(L->activation, L->act_param, out + lo, d + lo, hi - lo);
}

#include "fnn_real_end.h"
