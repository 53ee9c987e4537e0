"""The block bootstrap and the sleeve portfolio of `evaluate`, on arrays whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from scanctl.reports.evaluate_stats import Bootstrap, sleeve_equity


def test_blocks_are_consecutive_sessions_wrapping_around():
    picked = Bootstrap(block_length=4, resamples=50).indices(10)
    assert picked.shape == (50, 10)
    for row in picked:
        # Blocks start at 0, 4, 8 (the last one cut to 2): each steps by 1 modulo 10.
        for start in (0, 4, 8):
            block = row[start : start + 4]
            assert ((np.diff(block) % 10) == 1).all(), row


def test_the_seed_fixes_the_draw():
    a = Bootstrap(block_length=3).indices(40)
    assert (a == Bootstrap(block_length=3).indices(40)).all()
    assert not (a == Bootstrap(block_length=3, seed=1).indices(40)).all()
    weights = Bootstrap(block_length=3).weights(40)
    assert (weights.sum(axis=1) == 40).all()  # every resample has 40 sessions


def test_constant_returns_give_a_point_interval():
    sums = np.full((30, 1), 2 * 0.03)  # two picks of +3 % on each of 30 sessions
    counts = np.full((30, 1), 2.0)
    ((low, high),) = Bootstrap(block_length=5).ratio_intervals(sums, counts)
    assert low == pytest.approx(0.03) and high == pytest.approx(0.03)


def test_one_session_has_no_interval():
    sums, counts = np.zeros((10, 2)), np.zeros((10, 2))
    sums[3], counts[3] = 0.05, 1  # group 0 and 1: one session each
    sums[5, 1], counts[5, 1] = 0.01, 1  # group 1: a second session
    bounds = Bootstrap(block_length=2).ratio_intervals(sums, counts)
    assert np.isnan(bounds[0]).all() and not np.isnan(bounds[1]).any()


def noisy_sessions(sessions: int, mean: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Three picks a session, each ``mean`` plus noise of 5 % (a fixed draw)."""
    draws = mean + 0.05 * np.random.default_rng(seed).standard_normal((sessions, 3))
    return draws.sum(axis=1, keepdims=True), np.full((sessions, 1), 3.0)


def test_the_interval_holds_the_true_mean_about_95_times_in_100():
    """Over 200 markets (fixed draws) the 95 % interval holds the true mean of +1 % 185
    times: 92.5 %, the usual slight shortfall of percentile intervals on 100 sessions."""
    markets = [noisy_sessions(100, 0.01, seed) for seed in range(200)]
    sums = np.hstack([m[0] for m in markets])  # (100 sessions, 200 markets as groups)
    counts = np.hstack([m[1] for m in markets])
    bounds = Bootstrap(block_length=10).ratio_intervals(sums, counts)
    hits = int(((bounds[:, 0] < 0.01) & (bounds[:, 1] > 0.01)).sum())
    assert hits >= 180


def test_the_interval_narrows_with_more_sessions():
    boot = Bootstrap(block_length=10)
    short = boot.ratio_intervals(*noisy_sessions(100, 0.01, seed=1))[0]
    long = boot.ratio_intervals(*noisy_sessions(1600, 0.01, seed=1))[0]
    # Sixteen times the sessions: about a quarter of the width (1/sqrt(16)).
    ratio = (long[1] - long[0]) / (short[1] - short[0])
    assert 0.15 < ratio < 0.4


def test_blocks_widen_the_interval_of_dependent_sessions():
    """Sessions that repeat in runs of 10 (overlapping windows) carry a tenth of the
    information: blocks of 10 see it, blocks of 1 pretend the sessions are independent."""
    runs = 0.05 * np.random.default_rng(3).standard_normal(40)
    sums = np.repeat(runs, 10)[:, None]
    counts = np.ones_like(sums)
    iid = Bootstrap(block_length=1).ratio_intervals(sums, counts)[0]
    blocked = Bootstrap(block_length=10).ratio_intervals(sums, counts)[0]
    assert (blocked[1] - blocked[0]) > 2 * (iid[1] - iid[0])


def test_the_band_of_a_steady_curve_is_the_curve():
    values = 1.002 ** np.arange(50)
    low, high = Bootstrap(block_length=5).band(values)
    assert low == pytest.approx(values) and high == pytest.approx(values)


def test_the_band_spreads_with_time():
    daily = 1 + 0.01 * np.random.default_rng(4).standard_normal(250)
    values = np.concatenate([[1.0], np.cumprod(daily)])
    low, high = Bootstrap(block_length=5).band(values)
    assert low[0] == high[0] == 1.0
    assert (low <= high).all()
    assert (high - low)[200] > (high - low)[20] > 0


def test_one_sleeve_per_session_cycle():
    """hold 2: sleeve 0 buys on session 0 (+10 % a session, no costs), sells on session 2 and
    buys again; sleeve 1 has no cohort on session 1 (cash) but one on session 3."""
    growth = np.array([1.0, 1.1, 1.21])
    cohorts = {0: growth, 2: growth, 3: growth}
    values = sleeve_equity(cohorts, 5, 2)
    # Session 0: 0.5 + 0.5; 1: 0.55 + 0.5; 2: sold at 0.605, rebought: 0.605 + 0.5;
    # 3: 0.6655 + 0.5 (sleeve 1 buys); 4: sleeve 0 sells at 0.73205, rebuys; sleeve 1 0.55.
    assert values == pytest.approx([1.0, 1.05, 1.105, 1.1655, 0.73205 + 0.55])


def test_costs_are_in_the_cohort_values():
    cohort = np.array([0.99, 0.99, 0.98])  # bought at a 1 % cost, sold at another 1 %
    values = sleeve_equity({0: cohort}, 4, 2)
    assert values == pytest.approx([0.5 + 0.495, 0.5 + 0.495, 0.5 + 0.49, 0.5 + 0.49])
