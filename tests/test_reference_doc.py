"""``docs/reference.md`` is generated from the code and must stay so.

The committed file must equal what :func:`sim.reference.render` makes now,
and every description in :mod:`sim.reference` must match the code both ways:
nothing the code writes (a table column, a ``summary.json`` key, a status,
reason or event kind, a scenario key) without a description, and no
description of something the code no longer writes.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pytest

import sim
from sim import reference
from sim.reference import (command_line, output_tables, python_api, scenario_keys, scenario_notes,
                           summary_keys, vocabulary)

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "reference.md"
MODELS = sorted((ROOT / "models").glob("*.yaml"))


@pytest.fixture(scope="module")
def rendered() -> str:
    return reference.render()


def test_committed_document_is_the_generated_one(rendered):
    committed = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    if committed != rendered:
        import difflib
        diff = "".join(list(difflib.unified_diff(committed.splitlines(True), rendered.splitlines(True),
                                                 "docs/reference.md (committed)", "generated", n=1))[:40])
        pytest.fail(f"docs/reference.md is out of date; regenerate it with\n\n    {reference.REGENERATE}\n\n"
                    f"and commit the result. First differences:\n{diff}")


def test_generation_is_deterministic_and_machine_independent(rendered):
    assert reference.render() == rendered
    assert str(ROOT) not in rendered and "/home/" not in rendered and "/tmp/" not in rendered
    assert " at 0x" not in rendered


def test_descriptions_and_code_agree():
    assert reference.problems() == []


# --------------------------------------------------------------- tables
def test_every_real_column_is_described_and_no_description_is_stale():
    assert output_tables.undescribed() == []
    assert output_tables.stale() == []


def test_the_column_check_fails_both_ways(monkeypatch):
    columns = {t: dict(c) for t, c in output_tables.COLUMNS.items()}
    del columns["calls"]["reason"]
    columns["events"]["no_such_column"] = "gone"
    monkeypatch.setattr(output_tables, "COLUMNS", columns)
    assert output_tables.undescribed() == ["calls.reason"]
    assert output_tables.stale() == ["events.no_such_column"]


def test_columns_are_those_of_a_real_run(rendered):
    result = sim.run(output_tables.TINY_SCENARIO)
    for table in output_tables.TABLES:
        assert [c for c, _ in output_tables.real_columns()[table]] == list(getattr(result, table).columns)
        for column in getattr(result, table).columns:
            assert f"| `{column}` |" in rendered


# --------------------------------------------------------- summary.json
@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_every_summary_key_of_every_shipped_model_is_described(path):
    assert summary_keys.undescribed(sim.load(path)) == []


def test_no_described_summary_key_is_stale():
    assert summary_keys.stale() == []


def test_the_summary_check_fails_both_ways(monkeypatch):
    keys = dict(summary_keys.KEYS)
    del keys["services.SERVICE.waited_ratio"]
    keys["services.SERVICE.no_such_key"] = ("s", "gone")
    monkeypatch.setattr(summary_keys, "KEYS", keys)
    assert summary_keys.undescribed(summary_keys.example_scenario()) == ["services.SERVICE.waited_ratio"]
    assert summary_keys.stale() == ["services.SERVICE.no_such_key"]


def test_the_metric_names_of_sim_record_keys_are_all_listed():
    """The flat keys experiments use (sim.record.keys) are a subset of those documented."""
    from sim.record.keys import summary_keys as metric_keys
    scenario = summary_keys.example_scenario()
    documented = set(summary_keys.written_patterns(scenario))
    assert {summary_keys.pattern(k, scenario) for k in metric_keys(scenario)} <= documented


def test_fault_windows_with_dots_in_their_names_become_placeholders():
    scenario = summary_keys.example_scenario()
    assert summary_keys.pattern("windows.after.fault.0.requests.total", scenario) == \
        "windows.WINDOW.requests.total"
    assert summary_keys.pattern("services.api.latency_s.p99", scenario) == "services.SERVICE.latency_s.p99"
    assert summary_keys.pattern("slo.workload.clients.good", scenario) == "slo.workload.WORKLOAD.good"


# ----------------------------------------------------------- vocabulary
def test_every_status_reason_and_event_kind_is_described():
    assert vocabulary.undescribed() == []
    assert vocabulary.stale() == []


def test_the_vocabulary_check_fails_both_ways(monkeypatch):
    kinds = dict(vocabulary.EVENT_KINDS)
    del kinds["scaled"]
    kinds["pod_exploded"] = "gone"
    monkeypatch.setattr(vocabulary, "EVENT_KINDS", kinds)
    assert vocabulary.undescribed() == ["event kind 'scaled'"]
    assert vocabulary.stale() == ["event kind 'pod_exploded'"]


# -------------------------------------------------------- scenario keys
def test_every_scenario_key_is_described_and_no_note_is_stale():
    assert scenario_keys.undescribed() == []
    assert scenario_keys.stale() == []


def test_the_scenario_key_check_fails_both_ways(monkeypatch):
    notes = dict(scenario_notes.NOTES)
    del notes["PodSpec.workers"]
    notes["PodSpec.no_such_key"] = "gone"
    monkeypatch.setattr(scenario_keys, "NOTES", notes)
    assert scenario_keys.undescribed() == ["PodSpec.workers"]
    assert scenario_keys.stale() == ["PodSpec.no_such_key"]


def test_the_walk_reaches_nested_blocks_at_every_path():
    from sim.spec.hpa import HPAScalingPolicy
    from sim.spec.policy import BreakerSpec, ExponentialBackoffSpec
    found = scenario_keys.walk()
    assert "services.NAME.hpa.behavior.scaleDown.policies.I" in found[HPAScalingPolicy]
    assert {"workload.NAME.client.circuit_breaker", "services.NAME.calls.I.circuit_breaker"} <= \
        set(found[BreakerSpec])
    assert "services.NAME.calls.I.retry.backoff" in found[ExponentialBackoffSpec]


def test_scenario_types_show_units_and_bounds():
    from sim.spec.service import PodSpec
    fields = PodSpec.model_fields
    assert scenario_keys.render_type(fields["cpu"].annotation, fields["cpu"].metadata) == "CPU (cores) (> 0)"
    assert scenario_keys.render_type(fields["termination_grace"].annotation,
                                     fields["termination_grace"].metadata) == "duration (s) (≥ 0)"
    assert scenario_keys.render_type(fields["max_queue_time"].annotation,
                                     fields["max_queue_time"].metadata) == "duration (s) (> 0)"
    assert scenario_keys.render_type(fields["work"].annotation, fields["work"].metadata) == "distribution"
    assert scenario_keys.render_default(fields["work"]) == "required"
    assert scenario_keys.render_default(fields["workers"]) == "`32`"


# ---------------------------------------------------------- command line
def test_every_subcommand_and_option_of_the_real_parser_is_listed(rendered):
    from sim.cli import build_parser
    subcommands = command_line._subcommands(build_parser())
    assert {"run", "check", "sweep", "bench"} <= set(subcommands)
    for name, (_, parser) in subcommands.items():
        assert f"### `podsim {name}`" in rendered
        for action in parser._actions:
            if not isinstance(action, argparse._HelpAction):
                shown = ", ".join(action.option_strings) or command_line._value(action)
                assert f"| `{shown}` |" in rendered, (name, shown)


def test_sweep_exit_codes_are_the_constants_of_the_sweep_command():
    from sim.experiment import cli as sweep_cli
    constants = {v for k, v in vars(sweep_cli).items() if k.startswith("EXIT_")}
    assert set(command_line.sweep_exit_codes()) == constants
    assert {0, 1, 2, 3, 130} <= constants


def test_exit_codes_of_every_command_are_the_constants_of_sim_cli():
    from sim import cli
    constants = {v for k, v in vars(cli).items() if k.startswith("EXIT_")}
    assert set(command_line.exit_codes()) == constants | {command_line.INTERRUPTED}


# ------------------------------------------------------------ Python API
def test_every_listed_public_name_exists_and_has_a_docstring(rendered):
    assert python_api.undocumented() == []
    for module, listed in python_api.API:
        for name in python_api.names(module, listed):
            assert f"{name}(" in rendered or f"`sim.{name}" in rendered, (module, name)


def test_result_attributes_listed_are_those_of_a_real_result():
    result = sim.run(output_tables.TINY_SCENARIO)
    for name in python_api.RESULT_ATTRIBUTES:
        assert hasattr(result, name), name
