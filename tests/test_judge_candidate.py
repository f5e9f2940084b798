"""realbogus_judge_candidate.py: the rule applied to the metrics.json files of two models' evaluations."""

from __future__ import annotations

import json

import pytest
from lsst.meas.realbogus.scripts.judge_candidate import main


def _write(repo, version, metrics):
    (repo / f"eval_{version}").mkdir(parents=True)
    (repo / f"eval_{version}" / "metrics.json").write_text(json.dumps(metrics))


def test_judges_from_the_evaluation_directories(tmp_path, capsys, simulated_metrics):
    repos = {name: tmp_path / name for name in ("variety", "shifted_s2", "sharp", "coarse")}
    seeds = {"variety": 1, "shifted_s2": 2, "sharp": 4, "coarse": 5}
    for version in ("ref", "same", "glints", "glints3"):
        for name, repo in repos.items():
            glints = {"glints": 2, "glints3": 3}.get(version, 0) if name == "sharp" else 0
            _write(repo, version, simulated_metrics(seeds[name], glints_above=glints))
    variety, shifted, sharp, coarse = (str(repo) for repo in repos.values())
    two = ["--in-domain", variety, "--shifted", shifted]
    four = [*two, "--sharp", sharp, "--coarse", coarse]
    # All four parts, all pass: the candidate replaces the reference.
    assert main(["same", "ref", *four, "--check"]) == 0
    out = capsys.readouterr().out
    assert "same replaces ref: all" in out and "shifted shifted_s2: AUC" in out and "FAIL" not in out
    # Two parts of four: every clause passes, but a partial judgment never accepts; --check fails it.
    assert main(["same", "ref", *two]) == 0
    out = capsys.readouterr().out
    assert "replaces ref" not in out
    assert "but the rule also has sharp, coarse: not judged, so it does not yet replace ref." in out
    assert main(["same", "ref", *two, "--check"]) == 1
    capsys.readouterr()
    # Sharp's glints: 2 of 100 above 0.99 (one allowed). The verdict is printed; --check makes it the status.
    assert main(["glints", "ref", *four]) == 0
    out = capsys.readouterr().out
    assert "FAIL  sharp sharp: glint above 0.99" in out and "2 of 100" in out
    assert "glints does NOT replace ref: " in out and "clauses fail." in out
    assert main(["glints", "ref", *four, "--check"]) == 1
    capsys.readouterr()
    # The allowance per kind is an option: with two allowed, the same glints pass.
    assert main(["glints", "ref", *four, "--confident-allowance", "2", "--check"]) == 0
    out = capsys.readouterr().out
    assert "pass  sharp sharp: glint above 0.99" in out and "<= 2 of 100 (1%, at least 2)" in out
    # Against a reference with 3 of 100, also over the target, 2 of 100 are no worse: they pass, unless
    # every target is absolute (the rule rbsim13 was pre-registered under).
    assert main(["glints", "glints3", *four, "--check"]) == 0
    assert "or no worse than the reference, which fails it (3 of 100)" in capsys.readouterr().out
    assert main(["glints", "glints3", *four, "--check", "--absolute-targets"]) == 1
    assert "FAIL  sharp sharp: glint above 0.99" in capsys.readouterr().out
    # A negative allowance is refused by the parser (exit 2), naming the option.
    with pytest.raises(SystemExit) as exit_info:
        main(["glints", "ref", *four, "--confident-allowance", "-1"])
    assert exit_info.value.code == 2 and "--confident-allowance: must be 0 or more" in capsys.readouterr().err
    # A model not evaluated on a repository: the file is named, exit 2.
    assert main(["other", "ref", "--in-domain", variety]) == 2
    err = capsys.readouterr().err
    assert f"{variety}/eval_other/metrics.json does not exist" in err
    (repos["variety"] / "eval_bad").mkdir()
    (repos["variety"] / "eval_bad" / "metrics.json").write_text("{")
    assert main(["bad", "ref", "--in-domain", variety]) == 2
    assert "eval_bad/metrics.json is not JSON" in capsys.readouterr().err
