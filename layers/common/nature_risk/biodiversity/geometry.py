"""Geometry helpers: shapefile records to shapely, great-circle distances, areas.

All geometry is WGS 84 longitude/latitude in degrees (EPSG:4326). Distances are
great-circle (haversine) kilometres on a sphere of radius 6371.0088 km, the
mean Earth radius; the sphere differs from the WGS 84 ellipsoid by up to 0.5 %.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapefile import Shape

EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE_LATITUDE = np.pi * EARTH_RADIUS_KM / 180.0


def polygons_from_shapes(shapes: list[Shape]) -> np.ndarray:
    """Build one shapely (multi)polygon per shapefile polygon record, vectorised.

    The shapefile format marks exterior rings clockwise and holes
    counter-clockwise. Each hole goes to the exterior of its record that
    contains the hole's first vertex. A hole that no exterior contains becomes
    an exterior of its own, as pyshp's ``__geo_interface__`` also does.
    Validity is not checked here because point queries do not need it and the
    check costs more than the build; overlay code calls ``shapely.make_valid``
    on the few geometries it intersects.
    """
    ring_coords: list[np.ndarray] = []
    ring_record: list[int] = []
    for record_index, shape in enumerate(shapes):
        points = np.asarray(shape.points, dtype=float)
        bounds = [*shape.parts, len(points)]
        for start, end in zip(bounds[:-1], bounds[1:], strict=True):
            ring_coords.append(points[start:end])
            ring_record.append(record_index)

    lengths = np.fromiter((len(ring) for ring in ring_coords), dtype=np.intp)
    ring_ids = np.repeat(np.arange(len(ring_coords)), lengths)
    rings = shapely.linearrings(np.concatenate(ring_coords), indices=ring_ids)
    is_hole = shapely.is_ccw(rings)
    records = np.asarray(ring_record)

    # Group rings into polygons: polygon id per ring, shell first.
    polygon_of_ring = np.full(len(rings), -1, dtype=np.intp)
    shells = np.flatnonzero(~is_hole)
    polygon_of_ring[shells] = np.arange(len(shells))
    shell_polygons = shapely.polygons(rings[shells])
    shapely.prepare(shell_polygons)
    shell_record = records[shells]
    next_polygon = len(shells)
    for hole in np.flatnonzero(is_hole):
        candidates = np.flatnonzero(shell_record == records[hole])
        x, y = ring_coords[hole][0]
        inside = candidates[
            shapely.contains_xy(shell_polygons[candidates], x, y)
            | shapely.intersects_xy(shell_polygons[candidates], x, y)
        ]
        if len(inside):
            # The smallest containing shell is the innermost one.
            polygon_of_ring[hole] = inside[
                np.argmin(shapely.area(shell_polygons[inside]))
            ]
        else:
            is_hole[hole] = False
            polygon_of_ring[hole] = next_polygon
            next_polygon += 1

    # shapely.polygons takes each polygon's shell first, then its holes.
    order = np.lexsort((is_hole, polygon_of_ring))
    polygons = shapely.polygons(rings[order], indices=polygon_of_ring[order])
    polygon_record = np.empty(next_polygon, dtype=np.intp)
    polygon_record[polygon_of_ring] = records
    by_record = np.argsort(polygon_record, kind="stable")
    return shapely.multipolygons(polygons[by_record], indices=polygon_record[by_record])


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
    the distance between the pair is then measured as a great circle. Because
    a degree of longitude shrinks with latitude, the point found is not always
    the geodesically nearest one, so the figure is an upper bound on the true
    distance; for the few tens of km this module uses, the excess is small.
    """
    lines = shapely.shortest_line(points, geometries)
    coords = shapely.get_coordinates(lines).reshape(-1, 2, 2)
    return haversine_km(
        coords[:, 0, 1], coords[:, 0, 0], coords[:, 1, 1], coords[:, 1, 0]
    )


def equal_area_km2(geometries: np.ndarray) -> np.ndarray:
    """Return areas in km² after a Lambert cylindrical equal-area projection.

    The projection keeps areas exact on the sphere; edges are taken as straight
    lines in projected space, which differs little from the source's straight
    lines in degrees at the resolution of simplified polygons.
    """

    def project(coords: np.ndarray) -> np.ndarray:
        x = np.radians(coords[:, 0]) * EARTH_RADIUS_KM
        y = np.sin(np.radians(coords[:, 1])) * EARTH_RADIUS_KM
        return np.column_stack([x, y])

    return shapely.area(shapely.transform(geometries, project))
