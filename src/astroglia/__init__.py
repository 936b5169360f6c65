"""astroglia: astrocyte-inspired learning algorithms.

Two algorithms, each usable as a library and from the ``astroglia`` command:

- Multiplexed Gradient Descent (:mod:`astroglia.mgd`): zero-order training by simultaneous, coded
  perturbation of all parameters and one broadcast scalar cost change.
- Rhythmic Sharing (:mod:`astroglia.rhythmic`): a reservoir computer whose link strengths oscillate with
  Kuramoto-coupled, activity-driven phases.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
