"""Geometry helpers: shapefile records to shapely, great-circle distances, areas.

All geometry is WGS 84 longitude/latitude in degrees (EPSG:4326). Distances are
great-circle (haversine) kilometres on a sphere of radius 6371.0088 km, the
mean Earth radius. The sphere differs from the WGS 84 ellipsoid by up to 0.5 %.
"""

from __future__ import annotations

from itertools import chain

import numpy as np
import shapely
from shapefile import Shape

EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE_LATITUDE = np.pi * EARTH_RADIUS_KM / 180.0
_ANTIMERIDIAN = shapely.multilinestrings(
    [[(180.0, -90.0), (180.0, 90.0)], [(-180.0, -90.0), (-180.0, 90.0)]]
)


def polygons_from_shapes(shapes: list[Shape]) -> np.ndarray:
    """Build one shapely (multi)polygon per shapefile polygon record, vectorised.

    The shapefile format marks exterior rings clockwise and holes
    counter-clockwise. Each hole goes to the exterior of its record that
    contains the hole's first vertex. A hole that no exterior contains becomes
    an exterior of its own, as pyshp's ``__geo_interface__`` also does.
    Validity is not checked here, because point queries do not need it and the
    check costs more than the build. Overlay code calls ``shapely.make_valid``
    on the few geometries it intersects.
    """
    part_counts = np.fromiter((len(shape.parts) for shape in shapes), np.intp)
    point_counts = np.fromiter((len(shape.points) for shape in shapes), np.intp)
    # One flat read of every vertex is much faster than one array per ring.
    coords = np.fromiter(
        chain.from_iterable(chain.from_iterable(shape.points for shape in shapes)),
        dtype=float,
        count=2 * int(point_counts.sum()),
    ).reshape(-1, 2)
    record_start = np.concatenate([[0], np.cumsum(point_counts)[:-1]])
    ring_start = np.concatenate(
        [
            record_start[i] + np.asarray(shape.parts, dtype=np.intp)
            for i, shape in enumerate(shapes)
        ]
    )
    ring_end = np.append(ring_start[1:], len(coords))
    ring_ids = np.repeat(np.arange(len(ring_start)), ring_end - ring_start)
    rings = shapely.linearrings(coords, indices=ring_ids)
    is_hole = shapely.is_ccw(rings)
    records = np.repeat(np.arange(len(shapes)), part_counts)

    # Group rings into polygons: polygon id per ring, shell first.
    polygon_of_ring = np.full(len(rings), -1, dtype=np.intp)
    shells = np.flatnonzero(~is_hole)
    polygon_of_ring[shells] = np.arange(len(shells))
    holes = np.flatnonzero(is_hole)
    owner = _owning_shells(rings, shells, holes, records, coords[ring_start[holes]])
    polygon_of_ring[holes[owner >= 0]] = owner[owner >= 0]
    orphans = holes[owner < 0]
    is_hole[orphans] = False
    polygon_of_ring[orphans] = len(shells) + np.arange(len(orphans))
    next_polygon = len(shells) + len(orphans)

    # shapely.polygons takes each polygon's shell first, then its holes.
    order = np.lexsort((is_hole, polygon_of_ring))
    polygons = shapely.polygons(rings[order], indices=polygon_of_ring[order])
    polygon_record = np.empty(next_polygon, dtype=np.intp)
    polygon_record[polygon_of_ring] = records
    by_record = np.argsort(polygon_record, kind="stable")
    return shapely.multipolygons(polygons[by_record], indices=polygon_record[by_record])


def _owning_shells(
    rings: np.ndarray,
    shells: np.ndarray,
    holes: np.ndarray,
    records: np.ndarray,
    first_vertices: np.ndarray,
) -> np.ndarray:
    """Return, per hole, the innermost shell of its record around it, or -1.

    A shell is around a hole when it contains or touches the hole's first
    vertex. Of several, the smallest is the innermost. Values are positions in
    ``shells``.
    """
    shell_polygons = shapely.polygons(rings[shells])
    shapely.prepare(shell_polygons)
    # shells are in record order, so each record's shells form one range.
    start = np.searchsorted(records[shells], records[holes], side="left")
    end = np.searchsorted(records[shells], records[holes], side="right")
    counts = end - start
    pair_hole = np.repeat(np.arange(len(holes)), counts)
    offsets = np.arange(int(counts.sum())) - np.repeat(
        np.cumsum(counts) - counts, counts
    )
    pair_shell = np.repeat(start, counts) + offsets
    inside = shapely.intersects_xy(
        shell_polygons[pair_shell],
        first_vertices[pair_hole, 0],
        first_vertices[pair_hole, 1],
    )
    pair_hole = pair_hole[inside]
    pair_shell = pair_shell[inside]
    owner = np.full(len(holes), -1, dtype=np.intp)
    if len(pair_hole):
        order = np.lexsort((shapely.area(shell_polygons[pair_shell]), pair_hole))
        first = np.unique(pair_hole[order], return_index=True)[1]
        owner[pair_hole[order][first]] = pair_shell[order][first]
    return owner


def haversine_km(
    lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray
) -> np.ndarray:
    """Return great-circle distances in km between arrays of points in degrees."""
    phi1 = np.radians(lat1)
    phi2 = np.radians(lat2)
    dphi = phi2 - phi1
    dlambda = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dphi / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def distance_to_geometries_km(points: np.ndarray, geometries: np.ndarray) -> np.ndarray:
    """Return km from each point to the nearest point of its paired geometry.

    The nearest point is found in degree space (``shapely.shortest_line``) and
    the distance between the pair is then measured as a great circle. A degree
    of longitude shrinks with latitude, so the point found is not always the
    geodesically nearest one and the figure is an upper bound on the true
    distance. For the few tens of km this module uses, the excess is small.
    """
    lines = shapely.shortest_line(points, geometries)
    coords = shapely.get_coordinates(lines).reshape(-1, 2, 2)
    return haversine_km(
        coords[:, 0, 1], coords[:, 0, 0], coords[:, 1, 1], coords[:, 1, 0]
    )


def edges_off_antimeridian(geometries: np.ndarray) -> np.ndarray:
    """Return each polygon's boundary without its parts on the ±180° meridian.

    Source polygons that cross the antimeridian are cut there into parts that
    meet along ±180°. That cut is neither a coast nor a border, so edge
    distances must not count it.
    """
    return shapely.difference(shapely.boundary(geometries), _ANTIMERIDIAN)


def distance_across_antimeridian_km(
    latitude: float, longitude: float, geometry: shapely.Geometry
) -> float:
    """Return km from a point to a geometry, going round the antimeridian.

    The point is also measured as its copies 360° east and west, so land at
    179.9° is as near to a point at -179.9° as it is on the globe. Returns
    infinity for an empty geometry.
    """
    if shapely.is_empty(geometry):
        return float("inf")
    longitudes = np.array([longitude - 360.0, longitude, longitude + 360.0])
    points = shapely.points(longitudes, np.full(3, latitude))
    geometries = np.full(3, geometry, dtype=object)
    return float(distance_to_geometries_km(points, geometries).min())


def equal_area_km2(geometries: np.ndarray) -> np.ndarray:
    """Return areas in km² after a Lambert cylindrical equal-area projection.

    The projection keeps areas exact on the sphere. Edges are taken as straight
    lines in projected space, which differs little from the source's straight
    lines in degrees at the resolution of simplified polygons.
    """

    def project(coords: np.ndarray) -> np.ndarray:
        x = np.radians(coords[:, 0]) * EARTH_RADIUS_KM
        y = np.sin(np.radians(coords[:, 1])) * EARTH_RADIUS_KM
        return np.column_stack([x, y])

    return shapely.area(shapely.transform(geometries, project))
