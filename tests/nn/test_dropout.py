"""The seeded dropout: masks from the layer's own generator, resumable."""

import copy
import pickle

import pytest
import torch

from skcoop.nn import Dropout, seed_dropout


def _masks(layer, n=3, shape=(64, 32)):
    x = torch.ones(shape)
    return [layer(x) for _ in range(n)]


def test_same_seed_same_masks_different_seed_different_masks():
    a, b, c = Dropout(0.3), Dropout(0.3), Dropout(0.3)
    a.reseed(1)
    b.reseed(1)
    c.reseed(2)
    for ma, mb, mc in zip(_masks(a), _masks(b), _masks(c), strict=True):
        assert torch.equal(ma, mb)
        assert not torch.equal(ma, mc)


def test_masks_ignore_the_global_generator():
    a = Dropout(0.5)
    a.reseed(0)
    torch.manual_seed(0)
    first = _masks(a, n=1)[0]
    a.reseed(0)
    torch.manual_seed(123)  # another global state, the same masks
    assert torch.equal(first, _masks(a, n=1)[0])


def test_keeps_the_expectation_and_the_rate():
    layer = Dropout(0.25)
    layer.reseed(0)
    out = layer(torch.ones(400, 500))
    kept = out != 0
    assert abs(kept.float().mean().item() - 0.75) < 0.01
    torch.testing.assert_close(out[kept], torch.full_like(out[kept], 1 / 0.75))


def test_unseeded_layer_is_torch_dropout():
    torch.manual_seed(5)
    ours = Dropout(0.4)(torch.ones(8, 8))
    torch.manual_seed(5)
    theirs = torch.nn.Dropout(0.4)(torch.ones(8, 8))
    assert torch.equal(ours, theirs)


def test_identity_in_eval_and_zero_at_p_one():
    layer = Dropout(1.0)
    layer.reseed(0)
    x = torch.randn(4, 3)
    assert torch.equal(layer(x), torch.zeros_like(x))
    layer.eval()
    assert torch.equal(layer(x), x)


@pytest.mark.parametrize("how", ["state_dict", "pickle"])
def test_stream_continues_after_a_round_trip(how):
    straight = Dropout(0.5)
    straight.reseed(3)
    _masks(straight, n=2)
    expected = _masks(straight, n=2)

    first = Dropout(0.5)
    first.reseed(3)
    _masks(first, n=2)
    if how == "state_dict":
        restored = Dropout(0.5)
        restored.load_state_dict(copy.deepcopy(first.state_dict()))
    else:
        restored = pickle.loads(pickle.dumps(first))
    for got, want in zip(_masks(restored, n=2), expected, strict=True):
        assert torch.equal(got, want)


def test_seed_dropout_gives_layers_distinct_reproducible_seeds():
    def net():
        return torch.nn.Sequential(Dropout(0.2), torch.nn.Linear(3, 3), Dropout(0.2))

    a, b = net(), net()
    seed_dropout(a, 10)
    seed_dropout(b, 10)
    assert [m.seed for m in a if isinstance(m, Dropout)] == [
        m.seed for m in b if isinstance(m, Dropout)
    ]
    assert a[0].seed != a[2].seed
    seed_dropout(b, 11)
    assert b[0].seed != a[0].seed


def _all_modules():
    from skcoop.nn import NMCL, AttentionNet, EarlyFusionNet, LateFusionNet

    nets = [NMCL([5, 3], 4, hidden_size=4, dropout=0.5, variant=v) for v in VARIANTS]
    nets += [
        NMCL([5], 4, hidden_size=4, dropout=0.5),
        AttentionNet(5, 4, 4, dropout=0.5),
        EarlyFusionNet([5, 3], 4, hidden_size=4, n_layers=2, dropout=0.5),
        EarlyFusionNet([5, 3], 4, hidden_size=4, attention=True, dropout=0.5),
        LateFusionNet([5, 3], 4, hidden_size=4, n_layers=[1, 2], dropout=0.5),
        LateFusionNet([5, 3], 4, hidden_size=4, attention=True, dropout=0.5),
    ]
    return nets


VARIANTS = ["full", "I", "II", "III", "IV"]


@pytest.mark.parametrize("index", range(11))
def test_every_dropout_layer_of_the_package_is_seedable(index):
    # Regression: variant III kept a torch.nn.Dropout, which drew from the
    # process-wide generator: its fits were neither reproducible nor
    # thread-safe once training ran outside torch.random.fork_rng
    net = _all_modules()[index]
    layers = [m for m in net.modules() if isinstance(m, torch.nn.Dropout)]
    assert layers
    assert all(isinstance(m, Dropout) for m in layers)


def test_parameters_saved_without_dropout_state_still_load():
    # a state_dict written before the layer had extra state (no key for it)
    layer = Dropout(0.5)
    layer.reseed(4)
    net = torch.nn.Sequential(torch.nn.Linear(3, 3), layer)
    old = {k: v for k, v in net.state_dict().items() if "_extra_state" not in k}
    fresh = torch.nn.Sequential(torch.nn.Linear(3, 3), Dropout(0.5))
    fresh[1].reseed(9)
    fresh.load_state_dict(old)  # strict: no missing key
    assert fresh[1].seed == 9
    torch.testing.assert_close(fresh[0].weight, net[0].weight)
