"""Self-training on handwritten digits: 5 labels per class, logistic regression.

Each round the classifier labels the 10 samples per class it is surest of and is
refitted on the union. Runs with no arguments on the digits bundled with
scikit-learn and prints each step.
"""

import numpy as np
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from graphssl.datasets import hide_labels, load_digits
from graphssl.self_training import SelfTraining

if __name__ == "__main__":
    # small problems: extra BLAS threads cost more than they save (6.5 s vs 0.1 s
    # for one logistic regression on 2 busy cores)
    threadpool_limits(1)
    x_t, y_t = load_digits()
    y_hidden = hide_labels(y_t, per_class=5, seed=0)
    x, y_true, y = (x_t / 16.0).numpy(), y_t.numpy(), y_hidden.numpy()
    lab = y >= 0
    print(f"Digits: {len(y)} images of 8x8 pixels, keeping {lab.sum()} labels.")

    base = LogisticRegression(max_iter=1000)
    sup = base.fit(x[lab], y[lab]).predict(x)
    print(
        f"logistic regression on the labels alone: {np.mean(sup[~lab] == y_true[~lab]):.4f}"
    )

    print("Self-training, criterion k_best: 10 new pseudo-labels per class and round.")
    st = SelfTraining(base, criterion="k_best", k_best=10, max_iter=10)
    st.fit(x, y, y_true=y_true)  # y_true only scores the pseudo-labels, never trains
    for h in st.history_[1:]:
        print(
            f"  round {h['round']}: {h['n_new']} new pseudo-labels "
            f"(precision {h['pseudo_accuracy']:.3f}), {h['n_labeled']} labelled"
        )
    acc = np.mean(st.predict(x)[~lab] == y_true[~lab])
    print(f"stopped: {st.termination_condition_} after {st.n_iter_} rounds")
    print(f"self-training accuracy on the {(~lab).sum()} unlabelled images: {acc:.4f}")
