"""Running a sweeper command as a Hydra app: overrides checked first, one-line errors, exit codes.

Every Hydra command (``python -m sweeper``, ``sweeper.train``, ``sweeper.recommend``,
``sweeper.seedrace``) is a thin ``main(argv)`` in :mod:`sweeper.commands` that hands its logic to
:func:`run_hydra`.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

# MLflow configures its own loggers at import (INFO, to stderr); keep its table-creation chatter
# out of the console unless the user asks for it.
os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")

import hydra
from omegaconf import DictConfig

from sweeper.config import CONF_DIR, check_overrides, output_folders
from sweeper.errors import SweeperError

# Flags with which Hydra prints and exits: no job runs, nothing is written.
_NO_JOB = (
    "--help",
    "-h",
    "--hydra-help",
    "--version",
    "--cfg",
    "-c",
    "--info",
    "-i",
    "--shell-completion",
    "-sc",
)


def with_overrides(args: Sequence[str], extra: Sequence[str]) -> list[str]:
    """``args`` with ``extra`` overrides placed next to the user's own overrides.

    Hydra reads overrides as one run of positional arguments: appended after an option
    (``+experiment=glue --cfg job hydra/help=train``) they would be a second run, which its
    parser refuses. So ``extra`` goes right after the last override, or first when there is none.
    """
    out = list(args)
    last = max(
        (i for i, a in enumerate(out) if not a.startswith("-") and ("=" in a or a[:1] == "~")),
        default=-1,
    )
    return [*out[: last + 1], *extra, *out[last + 1 :]]


def run_hydra(
    task: Callable[[DictConfig], Any],
    argv: Sequence[str] | None = None,
    *,
    help_page: str = "sweeper",
) -> int:
    """Run ``task`` as a Hydra app over ``conf/`` with command-line ``argv``; the exit code.

    A :class:`SweeperError` becomes one line on stderr and exit code 2; SIGINT/SIGTERM exit
    130/143 (the study stays resumable). ``results_dir`` and Hydra's run folder are checked
    for writing before Hydra starts: Hydra creates its run folder before ``task`` runs, and a
    folder it cannot create would end in its traceback.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        cfg = check_overrides(args)
        if cfg is not None and not any(arg.split("=")[0] in _NO_JOB for arg in args):
            from sweeper.outages import check_writable

            multirun = "-m" in args or "--multirun" in args
            for key, folder in output_folders(cfg, multirun=multirun):
                check_writable(folder, what=key)  # full or read-only: one line, exit 2
    except SweeperError as err:
        print(f"error: {err}", file=sys.stderr, flush=True)
        return err.exit_code

    @hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
    def _main(cfg: DictConfig) -> Any:
        try:
            return task(cfg)
        except SweeperError as err:
            # One line, no traceback: the key or file, the value and what is allowed.
            print(f"error: {err}", file=sys.stderr, flush=True)
            sys.exit(err.exit_code)
        except KeyboardInterrupt as err:
            sys.exit(143 if getattr(err, "signame", "") == "SIGTERM" else 130)
        except Exception as err:
            from sweeper.outages import storage_failure

            failure = storage_failure(err)  # the database, mid-sweep: one line too
            if failure is None:
                raise
            print(f"error: {failure}", file=sys.stderr, flush=True)
            sys.exit(failure.exit_code)

    saved = sys.argv
    # Each command's own --help (conf/hydra/help/<help_page>.yaml).
    page = [] if help_page == "sweeper" else [f"hydra/help={help_page}"]
    sys.argv = [saved[0] if saved else "sweeper", *with_overrides(args, page)]
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        _main()
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    finally:
        sys.argv = saved
        # Hydra's job logging leaves a handler on the run's log file; a command called
        # in-process (tests, a notebook) must not leave that file open once it returns.
        for handler in root.handlers:
            if handler not in before and isinstance(handler, logging.FileHandler):
                root.removeHandler(handler)
                handler.close()
        # Nor Hydra's global job config: after --help or --cfg it has no run folder, and the
        # next command in the same process read that half-made job (runtime.output_dir).
        from hydra.core.hydra_config import HydraConfig

        HydraConfig.instance().cfg = None
    return 0


__all__ = ["run_hydra", "with_overrides"]
