"""Whether a candidate model replaces the default: a rule over the evaluations of both, fixed in code.

A candidate is judged on the same test repositories as the model it would replace, each evaluated by
``EvaluateRealBogus.yaml`` (its ``metrics.json``), under a rule written before the candidate has any
figure (``training.rst``, "Choosing the default").  Each clause is one comparison; the candidate
replaces the reference only if every clause passes.  The tests play four parts:

``inDomain``
    The training preset's own test tract (``variety``'s tract 4024): the issue's in-domain targets,
    and no more than a small loss against the reference.
``shifted``
    Tracts simulated outside the training ranges (the ``shifted`` preset at several seeds): the
    issue's shifted targets on each, and on all of them pooled no bogus kind confidently wrong more
    often than the target allows; no more than a small loss against the reference on each.
``sharp``
    Templates broader than the science (the ``sharp`` preset): no bogus kind confidently wrong more
    often than the target allows, the purity target at S/N > 6, and a small loss at most.
``coarse``
    1 arcsec pixels (the ``coarse`` preset): a small loss at most.
"""

from __future__ import annotations

__all__ = ("Clause", "SelectionRule", "confident_bogus", "judge_candidate")

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

PARTS = ("inDomain", "shifted", "sharp", "coarse")
"""The parts a test plays, in the order the clauses are listed."""


@dataclass(frozen=True)
class SelectionRule:
    """The margins and targets of `judge_candidate` (the defaults: the rule of ``training.rst``).

    Attributes
    ----------
    inDomainAucMargin, inDomainMdrMargin : `float`
        Largest loss against the reference on the in-domain test: AUC lower, MDR at 1% FPR higher.
    shiftedAucMargin, shiftedMdrMargin : `float`
        The same on each shifted, sharp and coarse test.
    minShiftedAuc, maxShiftedMdr : `float`
        The issue's targets on each shifted tract.
    maxInDomainMdr, minCompleteness, minPurity : `float`
        The issue's in-domain targets (MDR at 1% FPR; completeness and purity at S/N > 6, the purity
        also on ``sharp``).
    confidentScore : `float`
        A bogus detection scored above this is confidently wrong.
    maxConfidentFraction : `float`
        Largest fraction of a bogus kind's detections that may be confidently wrong.
    confidentAllowance : `int`
        Confidently wrong detections a judged kind may have whatever its size.  The fraction alone
        allows none in a kind of fewer than 100 detections: a model whose true rate is half the
        limit would fail a kind of 52 on one detection 23% of the time, and the rule judges 15-20
        kinds per test.  One allowed detection is what the fraction allows a kind of 100-199
        (adopted 2026-12-07, before any candidate was judged under it; 0 is the earlier rule).
    minKindCount : `int`
        Kinds with fewer detections than this are not judged at all (one detection of 19 is
        already 5%).
    noWorseWhereReferenceFails : `bool`
        A target clause (the issue's targets, a kind's confident detections, the purity) that the
        reference fails too is passed by a candidate no worse there than the reference, so the rule
        never keeps a default that fails a target by more than the candidate does.  Adopted
        2026-12-07, after ``rbsim13``'s verdict (``training.rst``, "Choosing the default"); `False`
        is the rule ``rbsim13`` was pre-registered under, in which every target is absolute.
    """

    inDomainAucMargin: float = 0.0005
    inDomainMdrMargin: float = 0.005
    shiftedAucMargin: float = 0.001
    shiftedMdrMargin: float = 0.01
    minShiftedAuc: float = 0.99
    maxShiftedMdr: float = 0.05
    maxInDomainMdr: float = 0.03
    minCompleteness: float = 0.95
    minPurity: float = 0.95
    confidentScore: float = 0.99
    maxConfidentFraction: float = 0.01
    confidentAllowance: int = 1
    minKindCount: int = 20
    noWorseWhereReferenceFails: bool = True


@dataclass(frozen=True)
class Clause:
    """One comparison of the rule.

    Attributes
    ----------
    test : `str`
        The test it is about (e.g. ``shifted 2``, ``shifted pooled``, ``sharp``).
    figure : `str`
        What is compared (e.g. ``AUC``, ``nuclear_residual above 0.99``).
    candidate : `str`
        The candidate's figure.
    limit : `str`
        What it must be (e.g. ``>= 0.99605 (reference 0.99705 - 0.001)``).
    passed : `bool`
        Whether it is.
    """

    test: str
    figure: str
    candidate: str
    limit: str
    passed: bool


def _mdr(metrics: Mapping) -> float:
    return float(metrics["overall"]["mdr_at_fpr_0.01"])


def confident_bogus(evaluations: Sequence[Mapping], score: float = 0.99) -> dict[str, tuple[int, int]]:
    """Per bogus kind, pooled over ``evaluations``: detections scored above ``score``, and all of them.

    Parameters
    ----------
    evaluations : sequence of `dict`
        ``metrics.json`` contents of `~lsst.meas.realbogus.evaluation.report.evaluate_scores`
        (their ``by_kind``).
    score : `float`
        Only 0.99 is recorded per kind.

    Returns
    -------
    counts : `dict` [`str`, `tuple` [`int`, `int`]]
        ``(above, count)`` per bogus kind (``unknown``, the bogus detections matched to no truth
        entry, is not a kind and is left out).

    Raises
    ------
    ValueError
        If ``score`` is not 0.99, or a kind is real in one evaluation and bogus in another.
    """
    if score != 0.99:
        raise ValueError(f"metrics record the fraction above 0.99 per kind only, not above {score}")
    pooled: dict[str, list[int]] = {}
    real: dict[str, bool] = {}
    for metrics in evaluations:
        for kind, entry in metrics["by_kind"].items():
            if real.setdefault(kind, entry["real"]) != entry["real"]:
                raise ValueError(f"kind {kind!r} is real in one evaluation and bogus in another")
            if entry["real"] or kind == "unknown":
                continue
            above = int(round(entry["above_0.99"] * entry["count"]))
            counts = pooled.setdefault(kind, [0, 0])
            counts[0] += above
            counts[1] += entry["count"]
    return {kind: (above, count) for kind, (above, count) in sorted(pooled.items())}


def _at_most(test: str, figure: str, value: float, limit: float, why: str, digits: int = 4) -> Clause:
    return Clause(test, figure, f"{value:.{digits}f}", f"<= {limit:.{digits}f}{why}", value <= limit)


def _at_least(test: str, figure: str, value: float, limit: float, why: str, digits: int = 4) -> Clause:
    return Clause(test, figure, f"{value:.{digits}f}", f">= {limit:.{digits}f}{why}", value >= limit)


def _or_no_worse(
    clause: Clause, reference_fails: bool, no_worse: bool, reference: str, rule: SelectionRule
) -> Clause:
    """``clause``, passed also by a candidate ``no_worse`` than a reference that fails it too.

    Unchanged unless the reference fails and `SelectionRule.noWorseWhereReferenceFails` is set.
    """
    if not (reference_fails and rule.noWorseWhereReferenceFails):
        return clause
    return Clause(
        clause.test,
        clause.figure,
        clause.candidate,
        f"{clause.limit}, or no worse than the reference, which fails it ({reference})",
        clause.passed or no_worse,
    )


def _target(
    test: str,
    figure: str,
    value: float,
    reference: float,
    limit: float,
    at_least: bool,
    rule: SelectionRule,
    digits: int = 4,
) -> Clause:
    """A target clause: ``value`` at least (or at most) ``limit``, or no worse than a failing reference."""
    clause = (_at_least if at_least else _at_most)(test, figure, value, limit, " (target)", digits)
    reference_fails = not (reference >= limit if at_least else reference <= limit)
    no_worse = value >= reference if at_least else value <= reference
    return _or_no_worse(clause, reference_fails, no_worse, f"{reference:.{digits}f}", rule)


def _against_reference(
    test: str, candidate: Mapping, reference: Mapping, auc_margin: float, mdr_margin: float
) -> list[Clause]:
    auc, ref_auc = float(candidate["overall"]["auc"]), float(reference["overall"]["auc"])
    mdr, ref_mdr = _mdr(candidate), _mdr(reference)
    return [
        _at_least(test, "AUC", auc, ref_auc - auc_margin, f" (reference {ref_auc:.5f} - {auc_margin:g})", 5),
        _at_most(
            test, "MDR at 1% FPR", mdr, ref_mdr + mdr_margin, f" (reference {ref_mdr:.4f} + {mdr_margin:g})"
        ),
    ]


def _kinds(
    test: str, evaluations: Sequence[Mapping], references: Sequence[Mapping], rule: SelectionRule
) -> list[Clause]:
    clauses = []
    reference_counts = confident_bogus(references, rule.confidentScore)
    for kind, (above, count) in confident_bogus(evaluations, rule.confidentScore).items():
        if count < rule.minKindCount:
            continue
        allowed = max(math.floor(rule.maxConfidentFraction * count), rule.confidentAllowance)
        clause = Clause(
            test,
            f"{kind} above {rule.confidentScore:g}",
            f"{above} of {count}",
            f"<= {allowed} of {count} ({rule.maxConfidentFraction:.0%}, at least {rule.confidentAllowance})",
            above <= allowed,
        )
        reference_above = reference_counts.get(kind, (0, count))[0]
        clauses.append(
            _or_no_worse(
                clause,
                reference_above > allowed,
                above <= reference_above,
                f"{reference_above} of {count}",
                rule,
            )
        )
    return clauses


def judge_candidate(
    candidate: Mapping[str, Mapping[str, Mapping]],
    reference: Mapping[str, Mapping[str, Mapping]],
    rule: SelectionRule | None = None,
) -> list[Clause]:
    """Every clause of ``rule`` for ``candidate`` against ``reference``.

    Parameters
    ----------
    candidate, reference : `dict` [`str`, `dict` [`str`, `dict`]]
        Per part (``inDomain``, ``shifted``, ``sharp``, ``coarse``), per test name (e.g.
        ``seed 2``), the ``metrics.json`` of that model on that test.  Both must have the same
        parts and tests; a part left out is not judged.
    rule : `SelectionRule`, optional
        Margins and targets (default: `SelectionRule`'s).

    Returns
    -------
    clauses : `list` [`Clause`]
        In the order of the parts; the candidate replaces the reference if all pass and
        every part of `PARTS` was given (fewer parts can only reject it).

    Raises
    ------
    ValueError
        If a part is unknown, or the two models were not evaluated on the same tests.
    """
    rule = rule or SelectionRule()
    unknown = (set(candidate) | set(reference)) - set(PARTS)
    if unknown:
        raise ValueError(f"unknown parts {sorted(unknown)}; known: {list(PARTS)}")
    clauses: list[Clause] = []
    for part in PARTS:
        tests_c, tests_r = candidate.get(part, {}), reference.get(part, {})
        if set(tests_c) != set(tests_r):
            raise ValueError(
                f"{part}: the candidate was evaluated on {sorted(tests_c)}, "
                f"the reference on {sorted(tests_r)}"
            )
        for name in tests_c:
            test = f"{part} {name}".strip()
            cand, ref = tests_c[name], tests_r[name]
            if part == "inDomain":
                clauses += _against_reference(test, cand, ref, rule.inDomainAucMargin, rule.inDomainMdrMargin)
                snr6, ref6 = cand["snr>6"], ref["snr>6"]
                clauses += [
                    _target(test, "MDR at 1% FPR", _mdr(cand), _mdr(ref), rule.maxInDomainMdr, False, rule),
                    _target(
                        test,
                        "S/N > 6 completeness",
                        snr6["completeness"],
                        ref6["completeness"],
                        rule.minCompleteness,
                        True,
                        rule,
                        3,
                    ),
                    _target(
                        test, "S/N > 6 purity", snr6["purity"], ref6["purity"], rule.minPurity, True, rule, 3
                    ),
                ]
                continue
            clauses += _against_reference(test, cand, ref, rule.shiftedAucMargin, rule.shiftedMdrMargin)
            if part == "shifted":
                auc, ref_auc = float(cand["overall"]["auc"]), float(ref["overall"]["auc"])
                clauses += [
                    _target(test, "AUC", auc, ref_auc, rule.minShiftedAuc, True, rule),
                    _target(test, "MDR at 1% FPR", _mdr(cand), _mdr(ref), rule.maxShiftedMdr, False, rule),
                ]
            elif part == "sharp":
                clauses += _kinds(test, [cand], [ref], rule)
                purity, ref_purity = cand["snr>6"]["purity"], ref["snr>6"]["purity"]
                clauses.append(
                    _target(test, "S/N > 6 purity", purity, ref_purity, rule.minPurity, True, rule, 3)
                )
        if part == "shifted" and tests_c:
            clauses += _kinds("shifted pooled", list(tests_c.values()), [tests_r[n] for n in tests_c], rule)
    return clauses
