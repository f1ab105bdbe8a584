"""The run configuration and the ONE table of option defaults.

:data:`DEFAULTS` is read by :class:`RunConfig`'s field defaults, by every
``govreport run`` option (default and help text), by the Python API
(:func:`govreport.run`) and by the tests, so a default is changed in one place.
This module imports nothing heavy: ``import govreport`` stays light.

``run_time`` is passed in, never read from the clock inside a stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from govreport.network import OutputLink

__all__ = ["DEFAULTS", "ENGINES", "MERGE_MODES", "MINIMUMS", "Defaults", "RunConfig"]


@dataclass(frozen=True, slots=True)
class Defaults:
    """Defaults of the tunable options of a run (the CLI's ``--min-samples`` is ``min_samples``)."""

    #: Samples a region needs to count as large.
    min_samples: int = 30
    #: Samples a region or cluster needs before any statistic of its inputs is shown.
    disclosure_min_samples: int = 10
    #: Regions shown in the LLM summary table.
    top_regions: int = 20
    #: Features with a local linear profile plot.
    profile_features: int = 4
    #: Regions drawn in each profile plot.
    profile_regions: int = 10
    #: Rows per block where the network is evaluated on the data: activation patterns and
    #: logits in region extraction, and the source module's logits in the conversion check
    #: (the Insens projections use blocks of at most 2,048 rows). Results agree across chunk
    #: sizes up to rounding in the last digits (region statistics are summed block by block),
    #: so the CLI's historical 65,536 is the one default: the examples' outputs stay identical.
    chunk_size: int = 65_536
    #: Seed of the run's random choices (passed to the stages; no global RNG).
    seed: int = 0
    #: Rows a data set may have before the analyses use a seeded sample of this many rows
    #: (govreport.inputs.sample); every row is still read and checked, and the training
    #: data's region census covers all its rows (govreport.engines.census).
    analysis_rows: int = 1_000_000
    #: Region merging: "auto" picks "scalable" above
    #: govreport.analyses.merging.SCALABLE_REGION_THRESHOLD training regions.
    merge_mode: str = "auto"
    #: Numbers of merged clusters K to choose from on held-out data.
    merge_clusters: tuple[int, ...] = (2, 4, 6, 8, 10, 15, 20)
    #: Neighbours of each region centre in the merging connectivity graph.
    merge_neighbors: int = 5
    #: Merged clusters with at most this many samples are absorbed by the nearest larger one.
    merge_min_samples: int = 30
    #: Regime threshold: when the ``top_regions`` largest regions hold less than this share
    #: of the training samples (about one region per client), the report moves its
    #: region-level tables and plots to an appendix and leads with all-client views.
    regime_min_coverage: float = 0.10


#: The one table of defaults (CLI, API, RunConfig and tests read it).
DEFAULTS = Defaults()

#: The smallest value each integer option takes (CLI and API check the same bounds).
MINIMUMS: dict[str, int] = {
    "min_samples": 1,
    "disclosure_min_samples": 1,
    "top_regions": 1,
    "profile_features": 1,
    "profile_regions": 1,
    "chunk_size": 1,
    "seed": 0,
    "analysis_rows": 1,
    "merge_neighbors": 1,
    "merge_min_samples": 0,
}

#: The values of ``merge_mode``.
MERGE_MODES = ("auto", "aletheia", "scalable")

#: The values of ``engine``: one process, or a Dask cluster (the ``dask`` extra).
ENGINES = ("local", "dask")


@dataclass(frozen=True, slots=True)
class RunConfig:
    """Everything one ``govreport run`` needs; ``run_time`` is passed in, never read here."""

    model_path: Path
    data_path: Path
    target: str
    policy_path: Path
    run_time: datetime
    command: str
    spec_path: Path | None = None
    allow_pickle: bool = False
    link: OutputLink | None = None
    #: Text class labels of the target in class-index order (``--classes``); None: sorted.
    classes: tuple[str, ...] | None = None
    #: Classes of a multiclass model the report draws (``--classes-shown``); None: every class.
    classes_shown: tuple[str, ...] | None = None
    test_data_path: Path | None = None
    features: tuple[str, ...] | None = None
    drop: tuple[str, ...] = ()
    min_samples: int = DEFAULTS.min_samples
    #: Regions/clusters with fewer samples never have statistics of their inputs (means, ranges,
    #: values) in any output: no raw data rows leave the run (see govreport.disclosure).
    disclosure_min_samples: int = DEFAULTS.disclosure_min_samples
    top_regions: int = DEFAULTS.top_regions
    profile_features: int = DEFAULTS.profile_features
    profile_regions: int = DEFAULTS.profile_regions
    chunk_size: int = DEFAULTS.chunk_size
    seed: int = DEFAULTS.seed
    analysis_rows: int = DEFAULTS.analysis_rows
    #: Where the training data is read and its regions counted (see :data:`ENGINES`); with
    #: "dask", ``scheduler`` is the address of a running scheduler (None: a LocalCluster).
    engine: str = "local"
    scheduler: str | None = None
    #: ``--data`` as an fsspec URL (``s3://bucket/train/``), read by the Dask engine only;
    #: ``data_path`` then holds the URL's path part, for names in messages.
    data_url: str | None = None
    #: Review metadata (report id, model id, review type, sign-off; govreport.inputs.review).
    review_path: Path | None = None
    #: Training rows (0-based) the user chose to show as worked switched-projection examples.
    explain_rows: tuple[int, ...] = ()
    #: Merging (simplification): see :class:`Defaults`.
    merge_mode: str = DEFAULTS.merge_mode
    merge_clusters: tuple[int, ...] = DEFAULTS.merge_clusters
    merge_neighbors: int = DEFAULTS.merge_neighbors
    merge_min_samples: int = DEFAULTS.merge_min_samples
    #: Regime threshold of the report's layout (see :class:`Defaults`).
    regime_min_coverage: float = DEFAULTS.regime_min_coverage
    #: Data dictionary (govreport.inputs.dictionary): feature types, codes, protected features.
    data_dictionary_path: Path | None = None
    #: Out-of-time data set: a third data set next to the test set.
    oot_data_path: Path | None = None
    #: The previous review's results.json (issue 14: "Changes since the last review").
    previous_path: Path | None = None
    #: The previous review's model file (``--previous-model``, with its ``--previous-spec``):
    #: the new network's agreement with it on this review's data.
    previous_model_path: Path | None = None
    previous_spec_path: Path | None = None
