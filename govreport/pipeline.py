"""The pipeline: the only place where the stages meet.

load (policy, model, data) -> regions -> analyses -> policy evaluation ->
results document -> render (HTML, PDF) -> files. Every input is validated
before any computation; no output file is written until everything has been
computed and rendered, so bad input never leaves partial outputs behind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from govreport import __version__, progress
from govreport.analyses import (
    challengers,
    clusters,
    coefficients,
    data_quality,
    dataset_regions,
    distributions,
    fairness,
    importance,
    outcomes,
    performance,
    profiles,
    region_plots,
    sign,
    slope_profiles,
    stability,
    uncertainty,
)
from govreport.analyses.challengers import ChallengersResult
from govreport.analyses.clusters import ClusterAnalysis, MergedGrouping
from govreport.analyses.coefficients import CoefficientDistributions
from govreport.analyses.context import (
    AnalysisContext,
    AnalysisOptions,
    DatasetRegions,
    feature_scale,
)
from govreport.analyses.data_quality import DataQualityResult
from govreport.analyses.dataset_regions import DatasetRegionsResult
from govreport.analyses.distributions import DistributionsResult
from govreport.analyses.fairness import FairnessResult
from govreport.analyses.importance import ImportanceResult
from govreport.analyses.insens import stage as insens
from govreport.analyses.insens.stage import InsensResult, check_rows
from govreport.analyses.outcomes import OutcomesResult
from govreport.analyses.performance import PerformanceResult
from govreport.analyses.profiles import ProfilesResult
from govreport.analyses.region_plots import RegionPlots
from govreport.analyses.scale import ScaleResult, scale_result
from govreport.analyses.sign import SignCheckPlan, SignConstraintsResult, plan_sign_checks
from govreport.analyses.simplify import stage as simplification
from govreport.analyses.simplify.stage import MergedClusters, SimplificationResult
from govreport.analyses.slope_profiles import SlopeProfilesResult
from govreport.analyses.stability import StabilityResult
from govreport.analyses.uncertainty import UncertaintyResult
from govreport.classes import shown_outputs
from govreport.compare.models import headline as agreement_headline
from govreport.compare.models import model_agreement
from govreport.compare.review import compare_results, previous_metrics
from govreport.config import RunConfig
from govreport.engines.census import CensusSummary, training_census
from govreport.errors import InputError, ModelError
from govreport.inputs.checks import TargetRule, check_dataset_for_model, task_for_link
from govreport.inputs.data import Dataset, Task, load_dataset
from govreport.inputs.dictionary import DataDictionary, load_dictionary
from govreport.inputs.files import FileFingerprint, fingerprint_file
from govreport.inputs.model import LoadedModel, check_on_rows, load_model, source_logits
from govreport.inputs.review import ReviewRecord, empty_review, load_review
from govreport.inputs.task import binary_from_two_class_softmax, check_task, task_output_names
from govreport.memory import release_free_memory
from govreport.metrics import MetricKey
from govreport.network import FloatArray, Network
from govreport.policy import Policy, PolicyEvaluation, evaluate_policy, load_policy
from govreport.policy.conclusion import build_conclusion, check_review_findings
from govreport.provenance import dataset_document, inputs_document, model_document, run_info
from govreport.regions import RegionExtraction, extract_regions, match_patterns
from govreport.results import (
    SCHEMA_VERSION,
    Results,
    ResultsError,
    dump,
    load_results,
    results_from_json,
)
from govreport.results.provenance_types import Generator

if TYPE_CHECKING:
    from govreport.render.sections.appendix_repro import Rerendered

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RunResult:
    """The typed results document and the policy verdict."""

    results: Results
    evaluation: PolicyEvaluation


@dataclass(frozen=True, slots=True)
class LoadedInputs:
    """Everything read from the input files, validated, before any heavy computation."""

    policy: Policy
    policy_fingerprint: FileFingerprint
    review: ReviewRecord
    model: LoadedModel
    task: Task
    train: Dataset
    test: Dataset | None
    sign_plans: tuple[SignCheckPlan, ...]
    oot: Dataset | None = None
    dictionary: DataDictionary | None = None
    #: The previous review's results (``--previous``), loaded and migrated.
    previous: Results | None = None
    #: The previous review's model (``--previous-model``), its hash checked against them.
    previous_model: LoadedModel | None = None
    #: The region census of all training rows when ``train`` is a sample, if the engine
    #: counted it while reading (Dask); else :func:`extract` streams it.
    train_census: CensusSummary | None = None


@dataclass(frozen=True, slots=True)
class AnalysisBlocks:
    """The analyses' results: the blocks of results.json that the analyses make."""

    performance: tuple[PerformanceResult, ...]
    regions: dict[str, DatasetRegionsResult]
    importance: ImportanceResult
    profiles: ProfilesResult
    coefficients: CoefficientDistributions
    region_plots: RegionPlots
    slope_profiles: SlopeProfilesResult
    insens: InsensResult
    simplification: SimplificationResult
    clusters: ClusterAnalysis
    sign: SignConstraintsResult
    data_quality: DataQualityResult
    stability: StabilityResult | None
    fairness: FairnessResult | None
    outcomes: OutcomesResult
    uncertainty: UncertaintyResult
    challengers: ChallengersResult
    distributions: DistributionsResult | None = None
    scale: ScaleResult | None = None


def _response(task: Task, y: FloatArray, n_outputs: int) -> FloatArray:
    """Response columns for region statistics: y itself, or one-hot classes (N, K)."""
    if task == "multiclass":
        return np.eye(n_outputs)[y.astype(np.int64)]
    return y[:, None]


def _regions(config: RunConfig, network: Network, task: Task, dataset: Dataset) -> RegionExtraction:
    """Regions of ``dataset`` with its response statistics (y, or one-hot classes)."""
    response = _response(task, dataset.y, network.output_dim)
    with progress.stage(f"activation regions of the {dataset.name} data", dataset.n_rows):
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
        weights=merged.output_weights,
        biases=merged.output_biases,
    )


def load_inputs(config: RunConfig) -> LoadedInputs:
    """Read and validate policy, review, model and data (InputError, exit 2, on bad input)."""
    policy = load_policy(config.policy_path)
    review = load_review(config.review_path) if config.review_path else empty_review()
    check_review_findings(review, policy)
    loaded = load_model(
        config.model_path, config.spec_path, allow_pickle=config.allow_pickle, link=config.link
    )
    loaded = binary_from_two_class_softmax(loaded)  # softmax over 2 logits: sigmoid(z1 - z0)
    network = loaded.network
    task = task_for_link(network.output_link, network.output_dim)

    def load_checked(
        path: Path,
        name: str,
        features: tuple[str, ...] | None,
        drop: tuple[str, ...],
        origin: str,
        classes: tuple[str, ...] | None,
    ) -> Dataset:
        dataset = load_dataset(
            path,
            name=name,
            target=config.target,
            features=features,
            drop=drop,
            features_origin=origin,
            classes=classes,
            max_rows=config.analysis_rows,
            seed=config.seed,
            target_rule=TargetRule(task, network.output_dim, config.model_path.name),
        )
        return checked(dataset)

    def checked(dataset: Dataset) -> Dataset:
        check_task(task, dataset, network.output_dim, link_given=config.link is not None)
        check_dataset_for_model(
            dataset,
            input_dim=network.input_dim,
            task=task,
            n_classes=network.output_dim,
            model_file=config.model_path.name,
        )
        return dataset

    train_census = None
    if config.data_url is not None and config.engine != "dask":
        raise InputError(
            f"--data {config.data_url}: a URL is read by --engine dask only; run with "
            "--engine dask, or copy the files to a local directory"
        )
    if config.engine == "dask":
        from govreport.engines.dask_run import load_train

        with progress.stage("training data on the Dask cluster"):
            loaded_train = load_train(config, network, task)
        train, train_census = checked(loaded_train.dataset), loaded_train.census
    else:
        train = load_checked(
            config.data_path,
            "train",
            config.features,
            config.drop,
            "from --features",
            config.classes,
        )
    loaded = check_on_rows(loaded, train.x)  # e.g. onnxruntime runs an ONNX file on the rows
    shown_outputs(  # a class name the model lacks is exit 2, before any analysis
        task_output_names(task, network.output_dim, train.class_labels),
        config.classes_shown,
        multiclass=task == "multiclass",
    )
    if config.explain_rows and train.sample is not None:  # rows of the file, not of the sample
        raise InputError(
            f"--explain-rows names rows of the training data, but its {train.rows_in_data:,} "
            f"rows are more than --analysis-rows {config.analysis_rows:,} and the analyses use "
            "a sample; raise --analysis-rows to the number of rows to explain them"
        )
    check_rows(config.explain_rows, train.n_rows, "--explain-rows")
    # The test file must carry the training features; its other columns are not used.
    test = None
    if config.test_data_path is not None:
        test = load_checked(
            config.test_data_path,
            "test",
            train.feature_names,
            (),
            "a feature of the training data",
            train.class_labels or config.classes,
        )
    oot = None
    if config.oot_data_path is not None:
        origin = "a feature of the training data"
        classes = train.class_labels or config.classes
        oot = load_checked(config.oot_data_path, "oot", train.feature_names, (), origin, classes)
    dictionary = None
    if config.data_dictionary_path is not None:
        dictionary = load_dictionary(config.data_dictionary_path)
        dictionary.check_features(train.feature_names)
    previous = previous_model = None
    if config.previous_path is not None:
        previous = load_previous(config.previous_path, policy.id)
        if config.previous_model_path is not None:
            previous_model = load_previous_model(config, previous, network, task)
    elif config.previous_model_path is not None:
        raise InputError(
            "--previous-model needs --previous: the previous review's results.json, whose "
            "recorded model hash the file must match"
        )
    return LoadedInputs(
        policy=policy,
        policy_fingerprint=fingerprint_file(config.policy_path),
        review=review,
        model=loaded,
        task=task,
        train=train,
        test=test,
        # Sign checks name features: resolve them now, so a name the data lacks is exit 2.
        sign_plans=plan_sign_checks(
            policy,
            train.feature_names,
            task_output_names(task, network.output_dim, train.class_labels),
            dictionary,  # types and codes of features a sign check's `coded` does not name
        ),
        oot=oot,
        dictionary=dictionary,
        previous=previous,
        previous_model=previous_model,
        train_census=train_census,
    )


def load_previous_model(
    config: RunConfig, previous: Results, network: Network, task: Task
) -> LoadedModel:
    """The previous review's model: the file that review validated (same SHA-256), exit 2 if not."""
    path = config.previous_model_path
    assert path is not None and config.previous_path is not None
    actual = fingerprint_file(path).sha256
    expected = previous.inputs.model.sha256
    if actual != expected:
        raise ModelError(
            f"{path}: SHA-256 {actual} is not the model the previous review validated "
            f"({expected}, recorded in {config.previous_path.name}); give that review's model file"
        )
    loaded = load_model(
        path, config.previous_spec_path, allow_pickle=config.allow_pickle, link=config.link
    )
    loaded = binary_from_two_class_softmax(loaded)
    old = loaded.network
    same_task = task_for_link(old.output_link, old.output_dim) == task
    if old.input_dim != network.input_dim or old.output_dim != network.output_dim or not same_task:
        raise ModelError(
            f"{path}: the previous model has {old.input_dim} inputs and {old.output_dim} "
            f"{old.output_link} output(s), the new one {network.input_dim} and "
            f"{network.output_dim} {network.output_link}; their decisions cannot be compared"
        )
    return loaded


def load_previous(path: Path, policy_id: str) -> Results:
    """The previous review's results (any schema version); exit 2 if under another policy."""
    from govreport.compare.review import ComparisonError

    previous = load_results(path)
    if previous.policy.id != policy_id:
        raise ComparisonError(
            f"{path}: the previous review was judged against policy {previous.policy.id!r}, "
            f"this run uses {policy_id!r}; only reviews under the same policy can be compared"
        )
    return previous


def census_of_all_rows(config: RunConfig, inputs: LoadedInputs) -> CensusSummary | None:
    """The region census of every training row when the analyses use a sample (else None):
    the engine's (Dask), or streamed from the files here."""
    train = inputs.train
    if train.sample is None or inputs.train_census is not None:
        return inputs.train_census
    label = f"region census of all {train.rows_in_data:,} training rows"
    with progress.stage(label, train.rows_in_data):
        census = training_census(inputs.model.network, train, chunk_size=config.chunk_size)
    release_free_memory()  # the pass's freed chunk buffers
    return census


def extract(config: RunConfig, inputs: LoadedInputs) -> tuple[AnalysisContext, float]:
    """Regions of every data set, the analysis context, and the conversion error on train."""
    network, task, train, test = inputs.model.network, inputs.task, inputs.train, inputs.test
    train_regions = _regions(config, network, task, train)
    test_regions = None if test is None else _regions(config, network, task, test)
    oot = inputs.oot
    oot_regions = None if oot is None else _regions(config, network, task, oot)
    with progress.stage("checking the converted network against the model file"):
        differences = []  # per chunk: no second (N, K) array of logits
        for start in range(0, train.n_rows, config.chunk_size):
            rows = slice(start, start + config.chunk_size)
            logits = source_logits(inputs.model, train.x[rows], config.chunk_size)
            differences.append(np.abs(logits - train_regions.logits[rows]).max())
    conversion_error = float(np.max(differences))  # NaN if any difference is NaN
    release_free_memory()  # extraction's freed chunk buffers
    output_names = tuple(task_output_names(task, network.output_dim, train.class_labels))
    ctx = AnalysisContext(
        network=network,
        task=task,
        feature_names=train.feature_names,
        output_names=output_names,
        feature_scale=feature_scale(train.x),
        train=DatasetRegions(train, train_regions),
        test=None
        if test is None or test_regions is None
        else DatasetRegions(
            test, test_regions, match_patterns(train_regions.table, test_regions.table)
        ),
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
            regime_min_coverage=config.regime_min_coverage,
        ),
        oot=None
        if oot is None or oot_regions is None
        else DatasetRegions(
            oot, oot_regions, match_patterns(train_regions.table, oot_regions.table)
        ),
        outputs_shown=shown_outputs(
            output_names, config.classes_shown, multiclass=task == "multiclass"
        ),
    )
    return ctx, conversion_error


def _step(label: str, run: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``run(*args, **kwargs)`` as one stage of the progress report (:mod:`govreport.progress`)."""
    with progress.stage(label):
        result = run(*args, **kwargs)
    release_free_memory()  # the stage's freed temporaries, so they do not sit under the next
    return result


def analyse(
    ctx: AnalysisContext,
    sign_plans: tuple[SignCheckPlan, ...],
    dictionary: DataDictionary | None = None,
    previous: Results | None = None,
    scale: ScaleResult | None = None,
) -> tuple[AnalysisBlocks, dict[MetricKey, float]]:
    """Every analysis on the context, in order, and the policy metrics they observe.

    ``scale``: where a sample stands in for the data (:mod:`govreport.analyses.scale`).
    """
    with progress.stage("performance and region statistics"):
        performances = tuple(performance.run(ctx, data) for data in ctx.datasets)
        regions = {data.name: dataset_regions.run(ctx, data) for data in ctx.datasets}
    observed: dict[MetricKey, float] = {}
    for data, perf in zip(ctx.datasets, performances, strict=True):
        observed |= performance.observed(perf)
        observed |= dataset_regions.observed(regions[data.name], data.name, perf)
    importances = _step("feature importance", importance.run, ctx)
    feature_profiles = _step("local linear profiles", profiles.run, ctx, importances)
    coefficient_distributions = _step("coefficient distributions", coefficients.run, ctx)
    plots = _step("region plots", region_plots.run, ctx, importances)
    all_client_views = _step("views of all clients", slope_profiles.run, ctx, importances)
    insens_result = _step("inactive-state sensitivity (Insens)", insens.run, ctx)
    observed |= insens.observed(insens_result)
    simplified = _step("simplification by merging regions", simplification.run, ctx, sign_plans)
    observed |= simplification.observed(simplified.result)
    merged = _merged_grouping(simplified.merged)
    clusters_result = _step("cluster feature importance", clusters.run, ctx, merged=merged)
    observed |= clusters.observed(clusters_result)
    sign_result = _step("sign constraints", sign.run, ctx, sign_plans)
    observed |= sign.observed(sign_result)
    quality = _step("data quality", data_quality.run, ctx, dictionary)
    observed |= data_quality.observed(quality)
    stability_result = _step("stability", stability.run, ctx)
    observed |= stability.observed(stability_result)
    fairness_result = _step("fairness", fairness.run, ctx, dictionary, importances)
    observed |= fairness.observed(fairness_result)
    outcomes_result = _step("outcomes", outcomes.run, ctx)
    observed |= outcomes.observed(outcomes_result)
    uncertainty_result = _step("uncertainty intervals", uncertainty.run, ctx)
    observed |= uncertainty.observed(uncertainty_result)
    challengers_result = _step("challenger models", challengers.run, ctx)
    observed |= challengers.observed(challengers_result)
    reference = None if previous is None else previous.distributions  # reuse its bins
    distributions_result = _step("binned distributions", distributions.run, ctx, reference)
    blocks = AnalysisBlocks(
        performance=performances,
        regions=regions,
        importance=importances,
        profiles=feature_profiles,
        coefficients=coefficient_distributions,
        region_plots=plots,
        slope_profiles=all_client_views,
        insens=insens_result,
        simplification=simplified.result,
        clusters=clusters_result,
        sign=sign_result,
        data_quality=quality,
        stability=stability_result,
        fairness=fairness_result,
        outcomes=outcomes_result,
        uncertainty=uncertainty_result,
        challengers=challengers_result,
        distributions=distributions_result,
        scale=scale,
    )
    return blocks, observed


def evaluate(
    config: RunConfig,
    inputs: LoadedInputs,
    blocks: AnalysisBlocks,
    observed: dict[MetricKey, float],
) -> PolicyEvaluation:
    """The policy's verdict on the observed metrics (and the sign checks' values)."""
    return evaluate_policy(
        inputs.policy,
        observed,
        run_date=config.run_time.date(),
        policy_file=config.policy_path.name,
        policy_sha256=inputs.policy_fingerprint.sha256,
        check_values=sign.check_values(blocks.sign),
        intervals=uncertainty.intervals(blocks.uncertainty)
        | challengers.intervals(blocks.challengers),
        previous=None if inputs.previous is None else previous_metrics(inputs.previous),
    )


def assemble_results(
    config: RunConfig,
    inputs: LoadedInputs,
    ctx: AnalysisContext,
    blocks: AnalysisBlocks,
    evaluation: PolicyEvaluation,
    conversion_error: float,
) -> Results:
    """The results document: provenance, the analyses' blocks, the policy record, the review."""
    datasets = [data.dataset for data in ctx.datasets]
    model_fingerprint = fingerprint_file(config.model_path)
    spec_fingerprint = fingerprint_file(config.spec_path) if config.spec_path else None
    fingerprints = [model_fingerprint, inputs.policy_fingerprint]
    fingerprints += [dataset.fingerprint for dataset in datasets]
    if spec_fingerprint is not None:
        fingerprints.append(spec_fingerprint)
    if config.data_dictionary_path is not None:
        fingerprints.append(fingerprint_file(config.data_dictionary_path))
    return Results(
        schema_version=SCHEMA_VERSION,
        generator=Generator(name="govreport", version=__version__),
        run=run_info(config, fingerprints),
        inputs=inputs_document(
            model=model_fingerprint,
            model_format=inputs.model.source_format,
            spec=spec_fingerprint,
            policy=inputs.policy_fingerprint,
            policy_text=config.policy_path.read_bytes().decode("utf-8"),
            datasets=datasets,
        ),
        model=model_document(
            inputs.model,
            ctx.task,
            list(ctx.output_names),
            conversion_error,
            inputs.train.class_labels,
        ),
        features=ctx.feature_names,
        datasets=tuple(dataset_document(ctx.task, dataset) for dataset in datasets),
        performance=blocks.performance,
        regions=blocks.regions,
        importance=blocks.importance,
        profiles=blocks.profiles,
        policy=evaluation.record(),
        review=inputs.review,
        conclusion=build_conclusion(inputs.policy, evaluation.record(), inputs.review),
        aletheia_plots=blocks.region_plots,
        slope_profiles=blocks.slope_profiles,
        coefficients=blocks.coefficients,
        sign_constraints=blocks.sign,
        clusters=blocks.clusters,
        insens=blocks.insens,
        simplification=blocks.simplification,
        data_quality=blocks.data_quality,
        stability=blocks.stability,
        fairness=blocks.fairness,
        outcomes=blocks.outcomes,
        uncertainty=blocks.uncertainty,
        challengers=blocks.challengers,
        distributions=blocks.distributions,
        scale=blocks.scale,
    )


def run_pipeline(config: RunConfig) -> RunResult:
    """Load, analyse, evaluate the policy and build the results document.

    Raises InputError subclasses (exit 2) for bad input, before any heavy computation.
    """
    with progress.stage("reading the policy, model and data"):
        inputs = load_inputs(config)
    ctx, conversion_error = extract(config, inputs)
    census = census_of_all_rows(config, inputs)
    scale = scale_result(
        config.analysis_rows,
        [data.dataset for data in ctx.datasets],
        None if census is None else census.census(min_samples=config.min_samples),
        None if census is None else census.neurons(),
    )
    blocks, observed = analyse(ctx, inputs.sign_plans, inputs.dictionary, inputs.previous, scale)
    observed = {("model.conversion_max_abs_error", ""): conversion_error} | observed
    with progress.stage("evaluating the policy"):
        evaluation = evaluate(config, inputs, blocks, observed)
    results = assemble_results(config, inputs, ctx, blocks, evaluation, conversion_error)
    if inputs.previous is not None and config.previous_path is not None:
        with progress.stage("comparing with the previous review"):
            comparison = compare_results(
                inputs.previous, results, previous_file=config.previous_path.name
            )
        if inputs.previous_model is not None and config.previous_model_path is not None:
            with progress.stage("the new network against the previous one"):
                agreement = model_agreement(
                    inputs.previous_model.network,
                    ctx.task,
                    ctx.datasets,
                    previous_model_file=config.previous_model_path.name,
                    previous_model_sha256=inputs.previous.inputs.model.sha256,
                    chunk_size=config.chunk_size,
                )
            line = agreement_headline(agreement)
            headlines = comparison.headlines if line is None else (*comparison.headlines, line)
            comparison = replace(comparison, model_agreement=agreement, headlines=headlines)
        results = replace(results, comparison=comparison)
    timings = progress.verbose_timings()
    if timings is not None:  # -v: the stage times go into the provenance too
        results = replace(results, run=replace(results.run, stage_seconds=timings))
    return RunResult(results=results, evaluation=evaluation)


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
    # Render what results.json holds (NaN as None, ...), so a re-render sees the same values.
    try:
        stored = results_from_json(json_bytes, "results to render")
    except ResultsError as exc:  # the results were made by this code: a bug, not bad input
        raise RuntimeError(f"internal error: {exc}") from None
    with progress.stage("rendering the HTML report"):
        html = render_html(stored, overrides=templates, rerendered=rerendered)
    attachments = {"results.json": json_bytes}
    policy_input = results.inputs.policy
    if policy_input.text is not None and policy_input.file:
        attachments[policy_input.file] = policy_input.text.encode("utf-8")
    elif policy_path is not None:
        attachments[policy_path.name] = policy_path.read_bytes()
    files = {"results.json": json_bytes, "report.html": html.encode("utf-8")}
    files["checks.xml"] = render_junit(
        stored.policy, stored.conclusion
    )  # JUnit, one test case per policy check
    if pdf:
        with progress.stage("rendering the PDF report"):
            files["report.pdf"] = render_pdf(html, attachments=attachments)
    return files
