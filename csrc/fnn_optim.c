/* fnn_optim.c -- compiles the update rules for float32 and float64. */
#include "fnn_optim.h"
#include "fnn_team.h" /* fnn_flush_denormals */

#define FNN_F32
#include "fnn_optim_impl.h"
#define FNN_F64
#include "fnn_optim_impl.h"
