"""Learning-curve banks: every evaluation of an exhaustive, unpruned study, in one small file.

A bank is recorded once (``python -m sweeper.bank record``: a grid sweep through
:func:`sweeper.run.run` with ``pruner=none`` and no early stopping) and replayed many times
(:mod:`sweeper.replay`) to compare sweep policies in seconds instead of hours.


One concept per module, all re-exported here (``from sweeper.bank import X``):

- :mod:`~sweeper.bank.file`: :class:`Bank` and :class:`Curve`, the file format, ``save`` /
  ``load`` / ``describe``;
- :mod:`~sweeper.bank.exporting`: a bank from a finished, unpruned sweeper study;
- :mod:`~sweeper.bank.timing`: seconds per evaluation measured while recording;
- :mod:`~sweeper.bank.grid`: the recorded grid, parsed and queued as overrides;
- :mod:`~sweeper.bank.recording`: the exhaustive study run and exported, with its provenance;
- :mod:`~sweeper.bank.merging`: chunks recorded apart (a seed at a time) joined into one bank.
"""

from __future__ import annotations

from sweeper.bank.exporting import export
from sweeper.bank.file import FORMAT, Bank, Curve, describe, load, save
from sweeper.bank.grid import DEFAULT_GRID, grid_overrides, grid_points, parse_grid
from sweeper.bank.merging import merge
from sweeper.bank.recording import provenance, record
from sweeper.bank.timing import TimedObjective, read_timings, settings_key

__all__ = [
    "DEFAULT_GRID",
    "FORMAT",
    "Bank",
    "Curve",
    "TimedObjective",
    "describe",
    "export",
    "grid_overrides",
    "grid_points",
    "load",
    "merge",
    "parse_grid",
    "provenance",
    "read_timings",
    "record",
    "save",
    "settings_key",
]
