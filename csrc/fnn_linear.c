/* fnn_linear.c -- compiles the linear-model kernels for float32 and float64. */
#include "fnn_linear.h"
#include "fnn_team.h" /* fnn_flush_denormals */

#define FNN_F32
#include "fnn_loss_rows.h"
#define FNN_F64
#include "fnn_loss_rows.h"

#define FNN_F32
#include "fnn_linear_impl.h"
#define FNN_F64
#include "fnn_linear_impl.h"
