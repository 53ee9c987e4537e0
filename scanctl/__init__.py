"""scanctl: the daily KOSPI/KOSDAQ stock scanner."""

__version__ = "0.1.0"
