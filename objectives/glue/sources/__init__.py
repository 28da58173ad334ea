"""The data-source registry of the text objective: ``(data.preset, data.source) -> Source``.

A new source is one module here defining ``SOURCE`` (a :class:`~.base.Source`: a ``check`` and
a ``load``), its line in :data:`SOURCES` and a ``conf/data/<name>.yaml`` that selects it.
Subsets, the validation split, tokenization and training are shared by every source.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from objectives.glue.sources import auto, builtin, files, glue_dir, hub
from objectives.glue.sources.base import Source
from sweeper.errors import ConfigError

# In the order error messages list them.
SOURCES: tuple[Source, ...] = (
    auto.SOURCE,
    glue_dir.SOURCE,
    hub.GLUE,
    builtin.SOURCE,
    files.SOURCE,
    hub.OWN,
)
PRESETS: tuple[str | None, ...] = ("glue", None)


def source_of(cfg: Mapping[str, Any]) -> Source:
    """The source ``data.preset`` and ``data.source`` select.

    Raises:
        ConfigError: an unknown preset, or a source the preset does not have.
    """
    preset = cfg.get("preset", "glue")
    if preset not in PRESETS:
        raise ConfigError(f"data.preset must be one of {list(PRESETS)} but got {preset!r}.")
    name = cfg.get("source", "auto")
    names = [s.name for s in SOURCES if s.preset == preset]
    for source in SOURCES:
        if source.preset == preset and source.name == name:
            return source
    if preset is None:
        raise ConfigError(
            f"data.source must be one of {names} for your own data (data.preset=null) but got "
            f"{name!r}."
        )
    raise ConfigError(f"data.source must be one of {names} but got {name!r}.")


__all__ = ["PRESETS", "SOURCES", "Source", "source_of"]
