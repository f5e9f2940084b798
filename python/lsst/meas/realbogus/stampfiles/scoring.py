"""Scoring stamps from memory or files: one output row per stamp, flags instead of lost rows.

Stamps go through `~lsst.meas.realbogus.stamps.fitting.fit_stamps` (padded or
centre-cropped to the model's size, never resized; NaN, infinite and sentinel
pixels marked missing) and then the model's own
`~lsst.meas.realbogus.stamps.batch.ModelInput.prepare`, with the normalization
computed on the valid pixels only.  Output columns:

======================  ===========================================================================
column                  meaning
======================  ===========================================================================
``score``               the model's score in [0, 1]; NaN when ``flag_noScore``
``flag_noScore``        not scored; ``problem`` says why (a missing or unreadable cutout, channels
                        of different shapes, a channel without any valid pixel)
``flag_padded``         smaller than the model's input along some axis: padded around its centre
``flag_cropped``        larger: centre-cropped
``flag_badPixels``      held NaN, infinite or sentinel pixels (treated as missing)
``badPixelCount``       how many, over all channels
``missingFraction``     fraction of the model's input pixels missing in any channel (padding too)
``psfScale``            the factor the stamp's pixels were widened by for its PSF to be within the
                        model's training widths (1: not resampled; only with a PSF FWHM given)
``flag_psfOutOfRange``  the PSF needed more than ``MAX_RESAMPLING`` (resampled by that much only)
``problem``             empty, or why the stamp was not scored
``modelVersion``        the model's version
======================  ===========================================================================

Stamps carry no PSF model, so a stamp is resampled to the model's training
PSF widths (its metadata's ``min_psf_fwhm`` and ``max_psf_fwhm``; see
`~lsst.meas.realbogus.stamps.resampling`) only when its PSF FWHM in pixels is
given: one value for all (a survey's typical seeing) or one per stamp.
"""

from __future__ import annotations

__all__ = ("score_stamp_files", "score_stamps")

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import astropy.table
import numpy as np

from ..inference import LoadedModel, ModelMetadata, cpu_threads
from ..stamps import CHANNELS, MISSING_ABOVE, FittedStamps, fit_stamps
from ..stamps.resampling import MAX_RESAMPLING, bounded_psf_scale
from .reading import read_stamp_files
from .records import StampRecord

NJY_AB_MAGNITUDE = 31.4
"""AB magnitude of a flux of 1 nJy."""


def _psf_scales(metadata: ModelMetadata, psf_fwhm: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per stamp, the resampling factor for a model (`psf_scale`) and whether it was capped.

    ``psf_fwhm`` is `None` (no resampling), one FWHM in pixels, or one per
    stamp (NaN: unknown, not resampled).
    """
    if psf_fwhm is None:
        return np.ones(n), np.zeros(n, dtype=bool)
    widths = np.broadcast_to(np.asarray(psf_fwhm, dtype=float), (n,))
    high, low = metadata.max_psf_fwhm, metadata.min_psf_fwhm
    bounded = [bounded_psf_scale(w, high, low, MAX_RESAMPLING) for w in widths]
    return np.array([b[0] for b in bounded]), np.array([b[1] for b in bounded], dtype=bool)


def _score_fitted(
    model: LoadedModel, fitted: FittedStamps, batch_size: int, scales: np.ndarray, capped: np.ndarray
) -> dict[str, np.ndarray]:
    """The output columns of stamps already fitted to ``model``'s input."""
    md = model.metadata
    n = len(fitted.data)
    usable = fitted.usable
    scores = np.full(n, np.nan, dtype=np.float32)
    logits = np.full(n, np.nan, dtype=np.float32)
    spread = np.full(n, np.nan, dtype=np.float32)
    if usable.any():
        batch = md.input.prepare(
            fitted.data[usable], md.channels, valid=fitted.valid[usable], threads=cpu_threads()
        )
        result = model.score(batch, batch_size=batch_size)
        scores[usable], logits[usable] = result.score, result.logit
        if md.members > 1:
            spread[usable] = result.std
    problem = fitted.problem.astype(object)
    no_score = ~np.isfinite(scores)
    problem[usable & no_score] = "the model's output is not finite"
    scores[no_score] = logits[no_score] = spread[no_score] = np.nan
    return {
        "score": scores,
        "logit": logits,
        "scoreStd": spread,
        "flag_noScore": no_score,
        "flag_padded": fitted.padded,
        "flag_cropped": fitted.cropped,
        "flag_badPixels": fitted.sentinel_count > 0,
        "badPixelCount": fitted.sentinel_count.astype(np.int32),
        "missingFraction": fitted.missing_fraction,
        "psfScale": scales.astype(np.float32),
        "flag_psfOutOfRange": capped,
        "problem": problem.astype(str) if n else np.zeros(0, dtype=str),
        "modelVersion": np.full(n, md.version, dtype="U7"),
    }


def score_stamps(
    model: LoadedModel,
    stamps: np.ndarray | Sequence[Sequence[np.ndarray | None]],
    channels: Sequence[str] = CHANNELS,
    *,
    missing_above: float = MISSING_ABOVE,
    batch_size: int = 64,
    psf_fwhm: float | Sequence[float] | np.ndarray | None = None,
) -> astropy.table.Table:
    """Score stamps held in memory, one row per stamp in input order.

    Parameters
    ----------
    model : `~lsst.meas.realbogus.inference.LoadedModel`
        The model (`~lsst.meas.realbogus.inference.load_model`).
    stamps : `numpy.ndarray` or sequence
        ``(N, C, H, W)`` pixels, or per stamp a sequence of C 2-d arrays
        (`None` for a channel it lacks); any size.
    channels : sequence of `str`
        The names of the C channels (any order of ``template``, ``science``,
        ``difference``; the model takes the ones it needs).
    missing_above : `float`
        Pixels whose absolute value is at least this are missing (ZTF writes
        -3.4e38 for pixels off its image).
    batch_size : `int`
        Stamps per model batch.
    psf_fwhm : `float` or sequence of `float`, optional
        PSF FWHM of the stamps in pixels, one for all or one per stamp (NaN:
        unknown): stamps of a PSF outside the model's training widths are
        resampled to them.  `None`: never resampled.

    Returns
    -------
    scores : `astropy.table.Table`
        The columns of the module docstring.

    Raises
    ------
    ValueError
        If ``channels`` lacks one of the model's channels, or ``psf_fwhm``
        is neither one value nor one per stamp.
    """
    channels = tuple(channels)
    md = model.metadata
    missing = [c for c in md.channels if c not in channels]
    if missing:
        raise ValueError(f"stamps of channels {channels} lack the model's channels {missing}")
    index = [channels.index(c) for c in md.channels]
    selected = [[stamp[j] if len(stamp) == len(channels) else None for j in index] for stamp in stamps]
    if psf_fwhm is not None and np.ndim(psf_fwhm) and np.shape(psf_fwhm) != (len(selected),):
        raise ValueError(f"psf_fwhm must be one value or {len(selected)}, got shape {np.shape(psf_fwhm)}")
    scales, capped = _psf_scales(md, psf_fwhm, len(selected))
    fitted = fit_stamps(selected, md.channels, md.cutout_size, missing_above=missing_above, scales=scales)
    return astropy.table.Table(_score_fitted(model, fitted, batch_size, scales, capped))


def _flux_factor(record: StampRecord, to_njy: bool, zero_point: float | None) -> tuple[float, str]:
    """What to multiply a record's pixels by, and the problem if that cannot be known.

    Without ``to_njy``, and for pixels already in nJy, nothing.  Pixels of
    unstated units are converted only when ``zero_point`` is given; pixels in
    counts need the record's zero point or ``zero_point``.
    """
    units = record.units.lower()
    if not to_njy or units == "njy" or (not units and zero_point is None):
        return 1.0, ""
    point = zero_point if not units else (record.zero_point if record.zero_point is not None else zero_point)
    if point is None or not np.isfinite(point):
        return np.nan, f"pixels in {record.units} and no zero point to convert them to nJy"
    return 10.0 ** (-0.4 * (float(point) - NJY_AB_MAGNITUDE)), ""


def _finite_or_nan(value: Any) -> float:
    """A value as a float, NaN if it is missing or not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


def _column(values: list[Any]) -> np.ndarray:
    """A column of values that may be missing (`None`) or of mixed types.

    Numbers (and booleans) with missing values become floats with NaN; values
    of mixed or other types become strings, empty when missing.  So every
    column writes plainly to Parquet and CSV.
    """
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, (bool, np.bool_)) for v in present) and len(present) == len(values):
        return np.array(values, dtype=bool)
    if present and all(isinstance(v, (bool, int, float, np.number, np.bool_)) for v in present):
        if len(present) == len(values) and not any(isinstance(v, (float, np.floating)) for v in present):
            return np.array(values, dtype=np.int64)
        return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    return np.array(["" if v is None else str(v) for v in values], dtype=str)


def score_stamp_files(
    inputs: Sequence[str],
    model: LoadedModel,
    *,
    channels: Sequence[str] | None = None,
    to_njy: bool = False,
    zero_point: float | None = None,
    missing_above: float = MISSING_ABOVE,
    batch_size: int = 64,
    chunk_size: int = 4096,
    progress: Callable[[int], Any] | None = None,
    psf_fwhm: float | str | None = None,
) -> astropy.table.Table:
    """Score every stamp of ``inputs`` (files or directories), one row each.

    Parameters
    ----------
    inputs : sequence of `str`
        Alert packets (``.avro``), numpy stamp files (``.npz``, ``.npy``),
        FITS cutouts, or directories of them
        (`~lsst.meas.realbogus.stampfiles.reading.read_stamp_files`).
    model : `~lsst.meas.realbogus.inference.LoadedModel`
        The model.
    channels : sequence of `str`, optional
        Channel names of numpy files that do not name their own.
    to_njy : `bool`
        Convert pixels in counts to nJy with the packet's zero point (ZTF's
        ``magzpsci``) or ``zero_point``; for models that take pixel values
        as they are (normalization ``none``, as Rubin's).  Models with the
        robust normalization do not depend on the units.
    zero_point : `float`, optional
        AB magnitude of one count, for sources that do not give it.
    missing_above, batch_size
        As `score_stamps`.
    chunk_size : `int`
        Stamps read, fitted and scored at a time (memory is bounded by it).
    progress : callable, optional
        Called with the number of stamps done after each chunk (e.g. a
        progress bar's ``update``).
    psf_fwhm : `float` or `str`, optional
        PSF FWHM of the stamps in pixels (as `score_stamps`), or the name of
        the value each source carries it in (e.g. a column of a numpy file);
        a stamp without that value is not resampled.  `None`: none is.

    Returns
    -------
    scores : `astropy.table.Table`
        ``id`` and ``file`` of each stamp, the columns of `score_stamps`, and
        the values its source carries (ZTF's ``drb``, Rubin's
        ``reliability`` ...), in input order.

    Raises
    ------
    FileNotFoundError, ValueError
        If an input does not exist or is of an unknown kind, or a file is
        not of its kind's layout (`~lsst.meas.realbogus.stampfiles.avro.AlertSchemaError`
        for an Avro file of another schema); the message names the file.
    """
    md = model.metadata
    records = read_stamp_files(inputs, channels)
    parts = []
    while chunk := list(itertools.islice(records, chunk_size)):
        widths = psf_fwhm
        if isinstance(psf_fwhm, str):
            widths = [_finite_or_nan(r.columns.get(psf_fwhm)) for r in chunk]
        scales, capped = _psf_scales(md, widths, len(chunk))
        fitted = fit_stamps(
            [[r.stamps.get(c) for c in md.channels] for r in chunk],
            md.channels,
            md.cutout_size,
            missing_above=missing_above,
            scales=scales,
        )
        for i, record in enumerate(chunk):
            factor, why = _flux_factor(record, to_njy, zero_point)
            problem = record.problem or why
            if problem:
                fitted.problem[i] = problem
                fitted.valid[i] = False
            elif factor != 1.0:
                fitted.data[i] *= np.float32(factor)
        columns = _score_fitted(model, fitted, batch_size, scales, capped)
        part = astropy.table.Table(
            {"id": _column([r.id for r in chunk]), "file": [r.file for r in chunk], **columns}
        )
        keys = dict.fromkeys(k for r in chunk for k in r.columns)
        for key in keys:
            part[key] = _column([r.columns.get(key) for r in chunk])
        parts.append(part)
        if progress is not None:
            progress(len(chunk))
    if not parts:
        raise ValueError(f"no stamps in {', '.join(inputs)}")
    if len(parts) == 1:
        return parts[0]
    table = astropy.table.vstack(parts, join_type="outer", metadata_conflicts="silent")
    for name in table.colnames:  # a column some chunks lack: NaN or empty there, as within a chunk
        column = table[name]
        if getattr(column, "mask", None) is not None and column.mask.any():
            if column.dtype.kind in "biuf":
                table[name] = np.where(column.mask, np.nan, column.data.astype(np.float64))
            else:
                table[name] = np.where(column.mask, "", column.data.astype(str))
        elif isinstance(column, astropy.table.MaskedColumn):
            table[name] = column.data.data
    return table
