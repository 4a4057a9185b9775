"""Does an NMCL step with fewer operations run faster? (issue 10, part 4)

A measurement, not part of the package: two rewrites of the full model's
forward pass for ``relation_hidden`` set (the defaults) against
:class:`skcoop.nn.NMCL` itself, on mfeat's shapes, alternating in one process:

- ``fewer``: per host one concatenation ``[h, g]`` (today: the guests, then
  ``[h, g]``, then ``[beta_h, beta_g]``), one score product for both sides
  (weights concatenated), the gate on the whole vector with a per-column
  threshold, ``alpha`` and ``beta`` as two products of it;
- ``fused``: the same with the gate and the split in one
  :class:`torch.autograd.Function` whose backward is written by hand;
- ``batched`` (2026-12-08): all hosts in one pass, each operation once on a
  ``(M, B, D)`` stack instead of ``M`` times on ``(B, D)``: the inputs
  gathered once into every host's ``[h, g]`` order, the hosts' weights
  stacked, batched products (``baddbmm``, ``bmm``), each layer's dropout
  mask drawn from that layer's own generator as the model draws it.

All give the model's log-probabilities and gradients to float rounding
(printed); like the model, they skip the consistency heads when it was built
without the term (``kl_weight=0``, the defaults since 2026-12-03; before
2026-12-07 this script computed them anyway). Run::

    OMP_NUM_THREADS=1 python benchmarks/bench_fewer_ops.py --rounds 15 [--profile]

It prints the median step time of each and their ratio to EarlyFusion's.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.profiler import ProfilerActivity, profile

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


class _Batched(NMCL):
    """The default model with its ``M`` hosts stacked into one batched pass."""

    def _orders(self):
        if getattr(self, "_order", None) is None:
            widths, hidden = self.widths, self.attention[0].proj.weight.shape[0]
            total, starts = sum(widths), [sum(widths[:m]) for m in range(len(widths))]
            order, xi_index, columns = [], [], []
            for start, width in zip(starts, widths, strict=True):
                own = range(start, start + width)
                order += [*own, *(j for j in range(total) if j not in own)]
                xi_index.append([0 if j < width else 1 for j in range(total)])
                # attention input [alpha_h, beta_tilde, alpha_g] read as
                # [alpha_h, alpha_g, beta_tilde]
                columns.append(
                    [
                        *range(width),
                        *range(width + hidden, total + hidden),
                        *range(width, width + hidden),
                    ]
                )
            self._order = torch.tensor(order)  # (M D,)
            offset = 2 * torch.arange(len(widths)).unsqueeze(1)  # (M, 1)
            self._xi_index = torch.tensor(xi_index) + offset  # (M, D)
            self._columns = torch.tensor(columns)  # (M, D + H)
        return self._order, self._xi_index, self._columns

    def _outputs(self, xs, mask):
        order, xi_index, columns = self._orders()
        xs = mask_absent(xs, mask)  # M x (B, D_m)
        x = torch.cat(xs, dim=1)  # (B, D)
        (batch, total), n_hosts = x.shape, len(xs)
        hg = x[:, order].view(batch, n_hosts, total).transpose(0, 1)  # (M, B, D)
        blocks, attention = self.cooperative, self.attention
        v = torch.stack([b.relation_hidden.weight for b in blocks])  # (M, r, D)
        c = torch.stack([b.relation_hidden.bias for b in blocks])  # (M, r)
        t = torch.relu(torch.baddbmm(c.unsqueeze(1), hg, v.transpose(1, 2)))
        w = torch.stack(
            [
                torch.cat([b.host_score.linear.weight, b.guest_score.linear.weight])
                for b in blocks
            ]
        )  # (M, D, r)
        bias = torch.stack(
            [
                torch.cat([b.host_score.linear.bias, b.guest_score.linear.bias])
                for b in blocks
            ]
        )  # (M, D)
        s = torch.sigmoid(torch.baddbmm(bias.unsqueeze(1), t, w.transpose(1, 2)))
        xis = torch.stack([g.xi for b in blocks for g in (b.host_gate, b.guest_gate)])
        xi = xis[xi_index].unsqueeze(1)  # (M, 1, D)
        gamma = s * torch.sigmoid(blocks[0].host_gate.steepness * (s - xi))
        alpha, beta = hg * (1.0 - gamma), hg * gamma  # (M, B, D); Eq. 9
        w_e = torch.stack([b.enhance.weight for b in blocks])  # (M, H, D)
        b_e = torch.stack([b.enhance.bias for b in blocks]).unsqueeze(1)  # (M, 1, H)
        beta_tilde = torch.relu(torch.baddbmm(b_e, beta, w_e.transpose(1, 2)))
        hidden = beta_tilde.shape[2]
        if self.training and blocks[0].dropout.p > 0:
            masks = [b.dropout(x.new_ones(batch, hidden)) for b in blocks]
            beta_tilde = beta_tilde * torch.stack(masks)  # (M, B, H)
        w_a = torch.stack([a.proj.weight for a in attention])  # (M, H, D + H)
        w_a = w_a.gather(2, columns.unsqueeze(1).expand(-1, hidden, -1))
        b_a = torch.stack([a.proj.bias for a in attention]).unsqueeze(1)  # (M, 1, H)
        pre = torch.baddbmm(b_a, alpha, w_a[:, :, :total].transpose(1, 2))
        theta = torch.relu(
            torch.baddbmm(pre, beta_tilde, w_a[:, :, total:].transpose(1, 2))
        )  # (M, B, H)
        if self.training and attention[0].dropout.p > 0:
            masks = [a.dropout(x.new_ones(batch, 1, hidden))[:, 0] for a in attention]
            theta = theta * torch.stack(masks)  # (M, B, H)
        z = torch.stack([a.z for a in attention])  # (M, K, H)
        logits = torch.bmm(theta, z.transpose(1, 2))  # (M, B, K)
        return list(logits.unbind(0)), x.new_zeros(batch), []


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
    parser.add_argument(
        "--profile",
        action="store_true",
        help="then profile --steps steps of today's model and the batched one",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    module, params = CooperativeClassifier()._module_params(WIDTHS, N_CLASSES)
    torch.manual_seed(0)
    nets = {"today": module(**params)}
    for name in ("fewer", "fused"):
        net = type(name, (_FewerOps,), {"fused": name == "fused"})(**params)
        net.load_state_dict(nets["today"].state_dict())
        nets[name] = net
    nets["batched"] = _Batched(**params)
    nets["batched"].load_state_dict(nets["today"].state_dict())
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
    if args.profile:
        for name in ("today", "batched"):
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                for _ in range(args.steps):
                    steps[name]()
            averages = prof.key_averages()
            table = averages.table(sort_by="self_cpu_time_total", row_limit=8)
            print(f"{name}, {args.steps} steps:\n{table}")


if __name__ == "__main__":
    main()
