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

import numpy as np

from ..labels import label_detections
from ..metrics import completeness_purity, roc_auc


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

    Returns
    -------
    report : `dict`
        ``detectors``, ``sources``, ``real``, ``bogus``, ``flagged_edge``,
        ``flagged_bad_pixels``, ``unscored``, ``auc``, ``threshold``,
        ``completeness``, ``purity``, ``model_version``.
    """
    from lsst.daf.butler import Butler

    scores, labels, flags_edge, flags_bad = [], [], [], []
    versions = set()
    with Butler.from_config(repo, collections=collections) as butler:
        refs = butler.query_datasets(scores_dataset, where=where, limit=None, find_first=True)
        if not refs:
            raise ValueError(f"no {scores_dataset} datasets in {collections} matching {where!r}")
        for ref in refs:
            table = butler.get(ref)
            dia = butler.get(sources_dataset, ref.dataId)
            truth = butler.get(truth_dataset, ref.dataId)
            if not np.array_equal(np.asarray(table["diaSourceId"]), np.asarray(dia["diaSourceId"])):
                raise ValueError(f"{scores_dataset} {ref.dataId}: not one row per diaSource, in order")
            is_real = label_detections(dia, truth, radius).is_real
            scores.append(np.asarray(table["score"], dtype=float))
            labels.append(is_real)
            flags_edge.append(np.asarray(table["flag_edge"]))
            flags_bad.append(np.asarray(table["flag_badPixels"]))
            versions.update(str(v) for v in table["modelVersion"])
    score = np.concatenate(scores)
    label = np.concatenate(labels)
    scored = np.isfinite(score)
    completeness, purity = completeness_purity(score[scored], label[scored], threshold)
    report = {
        "detectors": len(refs),
        "sources": int(len(score)),
        "real": int(label.sum()),
        "bogus": int((~label).sum()),
        "flagged_edge": int(np.concatenate(flags_edge).sum()),
        "flagged_bad_pixels": int(np.concatenate(flags_bad).sum()),
        "unscored": int((~scored).sum()),
        "auc": roc_auc(score[scored], label[scored]),
        "threshold": threshold,
        "completeness": completeness,
        "purity": purity,
        "model_version": ",".join(sorted(versions)),
    }
    if png:
        _plot(score[scored], label[scored], report, png)
    return report


def _plot(score: np.ndarray, label: np.ndarray, report: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    bins = np.linspace(0, 1, 41)
    ax.hist(
        score[~label],
        bins=bins,
        histtype="stepfilled",
        alpha=0.5,
        color="tab:red",
        label=f"bogus ({(~label).sum()})",
    )
    ax.hist(
        score[label],
        bins=bins,
        histtype="stepfilled",
        alpha=0.5,
        color="tab:blue",
        label=f"real ({label.sum()})",
    )
    ax.axvline(report["threshold"], color="k", ls="--", lw=1, label=f"threshold {report['threshold']:.2f}")
    ax.set_yscale("log")
    ax.set_xlabel("real/bogus score")
    ax.set_ylabel("diaSources")
    ax.set_title(
        f"model {report['model_version']}: AUC {report['auc']:.3f}, "
        f"completeness {report['completeness']:.3f}, purity {report['purity']:.3f}",
        fontsize=9,
    )
    ax.legend()
    fig.savefig(path, dpi=120)
    plt.close(fig)


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
