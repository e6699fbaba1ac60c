/* Activation bodies (see fnn_act.h), one body for both dtypes. The switch is
 * outside the loops so each loop is a plain vectorisable pass. */
#include "fnn_real.h"

/* y[i] = f(y[i]) in place over n elements. */
static inline void FNN_SFX(fnn_act_forward)(int act, double a, real_t *y, fnn_int n)
{
    const real_t ar = (real_t)a;
    switch (act) {
    case FNN_ACT_LOGISTIC:
        for (fnn_int i = 0; i < n; ++i) {
            /* stable for both signs: e^-|x| never overflows */
            real_t x = y[i], e = (real_t)exp(-(double)(x < 0 ? -x : x));
            y[i] = x >= 0 ? (real_t)1 / ((real_t)1 + e) : e / ((real_t)1 + e);
        }
        break;
    case FNN_ACT_TANH:
        for (fnn_int i = 0; i < n; ++i) y[i] = (real_t)tanh((double)y[i]);
        break;
    case FNN_ACT_RELU:
        for (fnn_int i = 0; i < n; ++i) y[i] = y[i] > 0 ? y[i] : (real_t)0;
        break;
    case FNN_ACT_LEAKY_RELU:
        for (fnn_int i = 0; i < n; ++i) y[i] = y[i] > 0 ? y[i] : ar * y[i];
        break;
    case FNN_ACT_ELU:
        for (fnn_int i = 0; i < n; ++i)
            y[i] = y[i] > 0 ? y[i] : (real_t)(a * expm1((double)y[i]));
        break;
    default: /* identity */
        break;
    }
}

/* d[i] *= f'(x[i]), the derivative read off the output y. */
static inline void FNN_SFX(fnn_act_backward)(int act, double a, const real_t *y, real_t *d,
                                             fnn_int n)
{
    const real_t ar = (real_t)a;
    switch (act) {
    case FNN_ACT_LOGISTIC:
        for (fnn_int i = 0; i < n; ++i) d[i] *= y[i] * ((real_t)1 - y[i]);
        break;
    case FNN_ACT_TANH:
        for (fnn_int i = 0; i < n; ++i) d[i] *= (real_t)1 - y[i] * y[i];
        break;
    case FNN_ACT_RELU:
        for (fnn_int i = 0; i < n; ++i) d[i] = y[i] > 0 ? d[i] : (real_t)0;
        break;
    case FNN_ACT_LEAKY_RELU:
        for (fnn_int i = 0; i < n; ++i) d[i] = y[i] > 0 ? d[i] : ar * d[i];
        break;
    case FNN_ACT_ELU:
        for (fnn_int i = 0; i < n; ++i) d[i] = y[i] > 0 ? d[i] : d[i] * (y[i] + ar);
        break;
    default:
        break;
    }
}

#include "fnn_real_end.h"
