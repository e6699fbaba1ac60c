/* Dropout (inverted): in training each element is kept with probability
 * 1 - rate and scaled by 1 / (1 - rate); at predict the layer is the
 * identity. The mask is a counter-based hash of (seed, element index), so
 * it does not depend on the thread count and backward replays it exactly.
 * Team-parallel over elements. */
#include "fnn_real.h"

static void FNN_SFX(fnn_dropout_forward)(const fnn_layer *L, fnn_int m, const real_t *in,
                                         real_t *out, real_t *mask, int training,
                                         uint64_t seed, int tid, int nt)
{
    fnn_int lo, hi;
    fnn_span(m * L->in_size, 16, tid, nt, &lo, &hi);
    if (lo >= hi) return;
    if (!training || L->rate <= 0.0) {
        memcpy(out + lo, in + lo, sizeof(real_t) * (size_t)(hi - lo));
        if (mask) for (fnn_int i = lo; i < hi; ++i) mask[i] = (real_t)1;
        return;
    }
    const double keep = 1.0 - L->rate;
    const real_t scale = (real_t)(1.0 / keep);
    /* keep when the top 53 bits, as a uniform in [0, 1), are below keep */
    const uint64_t threshold = (uint64_t)(keep * 9007199254740992.0);
    for (fnn_int i = lo; i < hi; ++i) {
        real_t k = (fnn_hash64(seed, (uint64_t)i) >> 11) < threshold ? scale : (real_t)0;
        mask[i] = k;
        out[i] = in[i] * k;
    }
}

static void FNN_SFX(fnn_dropout_backward)(const fnn_layer *L, fnn_int m, const real_t *mask,
                                          real_t *d, int tid, int nt)
{
    fnn_int lo, hi;
    fnn_span(m * L->in_size, 16, tid, nt, &lo, &hi);
    for (fnn_int i = lo; i < hi; ++i) d[i] *= mask[i];
}

#include "fnn_real_end.h"
