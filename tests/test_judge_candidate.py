"""realbogus_judge_candidate.py: the rule applied to the metrics.json files of two models' evaluations."""

from __future__ import annotations

import json

from lsst.meas.realbogus.scripts.judge_candidate import main


def _write(repo, version, metrics):
    (repo / f"eval_{version}").mkdir(parents=True)
    (repo / f"eval_{version}" / "metrics.json").write_text(json.dumps(metrics))


def test_judges_from_the_evaluation_directories(tmp_path, capsys, simulated_metrics):
    variety, shifted, sharp = tmp_path / "variety", tmp_path / "shifted_s2", tmp_path / "sharp"
    for version in ("ref", "same"):
        _write(variety, version, simulated_metrics(1))
        _write(shifted, version, simulated_metrics(2))
    _write(sharp, "ref", simulated_metrics(4))
    _write(sharp, "same", simulated_metrics(4, glints_above=3))
    args = ["same", "ref", "--in-domain", str(variety), "--shifted", str(shifted)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "same replaces ref: all" in out and "shifted shifted_s2: AUC" in out and "FAIL" not in out
    # Sharp's glints: 3 of 100 above 0.99. The verdict is printed; --check turns it into the exit status.
    assert main([*args, "--sharp", str(sharp)]) == 0
    out = capsys.readouterr().out
    assert "FAIL  sharp sharp: glint above 0.99" in out and "3 of 100" in out
    assert "same does NOT replace ref: " in out and "clauses fail." in out
    assert main([*args, "--sharp", str(sharp), "--check"]) == 1
    # A model not evaluated on a repository: the file is named, exit 2.
    assert main(["other", "ref", "--in-domain", str(variety)]) == 2
    err = capsys.readouterr().err
    assert f"{variety}/eval_other/metrics.json does not exist" in err
    (variety / "eval_bad").mkdir()
    (variety / "eval_bad" / "metrics.json").write_text("{")
    assert main(["bad", "ref", "--in-domain", str(variety)]) == 2
    assert "eval_bad/metrics.json is not JSON" in capsys.readouterr().err
