/* Activation layer: out = f(in) elementwise; backward in place on d.
 * Team-parallel over elements. */
#ifndef FNN_ACTIVATION_INFO
#define FNN_ACTIVATION_INFO
static int fnn_activation_check(const fnn_layer *L)
{
    return L->in_size == L->out_size && L->n_w == 0 && L->n_b == 0 &&
           L->cfg.act.activation >= 0 && L->cfg.act.activation < FNN_ACT_COUNT;
}

static fnn_int fnn_activation_flops(const fnn_layer *L) { return 4 * L->out_size; }
#endif

#include "fnn_real.h"

static void FNN_SFX(fnn_activation_forward)(const fnn_layer *L, const FNN_SFX(fnn_call) *c)
{
    fnn_int lo, hi;
    fnn_span(c->m * L->in_size, 16, c->tid, c->nt, &lo, &hi);
    if (lo >= hi) return;
    memcpy(c->out + lo, c->in + lo, sizeof(real_t) * (size_t)(hi - lo));
    FNN_SFX(fnn_act_forward)(L->cfg.act.activation, L->cfg.act.param, c->out + lo, hi - lo);
}

static void FNN_SFX(fnn_activation_backward)(const fnn_layer *L, const FNN_SFX(fnn_call) *c)
{
    fnn_int lo, hi;
    fnn_span(c->m * L->in_size, 16, c->tid, c->nt, &lo, &hi);
    if (lo < hi && c->din)
        FNN_SFX(fnn_act_backward)(L->cfg.act.activation, L->cfg.act.param, c->out + lo,
                                  c->din + lo, hi - lo);
}

#include "fnn_real_end.h"
