/* fnn_real.h -- instantiate a dtype-generic body.
 *
 * A source that serves float32 and float64 writes its body once in an
 * fnn_<area>_impl.h that starts with #include "fnn_real.h" and ends with
 * #include "fnn_real_end.h", and includes it twice:
 *
 *     #define FNN_F32
 *     #include "fnn_area_impl.h"
 *     #define FNN_F64
 *     #include "fnn_area_impl.h"
 *
 * Inside the body: real_t is the element type, FNN_SFX(name) appends the
 * _f32/_f64 suffix, FNN_BLAS(b, gemm) picks b->sgemm or b->dgemm.
 * Deliberately no include guard.
 */
#if defined(FNN_F32)
#define real_t float
#define FNN_SFX(name) name##_f32
#define FNN_BLAS(table, op) ((table)->s##op)
#define FNN_REAL_EPS 1.1920928955078125e-07
#define FNN_SQRT sqrtf
#elif defined(FNN_F64)
#define real_t double
#define FNN_SFX(name) name##_f64
#define FNN_BLAS(table, op) ((table)->d##op)
#define FNN_REAL_EPS 2.220446049250313e-16
#define FNN_SQRT sqrt
#else
#error "define FNN_F32 or FNN_F64 before including a dtype-generic body"
#endif
