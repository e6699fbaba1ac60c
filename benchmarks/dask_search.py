"""A 16-candidate GridSearchCV over a fastnn Pipeline, on a local Dask
cluster (2 worker processes, 1 thread each, joblib's Dask backend) against
loky with 2 jobs, alternated; medians of --repeat runs and their ratio. The
point is that the cluster works and costs little, not that a local cluster
is faster.

    python benchmarks/dask_search.py [--repeat 3]
"""
import argparse
import statistics
import time
import warnings


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import joblib
    from distributed import Client, LocalCluster
    from sklearn.datasets import load_digits
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import fastnn

    warnings.simplefilter("ignore")
    X, y = load_digits(return_X_y=True)
    grid = {"mlpclassifier__alpha": [1e-5, 1e-4, 1e-3, 1e-2],
            "mlpclassifier__hidden_layer_sizes": [(32,), (64,), (128,), (64, 32)]}

    def search(backend):
        pipe = make_pipeline(StandardScaler(), fastnn.MLPClassifier(max_iter=50,
                                                                    random_state=0))
        start = time.perf_counter()
        with joblib.parallel_backend(backend, **({"n_jobs": 2} if backend == "loky" else {})):
            gs = GridSearchCV(pipe, grid, cv=3, n_jobs=2 if backend == "loky" else -1)
            gs.fit(X, y)
        return time.perf_counter() - start, gs.best_score_

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster):
        search("dask"), search("loky")  # warm-up: imports, worker start
        times = {"dask": [], "loky": []}
        for _ in range(args.repeat):
            for backend in times:
                seconds, best = search(backend)
                times[backend].append(seconds)
        d, lk = statistics.median(times["dask"]), statistics.median(times["loky"])
        print(f"16 candidates x 3 folds, load_digits, MLPClassifier(max_iter=50): "
              f"Dask 2 workers {d:.2f} s, loky 2 jobs {lk:.2f} s, ratio (loky / dask) "
              f"{lk / d:.2f}; best score {best:.4f}")


if __name__ == "__main__":
    main()
