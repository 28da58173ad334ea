"""Training objectives: each trains and evaluates, reporting to a sweeper reporter."""
