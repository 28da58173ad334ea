"""What a user watches: plain lines off a terminal, bars on one, no library noise, a summary
whose commands paste into a shell, and plots with titles, labels, legends and a log LR axis.

Most tests run the real CLI (``python -m sweeper``) in a subprocess, since the console setup
(Hydra's job_logging, hydra.verbose, a pipe or a terminal) is what is under test.
"""

from __future__ import annotations

import fcntl
import logging
import os
import pty
import re
import select
import shlex
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import pytest

from sweeper.formatting import fmt_params
from sweeper.progress import Progress, quiet_libraries
from sweeper.schedule import plan_steps
from sweeper.sweep_summary import next_commands
from sweeper.tracking.mlflow import open_commands
from tests.conftest import ROOT

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
LINE = re.compile(r"^\[\d\d:\d\d:\d\d\] ")
# Trial 0 completes, 1 is pruned (non-finite loss at step 3), 2 fails before training, 3 stops
# early; the search space has an entry with spaces, so the summary must quote it.
WEIGHT_DECAY = "+search_space.weight_decay={type: categorical, choices: [0.0, 0.123]}"
ENQUEUE = (
    "sweep.enqueue=[{lr: 1.0e-4, weight_decay: 0.0, num_epochs: 2}, {lr: 1.0, weight_decay: 0.0},"
    " {lr: 1.0e-4, weight_decay: 0.123}, {lr: 2.0e-4, weight_decay: 0.0, num_epochs: 3}]"
)
NOISE = (
    "LOAD REPORT",  # transformers' weight-loading table
    "newly initialized",
    "ExperimentalWarning",  # Optuna, through warnings
    "View run",  # MLflow, printed after each run it ends on a server
    "View experiment",
    "it/s]",  # tqdm bars
    "%|",
    "A new study created",  # Optuna's INFO lines
    "Trial 0 finished with value",
)


def fake_args(root: Path, *extra: str) -> list[str]:
    """A scripted sweep (tests.fake_objective): the real CLI and loop, no model."""
    return [
        f"results_dir={root}",
        "objective=tests.fake_objective.QuadraticObjective",
        "data=builtin",
        "data.builtin.num_train=320",
        "train.batch_size=32",  # 10 steps per epoch
        "sweep.study_name=t",
        "search_space.lr.high=1.0",
        # Fixed, not fitted to the data size (`auto` would allow up to 20 epochs of 320
        # examples): the step counts below come from the draws of a 1-3 epoch range.
        "search_space.num_epochs.high=3",
        WEIGHT_DECAY,
        # The sweep machinery as it was: no recipes first, the loss selects, batch as set.
        "sweep.portfolio=none",
        "sweep.objective=val_loss",
        "++search_space.batch_size=null",
        *extra,
    ]


def _env(**extra: str) -> dict[str, str]:
    """This environment for a CLI run, less the switches an in-process sweep may have set."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **extra}
    for name in ("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "HF_HUB_DISABLE_PROGRESS_BARS"):
        env.pop(name, None)
    return env


def cli(args: list[str], *, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``python -m sweeper ARGS`` from the project root, stdout and stderr on pipes."""
    env = _env()
    return subprocess.run(
        [sys.executable, "-m", "sweeper", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def cli_on_a_terminal(args: list[str], *, timeout: float = 300) -> str:
    """``python -m sweeper ARGS`` with stdout and stderr on a 120x40 pseudo-terminal."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = _env(TERM="xterm-256color")
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS"):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "sweeper", *args],
        cwd=ROOT,
        env=env,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        start_new_session=True,
    )
    os.close(terminal)
    out = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(controller, 65536)
                except OSError:  # EIO: the terminal's last writer has gone
                    break
                if not chunk:
                    break
                out += chunk
            elif process.poll() is not None:
                break
        code = process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(controller)
    text = out.decode("utf-8", "replace")
    assert code == 0, text[-3000:]
    return text


def _lines(out: str, pattern: str) -> list[re.Match[str]]:
    return [m for line in out.splitlines() if (m := re.search(pattern, line))]


# -- plain lines (a pipe: CI, log files) -------------------------------------------------------


@pytest.fixture(scope="module")
def piped(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    root = tmp_path_factory.mktemp("piped")
    done = cli(fake_args(root, "tracking=none", "sweep.n_trials=3", ENQUEUE))
    assert done.returncode == 0, done.stderr[-3000:]
    return root, done


def test_a_pipe_gets_one_line_per_evaluation_and_per_trial(
    piped: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    root, done = piped
    out = done.stdout
    study = optuna.load_study(study_name="t", storage=f"sqlite:///{root}/optuna.db")
    states = {t.number: t.state.name for t in study.trials}
    assert states == {0: "COMPLETE", 1: "PRUNED", 2: "FAIL", 3: "COMPLETE"}
    log_part = out.split("=" * 30)[0]
    assert all(LINE.match(line) for line in log_part.splitlines())  # nothing but log lines
    assert "\x1b[" not in out and "━" not in out and "\r" not in out  # no redraws
    assert done.stderr == ""  # no warnings, no library output

    starts = _lines(
        out,
        r"trial (\d+) starts \((\d) of 3\): (.*) \| examples=320 epochs=\d batch=32 accum=1 "
        r"effective_batch=32 steps/epoch=10 total_steps=(\d+) warmup_steps=\d+$",
    )
    # Trial 2 fails mid-training (after its first evaluation); its epochs are sampled.
    assert [int(m[1]) for m in starts] == [0, 1, 2, 3]
    assert "lr=1.00e-04" in starts[0][3] and "num_epochs=2" in starts[0][3]
    assert "weight_decay=0.123" in starts[2][3]
    assert [int(m[4]) for i, m in enumerate(starts) if i != 2] == [20, 10, 30]

    ends = _lines(
        out,
        r"trial (\d+) (complete|pruned|failed)(?: val_loss=(\S+))? in \d+s.*"
        r"\| sweep (\d)/3 finished: (\d) complete, (\d) pruned, (\d) failed.*",
    )
    words = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed"}
    assert [(int(m[1]), m[2]) for m in ends] == [(n, words[s]) for n, s in states.items()]
    assert [tuple(int(m[i]) for i in range(4, 8)) for m in ends] == [
        (1, 1, 0, 0),
        (2, 1, 1, 0),
        (2, 1, 1, 1),  # a failed trial does not count towards the target
        (3, 2, 1, 1),
    ]
    assert float(ends[0][3]) == pytest.approx(study.trials[0].value, abs=1e-4)
    assert "(RuntimeError: scripted failure)" in _lines(out, r"trial 2 failed.*")[0][0]
    assert f"best val_loss {study.best_value:.4f} (trial 0)" in ends[-1][0]

    for trial in study.trials:
        evals = _lines(out, rf"trial {trial.number} eval (\d+) epoch (\S+) step (\d+)/\d+ lr \S+: ")
        recorded = trial.user_attrs.get("evals", [])
        assert [int(m[1]) for m in evals] == [e["index"] for e in recorded]
        assert [int(m[3]) for m in evals] == [e["step"] for e in recorded]
    assert "-> stop" in _lines(out, r"trial 3 eval \d+ .*")[-1][0]  # early stopping shown


def test_summary_has_the_table_counts_places_and_commands_that_paste(
    piped: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    root, done = piped
    summary = done.stdout[done.stdout.index("sweep summary: t") :]
    assert "trials:  3/3 finished: 2 complete, 1 pruned, 1 failed" in summary
    assert "data:    sst2 from scripted" in summary
    header = next(line for line in summary.splitlines() if line.startswith("trial  state"))
    # "ranked": each trial's value, the best of its median-smoothed curve (train.select_window),
    # which here is not any one evaluation's val_loss
    assert header.split() == [
        "trial",
        "state",
        "ranked",
        "val_loss",
        "accuracy",
        "best_epoch",
        "epochs_run",
        "lr",
        "warmup_ratio",
        "num_epochs",
        "scheduler",
        "weight_decay",
    ]
    assert all(line == line.rstrip() for line in summary.splitlines())
    assert f"storage: sqlite:///{root}/optuna.db" in summary
    dashboard = next(line for line in summary.splitlines() if "optuna-dashboard" in line)
    assert shlex.split(dashboard.split("#")[0]) == [
        "optuna-dashboard",
        f"sqlite:///{root}/optuna.db",
    ]
    recommend = next(line for line in summary.splitlines() if "sweeper.recommend" in line)
    words = shlex.split(recommend, comments=True)
    # Pasted into a shell, the command gets the sweep's overrides back word for word.
    assert words == [
        "python",
        "-m",
        "sweeper.recommend",
        *fake_args(root, "tracking=none", "sweep.n_trials=3", ENQUEUE),
    ]


@pytest.mark.parametrize(
    ("best_value", "shows_ranked"),
    [
        (0.41, False),  # ranked by the single best evaluation (select_window=0): its val_loss
        (0.43, True),  # a median-smoothed best: the value the trials are ranked by is shown
    ],
)
def test_the_top_trials_show_what_they_are_ranked_by_only_where_it_is_not_a_shown_value(
    best_value: float, shows_ranked: bool
) -> None:
    from sweeper.sweep_summary import trials_table
    from sweeper.trial_record import TrialRecord

    best = {"best_value": best_value, "best_val_loss": 0.41, "best_accuracy": 0.8}
    row = TrialRecord(number=0, state="COMPLETE", params={"lr": 1e-4}, value=best_value, best=best)
    header, line = trials_table([row], metric="accuracy", names=["lr"]).splitlines()
    assert ("ranked" in header.split()) is shows_ranked
    assert ("0.4300" in line.split()) is shows_ranked


# -- a terminal: bars ----------------------------------------------------------------------------


def test_a_terminal_gets_a_sweep_bar_and_a_trial_bar(tmp_path: Path) -> None:
    out = cli_on_a_terminal(
        fake_args(
            tmp_path,
            "tracking=none",
            "sweep.n_trials=2",
            "+data.sleep_per_eval=0.4",  # slow enough for the bars to be drawn mid-trial
            "sweep.enqueue=[{lr: 1.0e-4, weight_decay: 0.0, num_epochs: 2}, "
            "{lr: 2.0e-4, weight_decay: 0.0, num_epochs: 1}]",
        )
    )
    assert "\x1b[?25l" in out  # the live display hides the cursor while it redraws
    plain = ANSI.sub("", out)
    bars = [line for line in re.split(r"[\r\n]", plain) if "━" in line]
    sweep_bars = [b for b in bars if re.search(r"^sweep\s+━.* [012]/2 ", b)]
    trial_bars = [b for b in bars if re.search(r"^trial [01] +━.* \d+/(20|10) ", b)]
    assert sweep_bars and trial_bars
    assert any(re.search(r"lr \d\.\d\de-0\d", b) for b in trial_bars)  # the current LR
    assert any("val_loss 0." in b for b in trial_bars)  # the last validation loss
    assert any("ETA" in b for b in sweep_bars + trial_bars)
    assert any(
        re.search(r"\d complete \d pruned \d failed \| best 0\.\d{4} \(#[01]\)", b)
        for b in sweep_bars
    )
    assert re.match(r"sweep\s+━+ 2/2 ", bars[-1])  # the final state stays on screen
    # Trial start/end lines print above the bars; evaluation lines are left to the bars.
    assert "trial 0 starts (1 of 2)" in plain and "trial 1 complete" in plain
    assert "trial 0 eval 1 epoch" not in plain
    assert "sweep summary: t" in plain
    (run_log,) = tmp_path.glob("runs/*/sweeper.log")  # the run's log file has them all
    assert len(_lines(run_log.read_text(), r"\[sweeper\]\[INFO\] trial \d eval \d")) == 4 + 2


def test_quiet_gets_plain_lines_on_a_terminal_too(tmp_path: Path) -> None:
    out = cli_on_a_terminal(
        fake_args(
            tmp_path,
            "quiet=true",
            "tracking=none",
            "sweep.n_trials=1",
            "sweep.enqueue=[{lr: 1.0e-4, weight_decay: 0.0, num_epochs: 1}]",
        )
    )
    assert "━" not in out and "\x1b[?25l" not in out
    assert len(_lines(out, r"trial 0 eval \d epoch")) == 2
    assert _lines(out, r"trial 0 complete val_loss=\S+ in \d+s")


# -- the display's arithmetic --------------------------------------------------------------------


def test_a_trial_ending_before_its_start_line_names_its_params_at_the_end(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO", logger="sweeper")
    progress = Progress(n_trials=3, finished=0, monitor="val_loss", quiet=True)
    progress.trial_begins(0, {"lr": 1e-4, "weight_decay": 0.123})
    progress.trial_ends(0, "FAIL", None, "RuntimeError: no GPU")  # before any step plan
    progress.trial_begins(1, {"lr": 2e-4})
    progress.trial_started(
        plan_steps(
            num_examples=320,
            batch_size=32,
            num_epochs=1,
            grad_accum=1,
            drop_last=False,
            warmup_ratio=0.1,
        )
    )
    progress.trial_ends(1, "FAIL", None, "RuntimeError: later")
    out = caplog.text
    (failed_early,) = _lines(out, r"trial 0 failed.*")
    assert "lr=1.00e-04 weight_decay=0.123" in failed_early[0]
    (failed_late,) = _lines(out, r"trial 1 failed.*")
    assert "lr=" not in failed_late[0]  # already on its start line


def test_eta_counts_the_running_trial_and_a_metric_is_maximized() -> None:
    progress = Progress(n_trials=5, finished=1, monitor="accuracy", quiet=True)
    assert progress.eta() is None  # nothing ran in this process yet
    progress.trial_begins(1, {"lr": 1e-4})
    progress.trial_ends(1, "COMPLETE", 0.80, "")
    progress.trial_begins(2, {"lr": 2e-4})
    progress.trial_ends(2, "COMPLETE", 0.85, "")
    progress.started = time.monotonic() - 100  # two trials took 100 s
    assert progress.eta() == pytest.approx(100 / 2 * 2, rel=0.01)  # 3/5 finished: 2 to go
    assert progress.eta(fraction=0.5) == pytest.approx(100 / 2.5 * 1.5, rel=0.01)
    assert progress.best == (0.85, 2)  # accuracy: higher is better
    progress.trial_begins(3, {"lr": 3e-4})
    progress.trial_ends(3, "FAIL", None, "RuntimeError: boom")
    assert progress.sweep_line().startswith("3/5 finished: 2 complete, 0 pruned, 1 failed")
    assert "best accuracy 0.8500 (trial 2)" in progress.sweep_line()


def test_fmt_params_is_short() -> None:
    assert fmt_params({"lr": 1.234e-5, "warmup_ratio": 0.1, "scheduler_kwargs.power": 2.0}) == (
        "lr=1.23e-05 warmup_ratio=0.1 power=2"
    )


# -- library chatter ---------------------------------------------------------------------------


@pytest.fixture
def logging_state() -> Iterator[None]:
    """Restore the library loggers and environment that quiet_libraries changes."""
    names = ("transformers", "optuna", "mlflow", "datasets", "huggingface_hub", "matplotlib")
    saved = {
        n: (lg.level, lg.propagate, list(lg.handlers))
        for n in names
        for lg in [logging.getLogger(n)]
    }
    env = {k: os.environ.get(k) for k in ("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT",)}
    import transformers.utils.logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    yield
    if bars:
        hf_logging.enable_progress_bar()
    for name, (level, propagate, handlers) in saved.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.propagate = propagate
        logger.handlers[:] = handlers
    for key, value in env.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.mark.usefixtures("logging_state")
def test_quiet_libraries_routes_library_loggers_and_obeys_verbose() -> None:
    import transformers.utils.logging  # installs its own stderr handler, no propagation

    os.environ.pop("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", None)
    quiet_libraries(False)
    hf = logging.getLogger("transformers")
    assert hf.propagate and not [h for h in hf.handlers if type(h) is logging.StreamHandler]
    assert hf.level == logging.ERROR and logging.getLogger("optuna").level == logging.ERROR
    assert logging.getLogger("mlflow").level == logging.WARNING
    assert os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] == "true"
    assert transformers.utils.logging.is_progress_bar_enabled() is False
    quiet_libraries(True)  # hydra.verbose=true
    assert hf.level == logging.INFO and logging.getLogger("mlflow").level == logging.INFO
    assert "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT" not in os.environ  # links are printed again
    quiet_libraries(["transformers"])  # hydra.verbose=transformers
    assert hf.level == logging.DEBUG and logging.getLogger("mlflow").level == logging.WARNING


def test_next_commands_quote_and_never_print_a_password(monkeypatch: pytest.MonkeyPatch) -> None:
    from sweeper.secrets import register_url

    url = "postgresql+psycopg://sweeper:s3cret@db.example:5432/studies"
    monkeypatch.setenv("SWEEPER_STORAGE_URL", url)
    register_url(url)
    commands = dict(
        next_commands(
            tracking=open_commands("http://mlflow.internal:5000", experiment_id="7"),
            storage_cfg={"kind": "postgres", "url": url},
            overrides=["data.task=mrpc", "+search_space.x={type: float, low: 0, high: 1}"],
        )
    )
    text = "\n".join(commands)
    assert "s3cret" not in text
    assert 'optuna-dashboard "$SWEEPER_STORAGE_URL"' in commands
    assert "http://mlflow.internal:5000/#/experiments/7/runs" in commands
    recommend = next(c for c in commands if "recommend" in c)
    assert shlex.split(recommend)[3:] == [
        "data.task=mrpc",
        "+search_space.x={type: float, low: 0, high: 1}",
    ]
    journal = dict(
        next_commands(
            tracking=open_commands("sqlite:////tmp/a b/mlflow.db", experiment_id="1"),
            storage_cfg={"kind": "journal", "path": "/tmp/a b/optuna.journal"},
            overrides=[],
        )
    )
    assert "optuna-dashboard '/tmp/a b/optuna.journal'" in journal
    assert "python -m sweeper.ui --backend-store-uri 'sqlite:////tmp/a b/mlflow.db'" in journal


def test_dashboard_line_says_how_to_install_it_when_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def commands() -> dict[str, str]:
        cfg = {"kind": "sqlite", "url": "sqlite:///x/optuna.db"}
        return dict(
            next_commands(
                tracking=open_commands("sqlite:///x/mlflow.db", experiment_id="1"),
                storage_cfg=cfg,
                overrides=[],
            )
        )

    assert commands()["optuna-dashboard sqlite:///x/optuna.db"].endswith("127.0.0.1:8080")
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None)
    assert commands()["optuna-dashboard sqlite:///x/optuna.db"].endswith(
        "(first: pip install optuna-dashboard)"
    )


def test_ui_command_and_the_experiment_pages_it_prints(tmp_path: Path) -> None:
    from sweeper.commands import ui
    from sweeper.config import compose
    from sweeper.run import run

    run(compose(fake_args(tmp_path, "quiet=true", "sweep.n_trials=1")))
    store = f"sqlite:///{tmp_path}/mlflow.db"
    cmd = ui.command(["--backend-store-uri", store, "--port", "5099"])
    assert cmd == [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        store,
        "--host",
        "127.0.0.1",
        "--port",
        "5099",
        "--workers",
        "1",
    ]
    # The page the summary links to, so a user goes from either straight to the comparison.
    assert ui.experiment_pages(store, "http://127.0.0.1:5099") == [
        "default: http://127.0.0.1:5099/#/experiments/1/runs"
    ]
    with pytest.raises(SystemExit):  # no store there: a one-line error, no server
        ui.command(["--backend-store-uri", f"sqlite:///{tmp_path}/nothing.db"])


# -- plots --------------------------------------------------------------------------------------


def test_plots_have_titles_axis_labels_legends_and_a_log_lr_axis(
    piped: tuple[Path, subprocess.CompletedProcess[str]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from sweeper import plots
    from sweeper.sweep_summary import make_plots
    from sweeper.trial_record import records

    root, _ = piped
    study = optuna.load_study(study_name="t", storage=f"sqlite:///{root}/optuna.db")
    figures: dict[str, Any] = {}
    save = plots._save

    def keep(fig: Any, out: Path) -> Path:
        ax = fig.axes[0]
        figures[out.name] = {
            "title": ax.get_title(),
            "xlabel": ax.get_xlabel(),
            "ylabel": ax.get_ylabel(),
            "yscale": ax.get_yscale(),
            "legend": [t.get_text() for t in ax.get_legend().get_texts()]
            if ax.get_legend()
            else [],
        }
        return save(fig, out)

    monkeypatch.setattr(plots, "_save", keep)
    files = make_plots(
        records(study), tmp_path, study=study, direction="minimize", monitor="val_loss"
    )
    assert {f.name for f in files} >= {
        "lr_curves.png",
        "val_loss_curves.png",
        "optimization_history.png",
        "best_epochs.png",
    }
    for name, fig in figures.items():
        assert fig["title"] and fig["xlabel"], name
        assert (tmp_path / name).stat().st_size > 5_000, name
    assert figures["lr_curves.png"]["yscale"] == "log"
    assert "learning rate" in figures["lr_curves.png"]["ylabel"]
    assert any(
        t.startswith("#0 ") and "peak 1.0e-04" in t for t in figures["lr_curves.png"]["legend"]
    )
    # The parent run's curves are the finished trials' (the failed one's stay on its own run).
    with_evals = [t for t in study.trials if t.user_attrs.get("evals") and t.state.name != "FAIL"]
    assert len(figures["val_loss_curves.png"]["legend"]) == len(with_evals) == 2
    assert figures["val_loss_curves.png"]["legend"][0].startswith("#0 lr 1.0e-04 ")
    assert figures["val_loss_curves.png"]["ylabel"] == "validation loss"
    assert "pruned" in figures["optimization_history.png"]["legend"]
    assert "failed" in figures["optimization_history.png"]["legend"]


# -- real model: no noise unless verbose ---------------------------------------------------------


@pytest.mark.slow
def test_a_real_sweep_prints_no_library_noise_unless_verbose(tmp_path: Path) -> None:
    from tests.servers import mlflow_server

    # The packaged MiniLM cut to one layer: its classifier head is new, so transformers has a
    # load report to print, and the sweep logs to an MLflow server, which prints run links.
    args = [
        "data=builtin",
        "data.builtin.num_train=96",
        "data.builtin.num_eval=32",
        "model.num_hidden_layers=1",
        "train.batch_size=32",
        "train.evals_per_epoch=1",
        "search_space.num_epochs.high=1",
        "train.num_epochs=1",
        "sweep.n_trials=1",
    ]
    store = f"sqlite:///{tmp_path}/mlflow-server.db"
    with mlflow_server(store, tmp_path / "mlflow.log") as base:
        quiet = cli([f"results_dir={tmp_path / 'a'}", f"tracking.uri={base}", *args])
        verbose = cli(
            [f"results_dir={tmp_path / 'b'}", f"tracking.uri={base}", "hydra.verbose=true", *args]
        )
    assert quiet.returncode == 0, quiet.stderr[-3000:]
    assert verbose.returncode == 0, verbose.stderr[-3000:]
    seen = quiet.stdout + quiet.stderr
    assert [n for n in NOISE if n in seen] == []
    assert quiet.stderr == ""
    # (the step count is the queued recipe's: its batch of 16 or 32 on 96 examples)
    assert _lines(quiet.stdout, r"trial 0 eval 1 epoch 1.00 step (\d+)/\1 lr \S+: val_loss=")
    # The same run with hydra.verbose=true: the library lines are back (so the quiet run's
    # silence is not an accident of this setup), and sweeper's own DEBUG lines show.
    loud = verbose.stdout + verbose.stderr
    assert "LOAD REPORT" in loud
    assert "View run trial-0000 at: http://127.0.0.1" in loud
    assert "A new study created" in loud
