"""Profile one NMCL training step (torch.profiler) at a paper or data set's shapes.

Prints the mean step time and the operators that take the most time. Run::

    python benchmarks/profile_step.py --shape paper            # 2048/200/100, K=188
    python benchmarks/profile_step.py --shape mfeat --threads 1  # 6 views, K=10
    python benchmarks/profile_step.py --shape aloi100 --threads 1 --hidden-size 64 \
        --relation-hidden 32 --memory-rank 4     # the defaults of 2026-12-02
    python benchmarks/profile_step.py --shape aloi --threads 1 --defaults \
        --against-early-fusion --rounds 5        # full ALOI, K=1000

``--relation-hidden`` and ``--memory-rank`` default to the printed model
(one-matrix relation scorers, full memory). ``--defaults`` builds the network
``CooperativeClassifier()`` builds (and ignores those two options,
``--hidden-size`` and ``--dropout``), with ``--settings`` (JSON) passed to
it, for example
``--settings '{"kl_weight": 0}'``; the loss then weighs the penalty as the
estimator would. ``--against-early-fusion`` also times the network of
``EarlyFusion()`` on the same batch, alternating with NMCL for ``--rounds``
rounds of ``--steps`` steps in one process, and prints the ratio of the
median step times: the per-step part of the fit-time ratio, without the
data loading, early stopping or epoch counts of a whole fit. ``--compile``
(with ``--against-early-fusion``) times both networks through
``torch.compile`` as well, alternating with the eager ones, and prints the
seconds the first compiled steps took: what fusing the element-wise work
(inductor's generated loops) would leave of the ratio. Both use Adam
as the estimators do on the CPU (its fused kernel), and the same loss (NLL of
the fused prediction plus the module's penalty).
"""

import argparse
import json
import statistics
import time
from copy import deepcopy as copy_module

import torch
from torch.profiler import ProfilerActivity, profile

from skcoop import CooperativeClassifier, EarlyFusion
from skcoop.nn import NMCL

SHAPES = {
    "paper": ((2048, 200, 100), 188, 256),
    "mfeat": ((76, 216, 64, 240, 47, 6), 10, 128),
    "aloi100": ((27, 64, 13, 27), 100, 128),
    "aloi": ((27, 64, 13, 27), 1000, 128),
}


def _trainer(model, xs, y, penalty_weight=1.0):
    """Return one training step of ``model`` on the batch ``xs``, ``y``."""
    fused = all(p.device.type == "cpu" for p in model.parameters())
    optimizer = torch.optim.Adam(model.parameters(), 1e-3, fused=fused or None)

    def step():
        optimizer.zero_grad(set_to_none=True)
        log_proba, penalty = model(xs)
        loss = torch.nn.functional.nll_loss(log_proba, y)
        if penalty_weight:  # as the estimators' loss (skcoop._training)
            loss = loss + penalty_weight * penalty.mean()
        loss.backward()
        optimizer.step()

    return step


def _seconds(step, steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="paper")
    parser.add_argument("--hidden-size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--relation-hidden", type=int, default=None)
    parser.add_argument("--memory-rank", type=int, default=None)
    parser.add_argument("--dropout", type=float, default=0.2)
    parser.add_argument("--defaults", action="store_true")
    parser.add_argument("--settings", default="{}", help="with --defaults: JSON")
    parser.add_argument("--against-early-fusion", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--compile", action="store_true")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    widths, n_classes, batch = SHAPES[args.shape]
    torch.manual_seed(0)
    penalty_weight = 1.0
    if args.defaults:
        estimator = CooperativeClassifier(**json.loads(args.settings))
        module, params = estimator._module_params(widths, n_classes)
        model = module(**params)
        penalty_weight = estimator._penalty_weight()
    else:
        model = NMCL(
            widths,
            n_classes,
            hidden_size=args.hidden_size,
            dropout=args.dropout,
            relation_hidden=args.relation_hidden,
            memory_rank=args.memory_rank,
        )
    xs = [torch.randn(batch, w) for w in widths]  # M x (B, D_m)
    y = torch.randint(0, n_classes, (batch,))  # (B,)
    step = _trainer(model.train(), xs, y, penalty_weight)
    step()  # warm-up
    if args.against_early_fusion:
        module, params = EarlyFusion()._module_params(widths, n_classes)
        ef_model = module(**params).train()
        ef_step = _trainer(ef_model, xs, y)
        ef_step()
        steps = {"NMCL": step, "EarlyFusion": ef_step}
        if args.compile:
            for name, net in (("NMCL", model), ("EarlyFusion", ef_model)):
                copy = copy_module(net)
                start = time.perf_counter()
                weight = penalty_weight if name == "NMCL" else 1.0
                steps[f"{name} compiled"] = _trainer(torch.compile(copy), xs, y, weight)
                steps[f"{name} compiled"]()  # compiles forward and backward
                steps[f"{name} compiled"]()
                print(
                    f"{name}: torch.compile and two steps took "
                    f"{time.perf_counter() - start:.1f} s"
                )
        times = {name: [] for name in steps}
        for _ in range(args.rounds):
            for name, fn in steps.items():
                times[name].append(_seconds(fn, args.steps))
        median = {name: statistics.median(t) for name, t in times.items()}
        nmcl, ef = median["NMCL"], median["EarlyFusion"]
        print(
            f"{args.shape}: median step NMCL {1000 * nmcl:.1f} ms, EarlyFusion "
            f"{1000 * ef:.1f} ms, ratio {nmcl / ef:.2f} ({args.rounds} rounds of "
            f"{args.steps} steps, batch {batch}, {torch.get_num_threads()} threads)"
        )
        if args.compile:
            c_nmcl, c_ef = median["NMCL compiled"], median["EarlyFusion compiled"]
            print(
                f"{args.shape}: compiled, median step NMCL {1000 * c_nmcl:.1f} ms, "
                f"EarlyFusion {1000 * c_ef:.1f} ms, ratio {c_nmcl / c_ef:.2f}; "
                f"compiled NMCL against eager EarlyFusion {c_nmcl / ef:.2f}"
            )
    else:
        seconds = _seconds(step, args.steps)
        threads = torch.get_num_threads()
        print(f"{args.shape}: {seconds:.2f} s per step, {threads} threads")
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(args.steps):
            step()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))


if __name__ == "__main__":
    main()
