// ExperimentResult <-> JSON. Numbers that may be undefined (NaN) travel as null.
#include "host/experiment/results.hpp"

#include <cmath>
#include <limits>

#include "core/error.hpp"
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

}  // namespace

nlohmann::json to_json(const ExperimentResult& r) {
    nlohmann::json epochs = nlohmann::json::array();
    for (const auto& e : r.epochs)
        epochs.push_back({{"epoch", e.epoch},
                          {"train_loss", json_number(e.train_loss)},
                          {"train_crf_loss", json_number(e.train_crf_loss)},
                          {"val_loss", json_number(e.val_loss)},
                          {"val_loss_dense", json_number(e.val_loss_dense)},
                          {"val_miou", json_number(e.val_miou)},
                          {"lr", json_number(e.lr)},
                          {"seconds", json_number(e.seconds)}});
    nlohmann::json test = {{"miou", json_number(r.test.miou)},
                           {"miou_no_clutter", json_number(r.test.miou_no_clutter)},
                           {"oa", json_number(r.test.oa)},
                           {"mean_f1", json_number(r.test.mean_f1)},
                           {"iou", numbers(r.test.iou)},
                           {"f1", numbers(r.test.f1)},
                           {"pixels", r.test.pixels}};
    nlohmann::json stages = nlohmann::json::object();
    for (const auto& [k, v] : r.stage_seconds) stages[k] = json_number(v);
    return {{"id", r.id},
            {"description", r.description},
            {"labels", r.labels},
            {"report_figure", r.report_figure},
            {"status", r.status},
            {"error", r.error},
            {"labelled_fraction_sparse", json_number(r.labelled_fraction_sparse)},
            {"labelled_fraction", json_number(r.labelled_fraction)},
            {"link_purity", json_number(r.link_purity)},
            {"epochs", epochs},
            {"selected_epoch", r.selected_epoch},
            {"final_train_loss", json_number(r.final_train_loss)},
            {"val_loss", json_number(r.val_loss)},
            {"val_loss_dense", json_number(r.val_loss_dense)},
            {"val_miou", json_number(r.val_miou)},
            {"test", test},
            {"classes", r.class_names},
            {"wall_seconds", json_number(r.wall_seconds)},
            {"stage_seconds", stages},
            {"device", r.device},
            {"grid_png", r.grid_png},
            {"config", r.config}};
}

ExperimentResult result_from_json(const nlohmann::json& j, const std::string& source) {
    ExperimentResult r;
    r.id = str_field(j, "id", source);
    r.description = str_field(j, "description", source);
    r.labels = str_field(j, "labels", source);
    r.report_figure = str_field(j, "report_figure", source);
    r.status = str_field(j, "status", source);
    r.error = str_field(j, "error", source);
    r.labelled_fraction_sparse = num_field(j, "labelled_fraction_sparse", source);
    r.labelled_fraction = num_field(j, "labelled_fraction", source);
    r.link_purity = num_field(j, "link_purity", source);
    const auto& epochs = field(j, "epochs", source);
    if (!epochs.is_array()) PFCE_THROW(InputError, source, ": field \"epochs\" should be an array");
    for (const auto& e : epochs) {
        EpochRecord rec;
        rec.epoch = static_cast<int>(num_field(e, "epoch", source));
        rec.train_loss = num_field(e, "train_loss", source);
        if (e.contains("train_crf_loss"))  // absent in results of older pfce: no CRF term
            rec.train_crf_loss = num_field(e, "train_crf_loss", source);
        rec.val_loss = num_field(e, "val_loss", source);
        rec.val_loss_dense = num_field(e, "val_loss_dense", source);
        rec.val_miou = num_field(e, "val_miou", source);
        rec.lr = num_field(e, "lr", source);
        rec.seconds = num_field(e, "seconds", source);
        r.epochs.push_back(rec);
    }
    r.selected_epoch = static_cast<int>(num_field(j, "selected_epoch", source));
    r.final_train_loss = num_field(j, "final_train_loss", source);
    r.val_loss = num_field(j, "val_loss", source);
    r.val_loss_dense = num_field(j, "val_loss_dense", source);
    r.val_miou = num_field(j, "val_miou", source);
    const auto& t = field(j, "test", source);
    r.test.miou = num_field(t, "miou", source);
    r.test.miou_no_clutter = num_field(t, "miou_no_clutter", source);
    r.test.oa = num_field(t, "oa", source);
    r.test.mean_f1 = num_field(t, "mean_f1", source);
    r.test.iou = num_array(t, "iou", source);
    r.test.f1 = num_array(t, "f1", source);
    r.test.pixels = static_cast<std::int64_t>(num_field(t, "pixels", source));
    r.test.num_classes = static_cast<int>(r.test.iou.size());
    const auto& classes = field(j, "classes", source);
    if (!classes.is_array())
        PFCE_THROW(InputError, source, ": field \"classes\" should be an array");
    for (const auto& c : classes)
        r.class_names.push_back(c.is_string() ? c.get<std::string>() : "");
    r.wall_seconds = num_field(j, "wall_seconds", source);
    const auto& stages = field(j, "stage_seconds", source);
    if (stages.is_object())
        for (const auto& [k, v] : stages.items()) r.stage_seconds[k] = number_from_json(v);
    r.device = str_field(j, "device", source);
    r.grid_png = str_field(j, "grid_png", source);
    if (j.contains("config")) r.config = j.at("config");
    return r;
}

ExperimentResult read_result(const std::string& path) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(read_text_file(path));
    } catch (const nlohmann::json::exception& e) {
        PFCE_THROW(InputError, path, ": not valid JSON (", e.what(), ")");
    }
    return result_from_json(j, path);
}

void write_result(const std::string& path, const ExperimentResult& r) {
    write_text_atomically(path, to_json(r).dump(2) + "\n");
}

}  // namespace pfce
