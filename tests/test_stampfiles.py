"""Reading stamps from numpy, FITS and Avro alert files, and scoring them (stampfiles)."""

from __future__ import annotations

import dataclasses
import gzip
import io
from pathlib import Path

import fastavro
import numpy as np
import pytest
from astropy.io import fits
from lsst.meas.realbogus.inference import LoadedModel, default_model_path, load_model
from lsst.meas.realbogus.stampfiles import (
    AlertSchemaError,
    read_stamp_files,
    score_stamp_files,
    score_stamps,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"
CUTOUTS = {"science": "cutoutScience", "template": "cutoutTemplate", "difference": "cutoutDifference"}


@pytest.fixture(scope="module")
def model():
    return load_model(default_model_path("onnx"), backend="onnx")


def _triplets(n, size, seed=0):
    """Noise triplets (science, template, difference) with a point source in science and difference."""
    rng = np.random.default_rng(seed)
    data = rng.normal(0.0, 10.0, (n, 3, size, size)).astype(np.float32)
    yy, xx = np.mgrid[:size, :size] - size // 2
    psf = np.exp(-(xx**2 + yy**2) / (2 * 1.5**2)).astype(np.float32)
    amplitude = rng.uniform(50, 500, n).astype(np.float32)
    data[:, 0] += amplitude[:, None, None] * psf
    data[:, 2] += amplitude[:, None, None] * psf
    return data


def _fits_bytes(array, gzipped=False):
    buffer = io.BytesIO()
    fits.PrimaryHDU(array).writeto(buffer)
    data = buffer.getvalue()
    return gzip.compress(data) if gzipped else data


RUBIN_SCHEMA = {
    "namespace": "lsst.v10_0",
    "type": "record",
    "name": "alert",
    "fields": [
        {"name": "diaSourceId", "type": "long"},
        {
            "name": "diaSource",
            "type": {
                "type": "record",
                "name": "diaSource",
                "fields": [
                    {"name": "diaSourceId", "type": "long"},
                    {"name": "x", "type": "float"},
                    {"name": "reliability", "type": ["null", "float"], "default": None},
                ],
            },
        },
        *({"name": f, "type": ["null", "bytes"], "default": None} for f in CUTOUTS.values()),
    ],
}

ZTF_CUTOUT = {
    "type": "record",
    "name": "cutout",
    "fields": [{"name": "fileName", "type": "string"}, {"name": "stampData", "type": "bytes"}],
}
ZTF_SCHEMA = {
    "namespace": "ztf",
    "type": "record",
    "name": "alert",
    "fields": [
        {"name": "objectId", "type": "string"},
        {"name": "candid", "type": "long"},
        {
            "name": "candidate",
            "type": {
                "type": "record",
                "name": "candidate",
                "fields": [
                    {"name": "drb", "type": "float"},
                    {"name": "magzpsci", "type": "float"},
                    {"name": "fwhm", "type": "float"},
                ],
            },
        },
        {"name": "cutoutScience", "type": ["null", ZTF_CUTOUT], "default": None},
        {"name": "cutoutTemplate", "type": ["null", "ztf.cutout"], "default": None},
        {"name": "cutoutDifference", "type": ["null", "ztf.cutout"], "default": None},
    ],
}


def _write_avro(path, schema, packets):
    with open(path, "wb") as stream:
        fastavro.writer(stream, fastavro.parse_schema(schema), packets)


def _rubin_packets(stamps):
    packets = []
    for i, triplet in enumerate(stamps):
        packet = {
            "diaSourceId": 1000 + i,
            "diaSource": {"diaSourceId": 1000 + i, "x": 1.5, "reliability": 0.5},
        }
        for channel, array in zip(("science", "template", "difference"), triplet):
            packet[CUTOUTS[channel]] = _fits_bytes(array)
        packets.append(packet)
    return packets


def test_scores_equal_for_the_same_pixels_from_every_kind_of_file(model, tmp_path):
    """npz, per-channel FITS, Rubin and ZTF Avro packets of the same pixels give the same scores."""
    stamps = _triplets(5, 51)
    np.savez(
        tmp_path / "s.npz",
        triplets=stamps,
        channels=np.array(["science", "template", "difference"]),
        diaSourceId=np.arange(1000, 1005),
    )
    fits_dir = tmp_path / "fits"
    fits_dir.mkdir()
    for i, triplet in enumerate(stamps):
        for channel, array in zip(("science", "template", "difference"), triplet):
            fits.PrimaryHDU(array).writeto(fits_dir / f"{1000 + i}_{channel}.fits")
    _write_avro(tmp_path / "rubin.avro", RUBIN_SCHEMA, _rubin_packets(stamps))
    ztf = [
        {
            "objectId": f"ZTF26a{i}",
            "candid": 1000 + i,
            "candidate": {"drb": 0.9, "magzpsci": 26.0, "fwhm": 2.0 + i},
            **{
                CUTOUTS[c]: {"fileName": f"{c}.fits.gz", "stampData": _fits_bytes(a, gzipped=True)}
                for c, a in zip(("science", "template", "difference"), triplet)
            },
        }
        for i, triplet in enumerate(stamps)
    ]
    _write_avro(tmp_path / "ztf.avro", ZTF_SCHEMA, ztf)
    expected = score_stamps(model, stamps, ("science", "template", "difference"))["score"]
    for name in ("s.npz", "fits", "rubin.avro", "ztf.avro"):
        table = score_stamp_files([str(tmp_path / name)], model)
        assert list(table["id"]) == list(range(1000, 1005)), name
        assert np.allclose(table["score"], expected, atol=1e-6), name
        assert not table["flag_noScore"].any()
    ztf_table = score_stamp_files([str(tmp_path / "ztf.avro")], model)
    assert list(ztf_table["objectId"]) == [f"ZTF26a{i}" for i in range(5)]
    assert np.allclose(ztf_table["drb"], 0.9) and list(ztf_table["fwhm"]) == [2.0, 3.0, 4.0, 5.0, 6.0]
    # A PSF FWHM from a value each packet carries (here its fwhm), or one for all.
    model = _with_widths(model)
    by_column = score_stamp_files([str(tmp_path / "ztf.avro")], model, psf_fwhm="fwhm")
    md = model.metadata
    expected = [min(w / md.min_psf_fwhm, 1.0) for w in (2.0, 3.0, 4.0, 5.0, 6.0)]
    np.testing.assert_allclose(by_column["psfScale"], expected, rtol=1e-5)
    one = score_stamp_files([str(tmp_path / "ztf.avro")], model, psf_fwhm=2.0)
    assert np.allclose(one["psfScale"], 2.0 / md.min_psf_fwhm)


def test_small_stamps_keep_their_information(model):
    """30x30 stamps (Rubin's alert cutouts) padded to 51x51 get scores of their own, not one value."""
    stamps = _triplets(8, 30, seed=1)
    stamps[:4, [0, 2]] *= 0.05  # faint sources: lower scores
    table = score_stamps(model, stamps, ("science", "template", "difference"))
    # The logit: float32 scores of sure detections tie at 1.
    assert table["flag_padded"].all() and len(np.unique(table["logit"])) == 8
    assert table["logit"][4:].mean() > table["logit"][:4].mean()


def _with_widths(model, low=3.0, high=8.7):
    """The model, recording training PSF widths of its own (the shipped one's may change)."""
    return LoadedModel(
        model.path, model.backend, dataclasses.replace(model.metadata, min_psf_fwhm=low, max_psf_fwhm=high)
    )


def test_stamps_of_a_psf_outside_the_training_widths_are_resampled(model):
    """With a PSF FWHM per stamp (or one for all) the stamps are resampled to the model's training widths."""
    model = _with_widths(model)
    md = model.metadata
    stamps = _triplets(4, 63, seed=4)
    widths = [md.min_psf_fwhm / 2, md.min_psf_fwhm, md.max_psf_fwhm, md.max_psf_fwhm * 1.2]
    table = score_stamps(model, stamps, ("science", "template", "difference"), psf_fwhm=widths)
    plain = score_stamps(model, stamps, ("science", "template", "difference"))
    np.testing.assert_allclose(table["psfScale"], [0.5, 1.0, 1.0, 1.2], rtol=1e-5)
    assert not table["flag_psfOutOfRange"].any() and (plain["psfScale"] == 1).all()
    np.testing.assert_array_equal(table["score"][1:3], plain["score"][1:3])
    assert (table["score"][[0, 3]] != plain["score"][[0, 3]]).all()
    one = score_stamps(model, stamps, ("science", "template", "difference"), psf_fwhm=widths[0])
    assert np.allclose(one["psfScale"], 0.5) and one["score"][0] == table["score"][0]
    far = score_stamps(model, stamps[:1], ("science", "template", "difference"), psf_fwhm=md.min_psf_fwhm / 9)
    assert far["flag_psfOutOfRange"][0] and far["psfScale"][0] == pytest.approx(0.25)
    with pytest.raises(ValueError, match="psf_fwhm must be one value or 4"):
        score_stamps(model, stamps, ("science", "template", "difference"), psf_fwhm=[2.0, 3.0])


def test_bad_stamps_get_flagged_rows(model):
    stamps = list(_triplets(4, 51, seed=2))
    stamps[1] = stamps[1].copy()
    stamps[1][0, 25, 25] = -3.4e38
    stamps[2] = [stamps[2][0], None, stamps[2][2]]
    stamps[3] = np.full((3, 51, 51), np.nan, np.float32)
    table = score_stamps(model, stamps, ("science", "template", "difference"))
    assert len(table) == 4
    assert list(table["flag_noScore"]) == [False, False, True, True]
    assert table["flag_badPixels"][1] and table["badPixelCount"][1] == 1 and np.isfinite(table["score"][1])
    assert table["problem"][2] == "no template stamp"
    assert table["problem"][3].startswith("no valid pixel in")


def test_packets_without_cutouts_or_with_broken_ones_get_rows(model, tmp_path):
    packets = _rubin_packets(_triplets(3, 51))
    packets[1]["cutoutTemplate"] = None
    packets[2]["cutoutScience"] = b"SIMPLE  = not a fits file"
    _write_avro(tmp_path / "a.avro", RUBIN_SCHEMA, packets)
    table = score_stamp_files([str(tmp_path / "a.avro")], model)
    assert list(table["flag_noScore"]) == [False, True, True]
    assert table["problem"][1] == "no template stamp"
    assert table["problem"][2].startswith("cutoutScience:")


def test_avro_of_another_schema_is_refused_naming_the_field(model, tmp_path):
    schema = {**RUBIN_SCHEMA, "fields": [f for f in RUBIN_SCHEMA["fields"] if f["name"] != "cutoutTemplate"]}
    packets = [
        {k: v for k, v in p.items() if k != "cutoutTemplate"} for p in _rubin_packets(_triplets(1, 51))
    ]
    _write_avro(tmp_path / "a.avro", schema, packets)
    with pytest.raises(AlertSchemaError, match=r"a\.avro.*'cutoutTemplate'"):
        score_stamp_files([str(tmp_path / "a.avro")], model)
    other = {"type": "record", "name": "thing", "fields": [{"name": "value", "type": "int"}]}
    _write_avro(tmp_path / "b.avro", other, [{"value": 1}])
    with pytest.raises(AlertSchemaError, match="no field 'diaSourceId'.*'candid'"):
        list(read_stamp_files([str(tmp_path / "b.avro")]))


def test_counts_are_converted_to_njy_with_the_zero_point(tmp_path):
    """--to-njy multiplies counts by 10**(-0.4 (zero point - 31.4)); without a zero point, no score."""
    from lsst.meas.realbogus.stampfiles.records import StampRecord
    from lsst.meas.realbogus.stampfiles.scoring import _flux_factor

    record = StampRecord(1, {}, "f", units="counts", zero_point=26.4)
    assert _flux_factor(record, True, None) == (pytest.approx(100.0), "")
    assert _flux_factor(record, False, None) == (1.0, "")
    factor, why = _flux_factor(StampRecord(1, {}, "f", units="counts"), True, None)
    assert "no zero point" in why


def test_unknown_inputs_are_named(model, tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.npz"):
        score_stamp_files([str(tmp_path / "nothere.npz")], model)
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(ValueError, match=r"x\.txt: cannot tell its kind"):
        score_stamp_files([str(tmp_path / "x.txt")], model)
    np.savez(tmp_path / "n.npz", stamps=np.zeros((2, 3, 5, 5), np.float32))
    with pytest.raises(ValueError, match=r"n\.npz: the file does not name its channels"):
        score_stamp_files([str(tmp_path / "n.npz")], model)
    assert len(score_stamp_files([str(tmp_path / "n.npz")], model, channels=["diff", "sci", "ref"])) == 2


def test_chunks_give_the_same_table(model, tmp_path):
    stamps = _triplets(7, 51, seed=3)
    np.savez(tmp_path / "s.npz", stamps=stamps, channels=np.array(["science", "template", "difference"]))
    one = score_stamp_files([str(tmp_path / "s.npz")], model)
    done = []
    many = score_stamp_files([str(tmp_path / "s.npz")], model, chunk_size=3, progress=done.append)
    assert done == [3, 3, 1] and np.array_equal(one["score"], many["score"])


@pytest.mark.skipif(not SHARED.exists(), reason=f"the real stamps are not at {SHARED}")
def test_real_lsstcam_alert_stamps(model):
    """The 25 real LSSTCam alerts (30x30): every one padded and scored, no two alike (was: all 0.521)."""
    npz = score_stamp_files([str(SHARED / "rubin_alert_triplets/lsstcam_20251231/triplets.npz")], model)
    from_fits = score_stamp_files([str(SHARED / "rubin_alert_triplets/lsstcam_20251231/fits")], model)
    assert len(npz) == 25 and npz["flag_padded"].all() and not npz["flag_noScore"].any()
    assert len(np.unique(npz["logit"])) == 25
    order = np.argsort(from_fits["id"])
    assert np.allclose(np.sort(npz["score"]), np.sort(from_fits["score"][order]), atol=1e-6)
