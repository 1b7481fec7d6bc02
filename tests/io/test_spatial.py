"""The spatial reader on broken files: one line naming the file, the line where there is one,
and the fix; a feature whose geometry cannot be decoded is read without it, with the reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gcrm.core import CRSMismatchError, ValidationError
from gcrm.io import GEOMETRY_PROBLEM, READ_WARNINGS, read_features


def _collection(*geometries: object, names: tuple[str, ...] = ()) -> dict[str, object]:
    features = [
        {
            "type": "Feature",
            "properties": {"ref": f"z{i}", "name": names[i] if names else f"Zone {i}"},
            "geometry": geometry,
        }
        for i, geometry in enumerate(geometries)
    ]
    return {"type": "FeatureCollection", "features": features}


SQUARE = {"type": "Polygon", "coordinates": [[[24, 60], [24.1, 60], [24.1, 60.1], [24, 60]]]}


def _error(path: Path, kind: type[Exception] = ValidationError, **kw: str) -> str:
    with pytest.raises(kind) as caught:
        read_features(path, argument="zones file", **kw)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_geojson_that_is_not_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "zones.geojson"
    text = json.dumps(_collection(SQUARE), indent=1)
    path.write_text(text[: len(text) // 2], encoding="utf-8")  # a cut-off download
    message = _error(path)
    assert message.startswith(f"zones file {str(path)!r}: it is not JSON (line ")
    assert "column" in message and "export it again" in message


def test_cp1252_geojson_names_the_line_of_the_first_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "zones.geojson"
    text = json.dumps(
        _collection(SQUARE, SQUARE, names=("Kamppi", "Töölö")), indent=1, ensure_ascii=False
    )
    path.write_bytes(text.encode("cp1252"))
    line = text[: text.index("Töölö")].count("\n") + 1
    message = _error(path)
    assert f"line {line} has byte 0xf6, which is not UTF-8 (GeoJSON is always UTF-8)" in message


def test_json_that_is_not_geojson(tmp_path: Path) -> None:
    path = tmp_path / "zones.json"
    path.write_text('{"zones": []}', encoding="utf-8")
    assert "it is JSON but not GeoJSON (the top level is type None)" in _error(path)


def test_empty_and_garbage_geopackages(tmp_path: Path) -> None:
    empty = tmp_path / "empty.gpkg"
    empty.touch()
    assert "is empty (0 bytes)" in _error(empty)
    garbage = tmp_path / "garbage.gpkg"
    garbage.write_bytes(b"\x00\x01not sqlite" * 100)
    message = _error(garbage)
    assert "is not a GeoPackage GDAL can read" in message and "It might help" not in message


def test_garbage_geoparquet(tmp_path: Path) -> None:
    path = tmp_path / "zones.parquet"
    path.write_bytes(b"PAR1 but not really")
    assert "is not a GeoParquet file gcrm can read" in _error(path)


def test_undecodable_geometries_are_read_without_geometry_and_named(tmp_path: Path) -> None:
    unclosed = {"type": "Polygon", "coordinates": [[[24, 60], [24.1, 60], [24.1, 60.1]]]}
    one_point_line = {"type": "LineString", "coordinates": [[24, 60]]}
    path = tmp_path / "zones.geojson"
    path.write_text(json.dumps(_collection(SQUARE, unclosed, one_point_line)), encoding="utf-8")
    gdf = read_features(path)
    assert gdf.geometry.isna().tolist() == [False, True, True]
    problems = gdf[GEOMETRY_PROBLEM].tolist()
    assert problems[0] == "" and "closed linestring" in problems[1]
    assert "0 or >1 elements" in problems[2]
    # What GDAL warned about is kept, not printed.
    assert any("Non closed ring" in w for w in gdf.attrs[READ_WARNINGS])


def test_a_crs_that_is_no_crs(tmp_path: Path) -> None:
    path = tmp_path / "zones.geojson"
    path.write_text(json.dumps(_collection(SQUARE)), encoding="utf-8")
    message = _error(path, CRSMismatchError, crs="EPSG:nonsense")
    assert "--crs 'EPSG:nonsense' is not a coordinate reference system" in message
