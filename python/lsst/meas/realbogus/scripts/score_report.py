"""Summarize real/bogus scores against the simulation's truth (``realbogus_score_report.py``).

For every ``dia_source_realbogus`` dataset in a collection, the diaSources are
labelled from the truth catalog (real if and only if a real transient lies
within the match radius, as DMTN-216 defines it), and the report prints the
number of detectors and sources, the AUC, and completeness and purity at the
threshold, and draws the score distributions of real and bogus detections.
"""

from __future__ import annotations

__all__ = ("main", "score_report")

import argparse
import sys

from ..evaluation.labels import label_table
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
    png: str | None = None,
) -> dict:
    """Compute the report; optionally draw the score distributions to ``png``.

    The diaSources are labelled as ``LabelDetectionsTask`` labels them
    (`~lsst.meas.realbogus.evaluation.labels.label_table`), and the figures
    are those of ``EvaluateRealBogusTask``
    (`~lsst.meas.realbogus.evaluation.report.evaluate_scores`).

    Returns
    -------
    report : `dict`
        ``detectors``, ``sources``, ``real``, ``bogus``, ``flagged_edge``,
        ``flagged_bad_pixels``, ``unscored``, ``auc``, ``threshold``,
        ``completeness``, ``purity``, ``model_version``, and ``metrics``
        (everything `~lsst.meas.realbogus.evaluation.report.evaluate_scores`
        gives).

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

        def detectors():
            for ref in refs:
                dia = butler.get(sources_dataset, ref.dataId)
                snr = "snr" if "snr" in dia.colnames else None  # only the S/N breakdowns need it
                labels = label_table(dia, butler.get(truth_dataset, ref.dataId), radius, snr_column=snr)
                yield f"{scores_dataset} {ref.dataId}", butler.get(ref), labels

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
        "threshold": threshold,
        "completeness": overall["completeness"],
        "purity": overall["purity"],
        "model_version": ",".join(sorted(scored.versions)),
        "metrics": metrics,
    }
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
    parser.add_argument("--png", help="Write the score distributions to this PNG file.")
    args = parser.parse_args(argv)
    try:
        report = score_report(
            args.repo,
            args.collections,
            where=args.where,
            radius=args.radius,
            threshold=args.threshold,
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
    print(f"AUC:                 {report['auc']:.4f}")
    print(
        f"at score >= {report['threshold']:.2f}:    completeness {report['completeness']:.4f}, "
        f"purity {report['purity']:.4f}"
    )
    if args.png:
        print(f"score distributions: {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
