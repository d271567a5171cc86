"""Errors the project raises on purpose, so callers can tell them from bugs."""


class EmilyError(Exception):
    """Base of every error Emily raises deliberately; the CLI prints these without a traceback."""


class ConfigError(EmilyError):
    """A setting has a value of the wrong form; the message names key, value and expected form."""


class InputError(EmilyError, ValueError):
    """Data handed to Emily is malformed; the message says what was wrong and what is expected."""


class BusyError(EmilyError):
    """A shared resource stayed taken past its wait limit; nothing was changed, so retrying is
    safe (the API answers 503 with ``Retry-After`` rather than blaming the request)."""
