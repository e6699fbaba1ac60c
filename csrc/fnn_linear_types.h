/* The linear-model problem description, one definition per dtype. */
#include "fnn_real.h"

typedef struct {
    fnn_int n_samples, n_features, n_outputs;  /* n, p, k */
    const real_t *X;        /* dense n x p, row stride ldx; NULL for CSR */
    fnn_int ldx;
    const real_t *data;     /* CSR values (when X is NULL) */
    const int32_t *indices; /* CSR column indices, each < p */
    const int64_t *indptr;  /* CSR row pointers, n + 1 */
    const real_t *y;        /* n x k, or n class indices for FNN_LOSS_MULTINOMIAL */
    const real_t *sw;       /* n sample weights, or NULL */
    int loss;               /* FNN_LOSS_* */
    int fit_intercept;
} FNN_SFX(fnn_linear_problem);

#include "fnn_real_end.h"
