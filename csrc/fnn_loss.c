/* fnn_loss.c -- compiles the loss kernels for float32 and float64. */
#include "fnn_loss.h"

#define FNN_F32
#include "fnn_loss_rows.h"
#define FNN_F64
#include "fnn_loss_rows.h"

#define FNN_F32
#include "fnn_loss_impl.h"
#define FNN_F64
#include "fnn_loss_impl.h"
