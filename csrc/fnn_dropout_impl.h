/* Dropout (inverted): in training each element is kept with probability
 * 1 - rate and scaled by 1 / (1 - rate); at predict the layer is the
 * identity. The mask is a counter-based hash of (seed, element index), so
 * it does not depend on the thread count and backward replays it exactly
 * (it is saved: one real per element). Team-parallel over elements;
 * backward in place. */
#ifndef FNN_DROPOUT_INFO
#define FNN_DROPOUT_INFO
static int fnn_dropout_check(const fnn_layer *L)
{
    return L->in_size == L->out_size && L->n_w == 0 && L->n_b == 0 &&
           L->cfg.dropout.rate >= 0.0 && L->cfg.dropout.rate < 1.0;
}

static fnn_int fnn_dropout_saved(const fnn_layer *L) { return L->in_size; }
static fnn_int fnn_dropout_flops(const fnn_layer *L) { return 2 * L->out_size; }
#endif

#include "fnn_real.h"

static void FNN_SFX(fnn_dropout_forward)(const fnn_layer *L, const FNN_SFX(fnn_call) *c)
{
    fnn_int lo, hi;
    fnn_span(c->m * L->in_size, 16, c->tid, c->nt, &lo, &hi);
    if (lo >= hi) return;
    const real_t *in = c->in;
    real_t *out = c->out, *mask = c->saved;
    if (!c->training || L->cfg.dropout.rate <= 0.0) {
        memcpy(out + lo, in + lo, sizeof(real_t) * (size_t)(hi - lo));
        if (mask) for (fnn_int i = lo; i < hi; ++i) mask[i] = (real_t)1;
        return;
    }
    const double keep = 1.0 - L->cfg.dropout.rate;
    const real_t scale = (real_t)(1.0 / keep);
    /* keep when the top 53 bits, as a uniform in [0, 1), are below keep */
    const uint64_t threshold = (uint64_t)(keep * 9007199254740992.0);
    for (fnn_int i = lo; i < hi; ++i) {
        real_t k = (fnn_hash64(c->seed, (uint64_t)i) >> 11) < threshold ? scale : (real_t)0;
        mask[i] = k;
        out[i] = in[i] * k;
    }
}

static void FNN_SFX(fnn_dropout_backward)(const fnn_layer *L, const FNN_SFX(fnn_call) *c)
{
    fnn_int lo, hi;
    fnn_span(c->m * L->in_size, 16, c->tid, c->nt, &lo, &hi);
    if (!c->din) return;
    for (fnn_int i = lo; i < hi; ++i) c->din[i] *= c->saved[i];
}

#include "fnn_real_end.h"
