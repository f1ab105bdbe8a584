"""The typed results document: dump, load (= validation), migration, JSON Schema.

Round trips ``dump(load(dump(r))) == dump(r)`` on the golden run and on the
hand-written version-1 fixture; one test per kind of error (each a one-line
``file: key.path: problem`` and exit code 2); the committed JSON Schema is the
one the types generate.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from test_golden import GOLDEN_JSON, small_run_results

from govreport.errors import EXIT_BAD_INPUT
from govreport.results import (
    OMIT_IF_NONE,
    SCHEMA_VERSION,
    Results,
    ResultsError,
    dump,
    load_results,
    results_from_json,
    results_from_jsonable,
    to_jsonable,
)
from govreport.results.jsonschema import SCHEMA_PATH, results_json_schema_text
from govreport.results.migrate import migrate

FIXTURE = Path(__file__).parent / "fixtures" / "results_small.json"


@pytest.fixture(scope="module")
def golden_run(tmp_path_factory: pytest.TempPathFactory) -> Results:
    return small_run_results(tmp_path_factory.mktemp("golden"))


@pytest.fixture(scope="module")
def v1() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return document


def canonical(document: Any) -> bytes:
    return (
        json.dumps(document, sort_keys=True, indent=2, allow_nan=False, ensure_ascii=False) + "\n"
    ).encode("utf-8")


def error_of(document: Any) -> str:
    with pytest.raises(ResultsError) as info:
        results_from_jsonable(document, source="r.json")
    message = str(info.value)
    assert "\n" not in message
    assert info.value.exit_code == EXIT_BAD_INPUT
    return message


# --------------------------------------------------------------------------- round trips


def test_golden_run_round_trips_and_dumps_the_golden_bytes(golden_run: Results) -> None:
    assert golden_run.schema_version == SCHEMA_VERSION == 3
    data = dump(golden_run)
    assert data == GOLDEN_JSON.read_bytes()
    assert dump(results_from_json(data, "golden")) == data


def test_loaded_results_are_typed(golden_run: Results) -> None:
    loaded = results_from_json(dump(golden_run))
    # The run holds NaN where a statistic is undefined; results.json and the loaded
    # results hold None (null) there: same bytes, and loading is a fixed point.
    assert dump(loaded) == dump(golden_run)
    assert loaded == results_from_json(dump(loaded))
    row = loaded.regions["train"].summary_table.rows[1]
    assert row.local_metric is None
    assert loaded.regions["train"].census.samples == 240
    assert "test" not in loaded.regions
    assert loaded.policy.checks[0].id == "exactness"
    assert loaded.review is not None and loaded.review.report_id == "MV-GOLDEN-1"


def test_a_run_with_test_data_round_trips_and_loads_every_block() -> None:
    """The titanic example (train and test data, every analysis): the typed results of the
    run dump to bytes that load back to the same bytes; the optional blocks are present."""
    import govreport

    titanic = Path(__file__).parents[1] / "examples" / "titanic"
    outcome = govreport.run(
        model=titanic / "model.pt",
        data=titanic / "train.csv",
        test_data=titanic / "test.csv",
        target="survived",
    )
    data = dump(outcome.results)
    loaded = results_from_json(data, "titanic")
    assert dump(loaded) == data
    assert set(loaded.regions) == {"train", "test"}
    test = loaded.regions["test"]
    assert test.exposure_table is not None and test.unseen_share is not None
    for block in (
        loaded.aletheia_plots,
        loaded.coefficients,
        loaded.sign_constraints,
        loaded.clusters,
        loaded.insens,
        loaded.simplification,
    ):
        assert block is not None


def test_load_results_reads_a_file(golden_run: Results, tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_bytes(dump(golden_run))
    assert load_results(path) == results_from_json(dump(golden_run))


def test_version_1_fixture_migrates_then_round_trips(v1: dict[str, Any], tmp_path: Path) -> None:
    assert v1["schema_version"] == 1 and "pending" in v1
    results = load_results(FIXTURE)
    data = dump(results)
    expected = {k: v for k, v in v1.items() if k != "pending"} | {"schema_version": 3}
    assert data == canonical(expected)  # nothing but the version and `pending` changed
    assert dump(results_from_json(data)) == data
    assert results.review is None and results.clusters is None  # absent keys stay absent


def test_int_and_float_round_trip_exactly(v1: dict[str, Any]) -> None:
    document = json.loads(json.dumps(v1))
    stats = document["datasets"][0]["feature_stats"][0]
    stats["mean"], stats["std"] = 1.0, 2  # a float that looks whole, an integer in a float field
    document["regions"]["train"]["census"]["regions_per_sample"] = 0.5
    results = results_from_jsonable(document)
    loaded = results.datasets[0].feature_stats[0]
    assert type(loaded.mean) is float and type(loaded.std) is int
    text = dump(results).decode()
    assert '"mean": 1.0,' in text and '"std": 2\n' in text
    assert dump(results_from_json(dump(results))) == dump(results)


def test_nan_in_a_result_is_dumped_as_null(golden_run: Results) -> None:
    model = dataclasses.replace(golden_run.model, conversion_max_abs_error=float("nan"))
    results = dataclasses.replace(golden_run, model=model)
    loaded = results_from_json(dump(results))
    assert loaded.model.conversion_max_abs_error is None


def test_omit_if_none_leaves_the_key_out() -> None:
    @dataclasses.dataclass(frozen=True)
    class Block:
        kept: int | None
        omitted: int | None = dataclasses.field(default=None, metadata=OMIT_IF_NONE)

    assert to_jsonable(Block(kept=None)) == {"kept": None}
    assert to_jsonable(Block(kept=1, omitted=2)) == {"kept": 1, "omitted": 2}


def test_govreport_render_reads_a_version_1_file(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from govreport.cli import cli

    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["render", str(FIXTURE), "--out", str(out), "--no-pdf"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    written = (out / "results.json").read_bytes()
    assert written == dump(load_results(FIXTURE))  # migrated: schema 2, no pending
    assert (out / "report.html").exists()


def test_govreport_render_of_a_nan_literal_exits_2_with_one_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from govreport.cli import cli

    path = tmp_path / "results.json"
    path.write_text(FIXTURE.read_text(encoding="utf-8").replace('"seed": 0', '"seed": NaN'))
    result = CliRunner().invoke(cli, ["render", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert f"{path}: invalid JSON: NaN is not a JSON number" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- migration


def test_migration_v1_to_v3_drops_pending_and_sets_the_version(v1: dict[str, Any]) -> None:
    migrated = migrate(v1)
    assert migrated["schema_version"] == 3 and "pending" not in migrated
    assert v1["schema_version"] == 1 and "pending" in v1  # the input is left alone
    assert {k: v for k, v in migrated.items() if k != "schema_version"} == {
        k: v for k, v in v1.items() if k not in {"pending", "schema_version"}
    }


def test_version_2_is_left_as_it_is(golden_run: Results) -> None:
    document = json.loads(dump(golden_run))
    assert migrate(document) == document


# --------------------------------------------------------------------------- errors


def test_bad_json_names_line_and_column() -> None:
    with pytest.raises(ResultsError, match=r"^r\.json:2:1: invalid JSON: "):
        results_from_json('{"schema_version": 3,\n}', "r.json")


def test_a_nan_literal_is_refused() -> None:
    with pytest.raises(ResultsError, match=r"^r\.json: invalid JSON: NaN is not a JSON number"):
        results_from_json('{"schema_version": 3, "x": NaN}', "r.json")


def test_text_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(ResultsError, match="not UTF-8"):
        results_from_json(b'{"schema_version": 3, "x": "\xff"}', "r.json")


def test_an_unreadable_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match="cannot read results file"):
        load_results(tmp_path / "missing.json")


def test_an_unknown_key_is_named(v1: dict[str, Any]) -> None:
    document = json.loads(json.dumps(v1))
    document["regions"]["train"]["summary_table"]["rows"][1]["colour"] = "red"
    assert error_of(document) == (
        "r.json: regions.train.summary_table.rows[1].colour: unknown key; "
        "results.json schema 3 has no such key"
    )


def test_a_wrong_type_at_a_nested_path_names_the_path(v1: dict[str, Any]) -> None:
    document = json.loads(json.dumps(v1))
    document["regions"]["test"]["census"]["singleton_share"] = "12%"
    assert error_of(document) == (
        "r.json: regions.test.census.singleton_share: expected a valid number, got a string"
    )
    document = json.loads(json.dumps(v1))
    document["model"]["hidden_widths"][1] = 4.5
    assert error_of(document) == (
        "r.json: model.hidden_widths[1]: expected a valid integer, got a number"
    )


def test_a_missing_key_is_named(v1: dict[str, Any]) -> None:
    document = json.loads(json.dumps(v1))
    del document["policy"]["checks"][2]["status"]
    assert error_of(document) == "r.json: policy.checks[2].status: missing required key"


def test_an_unknown_schema_version_is_an_error(v1: dict[str, Any]) -> None:
    for version in (4, "2", True):
        document = dict(v1, schema_version=version)
        assert f"r.json: schema_version: {version!r} is not supported" in error_of(document)
    assert error_of({"features": []}) == (
        "r.json: schema_version: missing; this is not a govreport results file"
    )
    assert error_of([]) == "r.json: top level: expected a JSON object, got an array"


def test_pending_is_not_a_key_of_schema_2(golden_run: Results) -> None:
    document = json.loads(dump(golden_run)) | {"pending": []}
    assert "r.json: pending: unknown key" in error_of(document)


# --------------------------------------------------------------------------- JSON Schema


def test_the_committed_json_schema_is_current() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == results_json_schema_text(), (
        "govreport/results/results.schema.json is stale: run "
        "`python -m govreport.results.jsonschema` and commit it"
    )


def test_the_json_schema_describes_schema_3() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["properties"]["schema_version"]["const"] == 3
    assert "pending" not in schema["properties"]
    assert schema["additionalProperties"] is False
    required = set(schema["required"])
    assert {"generator", "run", "policy", "regions"} <= required
    assert "review" not in required


def test_every_type_in_the_tree_loads_strictly_on_its_own() -> None:
    """Each result type reachable from Results carries the strict config (no unknown keys,
    no coercion), so loading one block alone is as strict as loading the whole file."""
    import typing

    from govreport.jsontypes import JSON_CONFIG

    seen: set[type] = set()

    def visit(tp: Any) -> None:
        if dataclasses.is_dataclass(tp) and isinstance(tp, type):
            if tp in seen:
                return
            seen.add(tp)
            assert getattr(tp, "__pydantic_config__", None) == JSON_CONFIG, tp.__qualname__
            for hint in typing.get_type_hints(tp).values():
                visit(hint)
            return
        for arg in typing.get_args(tp):
            visit(arg)

    visit(Results)
    assert len(seen) > 40


def test_a_version_2_document_migrates_to_3_unchanged_but_for_the_version(
    golden_run: Results,
) -> None:
    """Every schema-3 addition is optional: a schema-2 file (the golden run without its
    new blocks) loads, and only its version number changes."""
    document = json.loads(dump(golden_run))
    for key in ("conclusion", "slope_profiles", "distributions", "comparison"):
        document.pop(key, None)
    document["schema_version"] = 2
    migrated = migrate(document)
    assert migrated == document | {"schema_version": 3}
    loaded = results_from_jsonable(migrated, "v2.json")
    assert loaded.conclusion is None and loaded.slope_profiles is None
