"""history_cpd.py - change points of one series: e-divisive with a permutation test.

The method is E-Divisive of Matteson, D. S. and James, N. A. (2014), "A Nonparametric
Approach for Multiple Change Point Analysis of Multivariate Data", Journal of the American
Statistical Association 109(505), 334-345, written here from the paper's description:

  - the divergence of two samples X (n values) and Y (m values) is the energy distance
      E(X, Y) = 2/(n m) sum |x - y|^a - sum_{i<k} |x_i - x_k|^a / C(n, 2)
                                      - sum_{j<k} |y_j - y_k|^a / C(m, 2)
    scaled to Q(X, Y) = n m / (n + m) E(X, Y), with the exponent a in (0, 2) (a = 1 here,
    as in the paper: it needs only a first moment, and any change in distribution, not only
    in the mean, makes E > 0);
  - one change point in a cluster Z_1..Z_L: the tau and kappa that maximise
    Q({Z_1..Z_tau}, {Z_tau+1..Z_kappa}); kappa < L lets a cluster that holds two changes
    still show the first one;
  - several change points, by bisection: with k clusters found so far, the best split of
    each, and the largest of them is the candidate;
  - its significance, by a permutation test: the values of each cluster are shuffled within
    that cluster (what no further change means), the largest best split over clusters is
    recomputed, R times; p = (1 + #{permutations at least as large}) / (R + 1); the
    candidate is a change point when p <= P0, and the search stops at the first that is not.

Choices of this implementation:
  - P0 = 0.001 rather than the paper's 0.05: a history holds a series per scenario,
    backend and metric, a hundred and more, and each series of pure noise shows a false
    change point with probability P0; at 0.001 about one history in ten has one, at 0.05
    every history would have several;
  - R = 4999 permutations: a candidate is kept when at most 4 shuffles reach its
    statistic (p <= 5 / 5000). Fewer would make the decision near P0 a matter of luck: a
    perfect step between 10 and 6 runs has p = 0.00035 (20000 shuffles), which 999
    shuffles with none allowed to reach it confirm only 70% of the time, 4999 shuffles
    with 4 allowed 97% of the time;
  - the shuffles stop at the first that reaches the candidate's statistic: p > P0 is then
    certain (the sequential Monte Carlo test of Besag, J. and Clifford, P. (1991),
    "Sequential Monte Carlo p-values", Biometrika 78(2), 301-304), so the decision is the
    one all R shuffles give and a series of noise costs a handful of them instead of R;
  - the shuffles come from a random.Random(SEED) made anew for every series: a series
    always gets the same answer, whatever else the history holds;
  - MIN_SIZE = 3 runs on each side of a change point: the median of a side then holds
    against one disturbed run, and a shorter side could not reach P0 anyway;
  - a series shorter than min_runs() (14 at these settings) cannot reach P0 even with a
    perfect step between its halves (the most extreme of C(n, n // 2) orderings, counted
    both ways), so it is called too short rather than tested. For the same reason the
    newest change shows only once enough runs follow it: in 20 runs, a step of 5 standard
    deviations with 5 runs after it was found in 18 of 20 trials, with 4 after it in 9,
    with 3 after it in 1.

Pure Python (no numpy: ci/packages.txt does not list it): O(L^2) per permutation of a
cluster of L values (the within sums of every interval, then every tau and kappa), about
0.2 ms for 40 values and 1.2 ms for 100 here, so a change point found among 40 runs costs
about 1 s and among 100 runs about 6 s; a series without one, a few milliseconds.
"""
from __future__ import annotations

import math
import random
from collections.abc import Sequence
from itertools import accumulate
from operator import add
from dataclasses import dataclass

EXPONENT = 1.0
PERMUTATIONS = 4999
P0 = 0.001
MIN_SIZE = 3
SEED = 20140301	# any fixed value: what matters is that it is fixed


@dataclass(frozen=True)
class ChangePoint:
    """A change before series index @index (the first value of the new segment)."""
    index: int
    statistic: float
    p_value: float
    permutations: int


@dataclass
class Detection:
    """What detect() found in one series; @too_short says why it did not look."""
    n: int
    change_points: list[ChangePoint]
    too_short: bool
    candidates_tested: int


def min_runs(p0: float = P0, min_size: int = MIN_SIZE) -> int:
    """The fewest values a series needs before a split can reach @p0: at least 2 @min_size,
    and a perfect step between two halves (the most extreme of C(n, n // 2) equally likely
    orderings, counted both ways) must give 2 / C(n, n // 2) <= p0."""
    n = 2 * min_size
    while 2.0 / math.comb(n, n // 2) > p0:
        n += 1
    return n


def within_sums(z: Sequence[float], exponent: float = EXPONENT) -> list[list[float]]:
    """u[b][a] = sum over a <= i < j < b of |z_i - z_j|^exponent, for 0 <= a <= b <= len(z):
    the within sum of the interval z[a:b], built a right end b at a time."""
    n = len(z)
    u: list[list[float]] = [[0.0]]
    for j in range(n):	# u[j + 1][a] = u[j][a] + sum over a <= i < j of d(i, j)
        zj = z[j]
        if exponent == 1.0:
            dist = [abs(zj - zi) for zi in z[j - 1::-1]] if j else []
        else:
            dist = [abs(zj - zi) ** exponent for zi in z[j - 1::-1]] if j else []
        to_j = list(accumulate(dist))[::-1]	# to_j[a] = sum over a <= i < j of d(i, j)
        u.append(list(map(add, u[j], to_j)) + [0.0, 0.0])
    return u


def best_split(z: Sequence[float], min_size: int = MIN_SIZE,
               exponent: float = EXPONENT) -> tuple[float, int]:
    """The largest Q(Z_1..Z_tau, Z_tau+1..Z_kappa) of cluster @z and its tau (the index of
    the first value after the split), each side at least @min_size long; (-inf, -1) when
    the cluster is too short to split.

    With W(a, b) the within sum of z[a:b], the between sum of the two sides is
    W(0, kappa) - W(0, tau) - W(tau, kappa), and Q simplifies to
      2 / kappa * (W(0, kappa) - W(0, tau) (kappa - 1) / (tau - 1)
                               - W(tau, kappa) (kappa - 1) / (kappa - tau - 1))."""
    n = len(z)
    if n < 2 * min_size:
        return -math.inf, -1
    u = within_sums(z, exponent)
    best, at = -math.inf, -1
    for tau in range(min_size, n - min_size + 1):
        wx = u[tau][0] / (tau - 1)
        q = max(2.0 / k * (u[k][0] - wx * (k - 1) - u[k][tau] * (k - 1) / (k - tau - 1))
                for k in range(tau + min_size, n + 1))
        if q > best:
            best, at = q, tau
    return best, at


def _clusters(n: int, cuts: list[int]) -> list[tuple[int, int]]:
    bounds = [0] + sorted(cuts) + [n]
    return list(zip(bounds[:-1], bounds[1:]))


def detect(values: Sequence[float], p0: float = P0, permutations: int = PERMUTATIONS,
           min_size: int = MIN_SIZE, seed: int = SEED,
           exponent: float = EXPONENT) -> Detection:
    """Every change point of @values by e-divisive bisection, each significant at @p0."""
    z = [float(v) for v in values]
    n = len(z)
    if n < min_runs(p0, min_size):
        return Detection(n, [], True, 0)
    rng = random.Random(seed)
    found: list[ChangePoint] = []
    best_of: dict[tuple[int, int], tuple[float, int]] = {}
    allowed = math.floor(p0 * (permutations + 1) + 1e-9) - 1	# exceedances p <= p0 allows
    tested = 0
    while True:
        clusters = _clusters(n, [c.index for c in found])
        for s, e in clusters:
            if (s, e) not in best_of:
                q, tau = best_split(z[s:e], min_size, exponent)
                best_of[(s, e)] = (q, s + tau if tau >= 0 else -1)
        q0, where = max((best_of[c] for c in clusters), key=lambda qa: qa[0])
        if where < 0 or not q0 > 0.0:
            break	# nothing left to split, or no split differs at all (constant values)
        tested += 1
        exceed, done = 0, 0
        while done < permutations and exceed <= allowed:
            qr = -math.inf
            for s, e in clusters:
                part = z[s:e]
                rng.shuffle(part)
                qr = max(qr, best_split(part, min_size, exponent)[0])
            done += 1
            if qr >= q0 * (1.0 - 1e-12):	# ties count against the candidate
                exceed += 1
        if exceed > allowed:
            break
        found.append(ChangePoint(where, q0, (1 + exceed) / (permutations + 1), done))
    found.sort(key=lambda c: c.index)
    return Detection(n, found, False, tested)
