"""Named errors with the exit codes of PRODUCT.md §3; the CLI maps them in one place."""

from __future__ import annotations


class ScanctlError(Exception):
    """Base of every error scanctl reports to its user; `exit_code` is the process exit code."""

    exit_code = 1


class BadInput(ScanctlError, ValueError):
    """Usage or input error: unknown version, malformed date, bad file, unknown setting."""

    exit_code = 2


class ConfigError(BadInput):
    """The configuration file or a SCANCTL_* variable is invalid."""


class StoreError(BadInput):
    """The database cannot be opened, is corrupt, or has a schema newer than this scanctl."""


class DataNotReady(ScanctlError):
    """No or partial bars for the scan date, or a validation gate failed: nothing was written."""

    exit_code = 3


class PartialFailure(ScanctlError):
    """At least one requested version failed; the others were stored."""

    exit_code = 4


class NotifyFailed(ScanctlError):
    """Results were stored but the notification failed."""

    exit_code = 5


class AllVersionsFailed(ScanctlError):
    """Every requested version failed."""

    exit_code = 6


class LockBusy(ScanctlError):
    """Another scanctl run holds the lock (EX_TEMPFAIL)."""

    exit_code = 75
