/* Gaussian noise: in training out = in + stddev z, z standard normal per
 * value (Box-Muller over a counter-based hash of (seed, value index): the
 * same whatever the thread count); the identity at predict. Backward is the
 * identity, in place. Team-parallel over values. */
#ifndef FNN_NOISE_INFO
#define FNN_NOISE_INFO
static int fnn_noise_check(const fnn_layer *L)
{
    return L->in_size == L->out_size && L->n_w == 0 && L->n_b == 0 && L->n_s == 0 &&
           L->cfg.noise.stddev >= 0.0;
}

static fnn_int fnn_noise_flops(const fnn_layer *L) { return 8 * L->out_size; }
#endif

#include "fnn_real.h"

static void FNN_SFX(fnn_noise_forward)(const fnn_layer *L, const FNN_SFX(fnn_call) *c)
{
    fnn_int lo, hi;
    fnn_span(c->m * L->in_size, 16, c->tid, c->nt, &lo, &hi);
    if (lo >= hi) return;
    memcpy(c->out + lo, c->in + lo, sizeof(real_t) * (size_t)(hi - lo));
    const double sd = L->cfg.noise.stddev;
    if (!c->training || sd == 0.0) return;
    for (fnn_int i = lo; i < hi; ++i) {
        /* u1 in (0, 1]: log(u1) is finite */
        const double u1 = 1.0 - fnn_hash_unit(fnn_hash64(c->seed, 2 * (uint64_t)i));
        const double u2 = fnn_hash_unit(fnn_hash64(c->seed, 2 * (uint64_t)i + 1));
        c->out[i] += (real_t)(sd * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
    }
}

static void FNN_SFX(fnn_noise_backward)(const fnn_layer *L, const FNN_SFX(fnn_call) *c)
{
    (void)L; (void)c; /* d loss / d in = d loss / d out, already in place */
}

#include "fnn_real_end.h"
