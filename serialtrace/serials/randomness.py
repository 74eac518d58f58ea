"""Randomness check of issued serials, for auditors (pure: takes the serials, no I/O).

Three findings, each with its figure:

* **guessing probability** = issued / space: the chance that one guessed serial (a string
  of the pool's length and alphabet, after its fixed prefix) is a valid, issued one; the
  FMD requires it below 1 in 10,000 and the pool's cap may be stricter.
* **sequential runs**: in serial order, pairs of issued serials that are neighbours
  (value + 1) and the longest run of neighbours. For a uniform random sample of n out of
  N the expected number of neighbour pairs is n(n-1)/N (Poisson); many more means a
  counter, not a random draw.
* **character balance**: for each position after the prefix, a chi-square test of the
  character counts against equal frequencies (p-value by the Wilson-Hilferty
  approximation; skipped when fewer than 5 serials per character are expected).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from serialtrace.serials.ledger import Pool, decode_index

__all__ = ["RandomnessReport", "check_randomness"]

#: Below this p-value (after a Bonferroni split over positions) character balance fails.
ALPHA = 1e-4


@dataclass
class RandomnessReport:
    pool_id: str
    mode: str
    issued: int
    space: int
    guess_probability: float
    guess_limit: float
    neighbour_pairs: int
    expected_neighbour_pairs: float
    longest_run: int
    worst_position: int | None
    worst_position_p: float | None
    passed: bool
    findings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _chi2_sf(statistic: float, df: int) -> float:
    """Upper tail of the chi-square distribution (Wilson-Hilferty normal approximation)."""
    z = ((statistic / df) ** (1 / 3) - (1 - 2 / (9 * df))) / math.sqrt(2 / (9 * df))
    return 0.5 * math.erfc(z / math.sqrt(2))


def _poisson_sf(observed: int, mean: float) -> float:
    """P(X >= observed) for X ~ Poisson(mean)."""
    if observed <= 0:
        return 1.0
    term = math.exp(-mean)
    below = term
    for k in range(1, observed):
        term *= mean / k
        below += term
    return max(0.0, 1.0 - below)


def check_randomness(pool: Pool, serials: Sequence[str]) -> RandomnessReport:
    """Check ``serials`` (every serial the pool issued, in serial order)."""
    n = len(serials)
    space = pool.space
    probability = n / space if space else 0.0
    findings: list[str] = []
    passed = True
    limit = pool.max_guess_probability
    findings.append(
        f"guessing probability {n:,} / {space:,} = {probability:.3g} "
        f"(limit {limit:g}; FMD: below 1e-4)"
    )
    if probability >= 1e-4 or probability > limit:
        passed = False
        findings.append("FAIL: guessing probability above the limit")
    if pool.mode == "sequential":
        findings.append("FAIL: sequential pool, serials are consecutive by design")
        passed = False

    # neighbour pairs in serial order (fixed length + sorted alphabet: string order = value order)
    pairs = longest = 0
    fixed = [s for s in serials if len(s) == pool.length]
    if fixed:
        run = 1
        previous = decode_index(fixed[0], pool.alphabet)
        longest = 1
        for serial in fixed[1:]:
            value = decode_index(serial, pool.alphabet)
            if value == previous + 1:
                pairs += 1
                run += 1
                longest = max(longest, run)
            else:
                run = 1
            previous = value
    expected = n * (n - 1) / space if space else 0.0
    tail = _poisson_sf(pairs, expected)
    findings.append(
        f"neighbour pairs {pairs:,} (expected {expected:.3g} if random), longest run {longest}"
    )
    if pool.mode != "sequential" and tail < 1e-6:
        passed = False
        findings.append(f"FAIL: far more neighbours than chance (p = {tail:.2g})")

    # character balance per position after the prefix
    worst_position: int | None = None
    worst_p: float | None = None
    k = len(pool.alphabet)
    positions = range(len(pool.prefix), pool.length)
    if fixed and len(fixed) / k >= 5:
        joined = "".join(fixed)
        width = pool.length
        for position in positions:
            counts = Counter(joined[position::width])
            expect = len(fixed) / k
            statistic = sum((counts.get(c, 0) - expect) ** 2 / expect for c in pool.alphabet)
            p = _chi2_sf(statistic, k - 1)
            if worst_p is None or p < worst_p:
                worst_position, worst_p = position + 1, p
        findings.append(f"character balance: lowest p = {worst_p:.3g} at position {worst_position}")
        if worst_p is not None and worst_p < ALPHA / max(1, len(positions)):
            passed = False
            findings.append("FAIL: characters are not equally frequent")
    else:
        findings.append("character balance: too few serials to test (need 5 per character)")
    return RandomnessReport(
        pool.pool_id,
        pool.mode,
        n,
        space,
        probability,
        limit,
        pairs,
        expected,
        longest,
        worst_position,
        worst_p,
        passed,
        findings,
    )
