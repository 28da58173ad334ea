"""GLUE fine-tuning objective: local GLUE folders, the hub, or a built-in demo task."""

from objectives.glue.objective import GlueObjective

__all__ = ["GlueObjective"]
