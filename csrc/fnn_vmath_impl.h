/* fnn_vmath_impl.h -- elementwise e^x (x <= 0), sigmoid and tanh without a
 * library call, so loops over them vectorise (the RNN gates, the RBM's
 * units). A fragment of a dtype-generic body: include it after fnn_real.h
 * (once per dtype; the guard below keeps a second inclusion out). */
#if defined(FNN_F32) && !defined(FNN_VMATH_F32)
#define FNN_VMATH_F32
#define FNN_VMATH_NOW
#elif defined(FNN_F64) && !defined(FNN_VMATH_F64)
#define FNN_VMATH_F64
#define FNN_VMATH_NOW
#endif
#ifdef FNN_VMATH_NOW
#undef FNN_VMATH_NOW

/* e^x for x <= 0 without a library call, so gate loops vectorise: x = n ln 2
 * + r (Cody-Waite), e^r by its Taylor polynomial (degree 7 in float, 13 in
 * double: below an ulp on |r| <= ln 2 / 2), 2^n put into the exponent bits
 * through the round-to-integer shifter. Below the smallest normal: 0. */
static FNN_ALWAYS_INLINE real_t FNN_SFX(fnn_vexp_neg)(real_t x)
{
#if defined(FNN_F32)
    const float lo = -87.0f, shifter = 12582912.0f; /* 1.5 2^23 */
    const float ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
    typedef int32_t bits_t;
    const int mant = 23, bias = 127;
#else
    const double lo = -708.0, shifter = 6755399441055744.0; /* 1.5 2^52 */
    const double ln2_hi = 6.93145751953125e-1, ln2_lo = 1.42860682030941723212e-6;
    typedef int64_t bits_t;
    const int mant = 52, bias = 1023;
#endif
    /* x clamped to lo by a select on the bits: a select of the value itself
     * keeps GCC from vectorising the loop */
    const real_t under = x >= lo ? (real_t)1 : (real_t)0;
    bits_t xb, lb;
    memcpy(&xb, &x, sizeof xb);
    memcpy(&lb, &lo, sizeof lb);
    const bits_t keep = -(bits_t)(x >= lo);
    xb = (xb & keep) | (lb & ~keep);
    memcpy(&x, &xb, sizeof x);
    const real_t t = x * (real_t)1.4426950408889634 + shifter;
    const real_t n = t - shifter; /* round(x / ln 2) */
    const real_t r = (x - n * ln2_hi) - n * ln2_lo;
#if defined(FNN_F32)
    real_t p = (real_t)(1.0 / 5040);
    p = p * r + (real_t)(1.0 / 720);
    p = p * r + (real_t)(1.0 / 120);
    p = p * r + (real_t)(1.0 / 24);
#else
    real_t p = (real_t)(1.0 / 6227020800.0);
    p = p * r + (real_t)(1.0 / 479001600.0);
    p = p * r + (real_t)(1.0 / 39916800.0);
    p = p * r + (real_t)(1.0 / 3628800.0);
    p = p * r + (real_t)(1.0 / 362880.0);
    p = p * r + (real_t)(1.0 / 40320.0);
    p = p * r + (real_t)(1.0 / 5040.0);
    p = p * r + (real_t)(1.0 / 720.0);
    p = p * r + (real_t)(1.0 / 120.0);
    p = p * r + (real_t)(1.0 / 24.0);
#endif
    p = p * r + (real_t)(1.0 / 6);
    p = p * r + (real_t)0.5;
    p = p * r + (real_t)1;
    p = p * r + (real_t)1;
    bits_t tb, sb, scale_bits;
    memcpy(&tb, &t, sizeof tb);
    memcpy(&sb, &shifter, sizeof sb);
    scale_bits = (tb - sb + (bits_t)bias) << mant; /* 2^n */
    real_t scale;
    memcpy(&scale, &scale_bits, sizeof scale);
    return p * scale * under;
}

static FNN_ALWAYS_INLINE real_t FNN_SFX(fnn_vsigmoid)(real_t x)
{
    const real_t e = FNN_SFX(fnn_vexp_neg)(x < 0 ? x : -x);
    const real_t r = (real_t)1 / ((real_t)1 + e);
    return x >= 0 ? r : e * r;
}

static FNN_ALWAYS_INLINE real_t FNN_SFX(fnn_vtanh)(real_t x)
{
    const real_t a = x < 0 ? -x : x;
    const real_t e = FNN_SFX(fnn_vexp_neg)(-2 * a);
    const real_t y = ((real_t)1 - e) / ((real_t)1 + e);
    return x < 0 ? -y : y;
}

#endif
