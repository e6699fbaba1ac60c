/* fnn_real_end.h -- close a dtype-generic body opened with fnn_real.h. */
#undef real_t
#undef FNN_SFX
#undef FNN_BLAS
#undef FNN_REAL_EPS
#undef FNN_SQRT
#undef FNN_F32
#undef FNN_F64
