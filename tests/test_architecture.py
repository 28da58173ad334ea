"""The import graph: no circles, and no edge from a lower layer up to a higher one.

docs/architecture.md draws these layers. A new module gets a row in LAYERS, at the lowest layer
whose modules it may import; a test failing here names the edge to cut.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# One module in sweeper/commands/ per command; python -m sweeper.X runs X's shim (a package's
# __main__, or sweeper/sync.py and sweeper/ui.py), python -m sweeper runs sweeper/__main__.py.
COMMANDS = ("sweep", "train", "recommend", "schedule", "seedrace", "sync", "ui", "bank", "replay")
ENTRY_PACKAGES = ("train", "recommend", "schedule", "seedrace", "bank", "replay")
SHIMS = {"sweeper.__main__", "sweeper.sync", "sweeper.ui"} | {
    f"sweeper.{c}.__main__" for c in ENTRY_PACKAGES
}

# Lower numbers are lower layers: a module imports only its own layer or lower ones.
LAYERS: dict[str, int] = {
    # 0. facts with no dependencies
    "sweeper.errors": 0,
    "sweeper.secrets": 0,
    "sweeper.direction": 0,
    "sweeper.formatting": 0,
    "sweeper.signals": 0,
    "sweeper.chance": 0,  # when a value has left chance: the pruner's and summaries' one rule
    "sweeper.dotted": 0,  # importing a dotted name from the config (objective, _target_)
    # 1. step math, config plumbing
    "sweeper.schedule": 1,
    "sweeper.config": 1,
    "sweeper.rules": 1,  # the declarative rule engine every config node is checked with
    "sweeper.outages": 1,  # a database or disk that went away: waits, one-line errors
    "sweeper.cli": 2,  # runs a command's logic as a Hydra app; imports no command
    # 2. typed settings, the search space, command-line plumbing
    "sweeper.settings": 2,
    "sweeper.space": 2,  # the search space (re-exports the package's modules below)
    "sweeper.space.spec": 2,  # ParamSpec, SearchSpace, the Suggest protocol
    "sweeper.space.parse": 2,  # YAML entries validated into a SearchSpace
    "sweeper.space.fit": 2,  # auto bounds fitted to the data size
    "sweeper.portfolio": 2,  # the portfolio start: published recipes fitted to the space (pure)
    # 3. the objective contract, per-trial records, decisions, the tracking view, plots
    "sweeper.objective": 3,
    "sweeper.trial_record": 3,  # a trial's record in the study: TrialAttrs, TrialRecord
    "sweeper.trial_reporter": 3,  # TrialReporter: a trial's decisions at each evaluation
    "sweeper.tracking": 3,  # the seam: Tracker/TrialRun protocols, open_tracker(cfg)
    "sweeper.tracking.mlflow": 3,  # the MLflow backend (MLflow only in sweeper/tracking/)
    "sweeper.tracking.mlflow_run": 3,  # one MLflow run's buffered, batched records
    "sweeper.tracking.spool": 3,  # MLflow's spool and its background writer (re-exported)
    "sweeper.tracking.spool.file": 3,  # the spool file, its record of what was sent, names
    "sweeper.tracking.spool.store": 3,  # one record sent to MLflow; failures told apart
    "sweeper.tracking.spool.writer": 3,  # the background thread that sends a spool in order
    "sweeper.tracking.memory": 3,  # an in-memory backend, for tests
    "sweeper.plots": 3,
    "sweeper.boundary": 3,  # best trials at an edge of the space: a finding (pure)
    # 4. the study, one training run, progress display
    "sweeper.study": 4,  # re-exports the package's modules below
    "sweeper.study.private": 4,  # the two uses of Optuna's private API
    "sweeper.study.storage": 4,  # open_storage, heartbeats on a journal, tolerant PostgreSQL
    "sweeper.study.samplers": 4,  # build_sampler, build_pruner
    "sweeper.study.fingerprint": 4,  # what defines a study
    "sweeper.study.resume": 4,  # create or resume a study under its fingerprint
    "sweeper.study.trials": 4,  # queued sets, retries, counts, slots, stale trials
    "sweeper.study.prune": 4,  # the prune hook
    "sweeper.train_once": 4,  # the one training path: objective, device, reporter, the call
    "sweeper.progress": 4,
    "sweeper.pruners": 4,  # Optuna pruners of sweeper's own (pruner=curve)
    "sweeper.pruners_beat": 4,  # probability-of-beating-the-best pruner (pruner=beat)
    # 5. config checks, the end-of-sweep summary, recommendation logic and report
    "sweeper.checks": 5,
    "sweeper.sweep_summary": 5,  # the end-of-sweep table, plots and next commands
    "sweeper.recommend.selection": 5,  # fresh seeds, best median, the epoch verdict
    "sweeper.recommend.config_file": 5,  # the +recommended config and its use command
    "sweeper.recommend.report": 5,  # the recommendation's Markdown report and console summary
    # 6. commands' logic: the sweep, one training, recommendation, previews
    "sweeper.run": 6,
    "sweeper.sweep": 6,  # a sweep's trials and the loop that runs them (open_sweep builds it)
    "sweeper.train": 6,  # one training run outside a sweep
    "sweeper.recommend": 6,  # recommend(cfg): selection -> config file -> report
    "sweeper.preview": 6,  # LR schedule previews (python -m sweeper.schedule)
    "sweeper.tracking.ui": 6,  # the MLflow UI's command line and its experiment pages
    "sweeper.bank": 6,  # records exhaustive studies (through run) and exports their curves
    "sweeper.bank.file": 6,  # Bank, Curve and the file format: save, load, describe
    "sweeper.bank.exporting": 6,  # a bank from a finished, unpruned sweeper study
    "sweeper.bank.timing": 6,  # seconds per evaluation measured while recording
    "sweeper.bank.grid": 6,  # the recorded grid, parsed and queued as overrides
    "sweeper.bank.recording": 6,  # the exhaustive study run through run and exported
    "sweeper.bank.merging": 6,  # chunks recorded apart (a seed at a time) joined into one bank
    "sweeper.seedrace": 6,  # Dodge et al.'s seed race on the train settings, failure counts
    "sweeper.replay": 6,  # replays a sweep policy on a bank, through the live decision code
    "sweeper.replay.policy": 6,  # what a replayed sweep decides with, from the shipped config
    "sweeper.replay.grid": 6,  # the bank's configurations, seed means, the nearest grid point
    "sweeper.replay.trial": 6,  # one recorded curve revealed to the live reporter; a Trace
    "sweeper.replay.ladder": 6,  # the schedule horizon as a fidelity
    "sweeper.replay.sweep": 6,  # a replayed sweep (sampler, pruner), replay(), the queued start
    "sweeper.replay.figures": 6,  # regret, compute to the goal, summaries, the plot
    "sweeper.replay.compare": 6,  # policies compared on banks: summaries, verdicts, tables
    "sweeper.tracking.sync": 6,  # sends what the tracking spool kept
    # 7. the command lines (parsing, printing, exit codes; nothing below imports them), the
    # shims that run them as python -m sweeper[.X], and the public package
    "sweeper.commands": 7,
    **{f"sweeper.commands.{c}": 7 for c in COMMANDS},
    "sweeper.__main__": 7,
    **{f"sweeper.{c}.__main__": 7 for c in ENTRY_PACKAGES},
    "sweeper.sync": 7,  # python -m sweeper.sync
    "sweeper.ui": 7,  # python -m sweeper.ui
    "sweeper": 7,
    # What tests and benchmarks share (nothing in sweeper imports it): a scripted objective on
    # the Objective/Reporter contract, a tiny model, loopback servers.
    "sweeper.testing": 0,
    "sweeper.testing.servers": 0,
    "sweeper.testing.tiny_model": 0,
    "sweeper.testing.fake_objective": 3,
}
# Objectives sit on top of sweeper's contract: they import sweeper's lower layers (errors,
# objective, settings, schedule), never Optuna- or MLflow-facing modules, and sweeper never
# imports them (the config names them).
OBJECTIVE_MAY_IMPORT = 3
OPTUNA_OR_MLFLOW = {
    "sweeper.study",
    *(m for m in LAYERS if m.startswith("sweeper.study.")),
    "sweeper.tracking",
    *(m for m in LAYERS if m.startswith("sweeper.tracking.")),
    "sweeper.trial_reporter",
    "sweeper.trial_record",
}
# The tracking seam: MLflow lives in sweeper/tracking/ only, and the rest of sweeper reaches a
# backend through sweeper.tracking.open_tracker (the config names it), so a new backend is one
# module there plus one conf/tracking/*.yaml. The commands' shims may import their logic.
TRACKING = ROOT / "sweeper" / "tracking"
TRACKING_IMPORTABLE = {"sweeper.tracking", "sweeper.tracking.sync", "sweeper.tracking.ui"}


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _graph() -> dict[str, set[str]]:
    files = [*ROOT.joinpath("sweeper").rglob("*.py"), *ROOT.joinpath("objectives").rglob("*.py")]
    known = {_module(f) for f in files}
    graph: dict[str, set[str]] = {}
    for f in files:
        name = _module(f)
        edges: set[str] = set()
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # `from pkg import module` depends on that module (as the shared
                # import_cycles tool counts it); `from module import name` on the module.
                subs = [f"{node.module}.{a.name}" for a in node.names]
                targets = [t for t in subs if t in known] or [node.module]
            edges |= {t for t in targets if t in known and t != name}
        graph[name] = edges
    return graph


GRAPH = _graph()
SWEEPER = sorted(m for m in GRAPH if m == "sweeper" or m.startswith("sweeper."))


@pytest.mark.parametrize("module", SWEEPER)
def test_every_sweeper_module_has_a_layer(module: str) -> None:
    assert module in LAYERS, f"{module}: add it to LAYERS (and docs/architecture.md)"


@pytest.mark.parametrize("module", SWEEPER)
def test_sweeper_imports_point_down(module: str) -> None:
    up = sorted(
        t
        for t in GRAPH[module]
        if t.startswith("objectives") or LAYERS.get(t, 99) > LAYERS.get(module, 99)
    )
    assert not up, f"{module} (layer {LAYERS.get(module)}) imports up: {up}"


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if m.startswith("objectives")))
def test_objectives_know_nothing_of_optuna_or_mlflow(module: str) -> None:
    used = {t for t in GRAPH[module] if t.startswith("sweeper")}
    assert not used & OPTUNA_OR_MLFLOW, f"{module} imports {sorted(used & OPTUNA_OR_MLFLOW)}"
    assert all(LAYERS.get(t, 99) <= OBJECTIVE_MAY_IMPORT or t == "sweeper" for t in used), used
    source = "\n".join(
        p.read_text(encoding="utf-8") for p in ROOT.joinpath(*module.split(".")).parent.glob("*.py")
    )
    assert "import optuna" not in source and "import mlflow" not in source


def test_no_import_circles() -> None:
    # Tarjan-free: a depth-first search that reports the first back edge with its path.
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(GRAPH.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(GRAPH):
        if start not in state:
            cycle = visit(start)
            assert cycle is None, " -> ".join(cycle)


def _mlflow_names(tree: ast.AST) -> list[str]:
    """Imports of mlflow and identifiers that name it (``mlflow_run_id``, ``MlflowClient``)."""
    found: list[str] = []
    for node in ast.walk(tree):
        names: list[str | None] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names] + [a.asname for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module] + [a.name for a in node.names] + [a.asname for a in node.names]
        elif isinstance(node, ast.Name):
            names = [node.id]
        elif isinstance(node, ast.Attribute):
            names = [node.attr]
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names = [node.name]
        elif isinstance(node, ast.arg | ast.keyword):
            names = [node.arg]
        found += [
            f"{n} (line {getattr(node, 'lineno', '?')})"
            for n in names
            if n and "mlflow" in n.lower()
        ]
    return found


OUTSIDE_TRACKING = sorted(
    f
    for f in [*ROOT.joinpath("sweeper").rglob("*.py"), *ROOT.joinpath("objectives").rglob("*.py")]
    if TRACKING not in f.parents
)


@pytest.mark.parametrize("path", OUTSIDE_TRACKING, ids=lambda p: _module(p))
def test_no_mlflow_name_outside_the_tracking_package(path: Path) -> None:
    found = _mlflow_names(ast.parse(path.read_text(encoding="utf-8")))
    assert not found, f"{_module(path)}: MLflow belongs in sweeper/tracking/: {found}"


@pytest.mark.parametrize("path", OUTSIDE_TRACKING, ids=lambda p: _module(p))
def test_backends_are_reached_through_the_seam(path: Path) -> None:
    used = {t for t in GRAPH[_module(path)] if t.startswith("sweeper.tracking")}
    assert used <= TRACKING_IMPORTABLE, (
        f"{_module(path)} imports {sorted(used - TRACKING_IMPORTABLE)}: use "
        "sweeper.tracking.open_tracker (the config names the backend)"
    )


def test_the_mlflow_check_finds_what_it_forbids() -> None:
    source = (
        "import mlflow\nfrom mlflow.entities import Metric\nrun.mlflow_run_id = 1\n"
        "def f(mlflow_uri): MlflowClient(tracking=mlflow)\n"
    )
    found = " ".join(_mlflow_names(ast.parse(source)))
    for name in (
        "mlflow (line 1)",
        "mlflow.entities",
        "mlflow_run_id",
        "mlflow_uri",
        "MlflowClient",
    ):
        assert name in found


# Benchmarks and tests share helpers through sweeper.testing, not through each other: scripts/
# never imports tests/, and only the scripts' own tests (tests/test_bench*.py) import scripts/.
# The one exception is the generator of docs/errors.md, which renders the test table of bad
# inputs itself.
SCRIPTS_MAY_IMPORT_TESTS = {"scripts/errors_table.py"}
TESTS_OF_SCRIPTS = {str(p.relative_to(ROOT)) for p in ROOT.joinpath("tests").glob("test_bench*.py")}


def _top_imports(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


@pytest.mark.parametrize(
    ("folder", "forbidden", "allowed"),
    [("scripts", "tests", SCRIPTS_MAY_IMPORT_TESTS), ("tests", "scripts", TESTS_OF_SCRIPTS)],
)
def test_scripts_and_tests_share_helpers_through_the_package(
    folder: str, forbidden: str, allowed: set[str]
) -> None:
    files = sorted(ROOT.joinpath(folder).rglob("*.py"))
    assert files
    found = [
        str(f.relative_to(ROOT))
        for f in files
        if forbidden in _top_imports(f) and str(f.relative_to(ROOT)) not in allowed
    ]
    assert not found, f"{found} import {forbidden}/: move the shared helper to sweeper/testing/"


def test_nothing_in_sweeper_uses_its_test_helpers() -> None:
    library = [m for m in SWEEPER if not m.startswith("sweeper.testing")]
    users = sorted(m for m in library if any(t.startswith("sweeper.testing") for t in GRAPH[m]))
    assert not users, f"{users}: sweeper/testing/ is for tests and benchmarks only"


def test_only_the_shims_import_the_command_lines() -> None:
    users = sorted(
        m
        for m in SWEEPER
        if not m.startswith("sweeper.commands") and m not in SHIMS
        if any(t.startswith("sweeper.commands") for t in GRAPH[m])
    )
    assert not users, f"{users} import sweeper.commands: the library sits below the commands"


@pytest.mark.parametrize("shim", sorted(SHIMS))
def test_each_entry_point_is_a_shim_of_its_command(shim: str) -> None:
    # python -m sweeper.X keeps working, and X's command line lives in one place.
    path = ROOT.joinpath(*shim.split(".")).with_suffix(".py")
    code = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    command = {"sweeper.__main__": "sweep"}.get(shim, shim.split(".")[1])
    assert GRAPH[shim] == {f"sweeper.commands.{command}"}, GRAPH[shim]
    assert len(code) <= 5, f"{shim}: a shim is its docstring, one import and the main guard"
