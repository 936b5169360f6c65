"""Exception types shared by the whole package."""


class AstrogliaError(Exception):
    """Base class of every error raised on purpose by astroglia."""


class ConfigError(AstrogliaError, ValueError):
    """An invalid configuration value; the message names the field, the value and what is allowed."""


class DataError(AstrogliaError, ValueError):
    """Missing, corrupt or ill-shaped data; the message says where it looked and how to fix it."""


class NonFiniteCostError(AstrogliaError, FloatingPointError):
    """A cost evaluation returned NaN or inf; ``step`` is the training step at which it happened."""

    def __init__(self, message: str, step: int | None = None) -> None:
        super().__init__(message)
        self.step = step
