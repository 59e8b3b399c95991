// Datasets on disk: a list of (image, dense mask) pairs with a palette, read lazily by index.
// Kinds: Potsdam Kaggle patches, Potsdam original tiles (cut into patches), generic
// (images/ + masks/ + dataset.toml). The kind is detected from the layout or named.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/enum_names.hpp"
#include "core/error.hpp"
#include "data/image.hpp"
#include "data/image_io.hpp"
#include "data/palette.hpp"

namespace pfce {

// An image without its mask or a mask without its image ("missing partner file: ..."): a caller
// that chose which label files are read (eval --tile-labels) adds how to choose otherwise.
class MissingPartnerFile : public InputError {
    using InputError::InputError;
};

enum class DatasetKind { automatic, kaggle, tiles, generic };
inline constexpr EnumTable<DatasetKind, 4> kDatasetKinds{{"auto", "kaggle", "tiles", "generic"},
                                                         "dataset kind"};

struct DatasetOptions {
    DatasetKind kind = DatasetKind::automatic;
    int tile_patch = 300;   // tiles: patch size
    int tile_stride = 300;  // tiles: stride (edges covered by a last, shifted patch)
    std::int64_t max_pixels = 100'000'000;  // refuse bigger images instead of running out of memory
    // tiles: which of the ISPRS image sets is read, top_potsdam_*_<tile_image>.tif: RGB, IRRG or
    // RGBIR (four bands, so `bands` must pick from them).
    std::string tile_image = "RGB";
    // tiles: which labels are read: "full" (top_potsdam_*_label.tif), "eroded"
    // (_label_noBoundary.tif, whose black boundaries are unlabelled, as the ISPRS benchmark scores)
    // or "auto" (the full ones where a tile has both).
    std::string tile_labels = "auto";
    ImageChoice image{};  // which bands the model sees; the range of wider samples
};

// One sample: where its pixels come from. For tiles, a window of a larger file.
struct SampleRef {
    std::string id;  // stable name, e.g. "Image_12" or "top_potsdam_2_10@600_300"
    std::string image_path;
    std::string mask_path;  // dense mask (colour or index), empty if none
    int x0 = 0, y0 = 0, width = 0,
        height = 0;  // window; whole-file samples: 0, 0 and the file's size
    // The window's own pixels [own_x0, own_x1) x [own_y0, own_y1), relative to it. A tile's
    // windows overlap (the last of a row or column is shifted back to the edge; a stride below
    // the patch overlaps them all), and each tile pixel is owned by one window, the overlaps split
    // at their middle: metrics score a pixel in its own window only, so once. 0, 0, 0, 0 = all.
    int own_x0 = 0, own_y0 = 0, own_x1 = 0, own_y1 = 0;
    bool owns_all() const { return own_x1 == 0 && own_y1 == 0; }
};

// Marks unlabelled (255) the pixels of `dense`, the mask of sample `s`, that another window of its
// tile owns (SampleRef::own_x0): what metrics should score. Whole-file samples are left as they
// are.
void unlabel_pixels_owned_elsewhere(LabelMap& dense, const SampleRef& s);

// How a generic dataset's dataset.toml says its images are read ([image] bands and value_range),
// for a command or run that gives none; empty where `root` opens as no generic dataset or the
// file says nothing of them. Throws InputError on a dataset.toml that does not parse.
struct DeclaredImage {
    ImageChoice choice;
    std::string file;  // the dataset.toml read
};
DeclaredImage declared_image_settings(const std::string& root, DatasetKind kind);
// `d`'s bands and range into `c` where not given (`bands_given`: typed, even as none), said; a
// given one that differs from `d`'s is kept, and said as `whose` ("typed", "run's") over the
// file's.
void adopt_declared_image(ImageChoice& c, const DeclaredImage& d, bool bands_given,
                          bool range_given, const char* whose = "typed");
// Warns where `d` reads the images otherwise than `trained`, a checkpoint's reading, which eval
// and predict keep (another dataset's R, G, B went through a run's 3,2,1 without a word).
void warn_of_other_reading(const ImageChoice& trained, const DeclaredImage& d);

struct TileBandCache;  // recently decoded rows of tiles, shared by neighbouring windows

class Dataset {
  public:
    // Scans `root`; throws InputError (naming the file) on layout faults or an empty dataset.
    static Dataset open(const std::string& root, const DatasetOptions& opts = {});

    const std::string& root() const { return root_; }
    DatasetKind kind() const { return kind_; }
    const DatasetOptions& options() const { return opts_; }
    const Palette& palette() const { return palette_; }
    std::size_t size() const { return samples_.size(); }
    const SampleRef& sample(std::size_t i) const;  // ShapeError when i is out of range

    RgbImage read_image(std::size_t i) const;
    // read_image, but pixels without data (transparent: alpha, a tRNS colour, a TIFF's nodata mask;
    // or holding a GeoTIFF's NoData value in every band) are not refused: `nodata` receives 1 for
    // each (width*height; empty when there is none), as predict finds them. An alpha band most of
    // whose transparent pixels are only partly so (infrared tagged as alpha) is refused as
    // read_image refuses it. Tiles: none.
    RgbImage read_image_and_no_data(std::size_t i, std::vector<std::uint8_t>& nodata) const;
    // Makes the pixels `nodata` marks unlabelled in `masks` (each of the image's size; others are
    // left to the size checks): training and evaluation leave them out, as predict leaves them
    // without a class. Returns how many there are, and how many of them the first mask labelled.
    struct NoDataUnlabelled {
        std::int64_t pixels = 0, labelled = 0;
    };
    static NoDataUnlabelled unlabel_no_data(const std::vector<std::uint8_t>& nodata,
                                            std::initializer_list<LabelMap*> masks);
    // Says so of sample i, once per dataset (callers reading in parallel say it of the first
    // sample in order that has such pixels: the same line every run).
    void say_no_data_unlabelled(std::size_t i, const NoDataUnlabelled& n) const;
    LabelMap read_mask(std::size_t i) const;  // dense mask decoded to class indices
    // Any mask file encoded as this dataset's masks (colours, or index values and ignore values),
    // decoded as read_mask decodes them: a user's own annotations (pfce sample --from). Not for
    // a tiles dataset, whose masks are tiles cut into patches.
    LabelMap read_mask_file(const std::string& path) const;
    // A person's annotation file (pfce sample --from), read as read_mask_file reads masks except
    // that its transparent pixels (alpha 0, a transparent palette entry or tRNS) are unlabelled
    // whatever colour or value they hold: a labelling tool leaves what nobody drew transparent.
    // Nor is 255 said as read unlabelled (README: it is, in annotations), as it is of masks.
    LabelMap read_annotation_file(const std::string& path) const;
    // Generic index datasets: each class's pixel value in the masks (mask.values); else empty.
    const std::vector<std::uint8_t>& index_values() const { return index_values_; }
    // Generic index datasets: the values read as unlabelled (mask.ignore); else empty.
    const std::vector<std::uint8_t>& index_ignore() const { return index_ignore_; }
    bool index_masks() const { return index_masks_; }  // else masks hold colours
    // Tiles: the labels read, whatever data.tile_labels asked: "full", "eroded" (every tile's
    // _label_noBoundary.tif) or "mixed" (under "auto", some tiles of each); else "".
    const std::string& tile_labels_read() const { return tile_labels_read_; }
    // Generic datasets with [files] images_without_mask = "skip": the ids of the images left out
    // for having no mask (sorted), so a split list naming one is told why it is not a sample.
    const std::vector<std::string>& ids_without_mask() const { return ids_without_mask_; }
    // Whether a mask read so far held 255 read as unlabelled by default (index masks whose 255 is
    // no class's value nor in mask.ignore): binary 0/255 masks without mask.values lose their
    // second class so.
    bool read_255_as_unlabelled() const { return told_implicit_255_->load(); }

  private:
    std::string root_;
    std::vector<std::string> ids_without_mask_;
    DatasetKind kind_ = DatasetKind::kaggle;
    Palette palette_;
    DatasetOptions opts_;
    std::vector<SampleRef> samples_;
    std::vector<std::uint8_t> index_values_;  // generic index masks: each class's pixel value
    std::vector<std::uint8_t> index_ignore_;  // generic index masks: values mapped to 255
    bool index_masks_ = false;
    std::string tile_labels_read_;
    // Index masks whose 255 is neither a class's value nor in mask.ignore read it as unlabelled by
    // default; the first mask that holds one says so, once per opened dataset.
    std::shared_ptr<std::atomic<bool>> told_implicit_255_ = std::make_shared<std::atomic<bool>>();
    // An index mask stored as a palette of grays that disagree with its entries: said once.
    std::shared_ptr<std::atomic<bool>> told_gray_palette_ = std::make_shared<std::atomic<bool>>();
    void warn_if_grays_disagree(const std::string& path, const LabelMap& m,
                                const std::vector<Rgb>& colormap) const;
    // An .aux.xml NoData value that cannot be compared with the pixels as read: said once.
    std::shared_ptr<std::atomic<bool>> told_aux_no_data_unused_ =
        std::make_shared<std::atomic<bool>>();
    // Image pixels without data, unlabelled for training and evaluation: said once per dataset.
    std::shared_ptr<std::atomic<bool>> told_image_no_data_ = std::make_shared<std::atomic<bool>>();
    // A mask's GDAL NoData value that is a class's value (or colour): said once per dataset.
    std::shared_ptr<std::atomic<bool>> told_no_data_class_ = std::make_shared<std::atomic<bool>>();
    void warn_if_no_data_is_a_class(const std::string& path, const MaskNoData& no_data, int cls,
                                    std::int64_t pixels) const;
    // Pixels a mask marks transparent (a labelling tool's "not labelled" palette entry) whose
    // value or colour is a class's: read as the class, said once per dataset. `shown` is the
    // value (index masks) or colour of the first.
    std::shared_ptr<std::atomic<bool>> told_transparent_class_ =
        std::make_shared<std::atomic<bool>>();
    void warn_if_transparent_is_a_class(const std::string& path, const std::string& shown, int cls,
                                        std::int64_t pixels) const;
    // An index mask that is pfce's own label PNG (sample, link: class indices) where the dataset's
    // classes have other values: an InputError, since every class would read as another. Known
    // by its text tag, or, re-saved without it, by `colormap` (the file's palette) holding the
    // classes' colours in class order rather than value order.
    void refuse_pfce_label_png(const std::string& path, const std::vector<Rgb>& colormap) const;
    // The same label PNG saved again as gray (an image library keeps the values and drops the
    // palette and text): an annotation `m` of raw values holding only class indices and 255,
    // mostly 255, with 0 among them where 0 is no class value of the dataset (pfce's class 0; an
    // annotation in the dataset's own values has no reason to mark ignored points on an unlabelled
    // background). An InputError naming what each index would be read as.
    void refuse_pfce_indices_saved_gray(const std::string& path, const LabelMap& m) const;
    // A colour mask's labels, the pixels `marks` names (transparent, NoData) unlabelled where their
    // colour is no class's (said where it is); `source` names the file and window in errors.
    // `annotation`: those `marks` names transparent are unlabelled whatever their colour.
    LabelMap decode_colour_mask(const std::string& path, const std::string& source,
                                RgbImage colours, const MaskMarks& marks,
                                bool annotation = false) const;
    LabelMap read_mask_or_annotation(const std::string& path, bool annotation) const;
    std::shared_ptr<TileBandCache> tile_cache_;  // tiles only; thread-safe
    friend class DatasetBuilder;
};

// Where a generic dataset keeps its files: root/dataset.toml's [files] directories (absolute;
// images/ and masks/ by default) and suffixes. Null where root has no dataset.toml; the default
// directories where it cannot be read (a guard against writing among data must still guard).
struct GenericLayout {
    std::filesystem::path images, masks;
    std::string image_suffix, mask_suffix;
    // How its masks encode the classes, where its dataset.toml reads (`classes` empty otherwise):
    // predict --mask-names writes masks to be read so.
    std::vector<std::string> classes;
    bool index = false;        // [mask] encoding = "index": pixel values, else colours
    std::vector<Rgb> colours;  // the classes' colours, where given
    std::vector<int> values;   // index: each class's value (0..C-1 where none are given)
    DeclaredImage image;       // its [image] reading, where it gives one
};
std::optional<GenericLayout> generic_layout(const std::filesystem::path& root);

// Says (one warning) that image files named .* in `where` (a directory, or how a command names
// it) are left out: `names` as they are to be shown, in any order. Nothing when there are none.
void warn_of_hidden_image_files(const std::string& where, std::vector<std::string> names);

// InputError when a mask or annotation file has samples of more than 8 bits, signed or floating
// point: class values and colours are 8-bit unsigned (the advice for wider images, a value range,
// does not apply to masks).
void refuse_wide_mask_samples(const std::string& path, const ImageInfo& info);

// InputError when `out` (named by `flag`, e.g. "--out") is, or lies inside, a directory that holds
// the dataset's image or mask files: masks written there would lie among them (and a scan of the
// dataset would meet them). Elsewhere inside the dataset root is allowed, and so is a folder in
// the root where the samples' files lie in the root itself.
void refuse_output_among_samples(const Dataset& ds, const std::string& out,
                                 const std::string& flag);

// Deterministic split of indices 0..n-1 (shuffled by seed) into train/val/test fractions.
struct Split {
    std::vector<std::size_t> train, val, test;
};
Split make_split(std::size_t n, std::uint64_t seed, double train_frac = 0.8, double val_frac = 0.1);
// make_split over the tiles of a tiles dataset's first n windows (fractions are of tiles, and those
// tiles are kept whole): every window is in its tile's part, so no part sees a neighbour of
// another's.
Split make_tile_split(const Dataset& ds, std::size_t n, std::uint64_t seed, double train_frac,
                      double val_frac);
// The ids of a split list file with their line numbers: one per line, trimmed of spaces, blank
// lines and '#' comments skipped, a byte-order mark ignored. `key` names the setting in errors.
struct SplitListEntry {
    int line;
    std::string id;
};
std::vector<SplitListEntry> read_split_list(const std::string& list, const std::string& key);
// The tile a tiles dataset's window id belongs to ("top_potsdam_2_13@0_300" -> "top_potsdam_2_13");
// an id without '@' is its own.
std::string tile_of(const std::string& id);
// Explicit split from files listing sample ids, one per line (in a tiles dataset a tile's name
// stands for all its windows); unknown ids are InputErrors. `names` say where each list was given
// ("--train-list (data.train_list)", "data.train_list in run.toml"); empty ones are the flags'.
Split split_from_lists(const Dataset& ds, const std::string& train_list,
                       const std::string& val_list, const std::string& test_list,
                       const std::array<std::string, 3>& names = {});
// The split a run recorded (sample ids per part), in `ds`; InputError naming `source` and the
// missing ids when some are not in the dataset.
Split split_from_ids(const Dataset& ds, const std::vector<std::string>& train,
                     const std::vector<std::string>& val, const std::vector<std::string>& test,
                     const std::string& source);

}  // namespace pfce
