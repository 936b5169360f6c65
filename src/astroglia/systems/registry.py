"""Registry of the dynamical systems shipped with astroglia: ``get_system(name)``, ``list_systems()``."""

from __future__ import annotations

from astroglia.systems._base import DynamicalSystem
from astroglia.systems.lorenz import LORENZ
from astroglia.systems.roessler import ROESSLER
from astroglia.systems.thomas import THOMAS

_REGISTRY: dict[str, DynamicalSystem] = {s.name: s for s in (THOMAS, LORENZ, ROESSLER)}
_ALIASES = {"rossler": "roessler", "rössler": "roessler", "lorenz63": "lorenz", "lorenz-63": "lorenz"}


def list_systems() -> list[str]:
    """Names of the registered systems, sorted."""
    return sorted(_REGISTRY)


def get_system(name: str | DynamicalSystem) -> DynamicalSystem:
    """The system registered under ``name`` (case-insensitive; a :class:`DynamicalSystem` passes through).

    Raises:
        ValueError: the name is unknown; the message lists the known names.
    """
    if isinstance(name, DynamicalSystem):
        return name
    key = str(name).strip().lower()
    key = _ALIASES.get(key, key)
    try:
        return _REGISTRY[key]
    except KeyError:
        raise ValueError(f"unknown system {name!r}; known systems are {list_systems()}") from None
