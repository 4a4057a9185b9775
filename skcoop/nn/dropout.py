"""Dropout that draws its masks from its own generator.

``torch.nn.Dropout`` draws from torch's process-wide generator, which every
thread shares. Two fits running at once in one process (joblib's threading
backend, a Dask cluster of threads, a notebook with a thread pool) then take
each other's random numbers and neither is reproducible, whatever
``random_state`` says. :class:`Dropout` draws from a generator of its own,
seeded by the training net, so a fit's masks depend on its seed only. The
generator's state is part of the module's ``state_dict`` (extra state), so a
fit resumed from a checkpoint continues the same stream of masks.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["Dropout", "seed_dropout"]


class Dropout(nn.Dropout):
    """:class:`torch.nn.Dropout` with a private, seedable generator.

    Until :meth:`reseed` is called it behaves exactly like
    :class:`torch.nn.Dropout` (process-wide generator); afterwards the masks
    come from a :class:`torch.Generator` on the input's device, created at
    the first training forward from ``seed``.

    Parameters
    ----------
    p : float, default=0.5
        Probability of zeroing an element.
    inplace : bool, default=False
        As in :class:`torch.nn.Dropout`; only used while unseeded.

    Examples
    --------
    >>> import torch
    >>> from skcoop.nn import Dropout
    >>> a, b = Dropout(0.5), Dropout(0.5)
    >>> a.reseed(7)
    >>> b.reseed(7)
    >>> x = torch.ones(2, 6)
    >>> torch.equal(a(x), b(x))  # the same masks, whatever torch.manual_seed says
    True
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__(p, inplace)
        self.seed: int | None = None
        self._generator: torch.Generator | None = None
        self._pending_state: torch.Tensor | None = None

    def reseed(self, seed: int) -> None:
        """Draw the masks from a fresh generator seeded with ``seed``."""
        self.seed = int(seed)
        self._generator = None
        self._pending_state = None

    def _generator_on(self, device: torch.device) -> torch.Generator:
        """Return the generator, created (or restored) on ``device``."""
        g = self._generator
        if g is None or g.device != device:
            g = torch.Generator(device=device).manual_seed(self.seed)
            state = self._pending_state
            if state is not None and state.numel() == g.get_state().numel():
                g.set_state(state.cpu())  # a restored stream, same device type
            self._generator, self._pending_state = g, None
        return g

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Zero each element of ``x`` with probability ``p`` and rescale the rest."""
        if not self.training or self.p == 0.0 or self.seed is None:
            return super().forward(x)
        if self.p == 1.0:
            return torch.zeros_like(x)
        keep = 1.0 - self.p
        generator = self._generator_on(x.device)
        mask = torch.empty_like(x).bernoulli_(keep, generator=generator)
        return x * mask / keep  # same shape as x

    def get_extra_state(self) -> dict:
        """Return the seed and generator state (saved in ``state_dict``)."""
        state = None
        if self._generator is not None:
            state = self._generator.get_state()
        elif self._pending_state is not None:
            state = self._pending_state
        return {"seed": self.seed, "state": state}

    def set_extra_state(self, extra: dict) -> None:
        """Restore the seed and the stream from :meth:`get_extra_state`."""
        state = extra["state"]
        # load_state_dict with map_location="cuda" moves it to the GPU, but
        # Generator.set_state only takes a CPU byte tensor
        self.seed = extra["seed"]
        self._generator = None
        self._pending_state = None if state is None else state.detach().cpu()

    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing, unexpected, errors
    ):
        # parameters saved before this layer had extra state still load: the
        # layer then keeps the seed it was given
        key = prefix + "_extra_state"
        absent = key not in state_dict
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing, unexpected, errors
        )
        if absent and key in missing:
            missing.remove(key)

    def __getstate__(self) -> dict:
        # a CUDA generator cannot be unpickled on a CPU-only machine: keep
        # its state (a CPU byte tensor) instead of the generator itself
        state = super().__getstate__().copy()
        extra = self.get_extra_state()
        state["_generator"], state["_pending_state"] = None, extra["state"]
        return state


def seed_dropout(module: nn.Module, seed: int) -> None:
    """Give every :class:`Dropout` inside ``module`` its own seeded generator.

    The layers, in :meth:`~torch.nn.Module.modules` order, get the seeds
    that a generator seeded with ``seed`` draws, so their streams differ from
    each other and depend on ``seed`` only.

    Parameters
    ----------
    module : torch.nn.Module
        The network.
    seed : int
        The fit's dropout seed.

    Examples
    --------
    >>> import torch
    >>> from skcoop.nn import Dropout, seed_dropout
    >>> net = torch.nn.Sequential(Dropout(0.2), torch.nn.Linear(3, 2), Dropout(0.2))
    >>> seed_dropout(net, 0)
    >>> net[0].seed != net[2].seed
    True
    """
    layers = [m for m in module.modules() if isinstance(m, Dropout)]
    draws = torch.Generator().manual_seed(int(seed))
    seeds = torch.randint(2**62, (len(layers),), generator=draws)  # (n_layers,)
    for layer, layer_seed in zip(layers, seeds.tolist(), strict=True):
        layer.reseed(layer_seed)
