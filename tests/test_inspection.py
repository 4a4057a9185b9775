import numpy as np
import pytest
from sklearn.base import clone

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from skcoop import CooperativeClassifier, LateFusion  # noqa: E402
from skcoop.inspection import (  # noqa: E402
    plot_attention_memory,
    plot_modality_contributions,
    plot_relation_scores,
)

WIDTHS = {"audio": 4, "text": 3, "video": 5}


def _data(n=40, seed=0):
    rng = np.random.RandomState(seed)
    X = {name: rng.randn(n, w).astype(np.float32) for name, w in WIDTHS.items()}
    y = np.where(X["audio"][:, 0] + X["text"][:, 0] > 0, "yes", "no").astype("<U5")
    y[:4] = "maybe"
    return X, y


@pytest.fixture(scope="module")
def fitted():
    X, y = _data()
    clf = CooperativeClassifier(
        hidden_size=8, max_epochs=2, memory_rank=None, random_state=0
    )
    return clf.fit(X, y), X, y


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_plot_relation_scores_image_is_features_by_samples(fitted):
    clf, X, _ = fitted
    samples = [5, 0, 7]
    ax = plot_relation_scores(clf, X, "text", samples=samples)
    image = np.asarray(ax.images[0].get_array())
    assert image.shape == (WIDTHS["text"], len(samples))
    expected = clf.relation_scores(X)["text"]["host"][samples].T
    np.testing.assert_allclose(image, expected)
    assert "text" in ax.get_ylabel()
    assert ax.get_xlabel() == "sample"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["5", "0", "7"]


def test_plot_relation_scores_guest_side_and_gated(fitted):
    clf, X, _ = fitted
    ax = plot_relation_scores(clf, X, "audio", side="guest", gated=True)
    image = np.asarray(ax.images[0].get_array())
    guest_width = WIDTHS["text"] + WIDTHS["video"]
    assert image.shape == (guest_width, 40)
    expected = clf.relation_scores(X, gated=True)["audio"]["guest"].T
    np.testing.assert_allclose(image, expected)
    assert "text" in ax.get_ylabel()
    assert "video" in ax.get_ylabel()
    assert "consistent weight" in ax.get_title()


def test_plot_relation_scores_draws_on_given_axes(fitted):
    clf, X, _ = fitted
    fig, axes = plt.subplots(1, 2)
    ax = plot_relation_scores(clf, X, "video", ax=axes[1], colorbar=False)
    assert ax is axes[1]
    assert len(axes[0].images) == 0
    assert len(fig.axes) == 2  # no colour bar axes added


@pytest.mark.parametrize(
    "plot",
    [
        lambda clf, X: plot_relation_scores(clf, X, "sound"),
        lambda clf, X: plot_attention_memory(clf, "sound"),
    ],
    ids=["relation_scores", "attention_memory"],
)
def test_unknown_modality_is_named(fitted, plot):
    clf, X, _ = fitted
    with pytest.raises(
        ValueError,
        match=r"(Unknown modality|No attention memory named) 'sound'.*'audio'",
    ):
        plot(clf, X)


def test_variant_iv_memories_are_named_by_part():
    # "Unknown modality 'audio'" for a modality the model was fitted on
    X, y = _data()
    clf = CooperativeClassifier(
        variant="IV", hidden_size=8, max_epochs=2, memory_rank=None, random_state=0
    ).fit(X, y)
    with pytest.raises(
        ValueError,
        match=r"No attention memory named 'audio'.*\['complementary', "
        r"'consistent'\].*variant='IV'",
    ):
        plot_attention_memory(clf, "audio")
    assert plot_attention_memory(clf, "consistent").images


def test_plot_relation_scores_rejects_bad_samples_and_side(fitted):
    clf, X, _ = fitted
    with pytest.raises(ValueError, match="outside X"):
        plot_relation_scores(clf, X, "audio", samples=[0, 40])
    with pytest.raises(ValueError, match="integer positions"):
        plot_relation_scores(clf, X, "audio", samples=[0.5])
    with pytest.raises(ValueError, match=r"samples is empty \(\[\]\).*or None for all"):
        plot_relation_scores(clf, X, "audio", samples=[])
    with pytest.raises(ValueError, match="side must be"):
        plot_relation_scores(clf, X, "audio", side="both")


def test_plot_relation_scores_single_modality_has_no_guests():
    rng = np.random.RandomState(0)
    X = rng.randn(30, 3)
    y = (X[:, 0] > 0).astype(int)
    clf = CooperativeClassifier(
        hidden_size=8, max_epochs=2, memory_rank=2, random_state=0
    ).fit(X, y)
    with pytest.raises(ValueError, match="single modality"):
        plot_relation_scores(clf, X, "X")
    ax = plot_attention_memory(clf, "X")
    assert np.asarray(ax.images[0].get_array()).shape == (3, 2)


def test_plot_attention_memory_image_is_features_by_classes(fitted):
    clf, _, _ = fitted
    ax = plot_attention_memory(clf, "audio")
    image = np.asarray(ax.images[0].get_array())
    # the default variant I: [alpha_h, beta_h, alpha_g], the host twice
    n_augmented = sum(WIDTHS.values()) + WIDTHS["audio"]
    assert image.shape == (n_augmented, len(clf.classes_))
    np.testing.assert_array_equal(image, clf.attention_memories_["audio"])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["maybe", "no", "yes"]
    assert ax.get_xlabel() == "class"
    assert "audio" in ax.get_title()
    labels = [t.get_text() for t in ax.texts]
    assert labels == ["host 'audio'", "host consistent", "guests"]
    # lines at the section boundaries: after 4 host and 4 host consistent
    assert [line.get_ydata()[0] for line in ax.lines] == [3.5, 7.5]
    # the paper's full model: the enhanced consistent vector (hidden_size 8)
    X, y = _data()
    full = clone(clf).set_params(variant="full").fit(X, y)
    ax = plot_attention_memory(full, "audio")
    n_augmented = sum(WIDTHS.values()) + 8  # host + guests + hidden_size
    assert np.asarray(ax.images[0].get_array()).shape == (n_augmented, 3)
    labels = [t.get_text() for t in ax.texts]
    assert labels == ["host 'audio'", "enhanced consistent", "guests"]
    assert [line.get_ydata()[0] for line in ax.lines] == [3.5, 11.5]


def test_plot_modality_contributions_accuracy(fitted):
    clf, X, y = fitted
    ax = plot_modality_contributions(clf, X, y)
    heights = [p.get_height() for p in ax.patches]
    per_modality = clf.predict_proba_per_modality(X)
    expected = [
        np.mean(clf.classes_[per_modality[n].argmax(axis=1)] == y)
        for n in clf.modality_names_
    ]
    expected.append(clf.score(X, y))
    np.testing.assert_allclose(heights, expected)
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == [*clf.modality_names_, "fused"]
    assert ax.get_ylabel() == "accuracy"


def test_plot_modality_contributions_without_labels(fitted):
    clf, X, _ = fitted
    ax = plot_modality_contributions(clf, X)
    chosen = clf.predict_proba(X).argmax(axis=1)
    per_modality = clf.predict_proba_per_modality(X)
    expected = [
        per_modality[n][np.arange(len(chosen)), chosen].mean()
        for n in clf.modality_names_
    ]
    np.testing.assert_allclose([p.get_height() for p in ax.patches], expected)
    with pytest.raises(ValueError, match="one label per sample"):
        plot_modality_contributions(clf, X, np.zeros(3))


@pytest.mark.parametrize("with_labels", [True, False])
def test_plot_modality_contributions_with_a_modality_absent_from_every_row(
    fitted, with_labels
):
    import warnings

    clf, X, y = fitted
    first = clf.modality_names_[0]
    X = {**X, first: np.full_like(X[first], np.nan)}  # no sample has it
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "Mean of empty slice"
        ax = plot_modality_contributions(clf, X, y if with_labels else None)
    heights = [p.get_height() for p in ax.patches]
    assert heights[0] == 0.0
    assert all(h > 0 for h in heights[1:])
    labels = [t.get_text() for t in ax.texts]
    assert labels[0] == "absent"
    assert all(t != "absent" for t in labels[1:])


def test_plot_modality_contributions_late_fusion():
    X, y = _data()
    clf = LateFusion(hidden_size=8, max_epochs=2, random_state=0).fit(X, y)
    ax = plot_modality_contributions(clf, X, y)
    assert len(ax.patches) == len(WIDTHS) + 1


def test_estimator_without_the_method_is_refused():
    from skcoop import EarlyFusion

    X, y = _data()
    clf = EarlyFusion(hidden_size=8, max_epochs=2, random_state=0).fit(X, y)
    with pytest.raises(TypeError, match="EarlyFusion has no `relation_scores`"):
        plot_relation_scores(clf, X, "audio")
    with pytest.raises(TypeError, match="attention_memories_"):
        plot_attention_memory(clf, "audio")
    with pytest.raises(TypeError, match="predict_proba_per_modality"):
        plot_modality_contributions(clf, X)


def test_unfitted_estimator_is_refused():
    from sklearn.exceptions import NotFittedError

    X, _ = _data()
    with pytest.raises(NotFittedError):
        plot_relation_scores(CooperativeClassifier(), X, "audio")


@pytest.mark.parametrize(
    ("variant", "key", "labels", "n_rows"),
    [
        ("I", "audio", ["host 'audio'", "host consistent", "guests"], 12 + 4),
        ("II", "audio", ["enhanced consistent"], 8),
        ("III", "audio", ["complementary 'audio'"], 4),
        ("III", "consistent", ["shared enhanced consistent"], 8),
        (
            "IV",
            "consistent",
            ["consistent 'audio'", "consistent 'text'", "consistent 'video'"],
            12,
        ),
    ],
    ids=["I", "II", "III-audio", "III-consistent", "IV"],
)
def test_plot_attention_memory_sections_follow_the_variant(
    variant, key, labels, n_rows
):
    X, y = _data()
    clf = CooperativeClassifier(
        hidden_size=8, max_epochs=2, variant=variant, memory_rank=2, random_state=0
    ).fit(X, y)
    ax = plot_attention_memory(clf, key)
    image = np.asarray(ax.images[0].get_array())
    assert image.shape == (n_rows, 3)
    np.testing.assert_array_equal(image, clf.attention_memories_[key])
    assert [t.get_text() for t in ax.texts] == labels


def test_plot_attention_memory_variant_iv_names_its_keys():
    X, y = _data()
    clf = CooperativeClassifier(
        hidden_size=8, max_epochs=2, variant="IV", memory_rank=2, random_state=0
    ).fit(X, y)
    with pytest.raises(ValueError, match=r"'audio'.*'complementary', 'consistent'"):
        plot_attention_memory(clf, "audio")


def test_plot_attention_memory_without_a_memory_says_how_to_get_one():
    X, y = _data()
    clf = CooperativeClassifier(hidden_size=8, max_epochs=2, random_state=0).fit(X, y)
    assert clf.memory_rank == 0  # the default learns no memory
    assert not hasattr(clf, "attention_memories_")
    with pytest.raises(
        AttributeError, match=r"memory_rank=0 learns no.*memory_rank=None"
    ):
        plot_attention_memory(clf, "audio")
    # the fitted model decides, not a parameter set after fit
    clf.set_params(memory_rank=None)
    assert not hasattr(clf, "attention_memories_")
