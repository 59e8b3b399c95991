// Georeference kept beside an image rather than in it, as GIS tools write it for PNG and JPEG
// chips (and for TIFFs without GeoTIFF tags): an ESRI world file (<stem>.pgw / .jgw / .tfw, the
// extension's first and last letter + "w"; or <stem>.pngw, <stem>.wld), a <stem>.prj (the CRS as
// WKT) and GDAL's <file>.aux.xml (its SRS, GeoTransform or ground control points, and its bands'
// NoData value). A prediction on the same pixel grid
// carries them to its own sidecars, so it lands on the map where its image was (before, they were
// dropped without a word).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/file_io.hpp"
#include "data/georef.hpp"

namespace pfce {

struct SidecarGeoref {
    std::string world_file, world;  // the input's world file and its six numbers, verbatim
    std::string prj_file, prj;      // the input's .prj and its text
    std::string aux_file, aux;      // the input's .aux.xml and a PAM document of only its SRS,
                                    // GeoTransform and GCPList (its band statistics are not the
                                    // mask's)
    // The .aux.xml's NoDataValue when every band that has one gives the same whole 0..255 value
    // (GDAL's way for a PNG or JPEG): pixels holding it in every band have no data. -1: none.
    int no_data = -1;
    // The input's camera model (rpc_as_gdal_reads' values, or empty): a PNG output gets it in its
    // .aux.xml's RPC metadata. Not a place on the map: empty() and describe() leave it out.
    std::vector<double> rpc;
    // The GeoTIFF whose tags gave the world file or the .aux.xml's SRS (add_place_of_tags: a PNG
    // prediction of a GeoTIFF); "" when they are the input's own sidecars.
    std::string tags_of;
    // `world` was made of those tags, not read from world_file (which GDAL reads after them, and
    // which is then not carried): describe() names the tags alone.
    bool world_of_tags = false;
    // window_place: the image names a CRS (GeoTIFF keys without an EPSG code) that a PNG's
    // sidecars cannot carry; its caller says so.
    bool crs_not_carried = false;
    bool empty() const { return world.empty() && prj.empty() && aux.empty(); }
    // "world file a.pgw, a.prj" (what is there), for logs.
    std::string describe() const;
};

// Where GDAL (and so QGIS) puts `image`'s pixels on the map, and what said so (a sidecar's path,
// or "its GeoTIFF tags"), from its first source in GDAL's order: for a TIFF its .aux.xml's
// GeoTransform (GDAL writes one when a read-only GeoTIFF is georeferenced again), its GeoTIFF
// `tags` (read_georeference), its world file; for a PNG its world file, then its .aux.xml; for
// other formats the .aux.xml, then the world file. nullopt when none places it; InputError (naming
// the file) for a rotated or sheared grid. Logs nothing. Points on the map (sample --from-points)
// and the image/mask grid check use it, as predict carries the same sources.
struct PlacedGrid {
    MapGrid grid;
    std::string source;
};
inline constexpr const char* kPlacedByTags = "its GeoTIFF tags";  // PlacedGrid::source
std::optional<PlacedGrid> pixel_grid_as_gdal_reads(const std::string& image,
                                                   const GeoReference& tags);
// The same source's geotransform as it is, rotated or sheared too (GDAL lays such a raster, and
// polygons on its pixels, on the map by it).
struct PlacedTransform {
    GeoTransform transform;
    std::string source;
};
std::optional<PlacedTransform> geotransform_as_gdal_reads(const std::string& image,
                                                          const GeoReference& tags);

// The EPSG code a CRS text names as a whole: "EPSG:32633" (an .aux.xml's SRS that GDAL set by
// code) or WKT 1 or 2 (as in a .prj, or XML-escaped as in an .aux.xml) whose outermost element has
// AUTHORITY["EPSG","32633"] or ID["EPSG",32633]; 0 when it names none (an ESRI .prj names none).
int epsg_of_crs_text(std::string text);

// The EPSG code of the CRS `image` is in, and what said so: its .aux.xml's SRS, its GeoTIFF
// `tags` (read_georeference), its .prj, the first that names a code (GDAL reads a PAM .aux.xml
// before a file's own georeference). {0, ""} when none does. Points on the map (sample
// --from-points) are checked against it.
struct NamedCrs {
    int epsg = 0;
    std::string source;
};
NamedCrs crs_as_gdal_reads(const std::string& image, const GeoReference& tags);
// The CRS text GDAL reads for `image` where its GeoTIFF tags name no EPSG code: its .aux.xml's SRS
// (XML-unescaped), else its .prj, as written (WKT, an ESRI .prj's too); "" where neither is there.
std::string crs_text_as_gdal_reads(const std::string& image, const GeoReference& tags);

// Every name a georeference sidecar of `image` may have (world file in either case, .prj,
// .aux.xml, the RPC sidecars), whether there or not: what GDAL or pfce would read as the image's
// place on the map.
std::vector<std::string> georef_sidecar_candidates(const std::string& image);
// Whether a sidecar of that name belongs to its stem rather than to one image file (a .prj, a
// .wld, an .RPB or _RPC.TXT): shared by every image of that stem, whatever its extension.
bool is_stem_sidecar(const std::string& path);
// Whether it is an RPC sidecar's name (.RPB, _RPC.TXT, in any case).
bool is_rpc_sidecar(const std::string& path);

// The sidecars of `image` that hold a georeference. A world file that is not six numbers is
// ignored (with a warning naming it): GDAL ignores it too.
SidecarGeoref find_sidecar_georef(const std::string& image);

// For a PNG prediction of `image`: the place its GeoTIFF tags (`tags`, read_georeference) give,
// as GDAL reads a PNG's place from beside it: a world file, and an .aux.xml naming the CRS by its
// EPSG code, each where g (its sidecars) has none; tie points without a pixel size (ground
// control points) as the .aux.xml's GCPList. What cannot be carried so (a CRS of keys with no EPSG
// code) is said. Before, such a PNG had no place at all.
// `overlay_only`: the PNG is only the overlay of a .tif mask, which keeps the tags (so the warnings
// say that, not to write a .tif).
void add_place_of_tags(SidecarGeoref& g, const std::string& image, const GeoReference& tags,
                       bool overlay_only = false);

// The place of the window of `image` whose corner is pixel (x0, y0) (the whole image: 0, 0) as a
// PNG's sidecars, for the masks pfce derives from it (sample, link): a world file of the
// geotransform GDAL reads for it (rotated or south-up too) moved to the window, and its CRS in an
// .aux.xml (by EPSG code, else the CRS text GDAL reads for the image); a GeoTIFF located by ground
// control points, its GCPList moved to the window. Empty where nothing places the image; never
// throws and logs nothing (the image's readers say what is wrong with it; crs_not_carried is for
// the caller to say).
SidecarGeoref window_place(const std::string& image, const GeoReference& tags, int x0, int y0);

// The files `out` (a .png or .tif image on the input's pixel grid) gets for `geo`: its world file
// (extension from out's), .prj and .aux.xml (for a PNG also where only the camera model puts one),
// those `geo` has, except one that is the input's own (a mask beside its input, of the same stem,
// shares its .prj: the same text).
std::vector<std::string> sidecar_paths(const SidecarGeoref& geo, const std::string& out);
// Those files with their texts, (path, text) each.
std::vector<std::pair<std::string, std::string>> sidecar_files(const SidecarGeoref& geo,
                                                               const std::string& out);

// Writes them, each atomically, or (`staged`) to temporaries that staged->commit() puts in place
// with the image they describe.
void write_sidecar_georef(const SidecarGeoref& geo, const std::string& out,
                          StagedFiles* staged = nullptr);

}  // namespace pfce
