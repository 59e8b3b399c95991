#!/usr/bin/env python3
"""pfce's --polygons against GDAL's own polygonizer (gdal.Polygonize, 4-connected as
gdal_polygonize.py draws by default), on the same mask: the same number of regions of each value,
the same areas, the same ground covered per value (symmetric difference of the unions: 0), each
corner on the mask's pixel grid (compared in pixel units, exactly), and every pfce polygon valid by
GEOS. Usage: polygonize_gdal_check.py MASK.tif POLYGONS.geojson
Exit 77 (a test's skip) where Python's GDAL bindings are missing."""
import sys
from collections import defaultdict

try:
    from osgeo import gdal, ogr
except ImportError as e:
    print(f"no osgeo (python3-gdal): {e}; GDAL cross-check skipped")
    sys.exit(77)

gdal.UseExceptions()
mask_path, geojson_path = sys.argv[1], sys.argv[2]

src = gdal.Open(mask_path)
mem = ogr.GetDriverByName("Memory").CreateDataSource("gdal")
layer = mem.CreateLayer("regions", srs=src.GetSpatialRef())
layer.CreateField(ogr.FieldDefn("DN", ogr.OFTInteger))
band = src.GetRasterBand(1)
# Pixels without data (the mask's NoData value) in no region, as pfce leaves them.
mask_band = band.GetMaskBand() if band.GetNoDataValue() is not None else None
gdal.Polygonize(band, mask_band, layer, 0, [], callback=None)


inverse = gdal.InvGeoTransform(src.GetGeoTransform())  # rotated and sheared grids too
off_grid = []


def on_pixel_grid(geom):
    """The polygon in pixel corners (column, row), each a whole number within 1e-6 of a pixel
    (else recorded as off the grid): areas and unions then compare exactly."""
    out = ogr.Geometry(ogr.wkbPolygon)
    for k in range(geom.GetGeometryCount()):
        ring = geom.GetGeometryRef(k)
        r = ogr.Geometry(ogr.wkbLinearRing)
        for i in range(ring.GetPointCount()):
            x, y = ring.GetX(i), ring.GetY(i)
            c, row = gdal.ApplyGeoTransform(inverse, x, y)
            if abs(c - round(c)) > 1e-6 or abs(row - round(row)) > 1e-6:
                off_grid.append((x, y))
            r.AddPoint_2D(round(c), round(row))
        out.AddGeometry(r)
    return out


def by_value(lyr, field):
    out = defaultdict(list)
    for f in lyr:
        out[f.GetField(field)].append(on_pixel_grid(f.GetGeometryRef()))
    return out


theirs = by_value(layer, "DN")
ours_ds = ogr.Open(geojson_path)
ours = by_value(ours_ds.GetLayer(0), "value")
failures = []
for g in (g for gs in ours.values() for g in gs):
    if not g.IsValid():
        failures.append(f"invalid polygon {g.ExportToWkt()[:200]}")
if sorted(ours) != sorted(theirs):
    failures.append(f"values {sorted(ours)} against GDAL's {sorted(theirs)}")
for v in sorted(set(ours) & set(theirs)):
    a = sorted(g.GetArea() for g in ours[v])
    b = sorted(g.GetArea() for g in theirs[v])
    if a != b:
        failures.append(f"value {v}: {len(a)} regions against GDAL's {len(b)}, or other areas")
        continue
    ua, ub = ogr.Geometry(ogr.wkbMultiPolygon), ogr.Geometry(ogr.wkbMultiPolygon)
    for g in ours[v]:
        ua.AddGeometry(g)
    for g in theirs[v]:
        ub.AddGeometry(g)
    diff = ua.UnionCascaded().SymDifference(ub.UnionCascaded()).GetArea()
    if diff != 0:
        failures.append(f"value {v}: the regions differ from GDAL's by an area of {diff}")
if off_grid:
    failures.append(f"{len(off_grid)} corners off the mask's pixel grid, e.g. {off_grid[0]}")
if failures:
    print("\n".join(failures))
    sys.exit(1)
print(f"{sum(len(g) for g in ours.values())} regions of {len(ours)} values as GDAL draws them")
