#include "data/point_annotations.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/log.hpp"
#include "core/op_params.hpp"  // kUnlabelled
#include "core/text.hpp"
#include "data/georef.hpp"
#include "data/georef_sidecar.hpp"
#include "data/image_io.hpp"
#include "data/mask_dir.hpp"

namespace pfce {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// A number as a whole field ("12.5", "-3e2"), or nullopt ("", "12a", "nan").
std::optional<double> number_of(const std::string& text) {
    // Decimal only: strtod would read "0x10" as 16.
    if (text.empty() || text.find_first_of("xXpP") != std::string::npos) return std::nullopt;
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size() || !std::isfinite(v)) return std::nullopt;
    return v;
}

// One CSV line's fields: commas apart, a field in double quotes may hold commas and "" for a quote.
std::vector<std::string> csv_fields(const std::string& line) {
    std::vector<std::string> f(1);
    bool quoted = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quoted) {
            if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
                f.back() += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                f.back() += c;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            f.emplace_back();
        } else if (c != '\r') {
            f.back() += c;
        }
    }
    for (std::string& s : f) {  // spaces around a field are no part of it
        const auto b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
        s = b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
    }
    return f;
}

PointFile read_csv_points(const std::string& file, const std::string& class_field) {
    std::string bytes = read_whole_file(file);
    if (bytes.rfind("\xEF\xBB\xBF", 0) == 0) bytes.erase(0, 3);  // Excel's "CSV UTF-8" starts so
    std::istringstream in(bytes);
    std::string line;
    std::size_t number = 0;
    std::vector<std::string> header;
    while (header.empty() && std::getline(in, line)) {
        ++number;
        if (line.find_first_not_of(" \t\r") != std::string::npos) header = csv_fields(line);
    }
    auto column = [&](const std::string& name) {
        for (std::size_t k = 0; k < header.size(); ++k)
            if (ascii_lower(header[k]) == ascii_lower(name)) {
                // Two columns of one name: which one a reader takes is anybody's guess.
                for (std::size_t j = k + 1; j < header.size(); ++j)
                    if (ascii_lower(header[j]) == ascii_lower(name))
                        PFCE_THROW(InputError, file, ": its first line names column \"", name,
                                   "\" twice (fields ", k + 1, " and ", j + 1,
                                   "): expected each column once; rename or remove one");
                return k;
            }
        std::string have;
        for (const std::string& h : header) have += (have.empty() ? "" : ", ") + h;
        PFCE_THROW(InputError, file, ": no column \"", name, "\" in its first line (",
                   have.empty() ? "an empty file" : have,
                   "); expected a header naming id, x, y and the class column (", class_field,
                   "; --class-field names another), x and y the pixel's column "
                   "and row");
    };
    const std::size_t id = column("id"), x = column("x"), y = column("y"),
                      cls = column(class_field);
    PointFile pf;
    while (std::getline(in, line)) {
        ++number;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        const std::vector<std::string> f = csv_fields(line);
        const std::string where = "line " + std::to_string(number);
        if (f.size() != header.size())
            PFCE_THROW(InputError, file, ": ", where, " has ", f.size(), " fields but the header ",
                       header.size(), ": ", line);
        const std::optional<double> px = number_of(f[x]), py = number_of(f[y]);
        if (!px || !py)
            PFCE_THROW(InputError, file, ": ", where, ": x = \"", f[x], "\", y = \"", f[y],
                       "\": expected numbers (the pixel's column and row, from 0 at the image's "
                       "top left)");
        if (f[cls].empty())
            PFCE_THROW(InputError, file, ": ", where, " names no class in column ", class_field);
        pf.points.push_back({*px, *py, f[id], f[cls], where});
    }
    return pf;
}

// The EPSG code a GeoJSON "crs" member names ("urn:ogc:def:crs:EPSG::25832", "EPSG:25832";
// CRS84 is WGS 84 longitude/latitude, 4326); 0 where it names none pfce reads.
int epsg_of_crs_name(const std::string& name) {
    if (name.find("CRS84") != std::string::npos) return 4326;
    const std::size_t at = ascii_lower(name).find("epsg");
    if (at == std::string::npos) return 0;
    const std::size_t colon = name.find_last_of(":/");  // urn:...:EPSG::25832, .../EPSG/0/25832
    if (colon == std::string::npos || colon < at) return 0;
    const std::optional<double> code = number_of(name.substr(colon + 1));
    return code && *code > 0 && *code < 1e6 ? static_cast<int>(*code) : 0;
}

// The points of features[k] of `file`, appended to pf.points.
void add_feature_points(const json& f, std::size_t k, const std::string& file,
                        const std::string& class_field, PointFile& pf) {
    const std::string where = "feature " + std::to_string(k);
    const json geometry = f.is_object() ? f.value("geometry", json()) : json();
    const std::string type = geometry.is_object() ? geometry.value("type", "") : "";
    if (type != "Point" && type != "MultiPoint")
        PFCE_THROW(InputError, file, ": ", where, " is ",
                   type.empty() ? std::string("no geometry") : "a " + type,
                   ": expected Point or MultiPoint features (paint scribbles and areas into "
                   "masks, and take them with --from)");
    const json props = f.value("properties", json::object());
    const bool named = props.is_object() && props.contains(class_field);
    const json cls = named ? props.at(class_field) : json();
    // Spaces around the name, as a CSV's fields are read (" building " was refused here only).
    const std::string name = cls.is_string() ? trimmed(cls.get<std::string>()) : std::string();
    if (name.empty()) {
        std::string have;
        if (props.is_object())
            for (const auto& [key, value] : props.items()) have += (have.empty() ? "" : ", ") + key;
        PFCE_THROW(InputError, file, ": ", where, " has ",
                   !named ? "no property \"" + class_field + "\""
                          : "\"" + class_field + "\" = " + cls.dump(),
                   ": expected its class name as text (its properties: ",
                   have.empty() ? "none" : have, "; --class-field names another)");
    }
    const json coords = geometry.value("coordinates", json());
    std::vector<json> positions;
    if (type == "Point")
        positions.push_back(coords);
    else if (coords.is_array())
        positions.assign(coords.begin(), coords.end());
    for (const json& p : positions) {
        if (!p.is_array() || p.size() < 2 || !p[0].is_number() || !p[1].is_number())
            PFCE_THROW(InputError, file, ": ", where, " has the position ", p.dump(),
                       ": expected [x, y]");
        pf.points.push_back({p[0].get<double>(), p[1].get<double>(), std::string(), name, where});
    }
}

// What is left of the document once its features were taken: the collection's type and "crs".
void check_feature_collection(const json& doc, const std::string& file, PointFile& pf) {
    if (!doc.is_object() || doc.value("type", std::string()) != "FeatureCollection" ||
        !doc.contains("features") || !doc["features"].is_array())
        PFCE_THROW(InputError, file,
                   ": expected a GeoJSON FeatureCollection (a \"features\" list of Point "
                   "features), as QGIS exports a point layer");
    if (doc.contains("crs")) {
        pf.crs_given = true;
        const json& crs = doc["crs"];
        const std::string name =
            crs.is_object() && crs.contains("properties") && crs["properties"].is_object()
                ? crs["properties"].value("name", std::string())
                : std::string();
        pf.epsg = epsg_of_crs_name(name);
        if (pf.epsg == 0)
            PFCE_THROW(InputError, file, ": its \"crs\" member (", crs.dump(),
                       ") names no EPSG code; expected e.g. {\"type\": \"name\", \"properties\": "
                       "{\"name\": \"urn:ogc:def:crs:EPSG::25832\"}}");
    }
}

// Streamed: each feature is read, its points taken and the feature dropped before the next, so a
// layer of a million points holds its points and one feature, not the file and its whole document
// (a 133 MB layer took 1.23 GB as a document; the points alone are about 0.1 GB).
PointFile read_geojson_points(const std::string& file, const std::string& class_field) {
    std::error_code ec;
    if (fs::is_directory(file, ec))
        PFCE_THROW(InputError, file, " is a directory (expected a file)");
    refuse_special_file(file, "a file");
    std::ifstream in(file, std::ios::binary);
    if (!in) PFCE_THROW(InputError, "cannot open ", file, ": ", std::strerror(errno));
    PointFile pf;
    pf.map_coordinates = true;
    std::string member;        // the top-level member being read
    bool in_features = false;  // inside its "features" list (not some other "features" value)
    std::size_t feature = 0;
    // Depth 1: the collection's members; depth 2: an element of its "features" list (an object or
    // a list ends there; anything else is a value there: no feature, said as one).
    // The member names of each object open, outermost first: a name given twice in one object is
    // refused (JSON readers differ on which value they keep: a probe's {"class": "road", "class":
    // "building"} was imported as building).
    std::vector<std::set<std::string>> names;
    const json::parser_callback_t take_features = [&](int depth, json::parse_event_t event,
                                                      json& parsed) {
        if (event == json::parse_event_t::object_start) names.emplace_back();
        if (event == json::parse_event_t::object_end && !names.empty()) names.pop_back();
        if (event == json::parse_event_t::key && !names.empty() &&
            !names.back().insert(parsed.get<std::string>()).second)
            PFCE_THROW(InputError, file, ": ",
                       in_features && depth > 1 ? "feature " + std::to_string(feature) + " has"
                                                : std::string("it has"),
                       " the member \"", parsed.get<std::string>(),
                       "\" twice in one object: expected each name once (JSON readers differ on "
                       "which value they keep)");
        if (depth == 1 && event == json::parse_event_t::key) member = parsed.get<std::string>();
        if (depth == 1 && member == "features" && event == json::parse_event_t::array_start)
            in_features = true;
        if (depth == 1 && event == json::parse_event_t::array_end) in_features = false;
        if (depth != 2 || !in_features) return true;
        if (event == json::parse_event_t::object_end || event == json::parse_event_t::array_end ||
            event == json::parse_event_t::value) {
            add_feature_points(parsed, feature++, file, class_field, pf);
            return false;
        }
        return true;
    };
    json rest;
    try {
        rest = json::parse(in, take_features);
        if (in.bad()) PFCE_THROW(InputError, "cannot read ", file);
        check_feature_collection(rest, file, pf);
    } catch (const json::parse_error& e) {
        PFCE_THROW(InputError, file, " is not JSON (", e.what(), ")");
    } catch (const json::exception& e) {
        // 406: a number past a double (1e400), found while parsing: the text is no JSON.
        if (e.id == 406) PFCE_THROW(InputError, file, " is not JSON (", e.what(), ")");
        // A member of another type than GeoJSON's ("type": 5) throws from the JSON library: said
        // of the file.
        PFCE_THROW(InputError, file, " is not GeoJSON as expected (", e.what(),
                   "): a FeatureCollection of Point features, each with its class name in a "
                   "property");
    }
    return pf;
}

// Where sample `image` lies on the map, and its CRS's EPSG code (0: unknown), or nullopt.
struct ImagePlace {
    MapGrid grid;
    NamedCrs crs;
};
std::optional<ImagePlace> place_of(const std::string& image) {
    const std::string ext = ascii_lower(fs::path(image).extension().string());
    // A TIFF's geokeys name its CRS even where a world file or .aux.xml gives its grid.
    const GeoReference tags =
        ext == ".tif" || ext == ".tiff" ? read_georeference(image) : GeoReference{};
    // Where GDAL, and so the GIS the points were drawn in, shows the image: a TIFF's .aux.xml
    // before its tags (the tags alone had put points 10 pixels off where an .aux.xml moved it).
    if (const std::optional<PlacedGrid> g = pixel_grid_as_gdal_reads(image, tags))
        return ImagePlace{g->grid, crs_as_gdal_reads(image, tags)};
    return std::nullopt;
}

std::string all_of(const std::vector<std::string>& names) {
    std::string s;
    for (const std::string& n : names) s += (s.empty() ? "" : ", ") + n;
    return s;
}

}  // namespace

PointFile read_label_points(const std::string& file, const std::string& class_field) {
    std::error_code ec;
    if (!fs::is_regular_file(file, ec))
        PFCE_THROW(InputError, "--from-points ", file,
                   fs::exists(file, ec) ? " is not a file" : " does not exist",
                   "; expected a GeoJSON point layer (.geojson) or a CSV of pixel positions "
                   "(.csv: id, x, y, class)");
    const std::string ext = ascii_lower(fs::path(file).extension().string());
    if (ext == ".csv") return read_csv_points(file, class_field);
    if (ext == ".geojson" || ext == ".json") return read_geojson_points(file, class_field);
    PFCE_THROW(InputError, "--from-points ", file,
               ": expected a .geojson (points on the map) or a .csv (pixel positions per "
               "sample) file");
}

PointImportResult import_points(const Dataset& ds, const std::string& file,
                                const std::string& class_field, const std::string& out, bool force,
                                const std::function<void(std::size_t, std::size_t)>& progress) {
    const auto start = std::chrono::steady_clock::now();
    if (ds.kind() == DatasetKind::tiles)
        PFCE_THROW(InputError, "--from-points: ", ds.root(),
                   " is a dataset of Potsdam tiles, read as patches cut from them: give the "
                   "tiles as a generic dataset (images/, masks/, dataset.toml) to place points "
                   "on them");
    refuse_output_among_samples(ds, out, "--out");
    const PointFile pf = read_label_points(file, class_field);
    PointImportResult r;
    r.points = pf.points.size();
    if (pf.points.empty()) PFCE_THROW(InputError, "--from-points ", file, " holds no point");
    const std::vector<std::string> names = ds.palette().class_names();
    std::map<std::string, std::uint8_t> class_of;
    for (std::size_t c = 0; c < names.size(); ++c)
        class_of[ascii_lower(names[c])] = static_cast<std::uint8_t>(c);
    std::vector<std::uint8_t> point_class(pf.points.size());
    for (std::size_t p = 0; p < pf.points.size(); ++p) {
        const auto it = class_of.find(ascii_lower(pf.points[p].class_name));
        if (it == class_of.end())
            PFCE_THROW(InputError, file, ": ", pf.points[p].where, " is of class \"",
                       pf.points[p].class_name, "\", which ", ds.root(),
                       " does not have: expected one of its class names (", all_of(names),
                       "), in any case");
        point_class[p] = it->second;
    }
    const std::size_t n = ds.size();
    std::vector<std::string> ids(n);
    std::vector<std::pair<int, int>> size(n);
    for (std::size_t i = 0; i < n; ++i) {
        const SampleRef& s = ds.sample(i);
        ids[i] = s.id;
        if (s.width > 0 && s.height > 0) {
            size[i] = {s.width, s.height};
        } else {
            const ImageInfo info = probe_image(s.image_path);
            size[i] = {info.width, info.height};
        }
    }
    // Each sample's labelled pixels: (pixel, class, point).
    std::vector<std::vector<std::tuple<std::int64_t, std::uint8_t, std::size_t>>> labels(n);
    std::vector<bool> placed(pf.points.size(), false);
    if (pf.map_coordinates) {
        // The points by x, so that an image looks only at those within its columns' span (each
        // point against each image took 100 s for 1M points on 6000 chips: scale probe). A point
        // with no finite position lies on no image.
        std::vector<std::size_t> by_x;
        by_x.reserve(pf.points.size());
        for (std::size_t p = 0; p < pf.points.size(); ++p)
            if (std::isfinite(pf.points[p].x) && std::isfinite(pf.points[p].y)) by_x.push_back(p);
        std::sort(by_x.begin(), by_x.end(),
                  [&](std::size_t a, std::size_t b) { return pf.points[a].x < pf.points[b].x; });
        std::vector<double> xs(by_x.size());
        for (std::size_t k = 0; k < by_x.size(); ++k) xs[k] = pf.points[by_x[k]].x;
        for (std::size_t i = 0; i < n; ++i) {
            progress(i, n);
            const std::string& image = ds.sample(i).image_path;
            const std::optional<ImagePlace> place = place_of(image);
            if (!place) {
                // Sidecars there that place nothing (a world file of other than six numbers:
                // GDAL ignores it too) are named: "no georeference" read as if none were there.
                std::vector<std::string> there;
                std::error_code ec;
                for (const std::string& c : georef_sidecar_candidates(image))
                    if (!is_rpc_sidecar(c) &&
                        ascii_lower(fs::path(c).extension().string()) != ".prj" &&
                        fs::is_regular_file(c, ec))  // a .prj names a CRS, never a place
                        there.push_back(fs::path(c).filename().string());
                PFCE_THROW(InputError, "image ", image,
                           " has no georeference (GeoTIFF tags, a world file or an .aux.xml",
                           there.empty()
                               ? std::string()
                               : "; beside it " + all_of(there) +
                                     ", which place it nowhere: a world file holds six numbers, "
                                     "one a line, and an .aux.xml a <GeoTransform>",
                           "): the points of ", file,
                           " lie on the map and cannot be placed on it; give pixel positions "
                           "instead (a .csv of id, x, y, class)");
            }
            // The image's CRS from its tags or its sidecars (.aux.xml, .prj): a PNG or JPEG chip
            // names one only there, and went unchecked (README probe).
            const int epsg = place->crs.epsg;
            const std::string& said_by = place->crs.source;  // a sidecar, or kPlacedByTags
            if (pf.crs_given && epsg > 0 && pf.epsg != epsg)
                PFCE_THROW(InputError, file, " gives its points in EPSG:", pf.epsg, " but image ",
                           image, " is in EPSG:", epsg, " (", said_by,
                           "): export the points in the images' CRS (QGIS: Export > Save Features "
                           "As..., CRS EPSG:",
                           epsg, ")");
            if (!pf.crs_given && epsg > 0 && epsg != 4326)
                PFCE_THROW(InputError, file,
                           " names no CRS, so its points are WGS 84 longitude and latitude "
                           "(GeoJSON, RFC 7946), but image ",
                           image, " is in EPSG:", epsg, " (", said_by,
                           "): export the points in the images' CRS (QGIS: Export > Save "
                           "Features As..., CRS EPSG:",
                           epsg, "; the file then names it)");
            const MapGrid& g = place->grid;
            const auto [w, h] = size[i];
            // A column's span widened by a pixel each side: the test below, the one that counts,
            // decides at the edges.
            const auto first = std::lower_bound(xs.begin(), xs.end(), g.x0 - g.sx);
            const auto last = std::upper_bound(first, xs.end(), g.x0 + (w + 1.0) * g.sx);
            for (auto it = first; it != last; ++it) {
                const std::size_t p = by_x[static_cast<std::size_t>(it - xs.begin())];
                const double col = std::floor((pf.points[p].x - g.x0) / g.sx);
                const double row = std::floor((g.y0 - pf.points[p].y) / g.sy);
                if (!(col >= 0 && row >= 0 && col < w && row < h)) continue;  // NaN: off too
                labels[i].emplace_back(
                    static_cast<std::int64_t>(row) * w + static_cast<std::int64_t>(col),
                    point_class[p], p);
                placed[p] = true;
            }
        }
    } else {
        std::map<std::string, std::size_t> index;
        for (std::size_t i = 0; i < n; ++i) index[ids[i]] = i;
        for (std::size_t p = 0; p < pf.points.size(); ++p) {
            const LabelPoint& pt = pf.points[p];
            const auto it = index.find(pt.sample);
            if (it == index.end())
                PFCE_THROW(InputError, file, ": ", pt.where, " is on sample \"", pt.sample,
                           "\", which ", ds.root(), " does not have (its ids: ", some_names(ids),
                           ")");
            const auto [w, h] = size[it->second];
            const double col = std::floor(pt.x), row = std::floor(pt.y);
            if (!(col >= 0 && row >= 0 && col < w && row < h))
                PFCE_THROW(InputError, file, ": ", pt.where, " is at (", pt.x, ", ", pt.y,
                           "), outside ", pt.sample, ", which is ", w, "x", h,
                           ": expected x in [0, ", w, ") and y in [0, ", h,
                           "), the column and row from the top left");
            labels[it->second].emplace_back(
                static_cast<std::int64_t>(row) * w + static_cast<std::int64_t>(col), point_class[p],
                p);
            placed[p] = true;
        }
    }
    r.placed = static_cast<std::size_t>(std::count(placed.begin(), placed.end(), true));
    r.outside = r.points - r.placed;
    if (r.placed == 0)
        PFCE_THROW(InputError, "none of the ", r.points, " points of ", file,
                   " lies on an image of ", ds.root(), " (e.g. ", pf.points[0].where, " at (",
                   pf.points[0].x, ", ", pf.points[0].y,
                   ")): are they in the images' map coordinates?");
    if (r.outside > 0) {
        const std::size_t first = static_cast<std::size_t>(
            std::find(placed.begin(), placed.end(), false) - placed.begin());
        log_warn(r.outside, " of the ", r.points, " points of ", file, " lie on no image of ",
                 ds.root(), " and label nothing (e.g. ", pf.points[first].where, " at (",
                 pf.points[first].x, ", ", pf.points[first].y, "))");
    }
    // A point on a pixel without data (NaN, a NoData value, transparent: outside the scene) would
    // label what training leaves out, and sample draws none there: left out and said, the
    // images with points decoded to find them (a point kept on an overlapping image with data
    // is placed).
    std::vector<bool> kept_somewhere(pf.points.size(), false);
    std::vector<std::size_t> dropped_on(pf.points.size(), 0);  // an image it was left out on
    for (std::size_t i = 0; i < n; ++i) {
        if (labels[i].empty()) continue;
        std::vector<std::uint8_t> nodata;
        ds.read_image_and_no_data(i, nodata);
        auto& l = labels[i];
        if (!nodata.empty()) {
            const auto gone = std::remove_if(l.begin(), l.end(), [&](const auto& e) {
                const bool none = nodata[static_cast<std::size_t>(std::get<0>(e))] != 0;
                if (none) dropped_on[std::get<2>(e)] = i;
                return none;
            });
            l.erase(gone, l.end());
        }
        for (const auto& e : l) kept_somewhere[std::get<2>(e)] = true;
    }
    std::size_t first_no_data = pf.points.size();
    for (std::size_t p = 0; p < pf.points.size(); ++p)
        if (placed[p] && !kept_somewhere[p]) {
            ++r.on_no_data;
            first_no_data = std::min(first_no_data, p);
        }
    r.placed =
        static_cast<std::size_t>(std::count(kept_somewhere.begin(), kept_somewhere.end(), true));
    if (r.on_no_data > 0) {
        const LabelPoint& p = pf.points[first_no_data];
        if (r.placed == 0)
            PFCE_THROW(InputError, "every one of the ", r.points - r.outside, " points of ", file,
                       " on an image of ", ds.root(),
                       " lies on a pixel without data (transparent, a NoData value, or NaN: "
                       "outside the scene), e.g. ",
                       p.where, " at (", p.x, ", ", p.y, ") on ",
                       ds.sample(dropped_on[first_no_data]).image_path,
                       ": are the images' NoData values, or the points, where they should be?");
        log_warn(r.on_no_data, " of the ", r.points, " points of ", file,
                 " lie on pixels without data (transparent, a NoData value, or NaN: outside the "
                 "scene) and are left out, as training would leave them (e.g. ",
                 p.where, " at (", p.x, ", ", p.y, ") on ",
                 ds.sample(dropped_on[first_no_data]).image_path, ")");
    }
    // Two points on one pixel: of one class, counted once; of two, a contradiction to settle.
    // A point counts as a duplicate once, however many overlapping images it lies on.
    std::vector<bool> duplicate(pf.points.size(), false);
    for (std::size_t i = 0; i < n; ++i) {
        auto& l = labels[i];
        std::sort(l.begin(), l.end());
        std::vector<std::tuple<std::int64_t, std::uint8_t, std::size_t>> kept;
        for (const auto& e : l) {
            if (!kept.empty() && std::get<0>(kept.back()) == std::get<0>(e)) {
                if (std::get<1>(kept.back()) != std::get<1>(e)) {
                    const LabelPoint& a = pf.points[std::get<2>(kept.back())];
                    const LabelPoint& b = pf.points[std::get<2>(e)];
                    const auto w = size[i].first;
                    PFCE_THROW(InputError, file, ": ", a.where, " (", a.class_name, ") and ",
                               b.where, " (", b.class_name, ") fall on one pixel of ", ids[i],
                               " (column ", std::get<0>(e) % w, ", row ", std::get<0>(e) / w,
                               "): expected one class a pixel; move or remove one");
                }
                duplicate[std::get<2>(e)] = true;
                continue;
            }
            kept.push_back(e);
        }
        l = std::move(kept);
    }
    r.duplicates = static_cast<std::size_t>(std::count(duplicate.begin(), duplicate.end(), true));
    for (std::size_t i = 0; i < n; ++i) {
        if (labels[i].empty())
            r.unlabelled.push_back(ids[i]);
        else
            r.annotated_pixels += static_cast<std::int64_t>(size[i].first) * size[i].second;
    }
    if (!r.unlabelled.empty())
        log_warn(r.unlabelled.size(), " of the ", n, " samples have no point of ", file, " (",
                 some_names(r.unlabelled), "): their masks label nothing, so they train nothing");

    MaskStageResult& m = r.masks;
    m.dir = out;
    MaskDirWriting writing = prepare_mask_dir(out, force, ids);
    write_masks_in_chunks(
        n, ds, writing,
        [&](std::size_t i) {
            LabelMap mask(size[i].first, size[i].second, kUnlabelled);
            for (const auto& [pixel, cls, point] : labels[i])
                mask.labels[static_cast<std::size_t>(pixel)] = cls;
            return mask;
        },
        progress, m);
    finish_imported_mask_dir(writing, ds,
                             {{"from_points", resolved_path(file)},
                              {"class_field", class_field},
                              {"points", r.points},
                              {"points_on_no_image", r.outside},
                              {"samples_without_annotation", r.unlabelled.size()}},
                             m);
    m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
}

}  // namespace pfce
