/* fnn_team.h -- the barrier of the team-parallel network kernels.
 *
 * The engine runs a whole epoch in one OpenMP region and meets at a barrier
 * between every phase of every batch (a dozen per batch). It does not use
 * "omp barrier": how long libgomp spins before sleeping is one process-wide
 * setting (GOMP_SPINCOUNT, read once when libgomp loads, and shared with every
 * other user of libgomp in the process: PyTorch links the same soname). Its
 * default spin burns the core a waiting thread is on, so beside one busy
 * process a b32 epoch took 10x its quiet time; a short spin set for the
 * whole process made a PyTorch b32 epoch 25% slower. This barrier spins a
 * short while (a balanced phase ends within it) and then sleeps in the
 * kernel (a futex on Linux, sched_yield elsewhere), whatever libgomp is told.
 *
 * Use: FNN_TEAM_SYNC(sync) before the parallel region, FNN_TEAM_ENTER(sync)
 * first thing inside it on every thread and FNN_TEAM_LEAVE() last, then
 * FNN_BARRIER() anywhere in between, in any function. Outside a region, or
 * in a team of one, the barrier is nothing. Include once per translation unit
 * (the current team is a per-thread variable of that unit).
 *
 * Phase clock (benchmarks/phases.py): FNN_TEAM_ENTER_TIMED(sync, acc) with
 * acc, this thread's 2 x n_slots doubles (or NULL: off), instead of ENTER;
 * FNN_PHASE(slot) names the phase a thread is in. Each barrier then adds the
 * seconds since the thread last left one to acc[2 slot] (the phase's work)
 * and the seconds it waited to acc[2 slot + 1]; LEAVE adds the rest. Timed
 * or not, the kernels compute the same. (In a build without OpenMP the
 * clock does nothing.)
 *
 * Between ENTER and LEAVE each thread also runs with flush-to-zero and
 * denormals-are-zero (x86's MXCSR; TensorFlow's kernels do the same), put
 * back as it was at LEAVE: values below the smallest normal (1.2e-38 in
 * float32) count as zero. Training drives some of them there (Adam's second
 * moments, gradients of saturated units), and on Intel cores every
 * operation on a denormal takes a microcode assist: a b32 MLP epoch took
 * 1.75-1.9 s from its third epoch on instead of 0.75 s.
 */
#ifndef FNN_TEAM_H
#define FNN_TEAM_H

#include "fnn_common.h"

#if (defined(__x86_64__) || defined(__i386__)) && defined(__SSE2__)
#include <xmmintrin.h>
#define FNN_FTZ_DAZ 0x8040u /* MXCSR: flush to zero (bit 15), denormals are zero (6) */
static _Thread_local unsigned fnn_team_csr;
static inline void fnn_flush_denormals(void)
{
    fnn_team_csr = _mm_getcsr();
    _mm_setcsr(fnn_team_csr | FNN_FTZ_DAZ);
}
static inline void fnn_restore_denormals(void) { _mm_setcsr(fnn_team_csr); }
#else
static inline void fnn_flush_denormals(void) {}
static inline void fnn_restore_denormals(void) {}
#endif

#ifdef _OPENMP
#if defined(__linux__)
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#else
#include <sched.h>
#endif

typedef struct {
    int arrived;        /* threads at the current barrier */
    unsigned gen;       /* barriers completed: waiters watch it change */
    int sleepers;       /* threads asleep on gen */
} fnn_team_sync;

/* Pause instructions a waiting thread spins through before it sleeps,
 * adapted per thread between these bounds (a pause is ~11 ns on the Intel
 * Xeon of 2026-12, ~25 ns on Zen 4): a wait that ends within the spin
 * lengthens the next one by a quarter, one that has to sleep halves it.
 * Quiet, nearly every wait ends within the long spin, and no thread sleeps:
 * a sleep and wake-up costs ~80 us on a virtual machine whose idle vCPU the
 * host has let go (a 40 ms tree-network epoch took 70 ms after 0.5 s idle
 * with a fixed 1000-pause spin, 40 ms adapted; the 784-256-128-10 MLP epoch
 * 5-6% less at b32 and b256). Beside a busy process the partner is often
 * descheduled, most spins fail and the spin falls to the short one, which
 * leaves the core to it (beside a busy process the b32 epoch slows 1.6x;
 * 1.7x with a fixed 1000-pause spin, 3.0x with a fixed 5000). Each region
 * starts at the long spin: the halving feeds itself (a shorter spin sleeps
 * more), and a state carried over from the last region left a Tree-LSTM
 * epoch, whose batches end ~0.1 ms apart on the two threads, sleeping at
 * most barriers after an idle half second: 145-160 ms instead of 115-130
 * (beside a busy process the spin still falls within the first batches).
 * The short spin is 100 pauses (2.6 us on Zen 5): with 500, on a 2-core Zen 5
 * (OpenBLAS's AVX-512 kernels) a b32 epoch beside a busy process slowed
 * 2.5-2.7x its quiet time, with 100 1.9-2.2x, b256 1.9-2.0x -> 1.8x, and with
 * the AVX2 kernels b32 2.2-2.3x -> 2.0-2.1x; the quiet epochs and a Tree-LSTM
 * epoch after an idle half second took the same time either way. */
#define FNN_TEAM_SPIN_MIN 100
#define FNN_TEAM_SPIN_MAX 6000
static _Thread_local int fnn_team_spin = FNN_TEAM_SPIN_MAX;

static _Thread_local fnn_team_sync *fnn_team_cur = NULL;

/* the phase clock (see the top): this thread's slots, its phase, and when
 * it last left a barrier */
static _Thread_local double *fnn_phase_acc = NULL;
static _Thread_local int fnn_phase_slot = 0;
static _Thread_local double fnn_phase_mark = 0.0;

static inline double fnn_phase_now(void) { return omp_get_wtime(); }

static inline void fnn_team_enter(fnn_team_sync *sync, double *phase_acc)
{
    fnn_team_cur = sync;
    fnn_team_spin = FNN_TEAM_SPIN_MAX; /* see FNN_TEAM_SPIN_MAX */
    fnn_phase_acc = phase_acc;
    fnn_phase_slot = 0;
    if (phase_acc) fnn_phase_mark = fnn_phase_now();
    fnn_flush_denormals();
}
static inline void fnn_team_leave(void)
{
    fnn_restore_denormals();
    if (fnn_phase_acc) fnn_phase_acc[2 * fnn_phase_slot] += fnn_phase_now() - fnn_phase_mark;
    fnn_phase_acc = NULL;
    fnn_team_cur = NULL;
}

static inline void fnn_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static inline void fnn_team_sleep(unsigned *addr, unsigned seen)
{
#if defined(__linux__)
    syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
#else
    (void)addr; (void)seen;
    sched_yield();
#endif
}

static inline void fnn_team_wake(unsigned *addr)
{
#if defined(__linux__)
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
#else
    (void)addr;
#endif
}

/* Every write a thread made before the barrier is visible to every thread
 * after it (release on arrival, acquire on leaving). */
static inline void fnn_team_barrier(void)
{
    fnn_team_sync *s = fnn_team_cur;
    const int nt = omp_get_num_threads();
    if (!s || nt < 2) return;
    const unsigned gen = __atomic_load_n(&s->gen, __ATOMIC_ACQUIRE);
    if (__atomic_add_fetch(&s->arrived, 1, __ATOMIC_ACQ_REL) == nt) {
        /* the last one in: reset for the next barrier, then release the others
         * (no one can arrive at the next barrier before seeing the new gen) */
        __atomic_store_n(&s->arrived, 0, __ATOMIC_RELAXED);
        /* sequentially consistent with the sleepers' count below and in the
         * waiters: either this sees a sleeper, or that sleeper sees the new gen
         * (a release store could still sit in the store buffer while the
         * count is read, and a waiter would sleep on the old value for good) */
        __atomic_store_n(&s->gen, gen + 1, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&s->sleepers, __ATOMIC_SEQ_CST)) fnn_team_wake(&s->gen);
        return;
    }
    const int budget = fnn_team_spin;
    for (int i = 0; i < budget; ++i) {
        if (__atomic_load_n(&s->gen, __ATOMIC_ACQUIRE) != gen) {
            const int more = budget + budget / 4;
            fnn_team_spin = more < FNN_TEAM_SPIN_MAX ? more : FNN_TEAM_SPIN_MAX;
            return;
        }
        fnn_cpu_relax();
    }
    fnn_team_spin = budget / 2 > FNN_TEAM_SPIN_MIN ? budget / 2 : FNN_TEAM_SPIN_MIN;
    __atomic_add_fetch(&s->sleepers, 1, __ATOMIC_SEQ_CST);
    /* the kernel sleeps only while gen still equals what we saw: a release
     * between the check above and this call is not lost */
    while (__atomic_load_n(&s->gen, __ATOMIC_SEQ_CST) == gen) fnn_team_sleep(&s->gen, gen);
    __atomic_sub_fetch(&s->sleepers, 1, __ATOMIC_SEQ_CST);
}

/* the barrier, on the phase clock when it runs */
static inline void fnn_team_barrier_timed(void)
{
    double *acc = fnn_phase_acc;
    if (!acc) {
        fnn_team_barrier();
        return;
    }
    const double arrive = fnn_phase_now();
    fnn_team_barrier();
    const double leave = fnn_phase_now();
    acc[2 * fnn_phase_slot] += arrive - fnn_phase_mark;
    acc[2 * fnn_phase_slot + 1] += leave - arrive;
    fnn_phase_mark = leave;
}

#define FNN_BARRIER() fnn_team_barrier_timed()
#define FNN_TEAM_SYNC(name) fnn_team_sync name = {0, 0u, 0}
#define FNN_TEAM_ENTER(name) fnn_team_enter(&(name), NULL)
#define FNN_TEAM_ENTER_TIMED(name, acc) fnn_team_enter(&(name), (acc))
#define FNN_TEAM_LEAVE() fnn_team_leave()
#define FNN_PHASE(slot) (fnn_phase_slot = (slot))

#else /* no OpenMP: one thread, nothing to wait for */

#define FNN_BARRIER() ((void)0)
#define FNN_TEAM_SYNC(name) int name = 0
#define FNN_TEAM_ENTER(name) ((void)(name), fnn_flush_denormals())
#define FNN_TEAM_ENTER_TIMED(name, acc) ((void)(acc), FNN_TEAM_ENTER(name))
#define FNN_PHASE(slot) ((void)(slot))
#define FNN_TEAM_LEAVE() fnn_restore_denormals()

#endif

#endif /* FNN_TEAM_H */
