"""python -m fastnn: a demo on data that ships with scikit-learn.

Fits fastnn's estimators and their scikit-learn counterparts on the same
train/test split and prints each one's test score and fit seconds.

python -m fastnn --plot out.png: the same, and the training curves of its
first-order networks (loss, and the test set's loss and score per epoch)
written to out.png (needs matplotlib).

python -m fastnn pretrain: pre-training and transfer on load_digits (see
pretrain_demo).

python -m fastnn trees: tree-recursive networks on a compositional task
(see trees_demo).
"""
import inspect
import sys
import time
import warnings


def _row(name, est, X_tr, y_tr, X_te, y_te, curves):
    # with --plot, fastnn's first-order networks also score the test set after
    # every epoch (validation_data only watches: the fit is the same)
    watch = curves is not None and type(est).__module__.startswith("fastnn.") and \
        getattr(est, "solver", "lbfgs") != "lbfgs" and \
        "validation_data" in inspect.signature(est.fit).parameters
    start = time.perf_counter()
    if watch:
        est.fit(X_tr, y_tr, validation_data=(X_te, y_te))
    else:
        est.fit(X_tr, y_tr)
    seconds = time.perf_counter() - start
    if watch:
        curves.append((name, est))
    return name, est.score(X_te, y_te), seconds


def main(plot=None):
    """The demo; ``plot``: a file to write its networks' training curves to."""
    import sklearn.linear_model as sk
    import sklearn.neural_network as skn
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    import fastnn
    from fastnn.layers import GRU, LSTM, Activation, BatchNorm, Conv2D, Dense, Flatten, MaxPool2D

    if plot is not None:
        from fastnn.utils._plot import _matplotlib
        _matplotlib("python -m fastnn --plot")  # fail before the fits, not after
    fastnn.show_config()
    curves = None if plot is None else []
    tasks = []
    X, y = load_diabetes(return_X_y=True)
    tasks.append(("diabetes (regression, R^2)", X, y, [
        ("fastnn LinearRegression", fastnn.LinearRegression()),
        ("sklearn LinearRegression", sk.LinearRegression()),
        ("fastnn LinearRegression(alpha=1)", fastnn.LinearRegression(alpha=1.0)),
        ("sklearn Ridge(alpha=1)", sk.Ridge(alpha=1.0)),
        ("fastnn LinearRegression(solver='adam')",
         fastnn.LinearRegression(solver="adam", learning_rate_init=1.0, batch_size=32,
                                 max_iter=300, random_state=0)),
    ]))
    X, y = load_breast_cancer(return_X_y=True)
    tasks.append(("breast_cancer (binary, accuracy)", X, y, [
        ("fastnn LogisticRegression", fastnn.LogisticRegression(max_iter=1000)),
        ("sklearn LogisticRegression", sk.LogisticRegression(max_iter=1000)),
        ("fastnn LogisticRegression(solver='sgd')",
         fastnn.LogisticRegression(solver="sgd", max_iter=200, random_state=0)),
    ]))
    X, y = load_digits(return_X_y=True)
    tasks.append(("digits (10 classes, accuracy)", X, y, [
        ("fastnn LogisticRegression", fastnn.LogisticRegression(max_iter=1000)),
        ("sklearn LogisticRegression", sk.LogisticRegression(max_iter=1000)),
        ("fastnn LogisticRegression(solver='adam')",
         fastnn.LogisticRegression(solver="adam", learning_rate_init=0.01, batch_size=64,
                                   max_iter=100, random_state=0)),
        ("fastnn MLPClassifier(100 relu, adam)", fastnn.MLPClassifier(random_state=0)),
        ("sklearn MLPClassifier(100 relu, adam)", skn.MLPClassifier(random_state=0)),
        ("fastnn MLPClassifier(batch_norm, dropout)",
         fastnn.MLPClassifier((128, 64), batch_norm=True, dropout=0.2, max_iter=60,
                              learning_rate_init=0.003, random_state=0)),
        ("fastnn NeuralNetClassifier(Dense,BN,elu)",
         fastnn.NeuralNetClassifier([Dense(128), BatchNorm(), Activation("elu"),
                                     Dense(64, "relu")], max_iter=60, random_state=0)),
        # the rows read as 1 x 8 x 8 images
        ("fastnn CNN (conv16-pool-conv32-pool-64)",
         fastnn.NeuralNetClassifier(
             [Conv2D(16, 3, padding="same", activation="relu"), MaxPool2D(2),
              Conv2D(32, 3, padding=1, activation="relu"), MaxPool2D(2), Flatten(),
              Dense(64, "relu")], input_shape=(1, 8, 8), max_iter=60,
             learning_rate_init=3e-3, batch_size=32, random_state=0)),
        # the rows read as sequences: 8 steps of 8 pixels, an image row per step
        ("fastnn LSTM(64) over 8 steps of 8 pixels",
         fastnn.NeuralNetClassifier([LSTM(64)], input_shape=(8, 8), max_iter=30,
                                    learning_rate_init=0.01, batch_size=64, random_state=0)),
        ("fastnn GRU(64) over 8 steps of 8 pixels",
         fastnn.NeuralNetClassifier([GRU(64)], input_shape=(8, 8), max_iter=30,
                                    learning_rate_init=0.01, batch_size=64, random_state=0)),
    ]))
    X, y = load_diabetes(return_X_y=True)
    tasks.append(("diabetes (MLP regression, R^2)", X, (y - y.mean()) / y.std(), [
        ("fastnn MLPRegressor(32, lbfgs, alpha=10)",
         fastnn.MLPRegressor(hidden_layer_sizes=(32,), solver="lbfgs", alpha=10.0, max_iter=300, random_state=0)),
        ("sklearn MLPRegressor(32, lbfgs, alpha=10)",
         skn.MLPRegressor(hidden_layer_sizes=(32,), solver="lbfgs", alpha=10.0, max_iter=300, random_state=0)),
    ]))
    for title, X, y, models in tasks:
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0)
        scaler = StandardScaler().fit(X_tr)
        X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
        print(f"\n{title}: {X_tr.shape[0]} train / {X_te.shape[0]} test rows, "
              f"{X.shape[1]} features")
        for name, est in models:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                name, score, seconds = _row(name, est, X_tr, y_tr, X_te, y_te, curves)
            print(f"  {name:44s} score {score:.4f}   fit {seconds * 1000:8.2f} ms")
    if plot is not None:
        from fastnn.utils import save_curves
        save_curves(curves, plot)
        print(f"\ntraining curves of {len(curves)} networks (test set as validation) written "
              f"to {plot}")
    return 0


def pretrain_demo(seeds=(0, 1, 2)):
    """Unsupervised pre-training with 10% of the labels, and transfer from
    digits 0-4 to 5-9, on load_digits (75/25 split): each network against
    the same one from random weights, test accuracy over a few seeds. It
    prints what it measures, whichever way it falls."""
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    import fastnn
    from fastnn.layers import Dense

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0)
    sizes = (128, 32)
    rows = []

    def run(name, make):
        scores = []
        start = time.perf_counter()
        for seed in seeds:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                scores.append(make(seed))
        rows.append((name, np.mean(scores), np.min(scores), np.max(scores),
                     time.perf_counter() - start))

    # 1. all images without labels, 10% with labels
    labelled = np.random.RandomState(0).choice(len(X_tr), len(X_tr) // 10, replace=False)
    Xl, yl = X_tr[labelled], y_tr[labelled]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ae = fastnn.Autoencoder(sizes, max_iter=100, random_state=0).fit(X_tr)
        greedy = fastnn.pretrain(X_tr, sizes, fastnn.Autoencoder(max_iter=100, random_state=0))
        rbms = fastnn.pretrain(X_tr, sizes, fastnn.BernoulliRBM(learning_rate=0.05, n_iter=30,
                                                                random_state=0))

    def mlp(init, activation="relu"):
        return lambda seed: fastnn.MLPClassifier(
            sizes, activation=activation, init=init, max_iter=300,
            random_state=seed).fit(Xl, yl).score(X_te, y_te)

    run("10% labels, random init", mlp(None))
    run("10% labels, autoencoder 64-128-32-128-64 init", mlp(ae))
    run("10% labels, greedy layer-wise autoencoders", mlp(greedy))
    run("10% labels, logistic units, random init", mlp(None, "logistic"))
    run("10% labels, logistic units, greedy RBMs 128, 32", mlp(rbms, "logistic"))
    # 2. transfer: hidden layers learnt on digits 0-4, reused for 5-9
    src_tr, dst_tr, dst_te = y_tr < 5, y_tr >= 5, y_te >= 5
    few = np.flatnonzero(dst_tr)[::10]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        source = fastnn.NeuralNetClassifier([Dense(128, "relu"), Dense(32, "relu")],
                                            max_iter=200, random_state=0)
        source.fit(X_tr[src_tr], y_tr[src_tr])
    hidden = source.get_weights()[:2]

    def target(init, freeze):
        return lambda seed: fastnn.NeuralNetClassifier(
            [Dense(128, "relu"), Dense(32, "relu")], init=init, freeze=freeze, max_iter=300,
            random_state=seed).fit(X_tr[few], y_tr[few]).score(X_te[dst_te], y_te[dst_te])

    run(f"5-9 from {len(few)} labels, random init", target(None, None))
    run("5-9, hidden layers from 0-4, both frozen", target(hidden, [0, 1]))
    run("5-9, hidden layers from 0-4, first frozen", target(hidden, [0]))
    run("5-9, hidden layers from 0-4, fine-tuned", target(hidden, None))
    print(f"load_digits /16, {len(X_tr)} train / {len(X_te)} test rows; MLP {sizes} (relu "
          f"unless said), Adam; test accuracy over seeds {list(seeds)}: mean (min-max)")
    for name, mean, lo, hi, seconds in rows:
        print(f"  {name:48s} {mean:.4f} ({lo:.4f}-{hi:.4f})   {seconds:6.2f} s")
    return 0


def trees_demo(n_tokens=5, n_train=5000, n_small=1000, seed=0):
    """Tree networks on make_tree_expressions' sub_mod task ((left - right)
    mod n_tokens, bottom-up): trained on trees of depth <= 4, tested on
    depth <= 4 and on depth 5 (longer than any seen), beside a logistic
    regression on leaf counts (a bag of leaves) and an LSTM over the leaves
    in order (one-hot, left-padded to 32 steps); then with ``n_small``
    training trees, the root's label against every internal node's. Prints
    what it measures."""
    import numpy as np

    import fastnn
    from fastnn.datasets import check_trees, make_tree_expressions
    from fastnn.layers import LSTM

    X, y = make_tree_expressions(n_train, max_depth=4, n_tokens=n_tokens, random_state=seed)
    Xt, yt = make_tree_expressions(1000, max_depth=4, n_tokens=n_tokens, random_state=seed + 1)
    Xd, yd = make_tree_expressions(1000, max_depth=5, min_depth=5, n_tokens=n_tokens,
                                   random_state=seed + 2)
    steps = 32  # the most leaves of a depth-5 tree

    def counts(trees):
        return np.array([np.bincount(t.leaves, minlength=n_tokens) for t in check_trees(trees)])

    def sequence(trees):
        out = np.zeros((len(trees), steps, n_tokens))
        for i, t in enumerate(check_trees(trees)):
            out[i, steps - len(t.leaves) + np.arange(len(t.leaves)), t.leaves] = 1.0
        return out

    common = dict(batch_size=32, learning_rate_init=3e-3, max_iter=60, random_state=seed,
                  early_stopping=True, n_iter_no_change=8)
    models = [
        ("bag of leaves: LogisticRegression on leaf counts",
         fastnn.LogisticRegression(max_iter=1000), counts),
        ("LSTM(64) over the leaves in order (one-hot)",
         fastnn.NeuralNetClassifier([LSTM(64)], **common), sequence),
        ("TreeNetClassifier(cell='rnn', hidden_size=64)",
         fastnn.TreeNetClassifier(hidden_size=64, embedding_dim=16, **common), None),
        ("TreeNetClassifier(cell='lstm', hidden_size=64)",
         fastnn.TreeNetClassifier(hidden_size=64, embedding_dim=16, cell="lstm", **common),
         None),
    ]
    print(f"sub_mod, {n_tokens} tokens: {len(X)} training trees of depth 1-4 "
          f"(mean {np.mean([t.n_nodes for t in check_trees(X)]):.1f} nodes); test accuracy on "
          f"{len(Xt)} trees of depth 1-4 and {len(Xd)} of depth 5 (chance {1 / n_tokens:.2f})")
    for name, est, feats in models:
        f = feats or (lambda trees: trees)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(f(X), y)
        seconds = time.perf_counter() - start
        print(f"  {name:50s} depth<=4 {est.score(f(Xt), yt):.3f}   depth 5 "
              f"{est.score(f(Xd), yd):.3f}   fit {seconds:6.2f} s", flush=True)
    _node_labels_demo(n_small, Xt, yt, Xd, yd, n_tokens, common, seed)
    return 0


def _node_labels_demo(n_train, Xt, yt, Xd, yd, n_tokens, common, seed):
    """The same task with fewer trees, trained on the roots' values only or
    on every internal node's (node_labels=True, a treebank's setting):
    the roots' accuracy on depth <= 4 and depth 5, and every node's."""
    import numpy as np

    import fastnn
    from fastnn.datasets import make_tree_expressions

    X, Y = make_tree_expressions(n_train, max_depth=4, n_tokens=n_tokens, random_state=seed,
                                 node_labels=True)
    y = np.array([v[-1] for v in Y])  # the roots' values (depth >= 1: no lone leaf)
    _, Yt = make_tree_expressions(len(Xt), max_depth=4, n_tokens=n_tokens,
                                  random_state=seed + 1, node_labels=True)
    print(f"with {len(X)} training trees, labelled at the root only or at every internal node "
          "(node_labels=True): the roots' accuracy, and every node's (depth<=4)")
    for cell in ("rnn", "lstm"):
        for per_node in (False, True):
            est = fastnn.TreeNetClassifier(hidden_size=64, embedding_dim=16, cell=cell,
                                           node_labels=per_node, **common)
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est.fit(X, Y if per_node else y)
            seconds = time.perf_counter() - start

            def roots(trees, want):
                if not per_node:
                    return est.score(trees, want)
                return float(np.mean([p[-1] == w for p, w in zip(est.predict(trees), want)]))

            nodes = f"   nodes {est.score(Xt, Yt):.3f}" if per_node else " " * 14
            name = f"TreeNetClassifier(cell={cell!r}{', node_labels=True' if per_node else ''})"
            print(f"  {name:50s} depth<=4 {roots(Xt, yt):.3f}   depth 5 {roots(Xd, yd):.3f}"
                  f"{nodes}   fit {seconds:6.2f} s", flush=True)


USAGE = "usage: python -m fastnn [--plot FILE] | python -m fastnn pretrain | python -m fastnn trees"

if __name__ == "__main__":
    args = sys.argv[1:]
    if args == ["pretrain"]:
        raise SystemExit(pretrain_demo())
    if args == ["trees"]:
        raise SystemExit(trees_demo())
    if len(args) == 2 and args[0] == "--plot":
        raise SystemExit(main(plot=args[1]))
    if args:
        raise SystemExit(f"{USAGE}; got {' '.join(args)}")
    raise SystemExit(main())
