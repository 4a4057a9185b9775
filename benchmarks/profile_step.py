"""Profile one NMCL training step (torch.profiler), at paper scale or on mfeat's shapes.

Prints the mean step time and the operators that take the most time. Run::

    python benchmarks/profile_step.py --shape paper            # 2048/200/100, K=188
    python benchmarks/profile_step.py --shape mfeat --threads 1  # 6 views, K=10
    python benchmarks/profile_step.py --shape aloi100 --threads 1 --hidden-size 64 \
        --relation-hidden 32 --memory-rank 4                   # the package defaults

``--relation-hidden`` and ``--memory-rank`` default to the printed model
(one-matrix relation scorers, full memory).
"""

import argparse
import time

import torch
from torch.profiler import ProfilerActivity, profile

from skcoop.nn import NMCL

SHAPES = {
    "paper": ((2048, 200, 100), 188, 256),
    "mfeat": ((76, 216, 64, 240, 47, 6), 10, 128),
    "aloi100": ((27, 64, 13, 27), 100, 128),
    "aloi": ((27, 64, 13, 27), 1000, 128),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="paper")
    parser.add_argument("--hidden-size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--relation-hidden", type=int, default=None)
    parser.add_argument("--memory-rank", type=int, default=None)
    parser.add_argument("--dropout", type=float, default=0.2)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    widths, n_classes, batch = SHAPES[args.shape]
    torch.manual_seed(0)
    model = NMCL(
        widths,
        n_classes,
        hidden_size=args.hidden_size,
        dropout=args.dropout,
        relation_hidden=args.relation_hidden,
        memory_rank=args.memory_rank,
    )
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    xs = [torch.randn(batch, w) for w in widths]
    y = torch.randint(0, n_classes, (batch,))

    def step():
        optimizer.zero_grad(set_to_none=True)
        log_proba, consistency = model(xs)
        loss = torch.nn.functional.nll_loss(log_proba, y) + consistency.mean()
        loss.backward()
        optimizer.step()

    step()  # warm-up
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    seconds = (time.perf_counter() - start) / args.steps
    print(f"{args.shape}: {seconds:.2f} s per step, {torch.get_num_threads()} threads")
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(args.steps):
            step()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))


if __name__ == "__main__":
    main()
