// What a training run reads, from its config: the dataset (generated first when it is the
// synthetic one), the split (explicit id lists, or seeded fractions), images and dense masks in
// memory, the training labels (dense; a mask directory given with labels.dir; or sparse/linked
// masks made from the label settings by the same stages as `pfce sample` and `pfce link`, cached
// in the run directory), the class names and the training split's channel statistics.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/backend.hpp"
#include "core/dir_lock.hpp"
#include "data/batch_loader.hpp"
#include "data/dataset.hpp"
#include "data/mask_dir.hpp"
#include "data/synth.hpp"
#include "host/train/class_weights.hpp"
#include "host/train/config.hpp"

namespace pfce {

struct TrainInputs {
    std::vector<SampleData> train, val;
    ChannelStats stats;  // of the training images
    std::vector<std::string> class_names;
    std::vector<std::array<std::uint8_t, 3>> class_colours;
    // The dataset's ignore colours (Palette::unlabelled_colours): predict shows no-data pixels in
    // one, so that a colour mask it writes reads back unlabelled there, never as a black class.
    std::vector<std::array<std::uint8_t, 3>> unlabelled_colours;
    int clutter_class = -1;  // excluded from mIoU-without-clutter; -1 = none
    // Each class's pixel value in the dataset's own masks where that is not the class index
    // (index datasets with mask.values): predictions are written in it. Else empty.
    std::vector<int> mask_values;
    std::string label_kind = "dense";  // dense | sparse | linked (what the loss sees)
    // The split by sample id, recorded in checkpoints: eval tests exactly these samples, whatever
    // was added to the dataset since.
    std::vector<std::string> train_ids, val_ids, test_ids;
    nlohmann::json data_meta = nlohmann::json::object();  // recorded in checkpoints
};

// Index of a class named "clutter" (any case), or -1.
int find_clutter_class(const Palette& palette);
// TrainInputs::mask_values of `ds`: its index masks' class values unless they are 0, 1, 2, ...
std::vector<int> recorded_mask_values(const Dataset& ds);

DatasetOptions dataset_options(const DataSettings& d);
// How the run's images are read (data.bands, data.value_range): datasets and predict alike.
ImageChoice image_choice(const DataSettings& d);
// The synthetic dataset `d` names (data.root and the synthetic_* keys); `flag` chose its root.
SynthOptions synth_options(const DataSettings& d, const std::string& flag);
// The dataset of `d`. With data.source = "synthetic" the embedded set is generated into data.root
// first (data/synth: only into a new, empty or its own directory; another synthetic set there is
// replaced only with `force`, as is one with files missing; this very one, whole, is reused).
// `flag` names the option that chose d.root, for messages about a synthetic dataset's directory.
// `reading`, where given, takes the data's read lock once it is written and before it is scanned,
// so no command writes it meanwhile (one scanning while `data synth --force` wrote it met "missing
// partner file" rather than the other command).
Dataset open_run_dataset(const DataSettings& d, bool force = false,
                         const std::string& flag = "--data", DirLock* reading = nullptr);
// Train/val/test indices of `ds`: the id lists when data.train_list is given, else the seeded
// fractions over the first data.max_samples samples, or with data.split_by = "tile" over the
// (whole) tiles of those windows, said in the log.
// `source`, where given, names where each split list was set, for the errors about it (a list
// set in a config file was blamed on the --train-list flag nobody typed).
// Points drawn from the dense masks that keep half or more of the pixels they label are no sparse
// labels: the run ("run", or a suite's "experiment") is a dense one under another name (a probe's
// points = 1000000000 trained on 100% of the pixels as "sparse" without a word). Said, with `tag`.
void warn_if_points_are_dense(const std::vector<int>& points, std::int64_t labelled,
                              std::int64_t dense, const std::string& tag, const char* what);
Split run_split(const Dataset& ds, const DataSettings& d, const ConfigKeySources* source = nullptr);

// InputError unless the masks of `md` belong to `ds`: the same classes, made from the same dataset
// (masks.json "source"; a source that no longer exists is only warned about, since datasets move).
// Then warns when the dataset's dense labels are not those the masks were sampled from
// (check_dense_labels_unchanged), whose remedy resamples `ds`: never said of another dataset.
void check_masks_belong_to(const MaskDir& md, const Dataset& ds);
// Training needs at least two classes (a softmax over one is 1 everywhere: a perfect score for
// learning nothing): InputError naming the dataset `root` otherwise.
void check_class_count(const Palette& palette, const std::string& root);
// Whether every pixel of `img` has equal red, green and blue (a gray image, whatever its file).
bool image_gray(const RgbImage& img);
// Whether every training image is gray (R = G = B at every pixel): recorded in the checkpoint
// (meta.data.gray_images) so predict can say when it is given colour images for a gray model, or
// the reverse.
bool training_images_gray(const std::vector<SampleData>& train);
// How many training images are gray and how many in colour, {"gray": n, "colour": n}: recorded
// beside gray_images (meta.data.image_kinds), so that a model trained on both is not said to be
// unlike an input of either kind.
nlohmann::json training_image_kinds(const std::vector<SampleData>& train);
// The kinds of images a checkpoint's model learnt from (its meta.data): from image_kinds, or from
// gray_images where an older pfce recorded only that (all gray, or not); unknown where neither.
struct TrainedImageKinds {
    bool known = false, gray = false, colour = false;
    // Whether an input of this kind is unlike every image the model learnt from.
    bool unlike(bool input_gray) const { return known && (input_gray ? !gray : !colour); }
};
TrainedImageKinds trained_image_kinds(const nlohmann::json& data_meta);
// Warns when some training images are gray (three equal channels) and others in colour, naming one
// of each (`ids` of `train`): a mix is often one band of a stack read by mistake.
void warn_if_gray_and_colour_mixed(const std::vector<SampleData>& train,
                                   const std::vector<std::string>& ids);
// Warns when a channel of the model's input (after data.bands) holds one value in every training
// image: its weights never learn, and predictions on images where it varies go wrong. Returns each
// channel's one value (null where it varies), recorded in checkpoints (meta.data.
// constant_channels) so that predict can say when an input differs there.
// `bands`: data.bands, which names each channel's band in the warning.
nlohmann::json warn_if_a_channel_never_varies(const std::vector<SampleData>& train,
                                              const std::vector<int>& bands);
// Channel c of `channels` as messages name it: "channel 3 (blue)" of a file's own RGB, "channel 2
// (band 4)" where data.bands (`bands`) picked it.
std::string channel_name(std::size_t c, std::size_t channels, const std::vector<int>& bands);
// The training split's labelled pixels per class: InputError when there is none (the loss would
// see nothing) or when the class weights `alpha` (loss.alpha; empty: none) give every labelled
// class 0, a warning naming each class without one. `where` says where the labels came from;
// `init_from` the checkpoint the run starts from (model.init_from), if any.
// `dataset_read_255` (Dataset::read_255_as_unlabelled) makes a class without a pixel an error:
// binary 0/255 masks read without mask.values (a walkthrough trained a model that could not
// predict building, exit 0). `dataset` names its dataset.toml's directory.
void check_training_labels(const std::vector<std::int64_t>& per_class, const Palette& palette,
                           std::size_t train_samples, const std::string& where,
                           const std::vector<double>& alpha, const std::string& init_from = "",
                           bool dataset_read_255 = false, const std::string& dataset = "");
// check_masks_belong_to, and a mask for every sample of `indices`.
void check_masks_match_dataset(const MaskDir& md, const Dataset& ds,
                               const std::vector<std::size_t>& indices);

// Reads samples `indices` of `ds` (in parallel); train_labels from mask directory `labels_dir`
// (empty = the dense masks).
// `scored`: samples that evaluation scores (validation, test, eval): a tile's pixel keeps its
// labels, dense and training alike, only in the window that owns it (SampleRef::own_x0), so that
// metrics and losses count it once; training samples keep whole windows. A scored sample without
// a dense mask (images_without_mask = "unlabelled") given `labels` is scored on them: its dense
// mask is its training labels (held-out points, the truth there is; validation and eval alike).
std::vector<SampleData> load_samples(const Dataset& ds, const std::vector<std::size_t>& indices,
                                     const std::string& labels_dir, bool scored = false);
// The same with the mask directory opened and checked once (check_masks_match_dataset over every
// index to be read) and `indices` read in parts, as evaluate_split reads them: nullptr = the dense
// masks.
std::vector<SampleData> load_samples(const Dataset& ds, const std::vector<std::size_t>& indices,
                                     const MaskDir* labels, bool scored);

// The mask directory a config trains with: labels.dir, or sparse (and linked) masks made from the
// label settings into <run.out>/labels/ (reused when their settings match). Empty for dense.
std::string training_labels_dir(Backend& backend, const Config& cfg, const Dataset& ds);

// A run given a mask directory (labels.dir) trains on it as it is: a label setting that asks for
// something else than the directory records (labels.kind, points, scale_by_area, seed, radius,
// conflict, max_color_step, when set away from their defaults) is an InputError naming the key,
// both values and the directory, not ignored; the others take the directory's values, so the run
// records how its labels were made.
// `resuming`: the settings are the run's (from its checkpoint), so a directory that now records
// others was made again since the run began: said as that, not as a setting to drop. `source`,
// where given, names what set a refused key (its flag, or the config file).
void adopt_labels_dir_settings(LabelSettings& l, const MaskDir& md, bool resuming = false,
                               const ConfigKeySources* source = nullptr);
// How the images were read when its masks were sampled (data.value_range, data.bands of 16-bit
// or multi-band images): taken where the run sets none (train refused 16-bit images the masks
// record a range for), a range that differs warned about.
void adopt_labels_dir_image_settings(DataSettings& d, const MaskDir& md);
// The bands and value range the dataset's dataset.toml gives ([image]), taken where the run
// sets none (not given, and data.bands or data.value_range empty), and said; one given that
// differs is said as `whose`. Nothing for synthetic data.
void adopt_dataset_image_settings(DataSettings& d, bool bands_given, bool range_given,
                                  const char* whose);

// Images a U-Net of one depth cannot take whole, gathered so that one refusal names them all (the
// first three and how many), and names a lower depth only where one takes them all.
class TooSmallImages {
  public:
    explicit TooSmallImages(int depth) : depth_(depth) {}
    // Keeps `name` (a path, with its sample where that says more) when w x h is too small.
    void add(const std::string& name, int w, int h);
    bool empty() const { return count_ == 0; }
    std::size_t count() const { return count_; }
    const char* them() const { return count_ > 1 ? "them" : "it"; }  // for the remedy's words
    // "a.png is 1x64: too small for a depth-D U-Net (each side needs at least S pixels)", or
    // "3 images are too small for ... pixels): a.png (1x64), b.png (64x1), c.png (2x2)"; `of`
    // names the U-Net (its checkpoint) where given.
    std::string describe(const std::string& of = "") const;
    // The deepest U-Net below depth_ that takes every image kept; 0 if none does.
    int lower_depth_that_fits() const { return deepest_ < depth_ ? deepest_ : 0; }

  private:
    int depth_;
    std::vector<std::string> named_;  // the first three, "path (WxH)"
    std::string first_;               // "path is WxH", said alone when it is the only one
    std::size_t count_ = 0;
    int deepest_ = 8;
};

// InputError naming every image the U-Net of `depth` cannot take whole (a side below
// smallest_unet_side: reflect padding to a multiple of 2^depth needs each pad smaller than the side
// it mirrors): validation and test images, which are scored whole, and training images when
// `crop_size` is 0. Checked at loading, before an epoch is spent: before, a 1-pixel-wide
// validation image stopped training at the first validation, naming no file.
void check_sizes_fit_unet(const Dataset& ds, const Split& split, int depth, int crop_size);

// What a CPU run holds in memory besides the network: the size of a training input (the crop, else
// the first training image: check_training_sizes makes them one) and the training and validation
// samples, held whole for the run (image, training labels and dense labels: 5 bytes a pixel).
struct TrainingFootprint {
    int width = 0, height = 0;
    std::size_t train_count = 0;
    double data_bytes = 0;
    int channels = 3;  // of the images: the model's input channels
};
// From the files' sizes (before a pixel is read) and from samples already read.
TrainingFootprint training_footprint(const Dataset& ds, const Split& split, int crop_size);
TrainingFootprint training_footprint(const std::vector<SampleData>& train,
                                     const std::vector<SampleData>& val, int crop_size);

// A training step on the CPU, with the samples held, that would need more memory than the machine
// has (host/train/memory_estimate.hpp: whole large images, a large crop or batch, a large
// dataset): InputError with the estimate, the machine's memory and a crop, batch or sample count
// that fits, where the estimate is well past the machine's memory and the run is not `resuming`;
// else a warning near the memory available now. On CUDA only the samples (host memory) are judged.
// `total` and `available` are the machine's (machine_memory(); 0: unknown, nothing checked), and
// `swap` its swap (-1: unknown). Without swap, a run past the machine's memory is stopped by the
// system, without a word from pfce: it is refused past the memory itself, not only well past it.
void check_training_memory(const TrainingFootprint& run, const Config& cfg, DeviceKind device,
                           double total, double available, bool resuming, double swap = -1);
// The same against this machine's memory (machine_memory()).
void check_training_memory(const TrainingFootprint& run, const Config& cfg, DeviceKind device,
                           bool resuming);

// Without crops every training image must have one size: InputError naming two samples that
// differ (ids and sizes) and the crop option that trains on them all. With crops, one more than
// twice the largest image's side is refused, and one larger than some images said. From the sizes
// (`ids` beside them), from samples read, or from the files' headers before a pixel is read.
struct ImageSize {
    int width = 0, height = 0;
};
// `say_padding` false: the refusals only (a suite checks every experiment before the first runs,
// and each says its padding when its turn comes).
void check_training_sizes(const std::vector<ImageSize>& train, const std::vector<std::string>& ids,
                          int crop_size, bool say_padding = true);
void check_training_sizes(const Dataset& ds, const Split& split, int crop_size,
                          bool say_padding = true);
void check_training_sizes(const std::vector<SampleData>& train, const std::vector<std::string>& ids,
                          int crop_size);

// Everything above for `cfg`. Sets cfg.labels.kind from the mask directory when labels.dir is
// given. `source` names where each key was set, for validate_for_classes (checked as soon as the
// dataset is open).
// The memory check runs from the files' sizes, before any pixel is read (a whole large dataset
// took minutes to read before it was refused); `resuming` as for check_training_memory.
TrainInputs load_train_inputs(Backend& backend, Config& cfg, const ConfigKeySources& source,
                              bool resuming = false);

}  // namespace pfce
