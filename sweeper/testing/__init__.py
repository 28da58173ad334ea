"""What tests and benchmarks share, shipped with the package (as ``optuna.testing`` is): a
scripted objective with no model (:mod:`.fake_objective`), a tiny random BERT
(:mod:`.tiny_model`) and loopback servers with a proxy that takes one away (:mod:`.servers`).

Nothing in sweeper imports this package; ``scripts/`` and ``tests/`` do.
"""
