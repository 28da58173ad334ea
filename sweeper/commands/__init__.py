"""The command lines: one module per command, each a ``main(argv) -> exit code``.

A command parses its arguments (or hands them to Hydra through :func:`sweeper.cli.run_hydra`),
calls the library and prints; the logic it calls lives below it, which imports nothing here.
``python -m sweeper.X`` runs a shim of three lines that calls ``sweeper.commands.X.main``.
"""
