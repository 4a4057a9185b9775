"""Prototype training changes of NMCL, for investigate_defaults.py (throwaway)."""

from __future__ import annotations

import torch

import skcoop._base as base
from skcoop import CooperativeClassifier
from skcoop._training import ModalityNet
from skcoop.nn import NMCL
from skcoop.nn.nmcl import mean_log_proba

_CONFIG = {"aux_weight": 0.0, "valid_nll": False, "memory_lr": 1.0, "fuse": "prob"}


class NMCLx(NMCL):
    def __init__(self, *args, fuse="prob", **kwargs):
        super().__init__(*args, **kwargs)
        self.fuse = fuse

    def forward(self, xs):
        logits, consistency = self.modality_logits(xs)
        log_p = torch.stack([torch.log_softmax(z, dim=-1) for z in logits], dim=1)
        if self.fuse == "logit":
            fused = torch.log_softmax(log_p.mean(dim=1), dim=-1)
        else:
            fused = mean_log_proba(log_p)
        if self.training:
            return fused, consistency, log_p
        return fused, consistency


class NetX(ModalityNet):
    def infer(self, x, **fit_params):
        from skorch.utils import to_tensor

        x = to_tensor(x, device=self._input_device())
        with self._autocast():
            out = self.module_(x, **fit_params)
        return tuple(o.float() for o in out)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        log_proba, penalty = y_pred[:2]
        y_true = y_true.to(log_proba.device)
        loss = self.criterion_(log_proba, y_true)
        if not training and _CONFIG["valid_nll"]:
            return loss
        if self.penalty_weight:
            loss = loss + self.penalty_weight * penalty.mean()
        if training and _CONFIG["aux_weight"] and len(y_pred) > 2:
            log_p = y_pred[2]  # (B, M, K)
            aux = torch.stack(
                [self.criterion_(log_p[:, m], y_true) for m in range(log_p.shape[1])]
            ).mean()
            loss = loss + _CONFIG["aux_weight"] * aux
        return loss

    def initialize_optimizer(self, *args, **kwargs):
        if _CONFIG["memory_lr"] != 1.0:
            self.optimizer__param_groups = [
                ("*omega", {"lr": self.lr * _CONFIG["memory_lr"]}),
                ("*xi", {"lr": self.lr * _CONFIG["memory_lr"]}),
            ]
        return super().initialize_optimizer(*args, **kwargs)


class Candidate(CooperativeClassifier):
    """CooperativeClassifier with the prototype knobs (no clone support)."""

    def __init__(
        self, aux_weight=0.0, valid_nll=False, memory_lr=1.0, fuse="prob", **kw
    ):
        super().__init__(**kw)
        self.aux_weight = aux_weight
        self.valid_nll = valid_nll
        self.memory_lr = memory_lr
        self.fuse = fuse

    def _module_params(self, widths, n_classes):
        _, params = super()._module_params(widths, n_classes)
        return NMCLx, {**params, "fuse": self.fuse}

    def fit(self, X, y):
        _CONFIG.update(
            aux_weight=self.aux_weight,
            valid_nll=self.valid_nll,
            memory_lr=self.memory_lr,
            fuse=self.fuse,
        )
        saved = base.ModalityNet
        base.ModalityNet = NetX
        try:
            return super().fit(X, y)
        finally:
            base.ModalityNet = saved


# --------------------------------------------------------------- speed knobs
from torch import nn  # noqa: E402

from skcoop.nn.attention import AttentionNet  # noqa: E402
from skcoop.nn.cooperative import CooperativeBlock  # noqa: E402


class SharedHiddenRelation(nn.Module):
    """Relation scores of both sides from one hidden layer (Eq. 4's prose)."""

    def __init__(self, host, guest, hidden):
        super().__init__()
        self.hidden = nn.Linear(host + guest, hidden)
        self.host = nn.Linear(hidden, host)
        self.guest = nn.Linear(hidden, guest)
        for lin in (self.hidden, self.host, self.guest):
            nn.init.xavier_uniform_(lin.weight)
            nn.init.zeros_(lin.bias)

    def forward(self, h, g):
        t = torch.relu(self.hidden(torch.cat([h, g], dim=1)))  # (B, r)
        return torch.sigmoid(self.host(t)), torch.sigmoid(self.guest(t))


class LowRankAttention(AttentionNet):
    """Omega = 1 + A B with A (D, R), B (R, K) = 0 at the start."""

    def __init__(self, in_features, n_classes, hidden_size, dropout=0.0, rank=4):
        super().__init__(in_features, n_classes, hidden_size, dropout)
        del self.omega
        self.mem_a = nn.Parameter(torch.randn(in_features, rank))  # (D, R)
        self.mem_b = nn.Parameter(torch.zeros(rank, n_classes))  # (R, K)

    @property
    def omega(self):
        return 1.0 + self.mem_a @ self.mem_b  # (D, K)

    def hidden(self, x_hat):
        weight = self.proj.weight  # (H, D)
        base = x_hat @ weight.t()  # (B, H)
        scaled = x_hat.unsqueeze(1) * self.mem_a.t()  # (B, R, D)
        u = scaled @ weight.t()  # (B, R, H)
        pre = base.unsqueeze(1) + torch.einsum("brh,rk->bkh", u, self.mem_b)
        return self.dropout(torch.relu(pre + self.proj.bias))  # (B, K, H)


class FastNMCL(NMCLx):
    def __init__(self, widths, n_classes, *, relation_hidden=None, memory_rank=None,
                 **kwargs):
        super().__init__(widths, n_classes, **kwargs)
        hidden_size = kwargs.get("hidden_size", 256)
        dropout = kwargs.get("dropout", 0.0)
        if relation_hidden:
            total = sum(self.widths)
            for block, w in zip(self.cooperative, self.widths):
                del block.host_score, block.guest_score
                block.scorer = SharedHiddenRelation(w, total - w, relation_hidden)
                block.relation_scores = block.scorer.forward
        if memory_rank:
            self.attention = nn.ModuleList(
                LowRankAttention(a.proj.in_features, a.z.shape[0], hidden_size,
                                 dropout, memory_rank)
                for a in self.attention
            )


class FastCandidate(Candidate):
    def __init__(self, relation_hidden=None, memory_rank=None, aux_weight=0.0,
                 valid_nll=False, memory_lr=1.0, fuse="prob", **kw):
        super().__init__(aux_weight=aux_weight, valid_nll=valid_nll,
                         memory_lr=memory_lr, fuse=fuse, **kw)
        self.relation_hidden = relation_hidden
        self.memory_rank = memory_rank

    def _module_params(self, widths, n_classes):
        _, params = super()._module_params(widths, n_classes)
        return FastNMCL, {**params, "relation_hidden": self.relation_hidden,
                          "memory_rank": self.memory_rank}
