"""Prototype: NMCL whose host predictions are fused by a power mean.

A throwaway for the pre-registered study of
``benchmarks/results/power_fusion/README.md`` (not part of the package). The
power mean of the hosts' distributions with exponent ``rho``,
``p ∝ (mean_m p_m ** rho) ** (1 / rho)``, is the paper's mean (Eq. 18) at
``rho = 1`` and the normalised geometric mean (the default) as ``rho -> 0``;
in between, a confident host carries a sample less than under the mean and
more than under the product. The fusions are registered under the names
``"power0.5"`` and ``"power0.25"``, which :class:`PowerCooperativeClassifier`
accepts for ``fusion``.

Use with ``benchmarks/investigate_stopping.py --nmcl-class
_power:PowerCooperativeClassifier --settings '{"fusion": "power0.5"}'``.
"""

from __future__ import annotations

from functools import partial

import torch
from sklearn.utils._param_validation import StrOptions

from skcoop import CooperativeClassifier
from skcoop.nn.functional import FUSIONS, mean_log_proba


def power_log_proba(
    log_p: torch.Tensor, mask: torch.Tensor | None = None, rho: float = 0.5
) -> torch.Tensor:
    """Return the log of the normalised power mean of the distributions, (B, K).

    ``log_softmax(log(mean_m p_m ** rho) / rho)``, the mean over each
    sample's present modalities when ``mask`` is given.
    """
    return torch.log_softmax(mean_log_proba(rho * log_p, mask) / rho, dim=-1)


#: the exponents of the study, fixed before the first run
RHOS = (0.5, 0.25)
for _rho in RHOS:
    FUSIONS[f"power{_rho:g}"] = partial(power_log_proba, rho=_rho)


class PowerCooperativeClassifier(CooperativeClassifier):
    """CooperativeClassifier that also accepts the power-mean fusions."""

    _parameter_constraints: dict = {
        **CooperativeClassifier._parameter_constraints,
        "fusion": [StrOptions(set(FUSIONS))],
    }
