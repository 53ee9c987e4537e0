"""Benchmarks run by `make bench` (never by pytest): each prints its measured figures."""
