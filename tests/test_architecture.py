"""The import graph: no circles, and no edge from a lower layer up to a higher one.

docs/architecture.md draws these layers. A new module gets a row in LAYERS, at the lowest layer
whose modules it may import; a test failing here names the edge to cut.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Lower numbers are lower layers: a module imports only its own layer or lower ones.
LAYERS: dict[str, int] = {
    # 0. facts with no dependencies
    "sweeper.errors": 0,
    "sweeper.secrets": 0,
    "sweeper.direction": 0,
    "sweeper.formatting": 0,
    "sweeper.signals": 0,
    # 1. step math, config plumbing
    "sweeper.schedule": 1,
    "sweeper.config": 1,
    "sweeper.outages": 1,  # a database or disk that went away: waits, one-line errors
    "sweeper.cli": 2,  # runs a command's logic as a Hydra app; imports no command
    # 2. typed settings, the search space, command-line plumbing
    "sweeper.settings": 2,
    "sweeper.space": 2,
    "sweeper.portfolio": 2,  # the portfolio start: published recipes fitted to the space (pure)
    # 3. the objective contract, per-trial records, decisions, the MLflow view, plots
    "sweeper.objective": 3,
    "sweeper.results": 3,
    "sweeper.reporting": 3,
    "sweeper.tracking": 3,
    "sweeper.spool": 3,  # the tracking spool and its background writer
    "sweeper.plots": 3,
    "sweeper.boundary": 3,  # best trials at an edge of the space: a finding (pure)
    # 4. the study, one training run, progress display
    "sweeper.study": 4,
    "sweeper.training": 4,
    "sweeper.progress": 4,
    "sweeper.pruners": 4,  # Optuna pruners of sweeper's own (pruner=curve)
    # 5. config checks, the end-of-sweep summary, recommendation logic and report
    "sweeper.checks": 5,
    "sweeper.summary": 5,
    "sweeper.selection": 5,
    "sweeper.report": 5,
    # 6. commands' logic: the sweep, one training, recommendation, previews
    "sweeper.run": 6,
    "sweeper.train": 6,
    "sweeper.recommend": 6,
    "sweeper.preview": 6,
    "sweeper.ui": 6,
    "sweeper.bank": 6,  # records exhaustive studies (through run) and exports their curves
    "sweeper.seedrace": 6,  # Dodge et al.'s seed race on the train settings, failure counts
    "sweeper.replay": 6,  # replays a sweep policy on a bank, through the live decision code
    "sweeper.sync": 6,  # sends what the tracking spool kept
    # 7. entry points and the public package
    "sweeper.__main__": 7,
    "sweeper.schedule.__main__": 7,
    "sweeper.bank.__main__": 7,
    "sweeper.replay.__main__": 7,
    "sweeper": 7,
}
# Objectives sit on top of sweeper's contract: they import sweeper's lower layers (errors,
# objective, settings, schedule), never Optuna- or MLflow-facing modules, and sweeper never
# imports them (the config names them).
OBJECTIVE_MAY_IMPORT = 3
OPTUNA_OR_MLFLOW = {"sweeper.study", "sweeper.tracking", "sweeper.reporting", "sweeper.results"}


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
