"""A minimal scikit-learn-style estimator base: ``get_params``/``set_params`` from the signature, ``clone``.

scikit-learn is not a dependency; this is the part of its contract the Rhythmic Sharing estimator needs:
``__init__`` stores its keyword-only hyperparameters verbatim, ``get_params`` reads them back by the
constructor's signature, ``clone`` rebuilds an unfitted copy, and fitted attributes end in ``_``.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any, TypeVar

from astroglia.errors import AstrogliaError

__all__ = ["BaseEstimator", "NotFittedError", "check_is_fitted", "clone"]

E = TypeVar("E", bound="BaseEstimator")


class NotFittedError(AstrogliaError, AttributeError):
    """A method that needs a fitted estimator was called before ``fit``."""


class BaseEstimator:
    """Hyperparameter access by constructor signature (keyword-only arguments)."""

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values() if p.name != "self" and p.kind != p.VAR_KEYWORD]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Hyperparameters as a dict ``{name: value}`` (``deep`` is accepted for compatibility)."""
        del deep
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self: E, **params: Any) -> E:
        """Set hyperparameters by name; an unknown name raises ``ValueError`` listing the valid ones."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                cls = type(self).__name__
                raise ValueError(f"invalid parameter {name!r} for {cls}; valid: {', '.join(valid)}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__)
        changed = []
        for name, value in self.get_params().items():
            default = sig.parameters[name].default
            if default is inspect.Parameter.empty or default != value:
                changed.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(changed)})"


def clone(estimator: E, **overrides: Any) -> E:
    """A new, unfitted estimator with the same hyperparameters (deep-copied), optionally overridden."""
    params = {k: copy.deepcopy(v) for k, v in estimator.get_params().items()}
    params.update(overrides)
    return type(estimator)(**params)


def check_is_fitted(estimator: BaseEstimator, attribute: str = "readout_") -> None:
    """Raise :class:`NotFittedError` unless ``estimator`` has the fitted ``attribute``."""
    if not hasattr(estimator, attribute):
        name = type(estimator).__name__
        raise NotFittedError(
            f"This {name} instance is not fitted yet. Call 'fit' with appropriate arguments before using it."
        )
