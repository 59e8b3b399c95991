// RPC camera models: GDAL's three text forms (NAME_RPC.TXT, NAME.RPB, an .aux.xml's RPC metadata)
// and its TIFF tag, read into the tag's order, and the .aux.xml form written
// (data/rpc_model.hpp).
#include "data/rpc_model.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>

#include "core/file_io.hpp"
#include "core/log.hpp"
#include "data/image_io.hpp"

namespace pfce {
namespace fs = std::filesystem;
namespace {

// GDAL's names of the tag's first twelve values, then of its four lists of 20 coefficients.
constexpr const char* kSingleNames[] = {"ERR_BIAS",   "ERR_RAND",  "LINE_OFF",   "SAMP_OFF",
                                        "LAT_OFF",    "LONG_OFF",  "HEIGHT_OFF", "LINE_SCALE",
                                        "SAMP_SCALE", "LAT_SCALE", "LONG_SCALE", "HEIGHT_SCALE"};
constexpr const char* kListNames[] = {"LINE_NUM_COEFF", "LINE_DEN_COEFF", "SAMP_NUM_COEFF",
                                      "SAMP_DEN_COEFF"};
// The same fields in an .RPB (DigitalGlobe's keyword file, group IMAGE).
constexpr const char* kRpbSingleNames[] = {
    "errBias",      "errRand",   "lineOffset", "sampOffset", "latOffset", "longOffset",
    "heightOffset", "lineScale", "sampScale",  "latScale",   "longScale", "heightScale"};
constexpr const char* kRpbListNames[] = {"lineNumCoef", "lineDenCoef", "sampNumCoef",
                                         "sampDenCoef"};
constexpr int kCoefficients = 20;
// Not every writer gives the error estimates; GDAL writes -1 (unknown) into the tag then.
constexpr double kUnknownError = -1.0;

std::string upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
    return s;
}

std::string trimmed(const std::string& s) {
    const std::size_t a = s.find_first_not_of(" \t\r\n"), b = s.find_last_not_of(" \t\r\n");
    return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

// The number a field's text starts with (an _RPC.TXT writes units after it: "2500 pixels").
std::optional<double> leading_number(const std::string& text) {
    const std::string t = trimmed(text);
    char* end = nullptr;
    const double v = std::strtod(t.c_str(), &end);
    if (end == t.c_str()) return std::nullopt;
    return v;
}

// A model's fields by GDAL's names (a list's 20 numbers in one text, separated by spaces or
// commas, in parentheses or not) into the tag's order; "" and the values, or what is missing.
struct Parsed {
    std::vector<double> values;
    std::string
        missing;  // why it is not whole: "no LINE_NUM_COEFF", "LAT_OFF is 'x', not a number"
};
Parsed model_of_fields(const std::map<std::string, std::string>& fields) {
    Parsed p;
    for (std::size_t i = 0; i < std::size(kSingleNames); ++i) {
        const auto it = fields.find(kSingleNames[i]);
        if (it == fields.end()) {
            if (i < 2) {  // the error estimates are optional
                p.values.push_back(kUnknownError);
                continue;
            }
            p.missing = std::string("no ") + kSingleNames[i];
            return p;
        }
        const auto v = leading_number(it->second);
        if (!v) {
            p.missing =
                std::string(kSingleNames[i]) + " is '" + trimmed(it->second) + "', not a number";
            return p;
        }
        p.values.push_back(*v);
    }
    for (const char* name : kListNames) {
        const auto it = fields.find(name);
        if (it == fields.end()) {
            p.missing = std::string("no ") + name;
            return p;
        }
        std::string list = it->second;
        for (char& c : list)
            if (c == ',' || c == '(' || c == ')') c = ' ';
        std::istringstream in(list);
        std::string token;
        int n = 0;
        while (in >> token) {
            const auto v = leading_number(token);
            if (!v) {
                p.missing = std::string(name) + " holds '" + token + "', not a number";
                return p;
            }
            p.values.push_back(*v);
            ++n;
        }
        if (n != kCoefficients) {
            p.missing = std::string(name) + " has " + std::to_string(n) + " numbers, not " +
                        std::to_string(kCoefficients);
            return p;
        }
    }
    return p;
}

// NAME_RPC.TXT: a "KEY: value" line per field, each list as KEY_1 .. KEY_20 (GeoEye's form).
Parsed parse_rpc_txt(const std::string& text) {
    std::map<std::string, std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        const std::size_t sep = line.find_first_of(":=");
        if (sep != std::string::npos)
            lines[upper(trimmed(line.substr(0, sep)))] = line.substr(sep + 1);
    }
    std::map<std::string, std::string> fields;
    for (const char* name : kSingleNames)
        if (const auto it = lines.find(name); it != lines.end()) fields[name] = it->second;
    for (const char* name : kListNames) {
        std::string list;
        for (int k = 1; k <= kCoefficients; ++k) {
            const std::string key = std::string(name) + "_" + std::to_string(k);
            const auto it = lines.find(key);
            if (it == lines.end()) return {{}, "no " + key};
            list += it->second + " ";
        }
        fields[name] = list;
    }
    return model_of_fields(fields);
}

// NAME.RPB: "name = value;" keywords (a list in parentheses, over several lines) in a group IMAGE;
// names compared without case, as GDAL's keyword parser compares them.
Parsed parse_rpb(const std::string& text) {
    const std::string up = upper(text);
    const auto value_of = [&](const char* name) -> std::optional<std::string> {
        const std::string key = upper(name);
        for (std::size_t at = up.find(key); at != std::string::npos; at = up.find(key, at + 1)) {
            const bool starts = at == 0 || std::isspace(static_cast<unsigned char>(up[at - 1])) ||
                                up[at - 1] == '.';
            std::size_t eq = at + key.size();
            while (eq < up.size() && (up[eq] == ' ' || up[eq] == '\t')) ++eq;
            if (!starts || eq >= up.size() || up[eq] != '=') continue;
            const std::size_t end = text.find(';', eq);
            return text.substr(eq + 1, (end == std::string::npos ? text.size() : end) - eq - 1);
        }
        return std::nullopt;
    };
    std::map<std::string, std::string> fields;
    for (std::size_t i = 0; i < std::size(kSingleNames); ++i)
        if (auto v = value_of(kRpbSingleNames[i])) fields[kSingleNames[i]] = *v;
    for (std::size_t i = 0; i < std::size(kListNames); ++i)
        if (auto v = value_of(kRpbListNames[i])) fields[kListNames[i]] = *v;
    return model_of_fields(fields);
}

// The <Metadata domain="RPC"> element of a PAM document ("" when it has none).
std::string pam_rpc_element(const std::string& xml) {
    const std::size_t a = xml.find("<Metadata domain=\"RPC\"");
    if (a == std::string::npos) return {};
    const std::size_t b = xml.find("</Metadata>", a);
    return b == std::string::npos ? std::string() : xml.substr(a, b - a);
}

// Its <MDI key="LINE_OFF">2500</MDI> items, each list in one item.
Parsed parse_pam_rpc(const std::string& element) {
    std::map<std::string, std::string> fields;
    const std::string open = "<MDI key=\"";
    for (std::size_t a = element.find(open); a != std::string::npos;
         a = element.find(open, a + 1)) {
        const std::size_t key_end = element.find('"', a + open.size());
        const std::size_t value_at = element.find('>', key_end);
        const std::size_t value_end = element.find("</MDI>", value_at);
        if (key_end == std::string::npos || value_at == std::string::npos ||
            value_end == std::string::npos)
            break;
        fields[upper(element.substr(a + open.size(), key_end - a - open.size()))] =
            element.substr(value_at + 1, value_end - value_at - 1);
    }
    return model_of_fields(fields);
}

}  // namespace

RpcModel rpc_as_gdal_reads(const std::string& image, const GeoReference& tags) {
    const fs::path p(image);
    const std::string base = (p.parent_path() / p.stem()).string();
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    const bool tiff = ext == ".tif" || ext == ".tiff";
    // Each place in GDAL's order for the format: a whole model there ends the search.
    const auto sidecar = [&]() -> RpcModel {
        for (const char* suffix : kRpcSidecarSuffixes) {
            const std::string file = base + suffix;
            std::error_code ec;
            if (!fs::is_regular_file(file, ec)) continue;
            const std::string text = read_whole_file(file);
            const bool rpb = upper(suffix) == ".RPB";
            const Parsed m = rpb ? parse_rpb(text) : parse_rpc_txt(text);
            if (m.missing.empty()) return {m.values, file};
            log_warn(file, ": not a whole RPC camera model (", m.missing,
                     "; GDAL does not read it either): not carried to the prediction of ", image);
        }
        return {};
    };
    const auto pam = [&]() -> RpcModel {
        const std::string aux = image + ".aux.xml";
        std::error_code ec;
        if (!fs::is_regular_file(aux, ec)) return {};
        const std::string element = pam_rpc_element(read_whole_file(aux));
        if (element.empty()) return {};
        const Parsed m = parse_pam_rpc(element);
        if (m.missing.empty()) return {m.values, "the RPC metadata of " + aux};
        log_warn(aux, ": its RPC metadata is not a whole camera model (", m.missing,
                 "; GDAL does not read it either): not carried to the prediction of ", image);
        return {};
    };
    if (tiff) {
        if (RpcModel m = sidecar(); !m.values.empty()) return m;
        if (tags.rpc_coefficients.size() == kRpcTagValues)
            return {tags.rpc_coefficients, "the RPCCoefficientTag of " + image};
        return pam();
    }
    if (RpcModel m = pam(); !m.values.empty()) return m;
    return sidecar();
}

std::string pam_rpc_metadata(const std::vector<double>& values) {
    PFCE_CHECK_SHAPE(values.size() == kRpcTagValues, values.size(), " RPC values, expected ",
                     kRpcTagValues);
    const auto number = [](double v) {
        char buf[32];
        const auto end = std::to_chars(buf, buf + sizeof buf, v + 0.0).ptr;  // no -0
        return std::string(buf, end);
    };
    std::string xml = "  <Metadata domain=\"RPC\">\n";
    std::size_t i = 0;
    for (const char* name : kSingleNames)
        xml += "    <MDI key=\"" + std::string(name) + "\">" + number(values[i++]) + "</MDI>\n";
    for (const char* name : kListNames) {
        xml += "    <MDI key=\"" + std::string(name) + "\">";
        for (int k = 0; k < kCoefficients; ++k) {
            if (k > 0) xml += ' ';
            xml += number(values[i++]);
        }
        xml += "</MDI>\n";
    }
    return xml + "  </Metadata>\n";
}

}  // namespace pfce
