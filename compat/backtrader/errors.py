"""``bt.errors``: exception types Backtrader strategies may raise or catch."""


class BacktraderError(Exception):
    """Base exception of the Backtrader API."""


class StrategySkipError(BacktraderError):
    """Raised in a strategy's ``__init__`` to skip it (e.g. one optimisation combination)."""


class ModuleImportError(BacktraderError):
    pass


class FromPackageImportError(ModuleImportError):
    pass


__all__ = ["BacktraderError", "StrategySkipError", "ModuleImportError",
           "FromPackageImportError"]
