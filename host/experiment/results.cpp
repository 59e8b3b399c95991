// ExperimentResult <-> JSON. Numbers that may be undefined (NaN) travel as null.
#include "host/experiment/results.hpp"

#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "data/record_checksum.hpp"
#include "host/experiment/text_file.hpp"

namespace pfce {

namespace {

nlohmann::json numbers(const std::vector<double>& v) {
    nlohmann::json a = nlohmann::json::array();
    for (double x : v) a.push_back(json_number(x));
    return a;
}

const nlohmann::json& field(const nlohmann::json& j, const char* key, const std::string& source) {
    if (!j.is_object() || !j.contains(key))
        PFCE_THROW(InputError, source, ": missing field \"", key, "\"");
    return j.at(key);
}

double num_field(const nlohmann::json& j, const char* key, const std::string& source) {
    const auto& v = field(j, key, source);
    if (!v.is_number() && !v.is_null())
        PFCE_THROW(InputError, source, ": field \"", key, "\" should be a number, got ", v.dump());
    return number_from_json(v);
}

std::string str_field(const nlohmann::json& j, const char* key, const std::string& source) {
    const auto& v = field(j, key, source);
    if (!v.is_string())
        PFCE_THROW(InputError, source, ": field \"", key, "\" should be a string, got ", v.dump());
    return v.get<std::string>();
}

std::vector<double> num_array(const nlohmann::json& j, const char* key, const std::string& source) {
    const auto& v = field(j, key, source);
    if (!v.is_array()) PFCE_THROW(InputError, source, ": field \"", key, "\" should be an array");
    std::vector<double> out;
    for (const auto& x : v) out.push_back(number_from_json(x));
    return out;
}

// ---- the fields, listed once ----------------------------------------------------------------

// A field that older results may lack (then it keeps its default).
enum class Presence { required, optional };

// Every field of an EpochRecord, SegMetrics and ExperimentResult with its JSON key, for to_json and
// result_from_json alike: f(key, member[, presence]) for each, in the order they are read (which
// decides the error a file with several bad fields reports). Rec is the record, const or not.
template <typename Rec, typename F>
void epoch_fields(Rec& e, F&& f) {
    f("epoch", e.epoch);
    f("train_loss", e.train_loss);
    f("train_crf_loss", e.train_crf_loss, Presence::optional);  // older pfce: no CRF term
    f("val_loss", e.val_loss);
    f("val_loss_dense", e.val_loss_dense);
    f("val_miou", e.val_miou);
    f("lr", e.lr);
    f("seconds", e.seconds);
}

template <typename Rec, typename F>
void test_fields(Rec& t, F&& f) {
    f("miou", t.miou);
    f("miou_no_clutter", t.miou_no_clutter);
    f("oa", t.oa);
    f("mean_f1", t.mean_f1);
    f("iou", t.iou);
    f("f1", t.f1);
    f("pixels", t.pixels);
}

template <typename Rec, typename F>
void result_fields(Rec& r, F&& f) {
    f("id", r.id);
    f("group", r.group, Presence::optional);  // older pfce, or a suite without seeds: none
    f("seed", r.seed, Presence::optional);
    f("description", r.description);
    f("labels", r.labels);
    f("report_figure", r.report_figure);
    f("status", r.status);
    f("error", r.error);
    f("labelled_fraction_sparse", r.labelled_fraction_sparse);
    f("labelled_fraction", r.labelled_fraction);
    f("link_purity", r.link_purity);
    f("epochs", r.epochs);
    f("selected_epoch", r.selected_epoch);
    f("final_train_loss", r.final_train_loss);
    f("val_loss", r.val_loss);
    f("val_loss_dense", r.val_loss_dense);
    f("val_miou", r.val_miou);
    f("test", r.test);
    f("test_miou_ci95", r.test_miou_ci95, Presence::optional);              // older pfce: none
    f("test_miou_ci95_units", r.test_miou_ci95_units, Presence::optional);  // older: unrecorded
    f("test_iou_ci95_lo", r.test_iou_ci95_lo, Presence::optional);          // older: none
    f("test_iou_ci95_hi", r.test_iou_ci95_hi, Presence::optional);
    f("test_units", r.test_units, Presence::optional);  // older: unrecorded
    f("classes", r.class_names);
    f("wall_seconds", r.wall_seconds);
    f("sessions", r.sessions, Presence::optional);  // older pfce: one session, not resumed
    f("resumed", r.resumed, Presence::optional);
    f("stage_seconds", r.stage_seconds);
    f("device", r.device);
    f("pfce", r.pfce, Presence::optional);  // older pfce: not recorded
    f("grid_png", r.grid_png);
    f("grid_images", r.grid_images, Presence::optional);  // older pfce: not recorded
    f("config", r.config, Presence::optional);            // older pfce: none
}

// ---- writing: the JSON value of a member of each type -----------------------------------------

nlohmann::json value(const std::string& v) {
    return v;
}
nlohmann::json value(double v) {  // NaN -> null
    return json_number(v);
}
nlohmann::json value(int v) {
    return v;
}
nlohmann::json value(bool v) {
    return v;
}
nlohmann::json value(std::int64_t v) {
    return v;
}
nlohmann::json value(const std::vector<double>& v) {
    return numbers(v);
}
nlohmann::json value(const std::vector<std::string>& v) {
    return v;
}
nlohmann::json value(const nlohmann::json& v) {
    return v;
}
nlohmann::json value(const std::map<std::string, double>& v) {
    nlohmann::json o = nlohmann::json::object();
    for (const auto& [k, x] : v) o[k] = json_number(x);
    return o;
}

nlohmann::json value(const std::vector<TestUnit>& units) {
    nlohmann::json a = nlohmann::json::array();
    for (const TestUnit& u : units) a.push_back({{"id", u.id}, {"confusion", u.confusion}});
    return a;
}

// The records inside a result (below writer(), which calls them).
nlohmann::json value(const SegMetrics& t);
nlohmann::json value(const std::vector<EpochRecord>& epochs);

// f for *_fields that writes each member into object o.
auto writer(nlohmann::json& o) {
    return [&o](const char* key, const auto& member, Presence = Presence::required) {
        o[key] = value(member);
    };
}

// The confusion matrix travels as rows (one per true class), which test_fields' one value per
// member cannot shape: it is written and read beside them (optional: older pfce wrote none).
nlohmann::json value(const SegMetrics& t) {
    nlohmann::json o = nlohmann::json::object();
    test_fields(t, writer(o));
    if (!t.confusion.empty()) o["confusion"] = confusion_rows(t.confusion, t.num_classes);
    return o;
}
nlohmann::json value(const std::vector<EpochRecord>& epochs) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& e : epochs) {
        nlohmann::json o = nlohmann::json::object();
        epoch_fields(e, writer(o));
        a.push_back(o);
    }
    return a;
}

// ---- reading: field `key` of object j into a member of each type ------------------------------

void read(const nlohmann::json& j, const char* key, const std::string& source, std::string& out) {
    out = str_field(j, key, source);
}
void read(const nlohmann::json& j, const char* key, const std::string& source, double& out) {
    out = num_field(j, key, source);
}
void read(const nlohmann::json& j, const char* key, const std::string& source, bool& out) {
    const auto& v = field(j, key, source);
    if (!v.is_boolean())
        PFCE_THROW(InputError, source, ": field \"", key, "\" should be true or false, got ",
                   v.dump());
    out = v.get<bool>();
}
void read(const nlohmann::json& j, const char* key, const std::string& source, int& out) {
    out = static_cast<int>(num_field(j, key, source));
}
void read(const nlohmann::json& j, const char* key, const std::string& source, std::int64_t& out) {
    out = static_cast<std::int64_t>(num_field(j, key, source));
}
void read(const nlohmann::json& j, const char* key, const std::string& source,
          std::vector<double>& out) {
    out = num_array(j, key, source);
}
// Class names: one that is not a string reads as "".
void read(const nlohmann::json& j, const char* key, const std::string& source,
          std::vector<std::string>& out) {
    const auto& v = field(j, key, source);
    if (!v.is_array()) PFCE_THROW(InputError, source, ": field \"", key, "\" should be an array");
    for (const auto& c : v) out.push_back(c.is_string() ? c.get<std::string>() : "");
}
// Stage timings: anything but an object reads as none.
void read(const nlohmann::json& j, const char* key, const std::string& source,
          std::map<std::string, double>& out) {
    const auto& v = field(j, key, source);
    if (v.is_object())
        for (const auto& [k, x] : v.items()) out[k] = number_from_json(x);
}
// The settings a result was made with: an object, or null where an early pfce recorded none.
void read(const nlohmann::json& j, const char* key, const std::string& source,
          nlohmann::json& out) {
    out = field(j, key, source);
    if (!out.is_object() && !out.is_null())
        PFCE_THROW(InputError, source, ": field \"", key, "\" should be an object, got ",
                   out.dump());
}
// Test units: each an id and its counts, all of one length, a square (C*C).
void read(const nlohmann::json& j, const char* key, const std::string& source,
          std::vector<TestUnit>& out) {
    const auto& v = field(j, key, source);
    auto bad = [&](std::size_t k, const std::string& what) {
        PFCE_THROW(InputError, source, ": field \"", key, "\" unit ", k, " ", what,
                   "; expected {\"id\": text, \"confusion\": C*C pixel counts}");
    };
    if (!v.is_array()) PFCE_THROW(InputError, source, ": field \"", key, "\" should be an array");
    for (std::size_t k = 0; k < v.size(); ++k) {
        const auto& u = v[k];
        if (!u.is_object() || !u.contains("id") || !u["id"].is_string() ||
            !u.contains("confusion") || !u["confusion"].is_array())
            bad(k, "is " + u.dump().substr(0, 80));
        TestUnit t;
        t.id = u["id"].get<std::string>();
        for (const auto& n : u["confusion"]) {
            if (!n.is_number_integer() || n.get<std::int64_t>() < 0)
                bad(k, "holds the count " + n.dump().substr(0, 40));
            t.confusion.push_back(n.get<std::int64_t>());
        }
        const auto side = static_cast<std::size_t>(
            std::llround(std::sqrt(static_cast<double>(t.confusion.size()))));
        if (side * side != t.confusion.size() ||
            (!out.empty() && t.confusion.size() != out.front().confusion.size()))
            bad(k, "holds " + std::to_string(t.confusion.size()) + " counts");
        out.push_back(std::move(t));
    }
}

// The records inside a result (below reader(), which calls them).
void read(const nlohmann::json& j, const char* key, const std::string& source, SegMetrics& out);
void read(const nlohmann::json& j, const char* key, const std::string& source,
          std::vector<EpochRecord>& out);

// f for *_fields that reads each member from object j.
auto reader(const nlohmann::json& j, const std::string& source) {
    return [&j, &source](const char* key, auto& member, Presence p = Presence::required) {
        if (p == Presence::required || j.contains(key)) read(j, key, source, member);
    };
}

void read(const nlohmann::json& j, const char* key, const std::string& source, SegMetrics& out) {
    const nlohmann::json& m = field(j, key, source);
    test_fields(out, reader(m, source));
    out.num_classes = static_cast<int>(out.iou.size());
    if (!m.contains("confusion")) return;
    const nlohmann::json& rows = m["confusion"];
    const std::size_t C = out.iou.size();
    auto bad = [&](const std::string& what) {
        PFCE_THROW(InputError, source, ": field \"", key, ".confusion\" ", what, "; expected ", C,
                   " rows of ", C, " pixel counts (one per class)");
    };
    if (!rows.is_array() || rows.size() != C)
        bad(rows.is_array() ? "has " + std::to_string(rows.size()) + " rows" : "is not an array");
    // The counts add up to the pixels scored (checked as they are added, so no sum overflows).
    std::int64_t left = out.pixels;
    for (std::size_t t = 0; t < C; ++t) {
        if (!rows[t].is_array() || rows[t].size() != C)
            bad("row " + std::to_string(t) + " is " + rows[t].dump().substr(0, 80));
        for (const auto& n : rows[t]) {
            if (!n.is_number_integer() || n.get<std::int64_t>() < 0)
                bad("row " + std::to_string(t) + " holds " + n.dump().substr(0, 80));
            if (n.get<std::int64_t>() > left)
                bad("adds up to more than the " + std::to_string(out.pixels) + " pixels scored");
            left -= n.get<std::int64_t>();
            out.confusion.push_back(n.get<std::int64_t>());
        }
    }
    if (left != 0)
        bad("adds up to " + std::to_string(out.pixels - left) + ", not the " +
            std::to_string(out.pixels) + " pixels scored");
}
void read(const nlohmann::json& j, const char* key, const std::string& source,
          std::vector<EpochRecord>& out) {
    const auto& v = field(j, key, source);
    if (!v.is_array()) PFCE_THROW(InputError, source, ": field \"", key, "\" should be an array");
    for (const auto& e : v) {
        EpochRecord rec;
        epoch_fields(rec, reader(e, source));
        out.push_back(rec);
    }
}

}  // namespace

nlohmann::json to_json(const ExperimentResult& r) {
    nlohmann::json o = nlohmann::json::object();
    result_fields(r, writer(o));
    if (r.group.empty()) {  // a suite without seeds: no group, no seed (not "" and -1)
        o.erase("group");
        o.erase("seed");
    }
    return o;
}

ExperimentResult result_from_json(const nlohmann::json& j, const std::string& source) {
    ExperimentResult r;
    result_fields(r, reader(j, source));
    return r;
}

ExperimentResult read_result(const std::string& path) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(read_text_file(path));
    } catch (const nlohmann::json::exception& e) {
        PFCE_THROW(InputError, path, ": not valid JSON (", e.what(), ")");
    }
    // The report shows what the record says: an edited one showed an mIoU of -5, or 0.99 beside
    // per-class IoUs of 0.13 and its own confusion matrix (hostile-user probe).
    if (record_edited(j))
        PFCE_THROW(InputError, path,
                   edited_record_message("the report shows the scores it records",
                                         "pfce run runs the experiment again"));
    if (j.is_object()) j.erase(kRecordChecksumKey);
    return result_from_json(j, path);
}

void write_result(const std::string& path, const ExperimentResult& r) {
    nlohmann::json j = to_json(r);
    seal_record(j);
    write_text_atomically(path, j.dump(2) + "\n");
}

}  // namespace pfce
