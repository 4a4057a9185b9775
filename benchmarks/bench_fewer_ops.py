"""Does an NMCL step with fewer operations run faster? (issue 10, part 4)

A measurement, not part of the package: two rewrites of the full model's
forward pass for ``relation_hidden`` set (the defaults) against
:class:`skcoop.nn.NMCL` itself, on mfeat's shapes, alternating in one process:

- ``fewer``: per host one concatenation ``[h, g]`` (today: the guests, then
  ``[h, g]``, then ``[beta_h, beta_g]``), one score product for both sides
  (weights concatenated), the gate on the whole vector with a per-column
  threshold, ``alpha`` and ``beta`` as two products of it;
- ``fused``: the same with the gate and the split in one
  :class:`torch.autograd.Function` whose backward is written by hand.

Both give the model's log-probabilities and gradients to float rounding
(printed); like the model, they skip the consistency heads when it was built
without the term (``kl_weight=0``, the defaults since 2026-12-03; before
2026-12-07 this script computed them anyway). Run::

    OMP_NUM_THREADS=1 python benchmarks/bench_fewer_ops.py --rounds 15

It prints the median step time of each and their ratio to EarlyFusion's.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from skcoop import CooperativeClassifier, EarlyFusion
from skcoop.nn import NMCL
from skcoop.nn.dropout import seed_dropout
from skcoop.nn.functional import mask_absent, symmetric_kl

WIDTHS, N_CLASSES, BATCH = (76, 216, 64, 240, 47, 6), 10, 128  # mfeat


class _GateSplit(torch.autograd.Function):
    """``alpha, beta`` from ``[h, g]``, score logits ``z``, thresholds ``xi``."""

    @staticmethod
    def forward(ctx, z, hg, xi, steepness):
        s = torch.sigmoid(z)  # (B, D); Eq. 4-5
        g = (s - xi).mul_(steepness).sigmoid_()  # (B, D)
        beta = hg * (s * g)  # (B, D); Eq. 8-9
        ctx.save_for_backward(hg, s, g)
        ctx.steepness = steepness
        return hg - beta, beta

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, d_alpha, d_beta):
        hg, s, g = ctx.saved_tensors
        d_gamma = (d_beta - d_alpha).mul_(hg)  # (B, D)
        q = (1.0 - g).mul_(g).mul_(s).mul_(ctx.steepness)  # w s g (1 - g)
        d_xi = (d_gamma * q).sum(0).neg_()  # (D,)
        d_z = d_gamma.mul_(q.add_(g)).mul_(s).mul_(1.0 - s)
        d_hg = None
        if ctx.needs_input_grad[1]:
            d_hg = d_alpha + (s * g) * (d_beta - d_alpha)
        return d_z, d_hg, d_xi, None


class _FewerOps(NMCL):
    fused = False

    def _outputs(self, xs, mask):
        xs = mask_absent(xs, mask)  # M x (B, D_m)
        logits, heads, consistency = [], [], 0.0
        for m, block in enumerate(self.cooperative):
            d_h = self.widths[m]
            others = (x for i, x in enumerate(xs) if i != m)
            hg = torch.cat([xs[m], *others], dim=1)  # (B, D)
            t = torch.relu(block.relation_hidden(hg))  # (B, r)
            w = torch.cat(
                [block.host_score.linear.weight, block.guest_score.linear.weight]
            )  # (D, r)
            b = torch.cat([block.host_score.linear.bias, block.guest_score.linear.bias])
            z = torch.addmm(b, t, w.t())  # (B, D)
            xi = torch.cat(
                [
                    block.host_gate.xi.expand(d_h),
                    block.guest_gate.xi.expand(hg.shape[1] - d_h),
                ]
            )  # (D,)
            if self.fused:
                alpha, beta = _GateSplit.apply(z, hg, xi, block.host_gate.steepness)
            else:
                s = torch.sigmoid(z)
                gamma = s * torch.sigmoid(block.host_gate.steepness * (s - xi))
                beta, alpha = hg * gamma, hg * (1.0 - gamma)  # (B, D)
            if self.consistency:  # skipped as the model skips it (kl_weight=0)
                log_p_h = torch.log_softmax(self.host_heads[m](beta[:, :d_h]), dim=-1)
                log_p_g = torch.log_softmax(self.guest_heads[m](beta[:, d_h:]), dim=-1)
                heads += [log_p_h, log_p_g]
                consistency = consistency + symmetric_kl(log_p_h, log_p_g)  # (B,)
            beta_tilde = block.dropout(torch.relu(block.enhance(beta)))  # (B, H)
            x_hat = torch.cat([alpha[:, :d_h], beta_tilde, alpha[:, d_h:]], dim=1)
            logits.append(self.attention[m](x_hat))  # (B, K)
        if not self.consistency:
            consistency = xs[0].new_zeros(xs[0].shape[0])  # (B,)
        return logits, consistency, heads


def _step(model, xs, y):
    optimizer = torch.optim.Adam(model.parameters(), 2e-3, fused=True)

    def step():
        optimizer.zero_grad(set_to_none=True)
        log_proba, penalty = model(xs)
        (torch.nn.functional.nll_loss(log_proba, y) + penalty.mean()).backward()
        optimizer.step()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    module, params = CooperativeClassifier()._module_params(WIDTHS, N_CLASSES)
    torch.manual_seed(0)
    nets = {"today": module(**params)}
    for name in ("fewer", "fused"):
        net = type(name, (_FewerOps,), {"fused": name == "fused"})(**params)
        net.load_state_dict(nets["today"].state_dict())
        nets[name] = net
    xs = [torch.randn(BATCH, w) for w in WIDTHS]  # M x (B, D_m)
    y = torch.randint(0, N_CLASSES, (BATCH,))  # (B,)
    reference = None
    for name, net in nets.items():
        seed_dropout(net, 3)
        net.train().zero_grad()
        log_proba, penalty = net(xs)
        (torch.nn.functional.nll_loss(log_proba, y) + penalty.mean()).backward()
        # the consistency heads get no gradient when the model skips them
        grads = [p.grad.clone() for p in net.parameters() if p.grad is not None]
        if reference is None:
            reference = (log_proba.detach(), grads)
            continue
        gap = max((a - b).abs().max() for a, b in zip(grads, reference[1], strict=True))
        print(
            f"{name}: largest difference from today's, log-probabilities "
            f"{(log_proba - reference[0]).abs().max():.1e}, gradients {gap:.1e}"
        )
    ef_module, ef_params = EarlyFusion()._module_params(WIDTHS, N_CLASSES)
    steps = {name: _step(net, xs, y) for name, net in nets.items()}
    steps["EarlyFusion"] = _step(ef_module(**ef_params).train(), xs, y)
    times = {name: [] for name in steps}
    for step in steps.values():
        step()  # warm-up
    for _ in range(args.rounds):
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(args.steps):
                step()
            times[name].append((time.perf_counter() - start) / args.steps)
    ef = statistics.median(times["EarlyFusion"])
    for name, values in times.items():
        median = statistics.median(values)
        ratio = median / ef
        print(f"{name}: median step {1000 * median:.1f} ms, x{ratio:.2f} EarlyFusion")


if __name__ == "__main__":
    main()
