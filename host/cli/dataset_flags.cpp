// The dataset flags of pfce sample and pfce data: each is its [data] config key's flag, parsed
// and checked by the key table and validate() exactly as under `pfce train`, so a value one
// command takes the other takes too, and every refusal reads the same.
#include "host/cli/dataset_flags.hpp"

#include <mutex>
#include <vector>

#include "core/log.hpp"
#include "host/cli/config_flags.hpp"
#include "host/train/train_data.hpp"

namespace pfce::cli {

namespace {

// The [data] keys these commands take, by their config names.
constexpr const char* kDatasetKeys[] = {"data.kind",        "data.tile_patch",  "data.tile_stride",
                                        "data.tile_image",  "data.tile_labels", "data.bands",
                                        "data.value_range", "data.max_pixels"};

}  // namespace

DatasetOptions DatasetFlags::options() const {
    Config c;
    for (const auto& [dotted, text] : typed) apply_flag_text(c, *find_config_key(dotted), text);
    validate(c, "command line");
    return dataset_options(c.data);
}

DatasetOptions DatasetFlags::options_for(const std::string& root) const {
    DatasetOptions o = options();
    adopt_declared_image(o.image, declared_image_settings(root, o.kind), typed.count("data.bands"),
                         typed.count("data.value_range"));
    return o;
}

void DatasetFlags::warn_of_unused(const Dataset& ds) const {
    if (ds.kind() == DatasetKind::tiles) return;
    std::string given;
    for (const auto& [dotted, text] : typed) {
        if (dotted.rfind("data.tile_", 0) != 0) continue;
        given += (given.empty() ? "" : ", ") + find_config_key(dotted)->flag + " " + text;
    }
    if (!given.empty())
        log_warn(given, ": no effect, ", ds.root(), " is a ", kDatasetKinds.name(ds.kind()),
                 " dataset (the tile settings are for the original Potsdam tiles, --kind tiles)");
}

Dataset open_dataset(const std::string& root, const DatasetOptions& o, const DatasetFlags& flags) {
    // The dataset's read lock, held until the command ends (these commands open a dataset and
    // read it to their end): `data synth --force` writing it meanwhile is refused, and one writing
    // it now is said as such rather than as the missing files it is between.
    // Never destroyed: the process's end releases the locks (a destructor run at exit met the lock
    // registry already gone, and aborted).
    static std::mutex* const held_mutex = new std::mutex;
    static std::vector<DirLock>* const held = new std::vector<DirLock>;
    {
        DirLock lock = lock_dir_for_reading(root, "dataset");
        const std::lock_guard<std::mutex> guard(*held_mutex);
        held->push_back(std::move(lock));
    }
    Dataset ds = Dataset::open(root, o);
    flags.warn_of_unused(ds);
    return ds;
}

void add_dataset_flags(CLI::App& app, DatasetFlags& f) {
    for (const char* dotted : kDatasetKeys) {
        const ConfigKey* k = find_config_key(dotted);
        app.add_option(
               k->flag,
               [&f, key = std::string(dotted), flag = k->flag](const CLI::results_t& r) {
                   f.typed[key] = single_flag_value(flag, r, false);
                   return true;
               },
               config_flag_help(*k))
            ->type_name(config_flag_type(*k))
            ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
            ->group("[" + k->section + "]");  // a config-key flag: it parses its own empty value
    }
}

}  // namespace pfce::cli
