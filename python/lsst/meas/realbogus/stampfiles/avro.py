"""Alert packets in Avro container files: Rubin's (``lsst.vN_M.alert``) and ZTF's (``ztf.alert``).

Read with fastavro, which takes the schema from the file.  The flavour is told
by the schema's fields:

* Rubin: identifier ``diaSourceId``; cutouts ``cutoutScience``, ``cutoutTemplate`` and
  ``cutoutDifference``, each FITS bytes or null; pixels in nJy.
* ZTF: identifier ``candid`` (and ``objectId``); each cutout a record whose ``stampData`` is
  gzipped FITS; pixels in counts, with the zero point ``candidate.magzpsci``.

A file of any other schema is refused (`AlertSchemaError`) naming the field it
lacks; a packet whose cutout is null or cannot be decoded gives a record with
that channel absent or a ``problem``, so it still gets its output row.
`stamp_record` turns one decoded packet (a dict, e.g. from a Kafka consumer's
schemaless reader) into a record.
"""

from __future__ import annotations

__all__ = ("AlertSchemaError", "alert_flavour", "read_avro_file", "stamp_record")

import gzip
import io
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from .fits import first_image
from .records import StampRecord

CUTOUT_FIELDS = {"science": "cutoutScience", "template": "cutoutTemplate", "difference": "cutoutDifference"}
"""Packet field of each channel's cutout (both flavours)."""

FLAVOURS = {
    "rubin": {"id": "diaSourceId", "source": "diaSource"},
    "ztf": {"id": "candid", "source": "candidate"},
}
"""Top-level fields that tell each flavour: its identifier and the record of the detection."""

CARRIED = {
    "rubin": ("visit", "detector", "band", "midpointMjdTai", "x", "y", "snr", "reliability"),
    "ztf": ("jd", "fid", "isdiffpos", "magpsf", "rb", "drb", "magzpsci", "fwhm"),
}
"""Fields of the detection's record carried into the output, where present."""


class AlertSchemaError(ValueError):
    """An Avro file whose records are not Rubin or ZTF alert packets."""


def alert_flavour(field_names: Mapping[str, Any] | list[str], where: str = "") -> str:
    """``rubin`` or ``ztf``, from a packet's top-level field names.

    Raises
    ------
    AlertSchemaError
        If a field either flavour needs is missing; the message names it
        (and ``where``, e.g. the file).
    """
    names = set(field_names)
    prefix = f"{where}: " if where else ""
    for flavour, fields in FLAVOURS.items():
        if fields["id"] in names:
            missing = [f for f in (fields["source"], *CUTOUT_FIELDS.values()) if f not in names]
            if missing:
                raise AlertSchemaError(
                    f"{prefix}{flavour} alert packets need the field {missing[0]!r}, which this schema "
                    f"lacks (fields: {', '.join(sorted(names))})"
                )
            return flavour
    raise AlertSchemaError(
        f"{prefix}not an alert packet: no field 'diaSourceId' (Rubin) or 'candid' (ZTF) "
        f"(fields: {', '.join(sorted(names))})"
    )


def _decode_cutout(value: Any) -> np.ndarray | None:
    """Pixels of a cutout field: FITS bytes (Rubin), or a record whose ``stampData`` is gzipped FITS (ZTF)."""
    from astropy.io import fits

    if value is None:
        return None
    data = value.get("stampData") if isinstance(value, Mapping) else value
    if data is None:
        return None
    data = bytes(data)
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    with fits.open(io.BytesIO(data)) as hdus:
        return first_image(hdus, "the cutout's FITS")[0]


def stamp_record(packet: Mapping[str, Any], flavour: str, where: str = "") -> StampRecord:
    """The record of one decoded alert packet of ``flavour`` (see `alert_flavour`)."""
    fields = FLAVOURS[flavour]
    source = packet.get(fields["source"]) or {}
    stamps: dict[str, np.ndarray | None] = {}
    problems = []
    for channel, name in CUTOUT_FIELDS.items():
        try:
            stamps[channel] = _decode_cutout(packet.get(name))
        except (OSError, ValueError, EOFError) as err:
            problems.append(f"{name}: {str(err).splitlines()[0]}")
    columns = {k: source[k] for k in CARRIED[flavour] if k in source}
    if flavour == "ztf":
        columns = {"objectId": packet.get("objectId"), **columns}
        units, zero_point = "counts", source.get("magzpsci")
    else:
        units, zero_point = "nJy", None
    return StampRecord(
        id=packet[fields["id"]],
        stamps=stamps,
        file=where,
        columns=columns,
        units=units,
        zero_point=zero_point,
        problem="; ".join(problems),
    )


def read_avro_file(path: str) -> Iterator[StampRecord]:
    """Read the alert packets of an Avro container file, one record per packet.

    Raises
    ------
    AlertSchemaError
        If the file's schema is not that of Rubin or ZTF alert packets,
        naming the missing field and the file.
    ValueError
        If the file is not an Avro container file.
    """
    import fastavro

    with open(path, "rb") as stream:
        try:
            reader = fastavro.reader(stream)
        except ValueError as err:
            raise ValueError(f"{path}: not an Avro container file ({err})") from None
        schema = reader.writer_schema
        names = [f["name"] for f in schema.get("fields", [])] if isinstance(schema, dict) else []
        flavour = alert_flavour(names, where=f"{path} (schema {schema.get('name', '?')})")
        for i, packet in enumerate(reader):
            yield stamp_record(packet, flavour, where=f"{path}[{i}]")
