/* fnn_common.h -- shared definitions of the fastnn C kernels.
 *
 * Conventions (every kernel follows them):
 *  - names are fnn_<area>_<op>_<f32|f64>; one body per area lives in
 *    fnn_<area>_impl.h and is compiled twice, once per dtype (see fnn_real.h);
 *  - arguments: sizes, const inputs, outputs, hyper-parameters, n_threads;
 *  - an int status is returned (FNN_OK or a negative FNN_E* code);
 *  - kernels never allocate: callers pass workspaces sized by a query;
 *  - reductions accumulate in double whatever the dtype;
 *  - OpenMP loops are coarse, run on one thread below FNN_MIN_WORK elements
 *    per thread, and never call omp_set_num_threads.
 */
#ifndef FNN_COMMON_H
#define FNN_COMMON_H

#include <stddef.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#endif

typedef int64_t fnn_int;

enum {
    FNN_OK = 0,
    FNN_EINVAL = -1,    /* an argument is out of its domain (e.g. a label >= n_classes) */
    FNN_EWORK = -2      /* the workspace passed is smaller than the query asked for */
};

/* Elements of work per thread below which a loop stays on one thread. */
#define FNN_MIN_WORK ((fnn_int)16384)

/* Threads worth using for `work` elements when `n_threads` are allowed. */
static inline int fnn_threads_for(fnn_int work, int n_threads)
{
#ifdef _OPENMP
    fnn_int useful = work / FNN_MIN_WORK;
    if (n_threads < 1) n_threads = 1;
    if (useful < 1) return 1;
    return useful < n_threads ? (int)useful : n_threads;
#else
    (void)work; (void)n_threads;
    return 1;
#endif
}

static inline int fnn_thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* A counter-based random 64-bit value for (seed, i): splitmix64's finaliser
 * over a mix of both. Used where a random stream must not depend on the
 * thread count (dropout masks): element i's value is a function of i. */
static inline uint64_t fnn_hash64(uint64_t seed, uint64_t i)
{
    uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (i + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* A uniform in [0, 1) from the top 53 bits of a hash (1 - it is in (0, 1]). */
static inline double fnn_hash_unit(uint64_t h)
{
    return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

/* A uniform in [0, 1) from the top 52 bits of a hash by bit operations only:
 * a loop of these vectorises on every SIMD path (a u64 -> double conversion
 * has no AVX2 instruction). */
static inline double fnn_hash_unit52(uint64_t h)
{
    const uint64_t bits = (h >> 12) | 0x3FF0000000000000ULL; /* [1, 2) */
    double d;
    memcpy(&d, &bits, sizeof d);
    return d - 1.0;
}

/* Runtime SIMD dispatch for hot loops outside BLAS (no -march=native in what
 * is built for others). A dispatched function is written once, as a body:
 *
 *     static FNN_ALWAYS_INLINE void FNN_SIMD_BODY(name)(params) { ... }
 *     FNN_SIMD_DISPATCH(void, name, (params), (args))
 *
 * which compiles the body for AVX-512 (F/BW/DQ/VL), AVX2+FMA and the baseline
 * and defines name() to run the best one this CPU has, capped by the
 * environment variable FASTNN_SIMD ("avx512", "avx2" or "baseline", read once
 * per extension module): tests and users can force the narrower paths on any
 * machine, since the paths round differently (FMA contraction, SIMD width). */
#define FNN_CAT_(a, b) a##b
#define FNN_CAT(a, b) FNN_CAT_(a, b)
#define FNN_SIMD_BODY(name) FNN_CAT(name, _body)

enum { FNN_SIMD_BASELINE = 0, FNN_SIMD_AVX2 = 1, FNN_SIMD_AVX512 = 2 };

/* The level FASTNN_SIMD allows (AVX-512 when unset or unknown: the Python
 * side warns about an unknown value). */
static inline int fnn_simd_env_cap(void)
{
    const char *e = getenv("FASTNN_SIMD");
    if (!e || !*e) return FNN_SIMD_AVX512;
    if (!strcmp(e, "avx2")) return FNN_SIMD_AVX2;
    if (!strcmp(e, "baseline")) return FNN_SIMD_BASELINE;
    return FNN_SIMD_AVX512;
}

#if defined(__x86_64__) && defined(__GNUC__) && defined(__linux__) && !defined(FNN_NO_CLONES)
static int fnn_simd_cached = -1;

static int fnn_simd_detect(void)
{
    __builtin_cpu_init();
    int cpu = FNN_SIMD_BASELINE;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        cpu = FNN_SIMD_AVX2;
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
            && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
            cpu = FNN_SIMD_AVX512;
    }
    const int cap = fnn_simd_env_cap();
    return cpu < cap ? cpu : cap;
}

/* The SIMD path in use (decided once; racing first calls agree). */
static inline int fnn_simd_level(void)
{
    int l = __atomic_load_n(&fnn_simd_cached, __ATOMIC_RELAXED);
    if (l < 0) {
        l = fnn_simd_detect();
        __atomic_store_n(&fnn_simd_cached, l, __ATOMIC_RELAXED);
    }
    return l;
}

#define FNN_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))
#define FNN_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define FNN_SIMD_DISPATCH(ret, name, params, args)                                      \
    FNN_TARGET_AVX512 static ret FNN_CAT(name, _avx512) params                         \
    { return FNN_SIMD_BODY(name) args; }                                                \
    FNN_TARGET_AVX2 static ret FNN_CAT(name, _avx2) params                             \
    { return FNN_SIMD_BODY(name) args; }                                                \
    static ret FNN_CAT(name, _baseline) params { return FNN_SIMD_BODY(name) args; }    \
    static ret name params                                                              \
    {                                                                                   \
        switch (fnn_simd_level()) {                                                     \
        case FNN_SIMD_AVX512: return FNN_CAT(name, _avx512) args;                       \
        case FNN_SIMD_AVX2: return FNN_CAT(name, _avx2) args;                           \
        default: return FNN_CAT(name, _baseline) args;                                  \
        }                                                                               \
    }
#else
static inline int fnn_simd_level(void) { return FNN_SIMD_BASELINE; }
#define FNN_SIMD_DISPATCH(ret, name, params, args) \
    static ret name params { return FNN_SIMD_BODY(name) args; }
#endif

/* Inlined whatever the optimizer thinks (bodies specialised by a constant flag). */
#if defined(__GNUC__) || defined(__clang__)
#define FNN_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define FNN_ALWAYS_INLINE inline
#endif

static inline int fnn_team_size(void)
{
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

/* A read prefetch hint where the compiler has one. */
#if defined(__GNUC__) || defined(__clang__)
#define FNN_PREFETCH(p) __builtin_prefetch(p)
#else
#define FNN_PREFETCH(p) ((void)(p))
#endif

/* Thread tid's share [lo, hi) of n items among nt threads, the boundaries on
 * multiples of `align` items (cache lines apart, SIMD-friendly). */
static inline void fnn_span(fnn_int n, fnn_int align, int tid, int nt, fnn_int *lo,
                            fnn_int *hi)
{
    fnn_int blocks = (n + align - 1) / align;
    fnn_int b0 = blocks * tid / nt, b1 = blocks * (tid + 1) / nt;
    *lo = b0 * align < n ? b0 * align : n;
    *hi = b1 * align < n ? b1 * align : n;
}

/* Workspace carving: sections aligned to 64 bytes. */
#define FNN_ALIGN ((size_t)64)
static inline size_t fnn_align_up(size_t nbytes)
{
    return (nbytes + FNN_ALIGN - 1) & ~(FNN_ALIGN - 1);
}

static inline fnn_int fnn_min_i(fnn_int a, fnn_int b) { return a < b ? a : b; }
static inline fnn_int fnn_max_i(fnn_int a, fnn_int b) { return a > b ? a : b; }

#endif /* FNN_COMMON_H */
