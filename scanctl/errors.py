"""The exit codes of PRODUCT.md §3 as one enum, and the named errors that carry them.

Library code raises a `ScanctlError` subclass or returns an outcome with an `ExitCode`; the CLI
maps both to the process exit code in one place (`scanctl.cli.main`).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes (stable; the README's table)."""

    OK = 0  # success; also an expected skip (not a session, already done)
    INTERNAL = 1  # unexpected internal error
    USAGE = 2  # usage or bad input: unknown version, malformed date, bad file or config,
    # a store that is missing, read-only, not scanctl's or newer (`StoreError`)
    DATA_NOT_READY = 3  # no or partial bars for the scan date; nothing scanned
    PARTIAL = 4  # at least one requested version failed, the others were stored
    NOTIFY_FAILED = 5  # results stored, notification failed
    ALL_FAILED = 6  # every requested version failed
    LOCK_BUSY = 75  # another scanctl run holds the lock (EX_TEMPFAIL)


class ScanctlError(Exception):
    """Base of every error scanctl reports to its user; `exit_code` is the process exit code."""

    exit_code: ExitCode = ExitCode.INTERNAL


class BadInput(ScanctlError, ValueError):
    """Usage or input error: unknown version, malformed date, bad file, unknown setting."""

    exit_code = ExitCode.USAGE


class ConfigError(BadInput):
    """The configuration file, a SCANCTL_* variable or a flag has a bad key or value."""


class StoreError(BadInput):
    """The store cannot be used as it is: missing (where only `data import|demo|sync` create
    one), read-only, not SQLite, another program's SQLite file, or a newer schema."""


class DataNotReady(ScanctlError):
    """No or partial bars for the scan date, or a validation gate failed: nothing was written."""

    exit_code = ExitCode.DATA_NOT_READY


class NotifyFailed(ScanctlError):
    """A notification that was asked for directly (`notify test`, `notify retry`) failed."""

    exit_code = ExitCode.NOTIFY_FAILED


class LockBusy(ScanctlError):
    """Another scanctl run holds the lock."""

    exit_code = ExitCode.LOCK_BUSY
