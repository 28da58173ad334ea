"""The classic hand-written fine-tuning loop, as a sweeper objective.

``plain.py`` is the loop as people write it (DataLoader, AdamW, ``get_scheduler``,
``for epoch ... for batch ...``, evaluate, early stop); ``train.py`` is the same loop made
sweepable, each changed line marked ``# sweeper:``. Both train on the small generated task of
``task.py``. Sweep it with ``python -m sweeper +experiment=classic``.
"""
