"""The pipeline: the only place where the stages meet.

load (policy, model, data) -> regions -> analyses -> policy evaluation ->
results document -> render (HTML, PDF) -> files. Every input is validated
before any computation; no output file is written until everything has been
computed and rendered, so bad input never leaves partial outputs behind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from govreport import __version__
from govreport.analyses import (
    clusters,
    coefficients,
    dataset_regions,
    importance,
    performance,
    profiles,
    region_plots,
    sign,
)
from govreport.analyses.clusters import MergedGrouping
from govreport.analyses.context import (
    AnalysisContext,
    AnalysisOptions,
    DatasetRegions,
    feature_scale,
)
from govreport.analyses.insens import stage as insens
from govreport.analyses.insens.stage import check_rows
from govreport.analyses.sign import plan_sign_checks
from govreport.analyses.simplify import stage as simplification
from govreport.analyses.simplify.stage import MergedClusters
from govreport.config import RunConfig
from govreport.inputs.data import (
    Dataset,
    Task,
    check_dataset_for_model,
    fingerprint_file,
    load_dataset,
    task_for_link,
)
from govreport.inputs.model import load_model, source_logits
from govreport.inputs.review import empty_review, load_review
from govreport.metrics import MetricKey
from govreport.network import FloatArray, PiecewiseLinearNetwork
from govreport.policy import PolicyEvaluation, evaluate_policy, load_policy
from govreport.provenance import dataset_document, inputs_document, model_document, run_info
from govreport.regions import RegionExtraction, extract_regions, match_patterns
from govreport.results import (
    SCHEMA_VERSION,
    Results,
    ResultsError,
    dump,
    results_from_jsonable,
)

if TYPE_CHECKING:
    from govreport.render.sections.appendix_repro import Rerendered


@dataclass(frozen=True, slots=True)
class RunResult:
    """The typed results document and the policy verdict."""

    results: Results
    evaluation: PolicyEvaluation


def _response(task: Task, y: FloatArray, n_outputs: int) -> FloatArray:
    """Response columns for region statistics: y itself, or one-hot classes (N, K)."""
    if task == "multiclass":
        return np.eye(n_outputs)[y.astype(np.int64)]
    return y[:, None]


def _output_names(task: Task, n_outputs: int) -> list[str]:
    if task == "multiclass":
        return [f"class {k}" for k in range(n_outputs)]
    return ["logit"] if task == "binary" else ["output"]


def _regions(
    config: RunConfig, network: PiecewiseLinearNetwork, task: Task, dataset: Dataset
) -> RegionExtraction:
    """Regions of ``dataset`` with its response statistics (y, or one-hot classes)."""
    response = _response(task, dataset.y, network.output_dim)
    return extract_regions(network, dataset.x, response, chunk_size=config.chunk_size)


def _merged_grouping(merged: MergedClusters | None) -> MergedGrouping | None:
    """The merged clusters of the simplification, as a coarser grouping for cluster FI.

    Cluster feature importance (Picchiotti & Gori) groups samples by identical activation
    pattern; when those clusters are too small to interpret it falls back on these.
    """
    if merged is None:
        return None
    n_models = int(merged.sample_labels.max()) + 1
    return MergedGrouping(
        labels=merged.sample_labels,
        source=f"Aletheia merging (section 6), {n_models} merged models",
        weights=merged.coefs[:, None, :],
        biases=merged.intercepts[:, None],
    )


def run_pipeline(config: RunConfig) -> RunResult:
    """Load, analyse, evaluate the policy and build the results document.

    Raises InputError subclasses (exit 2) for bad input, before any heavy computation.
    """
    policy = load_policy(config.policy_path)
    policy_fingerprint = fingerprint_file(config.policy_path)
    review = load_review(config.review_path) if config.review_path else empty_review()
    loaded = load_model(
        config.model_path, config.spec_path, allow_pickle=config.allow_pickle, link=config.link
    )
    network = loaded.network
    task = task_for_link(network.output_link, network.output_dim)

    def load_checked(
        path: Path,
        name: str,
        features: tuple[str, ...] | None,
        drop: tuple[str, ...],
        origin: str = "from --features",
    ) -> Dataset:
        dataset = load_dataset(
            path,
            name=name,
            target=config.target,
            features=features,
            drop=drop,
            features_origin=origin,
        )
        check_dataset_for_model(
            dataset,
            input_dim=network.input_dim,
            task=task,
            n_classes=network.output_dim,
            model_file=config.model_path.name,
        )
        return dataset

    train = load_checked(config.data_path, "train", config.features, config.drop)
    check_rows(config.explain_rows, train.n_rows, "--explain-rows")
    # The test file must carry the training features; its other columns are not used.
    test = None
    if config.test_data_path is not None:
        test = load_checked(
            config.test_data_path, "test", train.feature_names, (), "a feature of the training data"
        )
    # Sign checks name features: resolve them now, so a name the data lacks is bad input (exit 2).
    sign_plans = plan_sign_checks(
        policy, train.feature_names, _output_names(task, network.output_dim)
    )

    extractions = [_regions(config, network, task, train)]
    if test is not None:
        extractions.append(_regions(config, network, task, test))
    conversion_error = float(
        np.abs(source_logits(loaded, train.x, config.chunk_size) - extractions[0].logits).max()
    )

    output_names = _output_names(task, network.output_dim)
    matches = None if test is None else match_patterns(extractions[0].table, extractions[1].table)
    ctx = AnalysisContext(
        network=network,
        task=task,
        feature_names=train.feature_names,
        output_names=tuple(output_names),
        feature_scale=feature_scale(train.x),
        train=DatasetRegions(train, extractions[0]),
        test=None if test is None else DatasetRegions(test, extractions[1], matches),
        options=AnalysisOptions(
            min_samples=config.min_samples,
            disclosure_min_samples=config.disclosure_min_samples,
            top_regions=config.top_regions,
            profile_features=config.profile_features,
            profile_regions=config.profile_regions,
            chunk_size=config.chunk_size,
            seed=config.seed,
            explain_rows=config.explain_rows,
            merge_mode=config.merge_mode,
            merge_clusters=config.merge_clusters,
            merge_neighbors=config.merge_neighbors,
            merge_min_samples=config.merge_min_samples,
        ),
    )
    analyses = ctx.datasets

    observed: dict[MetricKey, float] = {("model.conversion_max_abs_error", ""): conversion_error}
    performances = [performance.run(ctx, data) for data in ctx.datasets]
    regions = {data.name: dataset_regions.run(ctx, data) for data in ctx.datasets}
    for data, perf in zip(ctx.datasets, performances, strict=True):
        observed |= performance.observed(perf)
        observed |= dataset_regions.observed(regions[data.name], data.name, perf)
    importances = importance.run(ctx)
    feature_profiles = profiles.run(ctx, importances)
    coefficient_distributions = coefficients.run(ctx)
    plots = region_plots.run(ctx, importances)
    insens_result = insens.run(ctx)
    observed.update(insens.observed(insens_result))
    simplified = simplification.run(ctx)
    observed.update(simplification.observed(simplified.result))
    clusters_result = clusters.run(ctx, merged=_merged_grouping(simplified.merged))
    observed.update(clusters.observed(clusters_result))
    sign_result = sign.run(ctx, sign_plans)
    observed.update(sign.observed(sign_result))
    evaluation = evaluate_policy(
        policy,
        observed,
        run_date=config.run_time.date(),
        policy_file=config.policy_path.name,
        policy_sha256=policy_fingerprint.sha256,
        check_values=sign.check_values(sign_result),
    )

    model_fingerprint = fingerprint_file(config.model_path)
    spec_fingerprint = fingerprint_file(config.spec_path) if config.spec_path else None
    fingerprints = [model_fingerprint, policy_fingerprint] + [
        a.dataset.fingerprint for a in analyses
    ]
    if spec_fingerprint is not None:
        fingerprints.append(spec_fingerprint)
    results: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "generator": {"name": "govreport", "version": __version__},
        "run": run_info(config, fingerprints),
        "inputs": inputs_document(
            model=model_fingerprint,
            model_format=loaded.source_format,
            spec=spec_fingerprint,
            policy=policy_fingerprint,
            policy_text=config.policy_path.read_bytes().decode("utf-8"),
            datasets=[a.dataset for a in analyses],
        ),
        "model": model_document(loaded, task, output_names, conversion_error),
        "features": list(train.feature_names),
        "datasets": [dataset_document(task, a.dataset) for a in analyses],
        "performance": performances,
        "regions": regions,
        "importance": importances,
        "profiles": feature_profiles,
        "coefficients": coefficient_distributions,
        "aletheia_plots": plots,
        "sign_constraints": sign_result,
        "clusters": clusters_result,
        "insens": insens_result,
        "simplification": simplified.result,
        "policy": evaluation.to_dict(),
        "review": review,
    }
    # Interim (issue 10): the analysis blocks are still dicts; validating the assembled
    # document builds the typed Results (a failure here is a bug, not bad input: exit 3).
    try:
        typed = results_from_jsonable(results, source="results of this run")
    except ResultsError as exc:
        raise RuntimeError(f"internal error: {exc}") from None
    return RunResult(results=typed, evaluation=evaluation)


def render_outputs(
    results: Results,
    policy_path: Path | None = None,
    *,
    pdf: bool = True,
    templates: Path | None = None,
    rerendered: Rerendered | None = None,
) -> dict[str, bytes]:
    """All output files, in memory: results.json, report.html, checks.xml, report.pdf (if ``pdf``).

    The report is rendered from the results as results.json stores them (the
    canonical JSON read back), so ``govreport render results.json`` rebuilds
    the same files (its report adds appendix B's re-rendered note). The policy
    is attached from the text results.json carries (``inputs.policy.text``),
    else from ``policy_path``. ``templates``: a directory of template files
    overriding the default set (``--templates``).
    ``rerendered``: the results file of ``govreport render`` (appendix B names it).
    """
    from govreport.render.html import render_html
    from govreport.render.junit import render_junit
    from govreport.render.pdf import render_pdf

    json_bytes = dump(results)
    document = json.loads(json_bytes)  # the render layer still reads the plain dict
    html = render_html(document, overrides=templates, rerendered=rerendered)
    attachments = {"results.json": json_bytes}
    policy_input = results.inputs.policy
    if policy_input.text is not None and policy_input.file:
        attachments[policy_input.file] = policy_input.text.encode("utf-8")
    elif policy_path is not None:
        attachments[policy_path.name] = policy_path.read_bytes()
    files = {"results.json": json_bytes, "report.html": html.encode("utf-8")}
    files["checks.xml"] = render_junit(document)  # JUnit, one test case per policy check
    if pdf:
        files["report.pdf"] = render_pdf(html, attachments=attachments)
    return files
