// Sidecar georeference: find an image's world file, .prj and .aux.xml, and write them for an
// output on the same grid (data/georef_sidecar.hpp).
#include "data/georef_sidecar.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <utility>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "data/image_io.hpp"
#include "data/rpc_model.hpp"

namespace pfce {
namespace fs = std::filesystem;
namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}
std::string upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
    return s;
}

// The world-file extension GDAL looks for first: the image extension's first and last letters
// and "w" (png -> pgw, tif and tiff -> tfw, jpg and jpeg -> jgw).
std::string short_world_ext(const std::string& ext) {  // ext without the dot, lower case
    if (ext.size() < 2) return "wld";
    return std::string{ext.front(), ext.back(), 'w'};
}

std::string first_existing(const std::vector<fs::path>& candidates) {
    std::error_code ec;
    for (const fs::path& p : candidates)
        if (fs::is_regular_file(p, ec)) return p.string();
    return {};
}

// A world file's six numbers (A, D, B, E, C, F), one per line as ESRI defines it, as the text
// carried (one per line); "" when its first six lines are not six numbers. Lines after the sixth
// are ignored, as GDAL ignores them (a comment, a seventh value).
std::string world_numbers(const std::string& text) {
    std::istringstream in(text);
    std::string line, six;
    int n = 0;
    while (n < 6 && std::getline(in, line)) {
        const std::size_t a = line.find_first_not_of(" \t\r"), b = line.find_last_not_of(" \t\r");
        if (a == std::string::npos) continue;  // blank lines, as GDAL skips them
        const std::string tok = line.substr(a, b - a + 1);
        char* end = nullptr;
        std::strtod(tok.c_str(), &end);
        if (end == tok.c_str() || *end != '\0') return {};
        six += tok + "\n";
        ++n;
    }
    return n == 6 ? six : std::string();
}

// The <SRS ...>...</SRS>, <GeoTransform>...</GeoTransform> and <GCPList ...>...</GCPList> (ground
// control points, a scan's georeference; pixel coordinates, so a mask on the same grid keeps
// them) elements of a PAM document, as written, in a document of their own; "" when it has none.
// (Its RPC metadata is read by rpc_as_gdal_reads, with the image's other camera models.)
std::string pam_georef(const std::string& xml) {
    std::string body;
    for (const char* tag : {"SRS", "GeoTransform", "GCPList"}) {
        const std::string open = std::string("<") + tag, close = std::string("</") + tag + ">";
        std::size_t a = xml.find(open + ">");
        if (a == std::string::npos) a = xml.find(open + " ");
        if (a == std::string::npos) continue;
        const std::size_t b = xml.find(close, a);
        if (b == std::string::npos) continue;
        body += "  " + xml.substr(a, b + close.size() - a) + "\n";
    }
    return body.empty() ? std::string() : "<PAMDataset>\n" + body + "</PAMDataset>\n";
}

// The bands' <NoDataValue>s of a PAM document: the one value all give, when it is a whole number
// 0..255 (an 8-bit sample); -1 when there is none. Others (per band, "nan", -9999) are said, since
// the pixels they mark would be predicted as data.
int pam_no_data(const std::string& xml, const std::string& file) {
    // <NoDataValue>0</NoDataValue>, or with attributes (<NoDataValue le_hex_equiv="...">nan<...>).
    const std::string open = "<NoDataValue", close = "</NoDataValue>";
    std::vector<std::string> values;
    for (std::size_t a = xml.find(open); a != std::string::npos; a = xml.find(open, a + 1)) {
        const std::size_t tag_end = xml.find('>', a), b = xml.find(close, a);
        if (tag_end == std::string::npos || b == std::string::npos || tag_end > b) break;
        const char after = xml[a + open.size()];
        if (after != '>' && !std::isspace(static_cast<unsigned char>(after))) continue;
        std::string v = xml.substr(tag_end + 1, b - tag_end - 1);
        v.erase(0, v.find_first_not_of(" \t\r\n"));
        v.erase(v.find_last_not_of(" \t\r\n") + 1);
        values.push_back(v);
    }
    if (values.empty()) return -1;
    // Each band's value as a whole number 0..255, or -1 (compared as numbers: "0" and "0.0").
    const auto whole = [](const std::string& s) {
        char* end = nullptr;
        const double v = std::strtod(s.c_str(), &end);
        const bool ok = !s.empty() && end && *end == '\0' && v >= 0 && v <= 255 &&
                        v == static_cast<double>(static_cast<int>(v));
        return ok ? static_cast<int>(v) : -1;
    };
    const int first = whole(values[0]);
    if (first >= 0 && std::all_of(values.begin(), values.end(),
                                  [&](const std::string& s) { return whole(s) == first; }))
        return first;
    std::string all;
    for (const std::string& s : values) all += (all.empty() ? "" : ", ") + s;
    log_warn(file, ": NoDataValue ", all,
             " is not used (expected one whole value 0..255 for every band); its pixels are "
             "predicted as data");
    return -1;
}

// A geotransform in GDAL's order: pixel (0, 0)'s corner x0, its row (a, b) and y0, (d, e).
using Transform = std::array<double, 6>;

// A world file's: its C and F are the centre of pixel (0, 0).
Transform world_transform(const std::string& six) {
    std::istringstream in(six);
    double A = 0, D = 0, B = 0, E = 0, C = 0, F = 0;
    in >> A >> D >> B >> E >> C >> F;
    return {C - 0.5 * A - 0.5 * B, A, B, F - 0.5 * D - 0.5 * E, D, E};
}

// A PAM document's <GeoTransform>x0, a, b, y0, d, e</GeoTransform>; false when it has none.
bool pam_transform(const std::string& pam, Transform& t) {
    const std::size_t a = pam.find("<GeoTransform>"), b = pam.find("</GeoTransform>");
    if (a == std::string::npos || b == std::string::npos || b < a) return false;
    std::string body = pam.substr(a + 14, b - a - 14);
    std::replace(body.begin(), body.end(), ',', ' ');
    std::istringstream in(body);
    for (double& v : t)
        if (!(in >> v)) return false;
    return true;
}

// A GeoTIFF's tags as GDAL reads them: the affine transformation, or the tie point and scale;
// a raster of points (GTRasterTypeGeoKey 1025 = 2) moved half a pixel, as GDAL moves it. False
// where it is neither (ground control points).
bool tiff_transform(const GeoReference& g, Transform& t) {
    if (g.transformation.size() >= 8) {
        const auto& m = g.transformation;
        t = {m[3], m[0], m[1], m[7], m[4], m[5]};
    } else if (g.pixel_scale.size() >= 2 && g.tiepoints.size() >= 6) {  // the first, as GDAL
        const double sx = g.pixel_scale[0], sy = g.pixel_scale[1];
        t = {g.tiepoints[3] - g.tiepoints[0] * sx, sx, 0,
             g.tiepoints[4] + g.tiepoints[1] * sy, 0,  -sy};
    } else {
        return false;
    }
    for (std::size_t i = 4; i + 3 < g.key_directory.size(); i += 4)
        if (g.key_directory[i] == 1025 && g.key_directory[i + 1] == 0 &&
            g.key_directory[i + 3] == 2) {
            t[0] -= 0.5 * t[1] + 0.5 * t[2];
            t[3] -= 0.5 * t[4] + 0.5 * t[5];
        }
    return true;
}

// Whether two transforms put every pixel in one place: the same pixel size and rotation (to a
// part in a million) and origins less than a thousandth of a pixel apart.
bool same_place(const Transform& u, const Transform& v) {
    const double pixel =
        std::max({std::fabs(u[1]), std::fabs(u[2]), std::fabs(u[4]), std::fabs(u[5])});
    for (int i : {1, 2, 4, 5})
        if (std::fabs(u[i] - v[i]) > 1e-6 * pixel) return false;
    return std::fabs(u[0] - v[0]) <= 1e-3 * pixel && std::fabs(u[3] - v[3]) <= 1e-3 * pixel;
}

std::string transform_text(const Transform& t) {
    std::ostringstream os;
    os.precision(10);
    os << "origin (" << t[0] << ", " << t[3] << "), pixel " << t[1] << " x " << -t[5];
    return os.str();
}

// GDAL reads one place for an image, from the first of its sources that has one, in an order
// that depends on the format: a PNG's world file before its .aux.xml; a TIFF's .aux.xml, then its
// GeoTIFF tags, then its world file; a JPEG's .aux.xml before its world file. A prediction's own
// format may read them in another order, so only the place GDAL reads for the input is carried:
// a disagreeing source is dropped, and said (a stale .tfw beside a GeoTIFF had placed a PNG mask
// 4 km away).
void keep_what_gdal_reads(SidecarGeoref& g, const std::string& image) {
    if (g.world.empty()) return;
    const Transform world = world_transform(g.world);
    const std::string ext = lower(fs::path(image).extension().string());
    Transform aux{};
    const bool aux_placed = pam_transform(g.aux, aux);
    if (aux_placed && same_place(world, aux)) return;
    if (aux_placed && ext == ".png") {
        const std::size_t a = g.aux.find("  <GeoTransform>"), b = g.aux.find("</GeoTransform>");
        g.aux.erase(a, b + 16 - a);
        if (g.aux.find("<SRS") == std::string::npos && g.aux.find("<GCPList") == std::string::npos)
            g.aux.clear();
        log_warn(g.aux_file, ": its GeoTransform (", transform_text(aux),
                 ") is not carried to the prediction of ", image,
                 ": GDAL places a PNG by its world file ", g.world_file, " (",
                 transform_text(world), "), which it reads first");
        return;
    }
    if (aux_placed) {
        log_warn(g.world_file, " (", transform_text(world),
                 ") is not carried to the prediction of ", image,
                 ": GDAL places the image by the GeoTransform of ", g.aux_file, " (",
                 transform_text(aux), "), which it reads first");
        g.world.clear();
        return;
    }
    if (ext != ".tif" && ext != ".tiff") return;
    const GeoReference tags = read_georeference(image);
    // Tags of a CRS alone, or ground control points: GDAL takes the world file's transform.
    Transform inside{};
    if (!tiff_transform(tags, inside) || same_place(world, inside)) return;
    log_warn(g.world_file, " (", transform_text(world), ") is not carried to the prediction of ",
             image, ": GDAL places the image by its own GeoTIFF tags (", tags.describe(),
             "), which it reads before a world file");
    g.world.clear();
}

}  // namespace

std::string SidecarGeoref::describe() const {
    std::string s;
    const auto add = [&](const std::string& what, const std::string& file) {
        if (!file.empty()) s += (s.empty() ? "" : ", ") + what + fs::path(file).filename().string();
    };
    add("world file ", world.empty() || world_of_tags ? std::string() : world_file);
    add("", prj.empty() ? std::string() : prj_file);
    add("", aux.empty() ? std::string() : aux_file);
    add("the GeoTIFF tags of ", tags_of);
    return s;
}

namespace {

// A GeoTIFF's tie points as the <GCPList> of a PAM .aux.xml, as GDAL reads them: each (I, J, K,
// X, Y, Z) a GCP at pixel I, line J (half a pixel on in a raster of points, GTRasterTypeGeoKey 2,
// as GDAL's GeoTIFF driver moves them), its CRS by `epsg` (none where 0).
// A number in its shortest form that reads back to the same double (GDAL's %.10f would cut a pixel
// size in degrees to five digits); -0 as 0.
std::string shortest_number(double v) {
    char buf[32];
    return std::string(buf, std::to_chars(buf, buf + sizeof buf, v + 0.0).ptr);
}

// A world file's six numbers for geotransform `t` moved to the window whose corner is pixel (x0,
// y0): A D B E, then C and F, the centre of the window's pixel (0, 0). "" where one is not finite.
std::string world_file_text(const GeoTransform& t, int x0 = 0, int y0 = 0) {
    const double c = x0 + 0.5, r = y0 + 0.5;
    std::string text;
    for (const double v :
         {t[1], t[4], t[2], t[5], t[0] + c * t[1] + r * t[2], t[3] + c * t[4] + r * t[5]}) {
        if (!std::isfinite(v)) return {};
        text += shortest_number(v) + "\n";
    }
    return text;
}

// `x0`, `y0`: the corner of a window of the image the list is for (sample's tile patches).
std::string gcp_list_xml(const GeoReference& tags, int epsg, int x0 = 0, int y0 = 0) {
    bool point = false;
    for (std::size_t i = 4; i + 3 < tags.key_directory.size(); i += 4)
        point = point || (tags.key_directory[i] == 1025 && tags.key_directory[i + 1] == 0 &&
                          tags.key_directory[i + 3] == 2);
    const auto number = shortest_number;
    std::string xml = epsg > 0 ? "  <GCPList Projection=\"EPSG:" + std::to_string(epsg) + "\">\n"
                               : std::string("  <GCPList>\n");
    const double shift = point ? 0.5 : 0.0;
    for (std::size_t k = 0; k + 5 < tags.tiepoints.size(); k += 6) {
        const double* t = &tags.tiepoints[k];
        xml += "    <GCP Id=\"" + std::to_string(k / 6 + 1) + "\" Pixel=\"" +
               number(t[0] + shift - x0) + "\" Line=\"" + number(t[1] + shift - y0) + "\" X=\"" +
               number(t[3]) + "\" Y=\"" + number(t[4]) + "\" Z=\"" + number(t[5]) + "\" />\n";
    }
    return xml + "  </GCPList>\n";
}

}  // namespace

void add_place_of_tags(SidecarGeoref& g, const std::string& image, const GeoReference& tags,
                       bool overlay_only) {
    if (tags.empty()) return;
    // What loses what cannot be carried, and how to keep it.
    const std::string png =
        overlay_only ? "the overlay PNG of its prediction" : "its prediction as a PNG";
    const std::string keep = overlay_only ? "the .tif mask keeps it"
                                          : "write a .tif (--format tif, or an --out file "
                                            "ending in .tif) to keep it";
    Transform t{}, aux{};
    if (g.world.empty() && !pam_transform(g.aux, aux)) {
        if (tiff_transform(tags, t)) {
            g.world = world_file_text(t);
            g.tags_of = image;
            g.world_of_tags = true;
        } else if (tags.tiepoints.size() >= 6) {  // and no pixel size: tie points are GCPs
            // Carried as GDAL keeps a PNG's: a GCPList in its .aux.xml (a probe found a PNG's own
            // GCPs carried, a GeoTIFF's not). An .aux.xml of the input's own with GCPs is what
            // GDAL reads before the tags: already carried.
            if (g.aux.find("<GCPList") != std::string::npos) return;
            const int epsg = epsg_code(tags);
            const std::string list = gcp_list_xml(tags, epsg);
            if (g.aux.empty())
                g.aux = "<PAMDataset>\n" + list + "</PAMDataset>\n";
            else
                g.aux.insert(g.aux.find('\n') + 1, list);  // after <PAMDataset>
            g.tags_of = image;
            if (epsg == 0 && !tags.key_directory.empty())
                log_warn(image, "'s CRS is defined by GeoTIFF keys without an EPSG code (",
                         tags.describe(), "), which pfce cannot write beside a PNG: ", png,
                         " carries its ground control points but names no CRS; ", keep);
            return;
        } else {
            // A CRS without a grid on it (no tie point, no transformation): the image itself has
            // no place on the map, so neither has its prediction, in any format.
            log_info(image, " names a CRS but no place on its grid (", tags.describe(),
                     "; no geotransform): its prediction has none either");
            return;
        }
    }
    if (!g.prj.empty() || g.aux.find("<SRS") != std::string::npos) return;
    if (tags.key_directory.empty()) return;  // no CRS to lose: the image names none either
    if (const int epsg = epsg_code(tags); epsg > 0) {
        const std::string srs = "  <SRS>EPSG:" + std::to_string(epsg) + "</SRS>\n";
        if (g.aux.empty())
            g.aux = "<PAMDataset>\n" + srs + "</PAMDataset>\n";
        else
            g.aux.insert(g.aux.find('\n') + 1, srs);  // after <PAMDataset>
        g.tags_of = image;
    } else {
        log_warn(image, "'s CRS is defined by GeoTIFF keys without an EPSG code (", tags.describe(),
                 "), which pfce cannot write beside a PNG: ", png,
                 " is placed by a world file but names no CRS; ", keep);
    }
}

namespace {

// The world files GDAL looks for beside `image`, in its order.
std::vector<fs::path> world_file_candidates(const std::string& image) {
    const fs::path p(image);
    const fs::path dir = p.parent_path();
    const std::string stem = p.stem().string();
    const std::string ext = lower(
        p.extension().string().substr(std::min<std::size_t>(1, p.extension().string().size())));
    std::vector<fs::path> worlds;
    for (const std::string& e : {short_world_ext(ext), ext + "w", std::string("wld")})
        for (const std::string& cased : {lower(e), upper(e)})
            worlds.push_back(dir / (stem + "." + cased));
    return worlds;
}

std::vector<fs::path> prj_candidates(const std::string& image) {
    const fs::path p(image);
    const std::string stem = (p.parent_path() / p.stem()).string();
    return {stem + ".prj", stem + ".PRJ"};
}

}  // namespace

std::optional<PlacedTransform> geotransform_as_gdal_reads(const std::string& image,
                                                          const GeoReference& tags) {
    const std::string ext = lower(fs::path(image).extension().string());
    const bool tiff = ext == ".tif" || ext == ".tiff";
    const auto from_aux = [&]() -> std::optional<PlacedTransform> {
        const std::string aux = first_existing({fs::path(image + ".aux.xml")});
        if (aux.empty()) return std::nullopt;
        if (const auto t = geotransform_of_aux(read_whole_file(aux)))
            return PlacedTransform{*t, aux};
        return std::nullopt;
    };
    const auto from_world = [&]() -> std::optional<PlacedTransform> {
        const std::string world = first_existing(world_file_candidates(image));
        if (world.empty()) return std::nullopt;
        if (const auto t = geotransform_of_world(world_numbers(read_whole_file(world))))
            return PlacedTransform{*t, world};
        return std::nullopt;
    };
    if (tiff) {
        if (auto t = from_aux()) return t;
        if (const auto t = geotransform_of_tags(tags)) return PlacedTransform{*t, kPlacedByTags};
        return from_world();
    }
    if (ext == ".png") {
        if (auto t = from_world()) return t;
        return from_aux();
    }
    if (auto t = from_aux()) return t;
    return from_world();
}

std::optional<PlacedGrid> pixel_grid_as_gdal_reads(const std::string& image,
                                                   const GeoReference& tags) {
    const std::optional<PlacedTransform> t = geotransform_as_gdal_reads(image, tags);
    if (!t) return std::nullopt;
    return PlacedGrid{*north_up_grid(t->transform, t->source == kPlacedByTags ? image : t->source),
                      t->source};
}

int epsg_of_crs_text(std::string text) {
    // An .aux.xml's SRS is XML text: its WKT's quotes are &quot;.
    // (Copied rather than replaced in place: GCC 12 warns of a false overlap in replace.)
    if (text.find("&quot;") != std::string::npos) {
        std::string unquoted;
        for (std::size_t i = 0; i < text.size();) {
            const bool quot = text.compare(i, 6, "&quot;") == 0;
            unquoted.push_back(quot ? '"' : text[i]);
            i += quot ? 6 : 1;
        }
        text = std::move(unquoted);
    }
    if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);  // a .prj saved with a BOM
    std::size_t b = text.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return 0;
    const auto code = [](std::string_view digits) {
        int v = 0;
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
        return ec == std::errc() && end == digits.data() + digits.size() && v > 0 ? v : 0;
    };
    const auto starts_with = [&](std::size_t at, std::string_view word) {  // any case
        if (text.size() - at < word.size()) return false;
        for (std::size_t i = 0; i < word.size(); ++i)
            if (std::toupper(static_cast<unsigned char>(text[at + i])) != word[i]) return false;
        return true;
    };
    if (starts_with(b, "EPSG:")) {  // GDAL's SRS set by code
        const std::size_t e = text.find_first_not_of("0123456789", b + 5);
        return code(std::string_view(text).substr(
            b + 5, (e == std::string::npos ? text.size() : e) - b - 5));
    }
    // A compound CRS (a horizontal and a vertical one) is, for points on a map, its horizontal
    // member: the first element inside it.
    const bool compound = starts_with(b, "COMPD_CS") || starts_with(b, "COMPOUNDCRS");
    // WKT: the outermost element's own AUTHORITY["EPSG","32633"] (WKT 1) or ID["EPSG",32633]
    // (WKT 2), either bracket, at depth 1 (those deeper name its datum, units or base CRS); text
    // after the element closes is not its.
    int depth = 0, found = 0;
    bool quoted = false;
    for (std::size_t i = b; i < text.size(); ++i) {
        const char ch = text[i];
        if (ch == '"') quoted = !quoted;
        if (quoted) continue;
        if (ch == '[' || ch == '(') ++depth;
        if (ch == ']' || ch == ')') {
            if (--depth == 0) break;
            continue;
        }
        if (depth != 1 || (ch != ',' && ch != '[' && ch != '(')) continue;
        const std::size_t k = text.find_first_not_of(" \t\r\n", i + 1);
        if (k == std::string::npos) break;
        if (compound && ch == ',' && std::isalpha(static_cast<unsigned char>(text[k]))) {
            // The first member: its own text, up to where it closes.
            int d = 0;
            bool q = false;
            for (std::size_t j = k; j < text.size(); ++j) {
                if (text[j] == '"') q = !q;
                if (q) continue;
                if (text[j] == '[' || text[j] == '(') ++d;
                if ((text[j] == ']' || text[j] == ')') && --d == 0)
                    return epsg_of_crs_text(text.substr(k, j + 1 - k));
            }
            return 0;
        }
        std::size_t open = std::string::npos;
        if (starts_with(k, "AUTHORITY[") || starts_with(k, "AUTHORITY(")) open = k + 10;
        if (starts_with(k, "ID[") || starts_with(k, "ID(")) open = k + 3;
        if (open == std::string::npos) continue;
        open = text.find_first_not_of(" \t\r\n", open);
        if (open == std::string::npos || !starts_with(open, "\"EPSG\"")) continue;
        const std::size_t v = text.find_first_not_of(" \t\r\n,\"", open + 6);
        if (v == std::string::npos) break;
        const std::size_t e = text.find_first_not_of("0123456789", v);
        if (e != std::string::npos) found = code(std::string_view(text).substr(v, e - v));
    }
    return found;
}

namespace {
// The <SRS> of `image`'s .aux.xml, as written (XML-escaped), and the file; nullopt without one.
// <SRS> or <SRS dataAxisToSRSAxisMapping="...">, as pam_georef finds it.
std::optional<std::pair<std::string, std::string>> aux_srs(const std::string& image) {
    const std::string aux = first_existing({fs::path(image + ".aux.xml")});
    if (aux.empty()) return std::nullopt;
    const std::string xml = read_whole_file(aux);
    std::size_t a = xml.find("<SRS>");
    if (a == std::string::npos) a = xml.find("<SRS ");
    const std::size_t open_end = xml.find('>', a), b = xml.find("</SRS>", a);
    if (a == std::string::npos || open_end == std::string::npos || b == std::string::npos ||
        open_end >= b)
        return std::nullopt;
    return std::pair{xml.substr(open_end + 1, b - open_end - 1), aux};
}
}  // namespace

NamedCrs crs_as_gdal_reads(const std::string& image, const GeoReference& tags) {
    if (const auto srs = aux_srs(image))
        if (const int epsg = epsg_of_crs_text(srs->first)) return {epsg, srs->second};
    if (const int epsg = epsg_code(tags)) return {epsg, kPlacedByTags};
    const std::string prj = first_existing(prj_candidates(image));
    if (!prj.empty())
        if (const int epsg = epsg_of_crs_text(read_whole_file(prj))) return {epsg, prj};
    return {};
}

namespace {
// XML's five escapes undone (an .aux.xml's SRS holds WKT's quotes as &quot;).
std::string xml_unescaped(const std::string& text) {
    static const std::pair<const char*, char> kEscapes[] = {
        {"&quot;", '"'}, {"&apos;", '\''}, {"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}};
    std::string out;
    for (std::size_t i = 0; i < text.size();) {
        bool escaped = false;
        for (const auto& [name, c] : kEscapes)
            if (text.compare(i, std::strlen(name), name) == 0) {
                out.push_back(c);
                i += std::strlen(name);
                escaped = true;
                break;
            }
        if (!escaped) out.push_back(text[i++]);
    }
    return out;
}
}  // namespace

std::string crs_text_as_gdal_reads(const std::string& image, const GeoReference& tags) {
    if (const auto srs = aux_srs(image)) return trimmed(xml_unescaped(srs->first));
    if (epsg_code(tags)) return {};
    const std::string prj = first_existing(prj_candidates(image));
    if (prj.empty()) return {};
    std::string text = read_whole_file(prj);
    if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);  // saved with a BOM
    return trimmed(text);
}

std::vector<std::string> georef_sidecar_candidates(const std::string& image) {
    std::vector<std::string> names;
    for (const fs::path& w : world_file_candidates(image)) names.push_back(w.string());
    for (const fs::path& w : prj_candidates(image)) names.push_back(w.string());
    names.push_back(image + ".aux.xml");
    const fs::path p(image);
    for (const char* suffix : kRpcSidecarSuffixes)
        names.push_back((p.parent_path() / p.stem()).string() + suffix);
    return names;
}

namespace {
bool name_ends_with(const std::string& path, const std::string& tail) {  // tail in upper case
    const std::string name = upper(fs::path(path).filename().string());
    return name.size() >= tail.size() &&
           name.compare(name.size() - tail.size(), tail.size(), tail) == 0;
}
}  // namespace

bool is_rpc_sidecar(const std::string& path) {
    return name_ends_with(path, ".RPB") || name_ends_with(path, "_RPC.TXT");
}

bool is_stem_sidecar(const std::string& path) {
    return name_ends_with(path, ".PRJ") || name_ends_with(path, ".WLD") || is_rpc_sidecar(path);
}

SidecarGeoref window_place(const std::string& image, const GeoReference& tags, int x0, int y0) {
    SidecarGeoref g;
    try {
        const std::optional<PlacedTransform> placed = geotransform_as_gdal_reads(image, tags);
        if (!placed) {
            // A GeoTIFF located by ground control points: they, moved to the window (as predict
            // carries them, a GCPList in the .aux.xml).
            if (tags.tiepoints.size() >= 6 && tags.pixel_scale.empty() &&
                tags.transformation.empty()) {
                const int epsg = epsg_code(tags);
                g.aux = "<PAMDataset>\n" + gcp_list_xml(tags, epsg, x0, y0) + "</PAMDataset>\n";
                g.crs_not_carried = epsg == 0 && !tags.key_directory.empty();
            }
            return g;
        }
        const GeoTransform& t = placed->transform;
        if (const PixelSides s = pixel_sides(t); !(s.x > 0 && s.y > 0))
            return g;  // a degenerate grid places nothing
        g.world = world_file_text(t, x0, y0);
        if (g.world.empty()) return g;
        g.world_of_tags = placed->source == kPlacedByTags;
        // The CRS in the .aux.xml, which GDAL reads beside a PNG (it reads no .prj there): by
        // its EPSG code, else as the text GDAL reads for the image (WKT of an .aux.xml or a
        // .prj); GeoTIFF keys without a code cannot be written so (crs_not_carried).
        std::string srs;
        if (const int epsg = crs_as_gdal_reads(image, tags).epsg; epsg > 0)
            srs = "EPSG:" + std::to_string(epsg);
        else
            srs = xml_escape(crs_text_as_gdal_reads(image, tags));
        if (!srs.empty())
            g.aux = "<PAMDataset>\n  <SRS>" + srs + "</SRS>\n</PAMDataset>\n";
        else
            g.crs_not_carried = !tags.key_directory.empty();
    } catch (const Error&) {
        return SidecarGeoref{};
    }
    return g;
}

SidecarGeoref find_sidecar_georef(const std::string& image) {
    SidecarGeoref g;
    g.world_file = first_existing(world_file_candidates(image));
    if (!g.world_file.empty()) {
        g.world = world_numbers(read_whole_file(g.world_file));
        if (g.world.empty())
            log_warn(g.world_file, ": not a world file (expected six numbers, one per line); ",
                     "its georeference is not carried to the prediction of ", image);
    }
    g.prj_file = first_existing(prj_candidates(image));
    if (!g.prj_file.empty()) g.prj = read_whole_file(g.prj_file);
    g.aux_file = first_existing({fs::path(image + ".aux.xml")});
    if (!g.aux_file.empty()) {
        const std::string xml = read_whole_file(g.aux_file);
        g.aux = pam_georef(xml);
        g.no_data = pam_no_data(xml, g.aux_file);
    }
    keep_what_gdal_reads(g, image);
    return g;
}

namespace {

// Each sidecar `out` gets, with its text. Not one that is the input's own file: a mask beside its
// input with the same stem shares its .prj, whose text is the same. A PNG's camera model goes in
// its .aux.xml, the one place GDAL reads it for a PNG (a TIFF holds it in its tag).
}  // namespace

std::vector<std::pair<std::string, std::string>> sidecar_files(const SidecarGeoref& geo,
                                                               const std::string& out) {
    const fs::path p(out);
    const std::string ext = lower(
        p.extension().string().substr(std::min<std::size_t>(1, p.extension().string().size())));
    const fs::path stem = p.parent_path() / p.stem();
    std::vector<std::pair<std::string, std::string>> files;
    const auto add = [&](const std::string& path, const std::string& text,
                         const std::string& input) {
        std::error_code ec;
        if (text.empty() || (!input.empty() && fs::equivalent(path, input, ec))) return;
        files.emplace_back(path, text);
    };
    add(stem.string() + "." + short_world_ext(ext), geo.world, geo.world_file);
    add(stem.string() + ".prj", geo.prj, geo.prj_file);
    if (ext == "png" && !geo.rpc.empty()) {
        std::string aux = geo.aux.empty() ? "<PAMDataset>\n</PAMDataset>\n" : geo.aux;
        aux.insert(aux.rfind("</PAMDataset>"), pam_rpc_metadata(geo.rpc));
        add(out + ".aux.xml", aux, "");  // never the input's own: it differs
    } else {
        add(out + ".aux.xml", geo.aux, geo.aux_file);
    }
    return files;
}

std::vector<std::string> sidecar_paths(const SidecarGeoref& geo, const std::string& out) {
    std::vector<std::string> paths;
    for (const auto& [path, text] : sidecar_files(geo, out)) paths.push_back(path);
    return paths;
}

void write_sidecar_georef(const SidecarGeoref& geo, const std::string& out, StagedFiles* staged) {
    for (const auto& [path, text] : sidecar_files(geo, out))
        write_file_atomically(staged ? staged->stage(path) : path, text);
}

}  // namespace pfce
