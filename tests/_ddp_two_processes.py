"""Run by ``test_training.py`` under ``torch.distributed.run`` with 2 processes.

Each estimator trains through Accelerate on the CPU (gloo) and prints one
``RESULT`` line per process with the sum of its first weight tensor and its
probabilities, which must agree across the processes.
"""

import numpy as np


def main():
    from skcoop import CooperativeClassifier, DARELike, EarlyFusion

    rng = np.random.RandomState(0)
    X = {"a": rng.randn(96, 6), "b": rng.randn(96, 3)}
    X = {k: v.astype(np.float32) for k, v in X.items()}
    y = (X["a"][:, 0] + X["b"][:, 0] > 0).astype(int)
    X_ext = rng.randn(50, 6).astype(np.float32)
    gaps = {k: v.copy() for k, v in X.items()}
    gaps["b"][:10] = np.nan
    small = {"hidden_size": 8, "max_epochs": 2, "batch_size": 16, "random_state": 0}
    small["accelerator"] = {"cpu": True}
    corpus = {"external": (X_ext, (X_ext[:, :4] > 0) * 1.0), "enhance": "a"}
    for name, est, data in [
        ("nmcl", CooperativeClassifier(**small), X),
        ("early", EarlyFusion(**small), X),
        ("dare-corpus", DARELike(**small, **corpus), X),
        ("dare-gaps", DARELike(**small, **corpus), gaps),
    ]:
        est.fit(data, y)
        rank = est.net_.accelerator.process_index
        weight = next(iter(est.net_.module_.parameters())).detach().sum().item()
        proba = est.predict_proba(data)[:3].ravel().round(6).tolist()
        print(f"RESULT {name} {rank} {weight:.6f} {proba}", flush=True)


if __name__ == "__main__":
    main()
