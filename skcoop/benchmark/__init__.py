"""The NMCL paper's experimental protocol (section 5) as a function and a command.

``python -m skcoop benchmark suite|mfeat|aloi100|paper|FILE.npz`` runs, over
several seeds with stratified train/validation/test splits:

- **Table 2**: :class:`~skcoop.CooperativeClassifier` (NMCL) against
  :class:`~skcoop.EarlyFusion`, :class:`~skcoop.LateFusion`, Early+Att,
  Late+Att, :class:`~skcoop.TRUMANNLike`, logistic regression and
  histogram gradient boosting on the concatenated standardised features:
  Micro-F1, Macro-F1, macro-average one-vs-rest ROC AUC, and a paired
  t-test (:func:`scipy.stats.ttest_rel`, two-sided, over seeds) of NMCL's
  Micro-F1 against the best other method's.
- **Table 3**: NMCL on subsets of the modalities.
- **Table 4**: the Micro-/Macro-F1 of each modality's enhanced prediction
  (:meth:`~skcoop.CooperativeClassifier.predict_proba_per_modality`).
- **Table 5**: the paper's full model and its variants I-IV (section
  5.3.2); the row of NMCL's own variant (I, the default) is Table 2's fit.

Protocol. For every seed the samples are split into train/validation/test
(default 60/20/20, stratified; classes too rare to stratify are pooled for
the stratification only). A preprocessing pipeline (a
:class:`~skcoop.impute.LowRankImputer` when the data have missing values,
then a per-modality :class:`~sklearn.preprocessing.StandardScaler`) is
fitted on the training split only and applied to all three. Every method
is fitted on the training split once per point of its small grid (see
:data:`DEFAULT_GRIDS`); the point with the best validation Micro-F1 is
kept, and that fitted model is scored once on the test split. Tables 3 and
5 reuse NMCL's selected hyperparameters of the same seed. The test split
is never seen by the selection.
"""

from ._cli import add_arguments, run_from_args
from ._data import (
    PAPER_DATA,
    SUITE,
    load_aloi,
    load_benchmark_data,
    load_external_corpus,
    preprocess,
    split_indices,
)
from ._methods import DEFAULT_GRIDS, METHODS, select_hyperparameters
from ._protocol import BenchmarkResult, run_benchmark
from ._report import format_tables, merge_results, read_result, write_results

__all__ = [
    "DEFAULT_GRIDS",
    "METHODS",
    "PAPER_DATA",
    "SUITE",
    "BenchmarkResult",
    "add_arguments",
    "format_tables",
    "load_aloi",
    "load_benchmark_data",
    "load_external_corpus",
    "merge_results",
    "preprocess",
    "read_result",
    "run_benchmark",
    "run_from_args",
    "select_hyperparameters",
    "split_indices",
    "write_results",
]
