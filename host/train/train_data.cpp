// Loading a run's data: dataset, split, masks and statistics.
#include "host/train/train_data.hpp"

#include <algorithm>
#include <cctype>

#include "core/log.hpp"
#include "data/mask_dir.hpp"

namespace pfce {

int find_clutter_class(const Palette& palette) {
    for (int c = 0; c < palette.num_classes(); ++c) {
        std::string n = palette.classes[static_cast<std::size_t>(c)].name;
        std::transform(n.begin(), n.end(), n.begin(),
                       [](unsigned char ch) { return std::tolower(ch); });
        if (n == "clutter") return c;
    }
    return -1;
}

std::vector<SampleData> load_samples(const Dataset& ds, const std::vector<std::size_t>& indices,
                                     const std::string& labels_dir) {
    std::vector<SampleData> out(indices.size());
    MaskDir md;
    if (!labels_dir.empty()) md = open_mask_dir(labels_dir);
    // Images are decoded in parallel; each sample writes only its own slot.
    std::string error;
#pragma omp parallel for schedule(dynamic)
    for (std::size_t k = 0; k < indices.size(); ++k) {
        try {
            SampleData& s = out[k];
            s.image = ds.read_image(indices[k]);
            s.dense = ds.read_mask(indices[k]);
            if (labels_dir.empty()) {
                s.train_labels = s.dense;
            } else {
                s.train_labels = read_mask_png(md, ds.sample(indices[k]).id, ds.palette());
                if (s.train_labels.width != s.image.width ||
                    s.train_labels.height != s.image.height)
                    PFCE_THROW(InputError, "mask ", labels_dir, "/", ds.sample(indices[k]).id,
                               ".png is ", s.train_labels.width, "x", s.train_labels.height,
                               ", its image is ", s.image.width, "x", s.image.height);
            }
        } catch (const std::exception& e) {
#pragma omp critical
            if (error.empty()) error = e.what();
        }
    }
    if (!error.empty()) throw InputError(error, __FILE__, __LINE__);
    return out;
}

TrainInputs load_train_inputs(const TrainConfig& cfg) {
    if (cfg.data.empty())
        PFCE_THROW(InputError, "no dataset given (--data DIR or data = \"...\" in [train])");
    const Dataset ds = Dataset::open(cfg.data);
    std::size_t n = ds.size();
    if (cfg.max_samples > 0)
        n = std::min<std::size_t>(n, static_cast<std::size_t>(cfg.max_samples));
    const Split split = make_split(n, cfg.split_seed, cfg.train_frac, cfg.val_frac);
    if (split.train.empty())
        PFCE_THROW(InputError, "dataset ", cfg.data, ": ", n,
                   " samples leave no training sample (train_frac ", cfg.train_frac, ")");
    TrainInputs in;
    in.train = load_samples(ds, split.train, cfg.labels);
    in.val = load_samples(ds, split.val, cfg.labels);
    std::vector<const RgbImage*> imgs;
    for (const auto& s : in.train) imgs.push_back(&s.image);
    in.stats = compute_channel_stats(imgs);
    for (const auto& c : ds.palette().classes) {
        in.class_names.push_back(c.name);
        in.class_colours.push_back(c.colour);
    }
    in.clutter_class = find_clutter_class(ds.palette());
    if (!cfg.labels.empty()) {
        const MaskDir md = open_mask_dir(cfg.labels);
        in.label_kind = md.meta.value("kind", std::string("sparse"));
    }
    in.data_meta = {{"root", cfg.data},
                    {"labels", cfg.labels},
                    {"split_seed", cfg.split_seed},
                    {"train_frac", cfg.train_frac},
                    {"val_frac", cfg.val_frac},
                    {"max_samples", cfg.max_samples},
                    {"train", split.train.size()},
                    {"val", split.val.size()},
                    {"test", split.test.size()}};
    // Say what the loss will see, so masks that lost their labels cannot train unnoticed.
    std::vector<std::int64_t> per_class(ds.palette().classes.size(), 0);
    std::int64_t pixels = 0, labelled = 0;
    for (const SampleData& s : in.train) {
        pixels += static_cast<std::int64_t>(s.train_labels.labels.size());
        for (std::uint8_t v : s.train_labels.labels)
            if (v != 255) ++per_class[v], ++labelled;
    }
    std::string counts;
    for (std::size_t c = 0; c < per_class.size(); ++c)
        counts +=
            (c ? ", " : "") + ds.palette().classes[c].name + " " + std::to_string(per_class[c]);
    log_info("data: ", cfg.data, " (", ds.size(), " samples; train ", in.train.size(), ", val ",
             in.val.size(), ", test ", split.test.size(), "), training labels: ", in.label_kind,
             ", ", labelled, " of ", pixels, " pixels labelled (",
             pixels > 0 ? 100.0 * static_cast<double>(labelled) / pixels : 0.0, "%): ", counts);
    return in;
}

}  // namespace pfce
