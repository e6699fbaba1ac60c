/* fnn_act.h -- elementwise activations, shared by every layer that fuses one.
 *
 * Each activation's derivative is written in terms of its output y (what the
 * forward pass keeps), as scikit-learn's MLP does, so a layer stores one
 * array per activation and backward needs nothing else:
 *
 *   FNN_ACT_IDENTITY    y = x                         dy/dx = 1
 *   FNN_ACT_LOGISTIC    y = 1 / (1 + e^-x)            dy/dx = y (1 - y)
 *   FNN_ACT_TANH        y = tanh x                    dy/dx = 1 - y^2
 *   FNN_ACT_RELU        y = max(x, 0)                 dy/dx = [y > 0]
 *   FNN_ACT_LEAKY_RELU  y = x > 0 ? x : a x  (a > 0)  dy/dx = y > 0 ? 1 : a
 *   FNN_ACT_ELU         y = x > 0 ? x : a (e^x - 1)   dy/dx = y > 0 ? 1 : y + a
 *
 * (The derivative at x = 0 is taken from the left, as PyTorch does.)
 */
#ifndef FNN_ACT_H
#define FNN_ACT_H

#include "fnn_common.h"

enum {
    FNN_ACT_IDENTITY = 0,
    FNN_ACT_LOGISTIC = 1,
    FNN_ACT_TANH = 2,
    FNN_ACT_RELU = 3,
    FNN_ACT_LEAKY_RELU = 4,
    FNN_ACT_ELU = 5,
    FNN_ACT_COUNT = 6
};

#define FNN_F32
#include "fnn_act_impl.h"
#define FNN_F64
#include "fnn_act_impl.h"

#endif /* FNN_ACT_H */
