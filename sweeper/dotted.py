"""A Python object named in the config by its dotted path (``package.module.Name``).

The one importer for every such name: ``objective:``, and the ``_target_`` of a sampler or a
pruner. Each failure is one line naming the key and the value.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from sweeper.errors import ConfigError


def import_dotted(path: str, *, key: str, allowed: str, form: str = "package.module.Class") -> Any:
    """The object a dotted ``path`` names: the longest importable module, then attributes.

    Args:
        path: The dotted name, as configured.
        key: The config key that holds it, for the messages (``objective``, ``pruner._target_``).
        allowed: What the key accepts, appended where a module is missing.
        form: The dotted form the key expects, for a name that is not dotted at all.

    Raises:
        ConfigError: one line naming ``key`` and ``path``: not a dotted name, no such module,
            the module failed at import (with its error), or no such attribute (with what the
            module offers).
    """
    parts = path.split(".")
    if not path or not all(part.isidentifier() for part in parts):
        raise ConfigError(f"{key} must be a dotted Python name ({form}) but got {path!r}.")
    target: Any = None
    taken = 0  # leading parts that are modules; the rest are attributes
    for i in range(1, len(parts) + 1):
        name = ".".join(parts[:i])
        try:
            target = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name == name and i > 1:
                break  # not a module: an attribute of the one before
            if err.name == name:
                raise ConfigError(
                    f"{key}={path}: no module {name!r} (not installed, not on PYTHONPATH); "
                    f"{allowed}."
                ) from None
            raise ConfigError(f"{key}={path}: importing {name} failed: {err}.") from None
        except Exception as err:  # the user's module failed at import: say how, on one line
            first = str(err).strip().splitlines()[0] if str(err).strip() else ""
            raise ConfigError(
                f"{key}={path}: importing {name} failed: {type(err).__name__}: {first}."
            ) from None
        taken = i
    for attr in parts[taken:]:
        if not hasattr(target, attr):
            where = target.__name__ if isinstance(target, ModuleType) else repr(target)
            raise ConfigError(f"{key}={path}: {where} has no {attr!r}; it has {offers(target)}.")
        target = getattr(target, attr)
    return target


def offers(target: Any) -> list[str]:
    """The public classes and functions defined in module (or class) ``target``."""
    home = getattr(target, "__name__", None)
    return sorted(
        name
        for name, value in vars(target).items()
        if not name.startswith("_")
        and callable(value)
        and (not isinstance(target, ModuleType) or getattr(value, "__module__", None) == home)
    )


__all__ = ["import_dotted", "offers"]
