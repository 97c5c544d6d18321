"""Layer packs: operator-supplied indicator tables under licences we cannot ship.

A pack is a folder with ``manifest.json`` and one CSV table, keyed by country,
by country and commodity, or by grid cell. ``docs/layer-packs.md`` describes
the format. Packs load and are validated in full with the open data, on the
first mining or agriculture request of a container. An invalid pack raises
``LayerPackError`` naming the pack folder and the field or table row, so a bad
deployment serves no partial indicators. The local runner (``make run``)
loads the packs at start-up and prints the whole message.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from nature_risk.biodiversity.geometry import KM_PER_DEGREE_LATITUDE, haversine_km
from nature_risk.config import ConfigurationError

MANIFEST = "manifest.json"
KINDS = ("country", "country_commodity", "grid")
AGGREGATIONS = ("sum", "mean", "max", "min")
_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_ISO3 = re.compile(r"^[A-Z]{3}$")
# Points per batch in radius lookups, which bounds the (point, cell) pairs held.
RADIUS_CHUNK = 2048
# Maximum rows of one pack table, so a stray file cannot exhaust memory.
MAX_GRID_CELLS = 5_000_000
# Smallest grid cell: 0.01 degrees is about 1.1 km, finer than the open rasters
# packs are made from, and it keeps a radius search to a few thousand cells.
MIN_CELL_SIZE_DEGREES = 0.01
MAX_CELL_SIZE_DEGREES = 10.0

# Indicators the dashboards know and use in tiers. A pack may add others.
KNOWN_INDICATORS = {
    "star_threat_abatement": "STAR threat-abatement score (STAR-T)",
    "star_restoration": "STAR restoration score (STAR-R)",
    "protected_area_distance_km": "Distance to the nearest protected area",
    "kba_distance_km": "Distance to the nearest Key Biodiversity Area",
    "biodiversity_intactness": "Biodiversity Intactness Index",
}


# Units and value ranges of the known indicators. The tiers compare distances
# with BIODIVERSITY_RADIUS_KM, so a distance in other units would change tiers.
REQUIRED_UNITS = {
    "protected_area_distance_km": "km",
    "kba_distance_km": "km",
}
NON_NEGATIVE_INDICATORS = frozenset(KNOWN_INDICATORS)
# Largest magnitude of a pack value. Real indicators are far smaller (distances
# stay under 20,040 km), and the bound keeps every radius sum and portfolio
# total finite.
MAX_PACK_VALUE = 1e15


class LayerPackError(ConfigurationError):
    """A layer pack's manifest or table is invalid.

    ``pack`` is the pack folder's name and ``location`` the manifest field or
    table row at fault. Both come from the operator's deployment, never from a
    request, so they may be logged.
    """

    def __init__(self, message: str, pack: str = "", location: str = "") -> None:
        super().__init__(message)
        self.pack = pack
        self.location = location


@dataclass(frozen=True, slots=True)
class Indicator:
    """One indicator a pack provides: its column, units and radius aggregation."""

    id: str
    column: str
    label: str
    units: str
    radius_aggregation: str


@dataclass(slots=True)
class LayerPack:
    """A validated pack: its manifest and its values indexed for lookups."""

    folder: Path
    name: str
    version: str
    licence: str
    attribution: str
    kind: str
    indicators: list[Indicator]
    cell_size_degrees: float | None = None
    # country -> values, (country, commodity) -> values, or sorted cell keys.
    by_key: dict[object, np.ndarray] = field(default_factory=dict)
    cell_keys: np.ndarray | None = None
    cell_values: np.ndarray | None = None

    def describe(self) -> dict[str, object]:
        """Return the manifest facts every result carries for this pack."""
        return {
            "name": self.name,
            "version": self.version,
            "licence": self.licence,
            "attribution": self.attribution,
            "kind": self.kind,
            "indicators": [
                {"id": i.id, "label": i.label, "units": i.units}
                for i in self.indicators
            ],
        }

    def by_country(self, iso3: str, commodity: str | None = None) -> np.ndarray | None:
        """Return the indicator values for a country (and commodity), or None."""
        if self.kind == "country":
            return self.by_key.get(iso3)
        if self.kind == "country_commodity" and commodity:
            return self.by_key.get((iso3, commodity))
        return None

    def at_points(self, latitudes: np.ndarray, longitudes: np.ndarray) -> np.ndarray:
        """Return (points x indicators) values of each point's cell; NaN if none."""
        keys = self._cell_key(latitudes, longitudes)
        return self._values_for(keys)

    def within_radius(
        self, latitudes: np.ndarray, longitudes: np.ndarray, radius_km: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Aggregate every cell that comes within ``radius_km`` of each point.

        A cell counts when its nearest point (the point clamped to the cell's
        latitude and longitude range) is within the radius on a great circle.
        Returns (points x indicators) aggregates and (points x indicators)
        counts of the cells with data for each indicator. Cells without data
        are skipped, not counted as zero.
        """
        count = len(latitudes)
        width = len(self.indicators)
        total = np.zeros((count, width))
        low = np.full((count, width), np.inf)
        high = np.full((count, width), -np.inf)
        cells = np.zeros((count, width), dtype=np.intp)
        for start in range(0, count, RADIUS_CHUNK):
            chunk = slice(start, min(start + RADIUS_CHUNK, count))
            point, cell = self._cells_near(
                latitudes[chunk], longitudes[chunk], radius_km
            )
            point += start
            values = self.cell_values[cell]
            for column in range(width):
                present = ~np.isnan(values[:, column])
                who = point[present]
                found = values[present, column]
                np.add.at(total[:, column], who, found)
                np.minimum.at(low[:, column], who, found)
                np.maximum.at(high[:, column], who, found)
                np.add.at(cells[:, column], who, 1)

        result = np.full((count, width), np.nan)
        for column, indicator in enumerate(self.indicators):
            has = cells[:, column] > 0
            if indicator.radius_aggregation == "sum":
                aggregate = total[:, column]
            elif indicator.radius_aggregation == "mean":
                aggregate = total[:, column] / np.maximum(cells[:, column], 1)
            elif indicator.radius_aggregation == "max":
                aggregate = high[:, column]
            else:
                aggregate = low[:, column]
            result[has, column] = aggregate[has]
        return result, cells

    def _cells_near(
        self, latitudes: np.ndarray, longitudes: np.ndarray, radius_km: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (point, cell position) pairs for cells with data within the radius.

        Only cells present in the table are visited: per row of the window
        around each point, the row's key range is looked up in the sorted keys.
        The window's width in columns follows each point's own latitude.
        """
        size = self.cell_size_degrees
        assert size is not None and self.cell_keys is not None
        grid_rows = int(round(180 / size))
        columns = int(round(360 / size))
        rows0, cols0 = self._cell_index(latitudes, longitudes)
        row_span = math.ceil(radius_km / KM_PER_DEGREE_LATITUDE / size) + 1
        # The narrowest degree of longitude in the window is at its polar edge.
        edge = np.minimum(np.abs(latitudes) + (row_span + 1) * size, 89.999)
        col_span = (
            np.ceil(
                radius_km / (KM_PER_DEGREE_LATITUDE * np.cos(np.radians(edge))) / size
            ).astype(np.int64)
            + 1
        )
        whole_row = 2 * col_span + 1 >= columns
        first = cols0 - col_span
        last = cols0 + col_span
        # Each window row is at most three key ranges: the part inside the grid
        # and the parts that wrap round the antimeridian on either side.
        spans = (
            (
                np.where(whole_row, 0, np.maximum(first, 0)),
                np.where(whole_row, columns - 1, np.minimum(last, columns - 1)),
                np.ones(len(rows0), dtype=bool),
            ),
            (
                first + columns,
                np.full(len(rows0), columns - 1),
                ~whole_row & (first < 0),
            ),
            (
                np.zeros(len(rows0), dtype=np.int64),
                last - columns,
                ~whole_row & (last >= columns),
            ),
        )
        points: list[np.ndarray] = []
        positions: list[np.ndarray] = []
        for drow in range(-row_span, row_span + 1):
            rows = rows0 + drow
            in_grid = (rows >= 0) & (rows < grid_rows)
            for low_col, high_col, valid in spans:
                use = valid & in_grid
                begin = np.searchsorted(
                    self.cell_keys, rows * columns + low_col, "left"
                )
                end = np.searchsorted(
                    self.cell_keys, rows * columns + high_col, "right"
                )
                counts = np.where(use, end - begin, 0)
                total = int(counts.sum())
                if total == 0:
                    continue
                offsets = np.arange(total) - np.repeat(
                    np.cumsum(counts) - counts, counts
                )
                points.append(np.repeat(np.arange(len(rows0)), counts))
                positions.append(np.repeat(begin, counts) + offsets)
        if not points:
            empty = np.zeros(0, dtype=np.intp)
            return empty, empty
        point = np.concatenate(points)
        position = np.concatenate(positions)
        keys = self.cell_keys[position]
        south = (keys // columns) * size - 90.0
        west = (keys % columns) * size - 180.0
        near_lat = np.clip(latitudes[point], south, south + size)
        near_lon = _clamp_longitude(longitudes[point], west, size)
        distance = haversine_km(latitudes[point], longitudes[point], near_lat, near_lon)
        inside = distance <= radius_km
        return point[inside], position[inside]

    def _cell_index(
        self, latitudes: np.ndarray, longitudes: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        size = self.cell_size_degrees
        assert size is not None
        rows = np.floor((np.asarray(latitudes) + 90.0) / size).astype(np.int64)
        rows = np.minimum(rows, int(round(180 / size)) - 1)
        cols = np.floor((np.asarray(longitudes) + 180.0) / size).astype(np.int64)
        cols = np.minimum(cols, int(round(360 / size)) - 1)
        return rows, cols

    def _cell_key(self, latitudes: np.ndarray, longitudes: np.ndarray) -> np.ndarray:
        rows, cols = self._cell_index(latitudes, longitudes)
        return rows * int(round(360 / self.cell_size_degrees)) + cols

    def _values_for(self, keys: np.ndarray) -> np.ndarray:
        assert self.cell_keys is not None and self.cell_values is not None
        out = np.full((len(keys), len(self.indicators)), np.nan)
        if len(self.cell_keys) == 0:
            return out
        position = np.searchsorted(self.cell_keys, keys)
        position = np.minimum(position, len(self.cell_keys) - 1)
        hit = (self.cell_keys[position] == keys) & (keys >= 0)
        out[hit] = self.cell_values[position[hit]]
        return out


def _clamp_longitude(
    longitudes: np.ndarray, west: np.ndarray, size: float
) -> np.ndarray:
    """Clamp each longitude into its cell's range, going round the antimeridian."""
    offset = (np.asarray(longitudes) - west + 180.0) % 360.0 - 180.0
    return west + np.clip(offset, 0.0, size)


def load_packs(
    folder: Path | None, countries: Collection[str] | None = None
) -> list[LayerPack]:
    """Load and validate every pack in the sub-folders of ``folder``.

    ``countries`` lists the ISO 3166-1 alpha-3 codes a country key may take.
    Raises LayerPackError on the first invalid pack, or when two packs provide
    the same indicator.
    """
    if folder is None:
        return []
    packs = [
        load_pack(path, countries)
        for path in sorted(folder.iterdir())
        if path.is_dir() and (path / MANIFEST).is_file()
    ]
    seen: dict[str, str] = {}
    for pack in packs:
        for indicator in pack.indicators:
            if indicator.id in seen:
                raise LayerPackError(
                    f"layer packs {seen[indicator.id]} and {pack.folder.name} both "
                    f"provide indicator {indicator.id}",
                    pack=pack.folder.name,
                    location=f"indicator {indicator.id}",
                )
            seen[indicator.id] = pack.folder.name
    return packs


def load_pack(folder: Path, countries: Collection[str] | None = None) -> LayerPack:
    """Read and validate one pack folder; see ``load_packs`` for ``countries``."""
    where = folder.name
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _error(where, MANIFEST, "is not readable JSON") from error
    if not isinstance(manifest, dict):
        raise _error(where, MANIFEST, "must be a JSON object")

    text = {}
    for key in ("name", "version", "licence", "attribution", "kind"):
        value = manifest.get(key)
        if not isinstance(value, str) or not value.strip():
            raise _error(where, key, "is missing or empty", prefix="manifest field")
        text[key] = value.strip()
    kind = text["kind"]
    if kind not in KINDS:
        raise _error(where, "kind", f"must be one of {KINDS}", prefix="manifest field")

    default_units = manifest.get("units")
    raw_indicators = manifest.get("indicators")
    if not isinstance(raw_indicators, list) or not raw_indicators:
        raise _error(
            where, "indicators", "must be a non-empty list", prefix="manifest field"
        )
    indicators = [
        _indicator(item, position, default_units, where)
        for position, item in enumerate(raw_indicators)
    ]
    if len({i.id for i in indicators}) != len(indicators):
        raise _error(where, "indicators", "repeat an indicator id")

    cell_size = None
    if kind == "grid":
        cell_size = manifest.get("cell_size_degrees")
        if (
            not isinstance(cell_size, (int, float))
            or isinstance(cell_size, bool)
            or not MIN_CELL_SIZE_DEGREES <= cell_size <= MAX_CELL_SIZE_DEGREES
            or abs(180 / cell_size - round(180 / cell_size)) > 1e-9
        ):
            raise _error(
                where,
                "cell_size_degrees",
                f"must divide 180 and be between {MIN_CELL_SIZE_DEGREES:g} and "
                f"{MAX_CELL_SIZE_DEGREES:g}",
                prefix="manifest field",
            )
        cell_size = float(cell_size)

    table_name = manifest.get("table", "data.csv")
    if not isinstance(table_name, str) or Path(table_name).name != table_name:
        raise _error(where, "table", "must be a file name", prefix="manifest field")
    pack = LayerPack(
        folder=folder,
        name=text["name"],
        version=text["version"],
        licence=text["licence"],
        attribution=text["attribution"],
        kind=kind,
        indicators=indicators,
        cell_size_degrees=cell_size,
    )
    _read_table(pack, folder / table_name, where, countries)
    return pack


def _indicator(
    item: object, position: int, default_units: object, where: str
) -> Indicator:
    label = f"indicators[{position}]"
    if not isinstance(item, dict):
        raise _error(where, label, "must be an object")
    indicator_id = item.get("id")
    if not isinstance(indicator_id, str) or not _ID.match(indicator_id):
        raise _error(where, f"{label}.id", "must be lower-case letters, digits and _")
    units = item.get("units", default_units)
    if not isinstance(units, str) or not units.strip():
        raise _error(
            where, f"{label}.units", "is missing (set it here or at the top level)"
        )
    required = REQUIRED_UNITS.get(indicator_id)
    if required is not None and units.strip() != required:
        raise _error(where, f"{label}.units", f"must be {required} for {indicator_id}")
    column = item.get("column", indicator_id)
    if not isinstance(column, str) or not column:
        raise _error(where, f"{label}.column", "must be a column name")
    aggregation = item.get("radius_aggregation", "mean")
    if aggregation not in AGGREGATIONS:
        raise _error(
            where, f"{label}.radius_aggregation", f"must be one of {AGGREGATIONS}"
        )
    name = item.get("label", KNOWN_INDICATORS.get(indicator_id, indicator_id))
    if not isinstance(name, str):
        raise _error(where, f"{label}.label", "must be text")
    return Indicator(indicator_id, column, name, units.strip(), aggregation)


def _read_table(
    pack: LayerPack, path: Path, where: str, known: Collection[str] | None
) -> None:
    """Read and check the pack's table with vectorised pandas and numpy steps.

    A global grid of 0.5-degree cells has 259,200 rows, which a row-by-row
    reader takes seconds over at every start.
    """
    key_columns = {
        "country": ("country",),
        "country_commodity": ("country", "commodity"),
        "grid": ("lat", "lon"),
    }[pack.kind]
    numeric = [i.column for i in pack.indicators]
    if pack.kind == "grid":
        numeric += ["lat", "lon"]
    try:
        try:
            # The C parser reads the numeric columns directly, which is fast.
            frame = _read_csv(path, {name: "float64" for name in numeric})
        except ValueError:
            # A cell is not a number: read text so the check can name the row.
            frame = _read_csv(path, {})
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as error:
        raise _error(where, "table", f"{path.name} cannot be read") from error
    except pd.errors.ParserWarning as error:
        raise _error(
            where, "table", f"{path.name} has a row with more cells than the header"
        ) from error
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame()
    missing = [
        name
        for name in [*key_columns, *(i.column for i in pack.indicators)]
        if name not in frame.columns
    ]
    if missing:
        raise _error(where, "table", f"lacks columns {', '.join(missing)}")
    if len(frame) > MAX_GRID_CELLS:
        raise _error(where, "table", f"has more than {MAX_GRID_CELLS} rows")
    if len(frame) == 0:
        # Its indicators would be listed as available with no value anywhere.
        raise _error(where, "table", "has no rows")

    values = np.column_stack(
        [np.empty(len(frame))]
        + [_numbers(frame[i.column], i.column, where) for i in pack.indicators]
    )[:, 1:]
    with np.errstate(invalid="ignore"):
        too_large = np.argwhere(np.abs(values) > MAX_PACK_VALUE)
    if len(too_large):
        row, column = (int(x) for x in too_large[0])
        _raise_row(
            where,
            row,
            f"column {pack.indicators[column].column} is larger than "
            f"{MAX_PACK_VALUE:g} in magnitude",
        )
    for column, indicator in enumerate(pack.indicators):
        if indicator.id in NON_NEGATIVE_INDICATORS:
            with np.errstate(invalid="ignore"):
                negative = np.flatnonzero(values[:, column] < 0)
            if len(negative):
                _raise_row(
                    where, int(negative[0]), f"column {indicator.column} is negative"
                )
    if pack.kind == "grid":
        keys = _cell_keys(pack, frame, where)
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        repeated = np.flatnonzero(sorted_keys[1:] == sorted_keys[:-1])
        if len(repeated):
            _raise_row(
                where, int(order[repeated[0] + 1]), "has the same key as an earlier row"
            )
        pack.cell_keys = sorted_keys
        pack.cell_values = values[order]
        return

    countries = frame["country"].str.strip().str.upper()
    bad = np.flatnonzero(~countries.str.fullmatch(_ISO3.pattern[1:-1]).to_numpy())
    if len(bad):
        _raise_row(where, int(bad[0]), "country is not ISO alpha-3")
    if known is not None:
        unknown = np.flatnonzero(~countries.isin(list(known)).to_numpy())
        if len(unknown):
            _raise_row(where, int(unknown[0]), "country is not a known ISO 3166-1 code")
    if pack.kind == "country":
        keys_list: list[object] = countries.tolist()
    else:
        commodities = frame["commodity"].str.strip().str.lower()
        empty = np.flatnonzero((commodities == "").to_numpy())
        if len(empty):
            _raise_row(where, int(empty[0]), "commodity is empty")
        keys_list = list(zip(countries.tolist(), commodities.tolist(), strict=True))
    seen: dict[object, int] = {}
    for index, key in enumerate(keys_list):
        if seen.setdefault(key, index) != index:
            _raise_row(where, index, "has the same key as an earlier row")
    pack.by_key = {key: values[index] for index, key in enumerate(keys_list)}


def _raise_row(where: str, index: int, reason: str) -> None:
    # Row 1 is the header, so frame index 0 is table row 2.
    raise _error(where, f"table row {index + 2}", reason)


def _error(
    pack: str, location: str, reason: str, *, prefix: str = ""
) -> LayerPackError:
    """Build the error for ``location`` of a pack: ``layer pack P: table row 3 ...``."""
    subject = f"{prefix} {location}" if prefix else location
    return LayerPackError(
        f"layer pack {pack}: {subject} {reason}", pack=pack, location=location
    )


def _read_csv(path: Path, dtypes: dict[str, str]) -> pd.DataFrame:
    """Read a pack table; a row longer than the header raises ParserWarning.

    Without ``index_col=False`` pandas would take the first column of such a
    table as the index and shift every cell one column to the left.
    """
    header = pd.read_csv(path, encoding="utf-8-sig", nrows=0).columns
    present = {name: kind for name, kind in dtypes.items() if name in header}
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        return pd.read_csv(
            path,
            encoding="utf-8-sig",
            dtype={name: present.get(name, str) for name in header},
            keep_default_na=False,
            na_values={name: [""] for name in present},
            nrows=MAX_GRID_CELLS + 1,
            index_col=False,
        )


def _numbers(cells: pd.Series, column: str, where: str) -> np.ndarray:
    """Convert a column to floats; an empty cell means no data and becomes NaN."""
    if cells.dtype.kind == "f":
        values = cells.to_numpy(dtype=float)
        infinite = np.flatnonzero(np.isinf(values))
        if len(infinite):
            _raise_row(where, int(infinite[0]), f"column {column} is not finite")
        return values
    text = cells.str.strip()
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
    blank = (text == "").to_numpy()
    invalid = np.flatnonzero(np.isnan(values) & ~blank)
    if len(invalid):
        _raise_row(where, int(invalid[0]), f"column {column} is not a number")
    infinite = np.flatnonzero(np.isinf(values))
    if len(infinite):
        _raise_row(where, int(infinite[0]), f"column {column} is not finite")
    return values


def _cell_keys(pack: LayerPack, frame: pd.DataFrame, where: str) -> np.ndarray:
    """Return each row's cell key; raise on a row that is not a cell centre."""
    size = pack.cell_size_degrees
    assert size is not None
    lat = _numbers(frame["lat"], "lat", where)
    lon = _numbers(frame["lon"], "lon", where)
    grid_row = (lat + 90.0) / size - 0.5
    grid_col = (lon + 180.0) / size - 0.5
    with np.errstate(invalid="ignore"):
        valid = (
            (lat > -90)
            & (lat < 90)
            & (lon > -180)
            & (lon < 180)
            & (np.abs(grid_row - np.round(grid_row)) <= 1e-6)
            & (np.abs(grid_col - np.round(grid_col)) <= 1e-6)
        )
    bad = np.flatnonzero(~valid)
    if len(bad):
        _raise_row(where, int(bad[0]), "is not a cell centre")
    columns = int(round(360 / size))
    return np.round(grid_row).astype(np.int64) * columns + np.round(grid_col).astype(
        np.int64
    )
