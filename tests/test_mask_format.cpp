// Mask directories store every label exactly, for every palette: a class coloured black, a grey
// ignore colour, index-encoded datasets with and without colours. The round trip
// sample -> link -> train/eval reads back exactly what was written (per-class counts equal,
// unlabelled stays unlabelled); older colour-PNG directories are read where unambiguous and refused
// with the command that regenerates them where not.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>

#include <png.h>

#include "core/error.hpp"
#include "data/dataset.hpp"
#include "data/image_io.hpp"
#include "data/mask_dir.hpp"
#include "data/sparse_sampler.hpp"
#include "tests/foreign_dataset.hpp"
#include "tests/test_util.hpp"

using namespace pfce;
namespace fs = std::filesystem;

namespace {

Palette black_class_palette() {
    Palette p;
    for (std::size_t c = 0; c < test::foreign_colours().size(); ++c)
        p.classes.push_back({test::foreign_class_names()[c], test::foreign_colours()[c]});
    p.unlabelled_colours = {test::kForeignIgnoreColour};
    return p;
}

std::array<long long, 256> histogram(const LabelMap& m) {
    std::array<long long, 256> h{};
    for (std::uint8_t v : m.labels) ++h[v];
    return h;
}

// A directory as pfce before format 2 wrote it: colour PNGs, unlabelled black, no "format" key.
void write_legacy_dir(const std::string& dir, const std::vector<std::string>& ids,
                      const std::vector<LabelMap>& masks, const Palette& palette,
                      const std::string& source) {
    fs::create_directories(dir);
    nlohmann::json j = {{"kind", "sparse"}, {"source", source}, {"ids", ids}};
    for (std::size_t i = 0; i < ids.size(); ++i)
        write_png(dir + "/" + ids[i] + ".png", palette.encode(masks[i]));
    std::ofstream(dir + "/masks.json") << j.dump();
}

// A palette PNG as an image editor saves one: as many palette entries as it uses, in its order.
void write_short_palette_png(const std::string& path, const LabelMap& m,
                             const std::vector<Rgb>& colours) {
    png_image img{};
    img.version = PNG_IMAGE_VERSION;
    img.width = static_cast<png_uint_32>(m.width);
    img.height = static_cast<png_uint_32>(m.height);
    img.format = PNG_FORMAT_RGB_COLORMAP;
    img.colormap_entries = static_cast<png_uint_32>(colours.size());
    ASSERT_TRUE(png_image_write_to_file(&img, path.c_str(), 0, m.labels.data(), 0, colours.data()))
        << img.message;
}

}  // namespace

TEST(MaskFormat, BlackClassAndGreyIgnoreRoundTripExactly) {
    const Palette pal = black_class_palette();
    const std::string dir = test::temp_dir("maskfmt_black") + "/masks";
    std::vector<std::string> ids = {"a", "b"};
    std::vector<LabelMap> masks = {test::foreign_labels(23, 17, 0), test::foreign_labels(31, 9, 1)};
    for (auto& v : masks[1].labels) v = v == 0 ? 255 : v;  // no class 0 at all in b
    write_mask_dir(dir, ids, masks, pal, {{"kind", "sparse"}});
    const MaskDir md = open_mask_dir(dir);
    ASSERT_TRUE(md.palette.has_value());
    EXPECT_EQ(md.palette->classes[0].name, "background");
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const LabelMap back = read_mask_png(md, ids[i], pal);
        EXPECT_EQ(back.labels, masks[i].labels) << ids[i];
        EXPECT_EQ(histogram(back), histogram(masks[i])) << ids[i];
    }
    // A person opening the PNG sees the class colours: a palette image, class 0 black, unlabelled
    // painted in the dataset's own ignore colour (and transparent where the viewer honours it).
    EXPECT_EQ(probe_image(dir + "/a.png").channels, 1);
    const RgbImage shown = read_mask_rgb(dir + "/a.png");
    for (std::size_t p = 0; p < masks[0].labels.size(); ++p) {
        const std::uint8_t l = masks[0].labels[p];
        const Rgb want = l == 255 ? test::kForeignIgnoreColour : test::foreign_colours()[l];
        for (int c = 0; c < 3; ++c) ASSERT_EQ(shown.pixels[3 * p + c], want[c]) << "pixel " << p;
    }
    // Read as an image, its transparent pixels have no colour: refused.
    EXPECT_THROW(read_rgb(dir + "/a.png"), InputError);
}

TEST(MaskFormat, ValuesThatAreNoClassAreRefusedNamingFileAndPixel) {
    const Palette pal = black_class_palette();
    const std::string dir = test::temp_dir("maskfmt_value") + "/masks";
    LabelMap m(5, 4, 255);
    m.at(1, 1) = 2;
    write_mask_dir(dir, {"x"}, {m}, pal, {});
    // Writing refuses a label the palette has no class for.
    LabelMap bad = m;
    bad.at(2, 3) = 7;
    std::string msg =
        test::input_error_message([&] { write_mask_dir(dir + "2", {"x"}, {bad}, pal, {}); });
    EXPECT_MESSAGE_HAS(msg, "value 7");
    EXPECT_MESSAGE_HAS(msg, "x=3, y=2");
    // A file changed behind pfce's back is refused on reading, naming it.
    write_png_gray(dir + "/x.png", bad);
    const MaskDir md = open_mask_dir(dir);
    msg = test::input_error_message([&] { read_mask_png(md, "x", pal); });
    EXPECT_MESSAGE_HAS(msg, "x.png");
    EXPECT_MESSAGE_HAS(msg, "value 7");
    // And with pfce's own palette kept (an edit in a tool that keeps the palette): entry 7 is
    // black there, as the black class 0 is, yet 7 is no class: refused, not read as class 0
    // (hostile-user probe).
    std::vector<Rgb> own(256, Rgb{0, 0, 0});
    for (int k = 0; k < pal.num_classes(); ++k)
        own[static_cast<std::size_t>(k)] = pal.classes[k].colour;
    own[255] = pal.display_unlabelled();
    write_png_indexed(dir + "/x.png", bad, own);
    msg = test::input_error_message([&] { read_mask_png(md, "x", pal); });
    EXPECT_MESSAGE_HAS(msg, "x.png");
    EXPECT_MESSAGE_HAS(msg, "value 7");
    // So is a colour PNG in its place.
    write_png(dir + "/x.png", pal.encode(m));
    msg = test::input_error_message([&] { read_mask_png(md, "x", pal); });
    EXPECT_MESSAGE_HAS(msg, "x.png");
    EXPECT_MESSAGE_HAS(msg, "palette PNGs");
}

// A mask PNG saved again by an editor that renumbered its palette (the picture unchanged) reads as
// the picture shows (hostile-user probe: read by value, its unlabelled pixels became class 0 and
// every point another class); a value given a colour of no class is refused, naming it.
TEST(MaskFormat, APaletteRenumberedByAnEditorReadsByItsColours) {
    const Palette pal = black_class_palette();
    const std::string dir = test::temp_dir("maskfmt_renumbered") + "/masks";
    LabelMap m(6, 5, 255);
    m.at(0, 1) = 3;
    m.at(2, 2) = 1;
    m.at(4, 3) = 0;  // the black class
    write_mask_dir(dir, {"x"}, {m}, pal, {});
    const MaskDir md = open_mask_dir(dir);
    // The editor's order: unlabelled first, then the used classes backwards, nothing else.
    const std::vector<int> order = {255, 3, 1, 0};
    std::vector<Rgb> colours(order.size());
    std::array<std::uint8_t, 256> to{};
    for (std::size_t i = 0; i < order.size(); ++i) {
        colours[i] = order[i] == 255 ? pal.display_unlabelled() : pal.classes[order[i]].colour;
        to[order[i]] = static_cast<std::uint8_t>(i);
    }
    LabelMap renumbered = m;
    for (auto& v : renumbered.labels) v = to[v];
    write_short_palette_png(dir + "/x.png", renumbered, colours);
    ASSERT_EQ(probe_image(dir + "/x.png").channels, 1);
    EXPECT_EQ(read_rgb(dir + "/x.png").pixels, pal.encode(m, pal.display_unlabelled()).pixels);
    EXPECT_EQ(read_mask_png(md, "x", pal).labels, m.labels);
    // A value moved to an index past the classes reads by its colour too.
    colours.resize(40, Rgb{0, 0, 0});
    colours[39] = pal.classes[3].colour;
    for (auto& v : renumbered.labels) v = v == 1 ? 39 : v;
    write_short_palette_png(dir + "/x.png", renumbered, colours);
    EXPECT_EQ(read_mask_png(md, "x", pal).labels, m.labels);
    // Compacted by a palette-reducing tool: the classes kept at their indices, unlabelled moved
    // from 255 to the first free one, nothing after it (diff review: read by value, refused).
    {
        std::vector<Rgb> compact;
        for (int k = 0; k < pal.num_classes(); ++k) compact.push_back(pal.classes[k].colour);
        compact.push_back(pal.display_unlabelled());
        LabelMap packed = m;
        for (auto& v : packed.labels)
            if (v == 255) v = static_cast<std::uint8_t>(pal.num_classes());
        write_short_palette_png(dir + "/x.png", packed, compact);
        EXPECT_EQ(read_mask_png(md, "x", pal).labels, m.labels);
    }
    write_short_palette_png(dir + "/x.png", renumbered, colours);
    // A value whose colour is no class's: refused, not read as the class of its number.
    colours[2] = Rgb{1, 2, 3};
    write_short_palette_png(dir + "/x.png", renumbered, colours);
    const std::string msg = test::input_error_message([&] { read_mask_png(md, "x", pal); });
    EXPECT_MESSAGE_HAS(msg, dir + "/x.png: 1 pixels have value 2, which pfce wrote as class '" +
                                pal.classes[2].name +
                                "', but the file's palette gives it the colour (1, 2, 3), of no "
                                "class");
}

// The entries of a mask's palette that no class uses are in a colour no class has: a value no class
// has in a mask re-saved without pfce's record reads as no class (refused by colour), never as a
// black class (walkthrough: the entries were black, the clutter class's).
TEST(MaskFormat, UnusedPaletteEntriesAreInAColourNoClassHas) {
    const Palette pal = black_class_palette();
    ASSERT_EQ(pal.class_of(Rgb{0, 0, 0}), 0);  // the black class
    const Rgb padding = pal.padding_colour();
    EXPECT_EQ(pal.class_of(padding), -1);
    for (const ClassInfo& k : pal.classes) EXPECT_GE(colour_step(padding, k.colour), 100) << k.name;
    EXPECT_GE(colour_step(padding, pal.display_unlabelled()), 100);
    const std::string dir = test::temp_dir("maskfmt_padding") + "/masks";
    LabelMap m(4, 3, 255);
    m.at(1, 1) = 0;
    write_mask_dir(dir, {"x"}, {m}, pal, {});
    std::vector<Rgb> colormap;
    read_gray(dir + "/x.png", 0, &colormap);
    ASSERT_EQ(colormap.size(), 256u);
    for (int v = 0; v < 256; ++v) {
        const Rgb expected = v < pal.num_classes() ? pal.classes[v].colour
                             : v == 255            ? pal.display_unlabelled()
                                                   : padding;
        EXPECT_EQ(colormap[v], expected) << v;
    }
    // Potsdam's classes (no black one; black unlabelled): the padding is none of theirs either.
    const Palette potsdam = potsdam_palette();
    EXPECT_EQ(potsdam.class_of(potsdam.padding_colour()), -1);
    // Black and white classes read within a tolerance of 127 (binary masks): no grey is out of
    // their reach, so unlabelled is shown in a colour that is (grey 128 read as white: probe).
    Palette binary;
    binary.classes = {{"background", Rgb{0, 0, 0}}, {"building", Rgb{255, 255, 255}}};
    binary.colour_tolerance = 127;
    binary.tolerance_settable = true;
    EXPECT_EQ(binary.class_of(binary.display_unlabelled()), -1);
    EXPECT_EQ(binary.class_of(binary.padding_colour()), -1);
    binary.colour_tolerance = 0;
    EXPECT_EQ(binary.display_unlabelled(), binary.display_grey());  // a grey, as before
}

// Masks made again (--force) for a dataset that lost a sample since: the lost sample's mask goes,
// so the directory holds what masks.json lists (it stayed, listed nowhere; hostile-user probe);
// a file of another name stays.
TEST(MaskFormat, MasksMadeAgainDropTheMasksOfSamplesGoneSince) {
    const Palette pal = black_class_palette();
    const std::string dir = test::temp_dir("maskfmt_shrunk") + "/masks";
    const LabelMap m(4, 3, 1);
    write_mask_dir(dir, {"a", "b", "c"}, {m, m, m}, pal, {});
    std::ofstream(dir + "/notes.txt") << "mine\n";
    write_mask_dir(dir, {"a", "c"}, {m, m}, pal, {});
    EXPECT_TRUE(fs::exists(dir + "/a.png"));
    EXPECT_FALSE(fs::exists(dir + "/b.png"));
    EXPECT_TRUE(fs::exists(dir + "/c.png"));
    EXPECT_TRUE(fs::exists(dir + "/notes.txt"));
    EXPECT_EQ(open_mask_dir(dir).ids, (std::vector<std::string>{"a", "c"}));
}

TEST(MaskFormat, MasksOfOtherClassesAreRefused) {
    const std::string dir = test::temp_dir("maskfmt_classes") + "/masks";
    write_mask_dir(dir, {"x"}, {LabelMap(3, 3, 1)}, black_class_palette(), {});
    const MaskDir md = open_mask_dir(dir);
    const std::string msg =
        test::input_error_message([&] { read_mask_png(md, "x", potsdam_palette()); });
    EXPECT_MESSAGE_HAS(msg, "background, road, building, tree");
    EXPECT_MESSAGE_HAS(msg, "impervious surfaces");
}

// A folder without masks.json is said to be no mask directory (a dataset's dense masks given as
// --labels), one pfce marked but did not finish is said to be cut short: both were "not a
// complete mask directory (masks.json is written last)", which hinted at the second alone.
TEST(MaskFormat, AFolderWithoutMasksJsonIsSaidForWhatItIs) {
    const std::string root = test::temp_dir("maskfmt_no_meta");
    const std::string dense = root + "/ds/masks", cut = root + "/cut";
    fs::create_directories(dense);
    write_png(dense + "/a.png", potsdam_palette().encode(LabelMap(3, 3, 1)));
    std::string msg = test::input_error_message([&] { open_mask_dir(dense); });
    EXPECT_MESSAGE_HAS(msg, dense + " is not a mask directory: it holds no masks.json");
    EXPECT_MESSAGE_HAS(msg, "by --data alone");
    write_mask_dir(cut, {"x"}, {LabelMap(3, 3, 1)}, potsdam_palette(), {});
    fs::remove(cut + "/masks.json");
    msg = test::input_error_message([&] { open_mask_dir(cut); });
    EXPECT_MESSAGE_HAS(msg, cut + " is a mask directory whose writing did not finish");
    // A directory of that name is said as one (the stream's "Is a directory" named no file).
    fs::create_directories(cut + "/masks.json");
    msg = test::input_error_message([&] { open_mask_dir(cut); });
    EXPECT_MESSAGE_HAS(msg, cut + "/masks.json is a directory (expected the masks.json file");
}

TEST(MaskFormat, UnknownFormatVersionIsRefused) {
    const std::string dir = test::temp_dir("maskfmt_version");
    std::ofstream(dir + "/masks.json")
        << R"({"ids": [], "format": "pfce-label-png", "format_version": 3, "classes": []})";
    EXPECT_MESSAGE_HAS(test::input_error_message([&] { open_mask_dir(dir); }), "newer");
}

TEST(MaskFormat, OlderDirectoriesReadWhereUnambiguousAndRefusedWhereNot) {
    const std::string root = test::temp_dir("maskfmt_legacy");
    // Potsdam: black is no class, so the old black-is-unlabelled PNGs read back exactly.
    LabelMap m(6, 4, 255);
    m.at(0, 0) = 0;
    m.at(1, 2) = 2;
    m.at(3, 5) = 3;
    write_legacy_dir(root + "/potsdam", {"Image_1"}, {m}, potsdam_palette(), "/data/potsdam");
    const MaskDir old = open_mask_dir(root + "/potsdam");
    EXPECT_EQ(old.format, 1);
    EXPECT_EQ(read_mask_png(old, "Image_1", potsdam_palette()).labels, m.labels);
    // A palette with a black class: unlabelled and that class look alike; refuse and say how to
    // regenerate.
    Palette pal = black_class_palette();
    write_legacy_dir(root + "/black", {"t"}, {m}, pal, "/data/drone");
    const MaskDir amb = open_mask_dir(root + "/black");
    const std::string msg = test::input_error_message([&] { read_mask_png(amb, "t", pal); });
    EXPECT_MESSAGE_HAS(msg, "'background'");
    EXPECT_MESSAGE_HAS(msg, "pfce sample --data /data/drone");
    EXPECT_MESSAGE_HAS(msg, "--force");
}

// sample -> stats -> link -> train -> eval through the command line, on three datasets unlike ours.
class ForeignRoundTrip : public ::testing::TestWithParam<int> {};

TEST_P(ForeignRoundTrip, EveryStageReadsBackTheLabelsItWasGiven) {
    test::ForeignSpec spec;
    spec.index_masks = GetParam() > 0;
    spec.index_colours = GetParam() == 1;
    const std::string root = test::temp_dir("maskfmt_cli_" + std::to_string(GetParam()));
    const test::ForeignDataset fd = test::write_foreign_dataset(root + "/data", spec);
    const Dataset ds = Dataset::open(fd.root);
    ASSERT_EQ(ds.size(), fd.ids.size());
    for (std::size_t i = 0; i < ds.size(); ++i)
        ASSERT_EQ(ds.read_mask(i).labels, fd.dense[i].labels);

    // sample: the masks on disk are exactly the library's draw.
    const std::string sparse = root + "/sparse";
    const test::CommandResult s = test::run_pfce(
        "sample --data " + fd.root + " --points 6 --seed 4 --no-scale-by-area --out " +
        sparse);  // 6 on each of these small chips (by area: 1 per class)
    ASSERT_EQ(s.status, 0) << s.output;
    SamplerOptions so;
    so.points = {6};
    so.seed = 4;
    const MaskDir md = open_mask_dir(sparse);
    long long written = 0, pixels = 0;
    std::array<long long, 256> per_class{};
    for (std::size_t i = 0; i < ds.size(); ++i) {
        const LabelMap want = sample_sparse(fd.dense[i], so, fd.ids[i]);
        const LabelMap got = read_mask_png(md, fd.ids[i], ds.palette());
        ASSERT_EQ(got.labels, want.labels) << fd.ids[i];
        const auto h = histogram(want);
        for (int v = 0; v < 256; ++v) per_class[v] += h[v];
        written += static_cast<long long>(want.labels.size()) - h[255];
        pixels += static_cast<long long>(want.labels.size());
    }
    EXPECT_EQ(test::number_after(s.output, "points: +([0-9]+)"), written);
    EXPECT_GT(per_class[0], 0);  // the black class survives

    // stats of the mask directory: the same labelled count, the same per-class counts.
    const test::CommandResult st = test::run_pfce("data stats " + sparse);
    ASSERT_EQ(st.status, 0) << st.output;
    EXPECT_EQ(test::number_after(st.output, "labelled: .*\\(([0-9]+) of"), written);
    EXPECT_EQ(test::number_after(st.output, "\nbackground +([0-9]+)"), per_class[0]);
    EXPECT_EQ(test::number_after(st.output, "\ntree +([0-9]+)"), per_class[3]);

    // link: what stats reads back is what link says it wrote.
    const std::string linked = root + "/linked";
    const test::CommandResult l =
        test::run_pfce("link --in " + sparse + " --out " + linked + " --radius 8 --device cpu");
    ASSERT_EQ(l.status, 0) << l.output;
    const MaskDir lmd = open_mask_dir(linked);
    long long linked_labelled = 0;
    for (const std::string& id : lmd.ids) {
        const LabelMap back = read_mask_png(lmd, id, ds.palette());
        linked_labelled += static_cast<long long>(back.labels.size()) - histogram(back)[255];
    }
    EXPECT_GT(linked_labelled, written);
    const test::CommandResult lst = test::run_pfce("data stats " + linked);
    ASSERT_EQ(lst.status, 0) << lst.output;
    EXPECT_EQ(test::number_after(lst.output, "labelled: .*\\(([0-9]+) of"), linked_labelled);

    // train: the loss sees the labelled pixels of the training split, no more.
    const std::string run = root + "/run";
    const test::CommandResult t =
        test::run_pfce("train --data " + fd.root + " --labels " + linked + " --out " + run +
                       " --epochs 1 --batch-size 4 --width 4 --depth 1 --device cpu --seed 1");
    ASSERT_EQ(t.status, 0) << t.output;
    const long long train_labelled =
        test::number_after(t.output, "training labels: linked, ([0-9]+) of");
    EXPECT_GT(train_labelled, 0);
    EXPECT_LT(train_labelled, linked_labelled);
    const test::CommandResult e =
        test::run_pfce("eval --checkpoint " + run + "/last.ckpt --data " + fd.root + " --labels " +
                       linked + " --split all --device cpu");
    ASSERT_EQ(e.status, 0) << e.output;
    EXPECT_MESSAGE_HAS(e.output, "background");
}

INSTANTIATE_TEST_SUITE_P(Datasets, ForeignRoundTrip, ::testing::Values(0, 1, 2), [](const auto& p) {
    return std::string(p.param == 0   ? "PaletteBlackClassGreyIgnore"
                       : p.param == 1 ? "IndexWithColours"
                                      : "IndexWithoutColours");
});
