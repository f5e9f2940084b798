"""Summarize real/bogus scores against the simulation's truth (``realbogus_score_report.py``).

For every ``dia_source_realbogus`` dataset in a collection, the diaSources are
labelled from the truth catalog as ``LabelDetectionsTask`` labels them (by
default the footprint rule: real if a real transient lies within the match
radius, or if the real truth flux in the diaSource's PSF aperture explains at
least a fraction of its PSF flux; ``--rule radius``: DMTN-216's radius rule
alone), and the report prints the number of detectors and sources, the AUC,
completeness and purity at the threshold and the missed-detection rate at 1%
false-positive rate, and draws the score distributions of real and bogus
detections.  ``--compare-rules`` also labels by the radius rule and prints
how many labels the two rules disagree on, by kind, and the figures under
both.
"""

from __future__ import annotations

__all__ = ("main", "score_report")

import argparse
import sys
from collections import Counter

import numpy as np

from ..evaluation.labels import LABEL_RULES, footprint_psf_sigma, label_changes, label_table
from ..evaluation.report import collect_scores, evaluate_scores


def score_report(
    repo: str,
    collections: list[str],
    *,
    where: str = "",
    radius: float = 3.0,
    threshold: float = 0.5,
    scores_dataset: str = "dia_source_realbogus",
    sources_dataset: str = "dia_source_unstandardized",
    truth_dataset: str = "realbogus_sim_truth",
    psf_dataset: str = "difference_image.psf",
    rule: str = "footprint",
    flux_fraction: float = 0.5,
    psf_fwhm: float | None = None,
    compare_rules: bool = False,
    png: str | None = None,
) -> dict:
    """Compute the report; optionally draw the score distributions to ``png``.

    The diaSources are labelled as ``LabelDetectionsTask`` labels them
    (`~lsst.meas.realbogus.evaluation.labels.label_table`), and the figures
    are those of ``EvaluateRealBogusTask``
    (`~lsst.meas.realbogus.evaluation.report.evaluate_scores`).

    The footprint rule needs the Gaussian sigma of each difference image's
    PSF: that of ``psf_dataset`` (the ``psf`` component of the difference
    image) at the median of the diaSources' centroids, as in
    ``LabelDetectionsTask``, or ``psf_fwhm / 2.3548`` for every detector if ``psf_fwhm`` is
    given.

    Parameters
    ----------
    repo : `str`
        Butler repository (only read).
    collections : `list` [`str`]
        Collections with the scores, diaSources, truth (and PSFs).
    where : `str`
        Data query restricting the detectors.
    radius : `float`
        Truth match radius, pixels.
    threshold : `float`
        Score threshold.
    scores_dataset, sources_dataset, truth_dataset, psf_dataset : `str`
        Dataset types of the scores, diaSources, truth and difference-image
        PSF.
    rule : `str`
        Labelling rule, ``footprint`` or ``radius``.
    flux_fraction : `float`
        Footprint rule: fraction of the PSF flux the real flux must explain.
    psf_fwhm : `float`, optional
        Footprint rule: PSF FWHM, pixels, instead of reading ``psf_dataset``.
    compare_rules : `bool`
        Also label by the ``radius`` rule and count the labels that change.
    png : `str`, optional
        Draw the score distributions to this file.

    Returns
    -------
    report : `dict`
        ``detectors``, ``sources``, ``real``, ``bogus``, ``flagged_edge``,
        ``flagged_bad_pixels``, ``unscored``, ``auc``, ``mdr_at_1pct_fpr``,
        ``threshold``, ``completeness``, ``purity``, ``model_version``,
        ``rule``, and ``metrics`` (everything
        `~lsst.meas.realbogus.evaluation.report.evaluate_scores` gives).
        With ``compare_rules``, also ``radius_rule`` (``real``, ``bogus``,
        ``auc``, ``mdr_at_1pct_fpr``, ``completeness``, ``purity`` under the
        radius rule) and ``label_changes`` (radius rule to ``rule``:
        ``bogus_to_real`` and ``real_to_bogus``, each a `dict` keyed
        ``"<radius kind> -> <new kind>"``, of all diaSources, scored or not).

    Raises
    ------
    ValueError
        If no score dataset matches, scores are not one row per diaSource,
        or no diaSource was scored.
    """
    from lsst.daf.butler import Butler

    with Butler.from_config(repo, collections=collections) as butler:
        refs = butler.query_datasets(scores_dataset, where=where, limit=None, find_first=True, explain=False)
        if not refs:
            raise ValueError(f"no {scores_dataset} datasets in {collections} matching {where!r}")

        if rule not in LABEL_RULES:
            raise ValueError(f"unknown label rule {rule!r}; expected one of {LABEL_RULES}")
        changes: dict[str, Counter] = {"bogus_to_real": Counter(), "real_to_bogus": Counter()}
        radius_tables = []

        def detectors():
            for ref in refs:
                dia = butler.get(sources_dataset, ref.dataId)
                truth = butler.get(truth_dataset, ref.dataId)
                snr = "snr" if "snr" in dia.colnames else None  # only the S/N breakdowns need it
                options = {"rule": rule}
                if rule == "footprint":
                    psf = butler.get(psf_dataset, ref.dataId) if psf_fwhm is None else None
                    x, y = np.asarray(dia["x"], dtype=float), np.asarray(dia["y"], dtype=float)
                    sigma = footprint_psf_sigma(psf, x, y, psf_fwhm)
                    options.update(psf_sigma=sigma, flux_fraction=flux_fraction)
                labels = label_table(dia, truth, radius, snr_column=snr, **options)
                scores = butler.get(ref)
                if compare_rules:
                    before = label_table(dia, truth, radius, snr_column=snr)
                    for name, counts in label_changes(before, labels).items():
                        changes[name].update(counts)
                    radius_tables.append((f"{scores_dataset} {ref.dataId}", scores, before))
                yield f"{scores_dataset} {ref.dataId}", scores, labels

        scored = collect_scores(detectors())
    if len(scored.score) == 0:
        raise ValueError(f"no scored diaSources in the {len(refs)} {scores_dataset} datasets")
    metrics, _ = evaluate_scores(scored.score, scored.is_real, scored.kind, scored.snr, threshold)
    overall = metrics["overall"]
    counts = scored.counts
    report = {
        "detectors": counts["detectors"],
        "sources": counts["sources"],
        "real": counts["real"],
        "bogus": counts["bogus"],
        "flagged_edge": counts["flag_edge"],
        "flagged_bad_pixels": counts["flag_badPixels"],
        "unscored": counts["unscored"],
        "auc": overall["auc"],
        "mdr_at_1pct_fpr": overall["mdr_at_fpr_0.01"],
        "threshold": threshold,
        "completeness": overall["completeness"],
        "purity": overall["purity"],
        "model_version": ",".join(sorted(scored.versions)),
        "rule": rule,
        "metrics": metrics,
    }
    if compare_rules:
        old = collect_scores(radius_tables)
        old_metrics, _ = evaluate_scores(old.score, old.is_real, old.kind, old.snr, threshold)
        old_overall = old_metrics["overall"]
        report["radius_rule"] = {
            "real": old.counts["real"],
            "bogus": old.counts["bogus"],
            "auc": old_overall["auc"],
            "mdr_at_1pct_fpr": old_overall["mdr_at_fpr_0.01"],
            "completeness": old_overall["completeness"],
            "purity": old_overall["purity"],
        }
        report["label_changes"] = {k: dict(sorted(v.items())) for k, v in changes.items()}
    if png:
        from ..evaluation.plots import plot_score_distributions

        title = (
            f"model {report['model_version']}: AUC {report['auc']:.3f}, "
            f"completeness {report['completeness']:.3f}, purity {report['purity']:.3f}"
        )
        figure = plot_score_distributions(scored.score, scored.is_real, threshold, title)
        figure.savefig(png, dpi=120)
    return report


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="realbogus_score_report.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("repo", help="Butler repository.")
    parser.add_argument("collections", nargs="+", help="Collections with the scores, sources and truth.")
    parser.add_argument("--where", default="", help="Data query restricting the detectors.")
    parser.add_argument("--radius", type=float, default=3.0, help="Truth match radius, pixels (default: 3).")
    parser.add_argument("--threshold", type=float, default=0.5, help="Score threshold (default: 0.5).")
    parser.add_argument(
        "--rule", choices=LABEL_RULES, default="footprint", help="Labelling rule (default: footprint)."
    )
    parser.add_argument(
        "--flux-fraction",
        type=float,
        default=0.5,
        help="Footprint rule: fraction of the PSF flux the real truth flux must explain (default: 0.5).",
    )
    parser.add_argument(
        "--psf-fwhm",
        type=float,
        help="Footprint rule: PSF FWHM, pixels (default: read each difference image's PSF).",
    )
    parser.add_argument(
        "--compare-rules",
        action="store_true",
        help="Also label by the radius rule; print the labels that change, by kind, and both figures.",
    )
    parser.add_argument("--png", help="Write the score distributions to this PNG file.")
    args = parser.parse_args(argv)
    if not 0 < args.flux_fraction <= 1:
        parser.error(f"--flux-fraction must be in (0, 1]; got {args.flux_fraction}")
    try:
        report = score_report(
            args.repo,
            args.collections,
            where=args.where,
            radius=args.radius,
            threshold=args.threshold,
            rule=args.rule,
            flux_fraction=args.flux_fraction,
            psf_fwhm=args.psf_fwhm,
            compare_rules=args.compare_rules,
            png=args.png,
        )
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"detectors processed: {report['detectors']}")
    print(
        f"diaSources scored:   {report['sources'] - report['unscored']} of {report['sources']} "
        f"({report['real']} real, {report['bogus']} bogus by the truth; "
        f"{report['flagged_edge']} at an edge, {report['flagged_bad_pixels']} with bad pixels)"
    )
    print(f"model:               {report['model_version']}")
    print(f"labels:              {report['rule']} rule")
    print(f"AUC:                 {report['auc']:.4f}")
    print(f"MDR at 1% FPR:       {report['mdr_at_1pct_fpr']:.4f}")
    print(
        f"at score >= {report['threshold']:.2f}:    completeness {report['completeness']:.4f}, "
        f"purity {report['purity']:.4f}"
    )
    if args.compare_rules:
        old = report["radius_rule"]
        print(
            f"radius rule:         {old['real']} real, {old['bogus']} bogus; AUC {old['auc']:.4f}, "
            f"MDR at 1% FPR {old['mdr_at_1pct_fpr']:.4f}, completeness {old['completeness']:.4f}, "
            f"purity {old['purity']:.4f}"
        )
        for name, counts in report["label_changes"].items():
            total = sum(counts.values())
            print(f"{name.replace('_', ' ')} (radius kind -> {report['rule']} kind): {total}")
            for kinds, count in counts.items():
                print(f"    {kinds}: {count}")
    if args.png:
        print(f"score distributions: {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
