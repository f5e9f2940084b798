"""The score_realbogus_stamps.py command line (scripts.score_stamps)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lsst.meas.realbogus.scripts.score_stamps import main


@pytest.fixture
def stamp_file(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "stamps.npz"
    stamps = rng.normal(0, 1, (6, 3, 63, 63)).astype(np.float32)
    stamps[5] = np.nan
    np.savez(path, stamps=stamps, candid=np.arange(6) + 10, drb=np.linspace(0, 1, 6))
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_writes_one_row_per_stamp(stamp_file, tmp_path, capsys, suffix):
    out = tmp_path / f"scores{suffix}"
    status = main(
        [str(stamp_file), "-o", str(out), "--channels", "science,template,difference", "--no-progress"]
    )
    assert status == 0
    table = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    assert list(table["id"]) == list(range(10, 16)) and np.allclose(table["drb"], np.linspace(0, 1, 6))
    assert list(table["flag_noScore"]) == [False] * 5 + [True] and table["flag_cropped"].all()
    assert "6 stamps, 1 not scored" in capsys.readouterr().out


def test_errors_are_one_line_naming_the_file(stamp_file, tmp_path, capsys):
    assert main([str(stamp_file), "-o", str(tmp_path / "x.csv"), "--no-progress"]) == 1
    assert "stamps.npz: the file does not name its channels" in capsys.readouterr().err
    assert (
        main([str(stamp_file), "-o", str(tmp_path / "x.txt"), "--channels", "science,template,difference"])
        == 1
    )
    assert "must end in .parquet, .pq or .csv" in capsys.readouterr().err
    assert main([str(stamp_file), "-o", str(tmp_path / "x.csv"), "--model", str(tmp_path / "none.onnx")]) == 1
    assert "none.onnx" in capsys.readouterr().err
