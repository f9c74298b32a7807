"""Fixtures of the ablation benchmark: recipes and the session's records (the command-line options
are in the root conftest.py).

    pytest bench                      # the ablation grid on CPU: tiny model, synthetic data
    pytest bench -n 2                 # two arms at a time (pytest-xdist): the cores split between them
    pytest bench -m gpu -n 8 --model PATH --data-dir DIR --seeds 3   # a node of 8 GPUs, one per worker
    pytest bench --data-dir DIR --extra-test other=other.jsonl      # every arm also scored on other.jsonl

Under pytest-xdist each worker's `fraudft run-arm` processes get one GPU of those visible (worker
gwN: the N-th, round robin) and cores // workers CPU threads; expectations wait for the records
other workers write (bench/grid.py says why that is safe).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from bench import benchmarks as benchmarks_module
from bench.grid import RecordWait, seed_count
from fraudft.core.errors import UsageError
from fraudft.results.expectations import Verdict, holm_claims
from fraudft.experiment.grid import worker_env
from fraudft.experiment.recipes import load_recipe

ARM_TESTS = {"test_arm", "test_smoke_arm"}  # tests that write one (recipe, arm, seed) record each


def pytest_addoption(parser):
    parser.getgroup("fraudft").addoption(
        "--record-timeout", type=float, default=4 * 3600,
        help="under pytest-xdist: seconds an expectation waits for the records other workers are writing")


def pytest_configure(config):
    if not hasattr(config, "workerinput"):  # the controller (or the only process): before anything is collected
        check_start(config)
    # The controller's start time reaches the workers: with --rerun, older records are not this session's.
    config._fraudft_started = getattr(config, "workerinput", {}).get("fraudft_started", time.time())
    config._fraudft_session = {"records": {}, "reused": [], "verdicts": []}
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistController(config), "fraudft-xdist")
    if not hasattr(config, "workerinput") and config.pluginmanager.hasplugin("benchmark"):
        config.pluginmanager.register(benchmarks_module.ControllerBenchmarks(config), "fraudft-benchmarks")


def check_start(config) -> None:
    """pytest's usage error (exit 4, one line) before anything runs: an unknown name in --arms (the
    known arms, close matches named; fraudft.experiment.arms.named_arms), a --data-dir without exactly
    one train, eval and test file (fraudft.experiment.splits.split_files)."""
    from fraudft.core.errors import DataError
    from fraudft.experiment.arms import named_arms
    from fraudft.experiment.splits import split_files

    try:
        named_arms(config.getoption("--arms") or "", config.getoption("--arms-file"), "--arms")
        if config.getoption("--data-dir") is not None:
            split_files(config.getoption("--data-dir"))
    except (UsageError, DataError) as err:
        raise pytest.UsageError(str(err)) from None


class _XdistController:
    """The controller's side: its start time to the workers, their records and verdicts back for the
    summary, a progress line per finished arm."""

    def __init__(self, config):
        self.config = config

    def pytest_configure_node(self, node):
        node.workerinput["fraudft_started"] = node.config._fraudft_started

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report):
        """On the controller, one line per finished arm test of a worker: under xdist the terminal
        shows only dots, for up to an hour on a loaded machine."""
        if getattr(report, "node", None) is None:  # not a worker's report (no xdist, or inside a worker)
            return
        line = progress_line(report)
        reporter = self.config.pluginmanager.get_plugin("terminalreporter") if line else None
        if reporter is not None:
            reporter.write_line(line)

    def pytest_testnodedown(self, node, error):
        sent = getattr(node, "workeroutput", {}).get("fraudft_session")
        if sent:
            session = node.config._fraudft_session
            session["records"].update({tuple(key): record for key, record in sent["records"]})
            session["reused"] += sent["reused"]
            session["verdicts"] += [tuple(v) for v in sent["verdicts"]]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    """Note the records an arm test adds to the session (its progress line names the arm's MCC)."""
    session = getattr(item.config, "_fraudft_session", None)
    before = set(session["records"]) if session else set()
    yield
    if session and getattr(item, "originalname", None) in ARM_TESTS:
        item._fraudft_new = [session["records"][key] for key in session["records"] if key not in before]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """An arm test's call report carries what its progress line says (user property "fraudft_arm"),
    which xdist sends to the controller with the report."""
    outcome = yield
    report = outcome.get_result()
    if call.when == "call" and getattr(item, "originalname", None) in ARM_TESTS and not report.skipped:
        report.user_properties.append(("fraudft_arm", arm_progress(item, getattr(item, "_fraudft_new", []))))


def arm_progress(item, paths: list) -> dict:
    """{"arm", "recipe", "seed", and from the record written: "status", "train_seconds", "mcc", "error"}."""
    from fraudft.results.store import read_record

    params = getattr(item, "callspec", None)
    params = params.params if params is not None else {}
    arm = params.get("arm")
    info = {"arm": arm if isinstance(arm, str) else getattr(arm, "name", None),
            "recipe": params.get("recipe_name", "smoke"), "seed": params.get("seed", 0)}
    for path in paths[:1]:
        try:
            record = read_record(Path(path))
        except Exception as err:  # a progress line never fails the session: say what is not known
            info["error"] = f"record unreadable: {type(err).__name__}"
            continue
        mcc = record.test.metrics.get("mcc") if record.ok and record.test is not None else None
        info.update(status=record.status, train_seconds=record.train_info.get("train_seconds"), mcc=mcc,
                    error=record.error.strip().splitlines()[0][:120] if record.error.strip() else None)
    return info


def progress_line(report) -> str | None:
    """One line of a finished arm test for the xdist controller (`[gw1] arm cpu-tiny/reference seed 0:
    passed in 41 s (success, training 31 s, MCC 0.412)`), None for another report."""
    found = dict(report.user_properties).get("fraudft_arm") if report.when == "call" else None
    if not found:
        return None
    details = [found[k] if k == "status" else f"training {found[k]:.0f} s" if k == "train_seconds" else
               f"MCC {found[k]:.3f}" if k == "mcc" else found[k]
               for k in ("status", "train_seconds", "mcc", "error") if found.get(k) is not None]
    node = getattr(report, "node", None)
    where = f"[{node.gateway.id}] " if node is not None and hasattr(node, "gateway") else ""
    return (f"{where}arm {found['recipe']}/{found['arm']} seed {found['seed']}: {report.outcome} in {report.duration:.0f} s"
            + (f" ({', '.join(details)})" if details else ""))


def pytest_sessionfinish(session):
    output = getattr(session.config, "workeroutput", None)
    ours = getattr(session.config, "_fraudft_session", None)
    if output is not None and ours:  # an xdist worker: send what it ran to the controller
        output["fraudft_session"] = {"records": [[list(k), r] for k, r in ours["records"].items()],
                                     "reused": ours["reused"], "verdicts": [list(v) for v in ours["verdicts"]]}


@pytest.hookimpl(trylast=True)  # after -k/-m deselection
def pytest_collection_modifyitems(config, items):
    from bench.grid import arm_selected

    chosen = config.getoption("--arms")
    selected = set()
    for item in items:
        params = getattr(item, "callspec", None)
        if item.originalname in ARM_TESTS and params is not None:
            arm = params.params["arm"]
            recipe_name = params.params.get("recipe_name", "smoke")
            name = arm if isinstance(arm, str) else arm.name
            runs = (not chosen or name in chosen.split(",")) if isinstance(arm, str) else arm_selected(chosen, recipe_name, arm)
            if runs:  # smoke tests name their arms as strings; grid arms may belong to some recipes only
                selected.add((recipe_name, name, params.params.get("seed", 0)))
    config._fraudft_selected = frozenset(selected)
    benchmarks_module.forwarded_under_xdist(config, items)


def in_xdist_worker() -> bool:
    return "PYTEST_XDIST_WORKER" in os.environ


@pytest.fixture(scope="session")
def record_wait(pytestconfig) -> RecordWait:
    return RecordWait(selected=getattr(pytestconfig, "_fraudft_selected", frozenset()),
                      since=pytestconfig._fraudft_started if pytestconfig.getoption("--rerun") else None,
                      timeout=pytestconfig.getoption("--record-timeout"), active=in_xdist_worker())


@pytest.fixture(scope="session")
def arm_env():
    """`arm_env(device)`: the environment of this worker's run-arm processes (empty without xdist)."""
    if not in_xdist_worker():
        return lambda device: {}
    slot = int(os.environ["PYTEST_XDIST_WORKER"].removeprefix("gw"))
    workers = int(os.environ["PYTEST_XDIST_WORKER_COUNT"])
    return lambda device: worker_env(slot, workers, device)


@pytest.fixture(scope="session")
def shared_tmp(tmp_path_factory) -> Path:
    """A temporary folder all xdist workers of this session share (each has its own basetemp below it)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if in_xdist_worker() else base


def pytest_generate_tests(metafunc):
    if "seed" in metafunc.fixturenames:
        metafunc.parametrize("seed", range(seed_count(metafunc.config)), ids=lambda s: f"seed{s}")
    if metafunc.definition.originalname in GRID_TESTS:
        _parametrize_grid(metafunc)


GRID_TESTS = ("test_arm", "test_expectation")  # bench/test_ablations.py
RECIPE_PARAMS = [pytest.param("cpu-tiny", id="cpu-tiny"), pytest.param("gpu", id="gpu", marks=pytest.mark.gpu)]


def _parametrize_grid(metafunc) -> None:
    """The grid's tests over the recipes and the arms in force (built-in and --arms-file's, checked:
    a bad arms file stops the collection in one line naming it): one test_arm per arm, one
    test_expectation per expectation."""
    from fraudft.experiment.arms import load_arms

    arms_file = metafunc.config.getoption("--arms-file")
    try:
        arms = load_arms(arms_file, check=arms_file is not None)
    except UsageError as err:
        raise pytest.UsageError(f"--arms-file: {err}") from None
    metafunc.parametrize("recipe_name", RECIPE_PARAMS)
    if metafunc.definition.originalname == "test_arm":
        metafunc.parametrize("arm", [pytest.param(arm, id=arm.name) for arm in arms])
    else:
        metafunc.parametrize("arm, expectation", [pytest.param(arm, e, id=f"{arm.name}-{e}") for arm in arms for e in arm.expects])


def pytest_benchmark_update_machine_info(config, machine_info):
    import torch

    machine_info["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    machine_info.update(benchmarks_module.parallelism(config))  # runs of other -n or threads do not compare


def pytest_benchmark_update_json(config, benchmarks, output_json):
    for entry in output_json["benchmarks"]:  # a new dict: the test's own parameters stay as they are
        entry["params"] = benchmarks_module.json_params(entry["params"])


@pytest.fixture
def forward_rounds(request, benchmark):
    """`forward_rounds(seconds)`: a test timed with pytest-benchmark sends its rounds (a list of
    seconds) to the xdist controller, which saves them (bench/benchmarks.py); nothing without xdist."""
    return benchmarks_module.make_forwarder(request, benchmark)


@pytest.fixture(scope="session")
def results_root(pytestconfig) -> Path:
    return Path(pytestconfig.getoption("--results-dir"))


@pytest.fixture(scope="session")
def session_records(pytestconfig) -> dict:
    """What this session ran or reused (record paths), and the verdicts of its expectations (for the summary)."""
    return pytestconfig._fraudft_session


def _real_model_recipe(config):
    """The gpu recipe pointed at --model, --data-dir, --device, --dtype; a one-line error when it can't run."""
    import torch

    device = config.getoption("--device") or "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        raise UsageError("-m gpu: no CUDA device here; pass --device cpu to run the real-model recipe on the CPU")
    model = config.getoption("--model")
    from fraudft.modeling.models import PRESETS
    from fraudft.modeling.tokenizer import OFFLINE_QWEN2

    if model not in PRESETS:
        try:
            from transformers import AutoConfig

            AutoConfig.from_pretrained(model)
        except Exception as err:  # offline, missing path, no access...
            raise UsageError(f"-m gpu: --model {model}: cannot be loaded ({type(err).__name__}: {str(err).splitlines()[0]})") from None
    return load_recipe("gpu", model=model, tokenizer=OFFLINE_QWEN2 if model in PRESETS else model,
                       data_dir=config.getoption("--data-dir"), device=device, dtype=config.getoption("--dtype"),
                       extra_tests=_extra_tests(config))


def _extra_tests(config) -> tuple:
    """--extra-test NAME=PATH (else env FRAUDFT_EXTRA_TESTS), parsed and each file read once (bad data
    stops the session with one line before any arm trains)."""
    from fraudft.experiment.extra_tests import load_extra_tests, parse_extra_tests

    extra = parse_extra_tests(config.getoption("--extra-test") or os.environ.get("FRAUDFT_EXTRA_TESTS", ""))
    load_extra_tests(extra)
    return extra


@pytest.fixture(scope="session")
def recipe_for(pytestconfig):
    """The Recipe of a name, with --data-dir applied (and the gpu one pointed at --model, --device)."""
    cache = {}

    def resolve(name: str):
        if name not in cache:
            try:
                recipe = (_real_model_recipe(pytestconfig) if name == "gpu"
                          else load_recipe(name, data_dir=pytestconfig.getoption("--data-dir"),
                                           extra_tests=_extra_tests(pytestconfig)))
                cache[name] = recipe.with_steps(pytestconfig.getoption("--steps"))
            except UsageError as err:
                pytest.exit(f"error: {err}", returncode=pytest.ExitCode.USAGE_ERROR)
        return cache[name]

    return resolve


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    from fraudft.results.findings import findings, findings_text
    from fraudft.results.robustness import robustness_rows
    from fraudft.results.store import read_record
    from fraudft.results.table import summarize_arms, table_report

    session = getattr(config, "_fraudft_session", None)
    if not session or not session["records"]:
        return
    records = [read_record(Path(path)) for path in dict.fromkeys(session["records"].values())]
    commit = Path(records[0].path).parents[1].name  # the records folder: the commit, or <commit>-dirty-<diff hash>
    summaries, robustness = summarize_arms(records), robustness_rows(records)  # for the table and the report
    terminalreporter.section("fraudft results")
    terminalreporter.write_line(table_report(records, commit, summaries=summaries, robustness=robustness,
                                             with_findings=False))  # said last, after the gate, where it is read
    if session["reused"]:
        terminalreporter.write_line(f"{len(session['reused'])} record(s) of this commit reused (pass --rerun to run them again)")
    verdicts = holm_claims([Verdict(**verdict) for _, _, verdict in session["verdicts"]])
    if verdicts:
        terminalreporter.write_line("\nexpectations (the gate: all of them together with every arm test; "
                                    "each claim Holm-adjusted across these):")
    for (key, _, _), verdict in zip(session["verdicts"], verdicts):
        terminalreporter.write_line(f"- {key} {verdict.summary()}")
    found = findings_text(findings(records, summaries, robustness),
                          "\nfindings (the audit's shortcuts, counterfactual flips, baselines; each with its fix)")
    if found:
        terminalreporter.write_line(found)
    for path in sorted({str(Path(r.path).parent) for r in records}):
        terminalreporter.write_line(f"records written under {path}/")
    for line in benchmarks_module.summary_lines(config, records):
        terminalreporter.write_line(line)
    by_recipe: dict[str, list] = {}
    for (recipe, _, _), verdict in zip(session["verdicts"], verdicts):
        by_recipe.setdefault(recipe, []).append(verdict)
    report = _write_report(records, commit, summaries, by_recipe, robustness)
    terminalreporter.write_line(f"report: {report}")


def _write_report(records, commit: str, summaries, verdicts, robustness) -> Path:
    """The HTML report of the commit folder this session wrote to (fraudft.results.report), next to
    its records: <results dir>/<commit>/report.html. It covers every record of that folder, not only
    this session's (a partial run, `--arms a,b`, must not replace the commit's report with one of its
    own arms): where the folder holds only this session's records, the summaries, verdicts and
    robustness rows of the terminal summary are reused; else they are computed over all of them
    (the expectations judged from every record, as `fraudft results report` does)."""
    from fraudft.results.report import write_report
    from fraudft.results.store import load_records

    folder = Path(records[0].path).parents[1]  # results/<commit>/<recipe>/<arm>-seed<N>.json -> results/<commit>
    from fraudft.core.errors import UsageError

    try:
        stored = load_records(folder.parent, folder.name)
    except UsageError:  # a bad file in the folder (named by `fraudft results table`): this session's records
        stored = records
    ours = {str(Path(r.path).resolve()) for r in records}
    if {str(Path(r.path).resolve()) for r in stored} - ours:
        records, summaries, verdicts, robustness = stored, None, None, None
    return write_report(records, commit, folder / "report.html", root=folder.parent, summaries=summaries,
                        verdicts=verdicts, robustness=robustness)
