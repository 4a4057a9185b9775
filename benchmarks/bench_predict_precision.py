"""What float64 inference costs a prediction (``ModalityNet.infer_method``).

On CPU at ``precision="float32"`` predictions run on a float64 copy of the
trained module, so that a sample's probabilities do not depend on the rows
predicted with it. This times ``predict_proba`` with that copy (kept between
calls, as the package keeps it) against the float32 module itself, in one
process, on random data of two shapes: mfeat's six modalities and 10 classes
(2,000 rows) and ALOI's four modalities and 1,000 classes (20,000 rows), a
default ``CooperativeClassifier`` fitted for one epoch. Prints the best of
three calls of each. Run::

    OMP_NUM_THREADS=1 python benchmarks/bench_predict_precision.py
"""

from __future__ import annotations

import time

import numpy as np

from skcoop import CooperativeClassifier
from skcoop._training import ModalityNet

SHAPES = {
    "mfeat (10 classes)": (10, (76, 216, 64, 240, 47, 6), 2000),
    "ALOI (1,000 classes)": (1000, (27, 64, 13, 27), 20000),
}


def _float32_module(net):
    net.module_.eval()
    return net.module_


def main() -> None:
    rng = np.random.default_rng(0)
    float64_module = ModalityNet._inference_module
    for label, (n_classes, widths, n) in SHAPES.items():
        X = {
            f"m{i}": rng.normal(size=(n, w)).astype(np.float32)
            for i, w in enumerate(widths)
        }
        y = np.arange(n) % n_classes
        clf = CooperativeClassifier(max_epochs=1, random_state=0).fit(X, y)
        best = {}
        for name, method in (("float64", float64_module), ("float32", _float32_module)):
            ModalityNet._inference_module = method
            times = []
            for _ in range(3):
                start = time.perf_counter()
                clf.predict_proba(X)
                times.append(time.perf_counter() - start)
            best[name] = min(times)
        ModalityNet._inference_module = float64_module
        print(
            f"{label}, {n} rows: float64 {best['float64']:.3f} s, float32 "
            f"{best['float32']:.3f} s, ratio {best['float64'] / best['float32']:.2f}"
        )


if __name__ == "__main__":
    main()
