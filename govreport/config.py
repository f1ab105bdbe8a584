"""The run configuration: everything one ``govreport run`` needs.

``run_time`` is passed in, never read from the clock inside a stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from govreport.analyses.simplify import DEFAULT_GRID
from govreport.network import OutputLink
from govreport.regions import DEFAULT_CHUNK_SIZE

__all__ = ["RunConfig"]


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
    test_data_path: Path | None = None
    features: tuple[str, ...] | None = None
    drop: tuple[str, ...] = ()
    min_samples: int = 30
    #: Regions/clusters with fewer samples never have statistics of their inputs (means, ranges,
    #: values) in any output: no raw data rows leave the run (see govreport.disclosure).
    disclosure_min_samples: int = 10
    top_regions: int = 20
    profile_features: int = 4
    profile_regions: int = 10
    chunk_size: int = DEFAULT_CHUNK_SIZE
    seed: int = 0
    #: Review metadata (report id, model id, review type, sign-off; govreport.inputs.review).
    review_path: Path | None = None
    #: Training rows (0-based) the user chose to show as worked switched-projection examples.
    explain_rows: tuple[int, ...] = ()
    #: Merging (simplification): "auto" picks "scalable" above
    #: govreport.analyses.merging.SCALABLE_REGION_THRESHOLD training regions.
    merge_mode: str = "auto"
    merge_clusters: tuple[int, ...] = DEFAULT_GRID
    merge_neighbors: int = 5
    merge_min_samples: int = 30
