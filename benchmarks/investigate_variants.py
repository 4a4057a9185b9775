"""Readings of the paper's variant III (Sec. 5.3.2) compared on mfeat (issue 16).

Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/investigate_variants.py --seeds 3 \
        --out docs/benchmarks/variants_mfeat.md

Variant III replaces Eq. 10 by one enhanced consistent vector learned from
all host consistent parts, "and the category is estimated by fusing the
predictions of the newly enhanced consistent vector and each complementary
vector". Three readings, each fitted on the benchmark's splits and
preprocessing (seeds 0, 1, ...; 60/20/20; ``python -m skcoop benchmark``'s
``split_indices`` and ``preprocess``) with one fixed setting (the Table 5
sizes: hidden size 64, 20 epochs, batch 128; lr 1e-3, steepness 50; the
package's other defaults). The full model and the other variants on the same
splits are Table 5 of the benchmark (docs/benchmarks.md).

- ``III`` (the package): ``M + 1`` predictions, one from the shared vector
  and one from each host's complementary part ``alpha_h``.
- ``III, complementary = [alpha_h, alpha_g]``: the same, each host's
  complementary vector taken with its guests' complementary parts.
- ``III, concatenated`` (the package before issue 16): the shared vector
  concatenated into each modality's ``[alpha_h, shared, alpha_g]``, ``M``
  predictions.

The two other readings are built here, as subclasses, and are not part of
the package.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
import torch
from sklearn.metrics import f1_score
from skorch.helper import SliceDict
from torch import nn

from skcoop import CooperativeClassifier
from skcoop.benchmark import load_benchmark_data, preprocess, split_indices
from skcoop.nn import NMCL, AttentionNet
from skcoop.nn.functional import mask_absent, symmetric_kl

SETTING = {
    "hidden_size": 64,
    "max_epochs": 20,
    "batch_size": 128,
    "lr": 1e-3,
    "steepness": 50.0,
    "device": "cpu",
}


class _OtherReadingIII(NMCL):
    """Variant III read another way: ``reading`` is "concat" or "host-guest"."""

    reading = "concat"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, variant="III", **kwargs)
        widths, total = self.widths, sum(self.widths)
        hidden, n_classes = (
            self.shared_enhance.out_features,
            self.host_heads[0].out_features,
        )
        first = self.attention[0]
        rank, p = first.memory_rank, first.dropout.p
        inputs = (
            [total + hidden] * len(widths)
            if self.reading == "concat"
            else [total] * len(widths) + [hidden]
        )
        self.attention = nn.ModuleList(
            AttentionNet(d, n_classes, hidden, p, rank) for d in inputs
        )

    def prediction_names(self, modality_names):
        names = list(modality_names)
        return names if self.reading == "concat" else [*names, "consistent"]

    def prediction_mask(self, mask):
        if self.reading == "concat" or mask is None:
            return mask
        return torch.cat([mask, mask.new_ones(mask.shape[0], 1)], dim=1)

    def modality_logits(self, xs, mask=None):
        xs = mask_absent(xs, mask)
        parts, consistency = [], 0.0
        for m, block in enumerate(self.cooperative):
            h, g = self._host_and_guests(xs, m)
            alpha_h, beta_h, alpha_g, beta_g = block(h, g)
            log_p_h = torch.log_softmax(self.host_heads[m](beta_h), dim=-1)
            log_p_g = torch.log_softmax(self.guest_heads[m](beta_g), dim=-1)
            kl = symmetric_kl(log_p_h, log_p_g)
            if mask is not None:
                paired = mask[:, m] & (mask.sum(dim=1) > 1)
                kl = torch.where(paired, kl, kl.new_zeros(()))
            consistency = consistency + kl
            parts.append((alpha_h, beta_h, alpha_g))
        beta = torch.cat([p[1] for p in parts], dim=1)
        shared = self.dropout(torch.relu(self.shared_enhance(beta)))
        if self.reading == "concat":
            logits = [
                self.attention[m](torch.cat([a_h, shared, a_g], dim=1))
                for m, (a_h, _, a_g) in enumerate(parts)
            ]
        else:
            logits = [
                self.attention[m](torch.cat([a_h, a_g], dim=1))
                for m, (a_h, _, a_g) in enumerate(parts)
            ]
            logits.append(self.attention[-1](shared))
        return logits, consistency


class _Concat(_OtherReadingIII):
    reading = "concat"


class _HostGuest(_OtherReadingIII):
    reading = "host-guest"


class _Classifier(CooperativeClassifier):
    module_class = None

    def _module_params(self, widths, n_classes):
        _, params = super()._module_params(widths, n_classes)
        params.pop("variant")
        return self.module_class, params


class ConcatIII(_Classifier):
    module_class = _Concat


class HostGuestIII(_Classifier):
    module_class = _HostGuest


READINGS = {
    "III (package): alpha_h + shared, M + 1 predictions": lambda seed: (
        CooperativeClassifier(**SETTING, variant="III", random_state=seed)
    ),
    "III, complementary = [alpha_h, alpha_g], M + 1": lambda seed: HostGuestIII(
        **SETTING, random_state=seed
    ),
    "III, concatenated [alpha_h, shared, alpha_g], M": lambda seed: ConcatIII(
        **SETTING, random_state=seed
    ),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    X, y, description = load_benchmark_data("mfeat")
    X = SliceDict(**{k: np.asarray(v) for k, v in X.items()})
    scores = {name: [] for name in READINGS}
    start = time.perf_counter()
    for seed in range(args.seeds):
        train, valid, test = split_indices(y, seed)
        Xp = preprocess(X, train, seed)
        for name, make in READINGS.items():
            est = make(seed)
            tick = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", category=UserWarning)
                est.fit(Xp[train], y[train])
            row = (
                f1_score(y[valid], est.predict(Xp[valid]), average="micro"),
                f1_score(y[test], est.predict(Xp[test]), average="micro"),
                time.perf_counter() - tick,
            )
            scores[name].append(row)
            print(seed, name, *(f"{v:.4f}" for v in row), flush=True)
    lines = [
        "# Variant III: three readings on mfeat",
        "",
        f"{description}. Seeds 0-{args.seeds - 1}, the benchmark's splits "
        "(60/20/20) and preprocessing; one setting for every row: "
        + ", ".join(f"{k}={v}" for k, v in SETTING.items())
        + ". Micro-F1 (%), mean ± std over seeds, and the test score of each seed.",
        "",
        "| reading | valid Micro-F1 | test Micro-F1 | test per seed | fit s |",
        "|---|---|---|---|---|",
    ]
    for name, rows in scores.items():
        a = np.asarray(rows)
        per_seed = ", ".join(f"{100 * v:.2f}" for v in a[:, 1])
        lines.append(
            f"| {name} | {100 * a[:, 0].mean():.2f} ± {100 * a[:, 0].std():.2f} "
            f"| {100 * a[:, 1].mean():.2f} ± {100 * a[:, 1].std():.2f} "
            f"| {per_seed} | {a[:, 2].mean():.1f} |"
        )
    lines += [
        "",
        f"{time.perf_counter() - start:.0f} s. Command: `OMP_NUM_THREADS=1 python "
        f"benchmarks/investigate_variants.py --seeds {args.seeds}"
        + (f" --out {args.out}`" if args.out else "`"),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
