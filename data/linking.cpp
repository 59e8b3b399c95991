// The linking driver (data/linking.hpp): batches of same-size label maps through Backend::link,
// coverage and purity, and the mask-directory stage behind `pfce link` with its on-disk cache.
#include "data/linking.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <exception>
#include <filesystem>
#include <optional>
#include <unordered_map>

#include "core/dir_lock.hpp"
#include "core/file_io.hpp"
#include "core/log.hpp"
#include "core/parallel.hpp"
#include "core/stop_signal.hpp"
#include "core/stopwatch.hpp"
#include "data/data_fingerprint.hpp"
#include "data/dataset.hpp"
#include "data/mask_dir.hpp"
#include "data/palette.hpp"
#include "data/sparse_masks.hpp"

namespace pfce {
namespace fs = std::filesystem;
namespace {

nlohmann::json stats_json(const LinkStats& s) {
    return {{"points", s.points},
            {"pairs", s.pairs},
            {"segments", s.segments},
            {"labelled_after", s.labelled_after}};
}

const char* conflict_name(LinkConflict c) {
    return c == LinkConflict::lowest ? "lowest" : "unlabelled";
}

}  // namespace

void LinkQuality::add(const LinkQuality& o) {
    images += o.images;
    pixels += o.pixels;
    labelled_before += o.labelled_before;
    labelled_after += o.labelled_after;
    dense_images += o.dense_images;
    checked += o.checked;
    agree += o.agree;
    added_checked += o.added_checked;
    added_agree += o.added_agree;
}

nlohmann::json LinkQuality::to_json() const {
    nlohmann::json j = {{"images", images},
                        {"pixels", pixels},
                        {"labelled_before", labelled_before},
                        {"labelled_after", labelled_after},
                        {"coverage_before", coverage_before()},
                        {"coverage_after", coverage_after()}};
    if (dense_images > 0) {
        j["dense_images"] = dense_images;
        j["purity"] = purity();
        // null where linking added no checked pixel (JSON has no NaN)
        j["added_purity"] = added_checked ? nlohmann::json(added_purity()) : nlohmann::json();
        j["checked"] = checked;
        j["agree"] = agree;
        j["added_checked"] = added_checked;
        j["added_agree"] = added_agree;
    }
    return j;
}

void measure_link(const LabelMap& sparse, const LabelMap& linked, const LabelMap* dense,
                  LinkQuality& q) {
    if (linked.width != sparse.width || linked.height != sparse.height)
        PFCE_THROW(InputError, "linked mask ", linked.width, "x", linked.height,
                   " does not match its sparse mask ", sparse.width, "x", sparse.height);
    if (dense && (dense->width != sparse.width || dense->height != sparse.height))
        PFCE_THROW(InputError, "dense mask ", dense->width, "x", dense->height,
                   " does not match its sparse mask ", sparse.width, "x", sparse.height);
    const std::size_t n = sparse.labels.size();
    ++q.images;
    q.pixels += static_cast<std::int64_t>(n);
    if (dense) ++q.dense_images;
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint8_t s = sparse.labels[i], l = linked.labels[i];
        q.labelled_before += s != kUnlabelled;
        if (l == kUnlabelled) continue;
        ++q.labelled_after;
        if (!dense || dense->labels[i] == kUnlabelled) continue;
        const bool ok = dense->labels[i] == l;
        ++q.checked;
        q.agree += ok;
        if (s == kUnlabelled) {
            ++q.added_checked;
            q.added_agree += ok;
        }
    }
}

LinkStats link_label_maps(Backend& backend, const std::vector<LabelMap>& sparse,
                          const std::vector<RgbImage>& images, const LinkParams& p,
                          std::vector<LabelMap>& linked, int batch) {
    if (batch < 1) PFCE_THROW(InputError, "link batch ", batch, " must be at least 1");
    const bool edge = p.max_color_step >= 0.0f;
    if (edge && images.size() != sparse.size())
        PFCE_THROW(InputError, "edge-aware linking needs one image per mask: got ", images.size(),
                   " images for ", sparse.size(), " masks");
    const std::size_t n = sparse.size();
    linked.resize(n);
    const bool on_host = backend.device() == DeviceKind::cpu;
    LinkStats total;
    Tensor h_in, h_rgb, d_in, d_rgb, d_out;
    const Tensor no_rgb;
    for (std::size_t i0 = 0; i0 < n;) {
        const int h = sparse[i0].height, w = sparse[i0].width;
        std::size_t i1 = i0 + 1;
        while (i1 < n && i1 - i0 < static_cast<std::size_t>(batch) && sparse[i1].height == h &&
               sparse[i1].width == w)
            ++i1;
        const std::int64_t nb = static_cast<std::int64_t>(i1 - i0);
        const Shape shape{nb, h, w};
        // Buffers are reused while consecutive batches keep their shape (pinned memory is slow to
        // get).
        if (h_in.empty() || h_in.shape() != shape) {
            h_in = backend.host_staging(shape, DType::u8);
            d_out = backend.zeros(shape, DType::u8);
            d_in = on_host ? Tensor() : backend.zeros(shape, DType::u8);
            if (edge) {
                h_rgb = backend.host_staging({nb, 3, h, w}, DType::u8);
                d_rgb = on_host ? Tensor() : backend.zeros({nb, 3, h, w}, DType::u8);
            }
        }
        // The previous batch's uploads read the staging buffers in place (Backend::copy).
        backend.wait_until_read(h_in);
        if (edge) backend.wait_until_read(h_rgb);
        const std::size_t plane = static_cast<std::size_t>(h) * static_cast<std::size_t>(w);
        std::uint8_t* staged = h_in.data<std::uint8_t>();
        std::uint8_t* staged_rgb = edge ? h_rgb.data<std::uint8_t>() : nullptr;
        parallel_for(i1 - i0, [&](std::size_t k) {
            const LabelMap& m = sparse[i0 + k];
            if (m.labels.size() != plane)
                PFCE_THROW(InputError, "label map ", i0 + k, " holds ", m.labels.size(),
                           " labels for ", m.width, "x", m.height);
            std::memcpy(staged + k * plane, m.labels.data(), plane);
            if (!edge) return;
            const RgbImage& im = images[i0 + k];
            const auto nc = static_cast<std::size_t>(im.channels);
            if (im.width != w || im.height != h || nc < 3 || im.pixels.size() != plane * nc)
                PFCE_THROW(InputError, "image ", i0 + k, " is ", im.width, "x", im.height,
                           " but its mask is ", w, "x", h);
            // Interleaved -> planar (3,H,W): the colours are the first three channels.
            std::uint8_t* dst = staged_rgb + k * 3 * plane;
            for (std::size_t i = 0; i < plane; ++i)
                for (std::size_t c = 0; c < 3; ++c) dst[c * plane + i] = im.pixels[i * nc + c];
        });
        // A radius past the image diagonal links the same pairs as the diagonal itself; clamping
        // keeps the grid arithmetic of the backends in range for any radius a user types.
        LinkParams pb = p;
        const auto diag = static_cast<int>(
            std::ceil(std::sqrt(static_cast<double>(h) * h + static_cast<double>(w) * w)));
        pb.radius = std::min(p.radius, diag);
        LinkStats st;
        if (on_host) {
            st = backend.link(h_in, edge ? h_rgb : no_rgb, pb, d_out);
        } else {
            backend.copy(d_in, h_in);
            if (edge) backend.copy(d_rgb, h_rgb);
            st = backend.link(d_in, edge ? d_rgb : no_rgb, pb, d_out);
        }
        const std::uint8_t* result = d_out.data<std::uint8_t>();
        if (!on_host) {
            backend.copy(h_in, d_out);  // waits for the device
            result = h_in.data<std::uint8_t>();
        }
        parallel_for(i1 - i0, [&](std::size_t k) {
            LabelMap& out = linked[i0 + k];
            out.width = w;
            out.height = h;
            out.labels.assign(result + k * plane, result + (k + 1) * plane);
        });
        total.points += st.points;
        total.pairs += st.pairs;
        total.segments += st.segments;
        total.labelled_after += st.labelled_after;
        i0 = i1;
    }
    return total;
}

nlohmann::json link_settings_json(const LinkParams& p, const std::string& in_dir,
                                  const nlohmann::json& in_meta) {
    std::error_code ec;
    const fs::path canon = fs::weakly_canonical(fs::path(in_dir), ec);
    return {{"in_dir", ec ? in_dir : canon.string()},
            {"in_meta", in_meta},
            {"radius", p.radius},
            {"conflict", conflict_name(p.conflict)},
            {"max_color_step", p.max_color_step}};
}

namespace {

// What differs between the link settings a directory records and those asked for, named key by
// key ("max_color_step 40 there, -1 asked"), not as the whole record.
std::string link_settings_change(const nlohmann::json& was, const nlohmann::json& now) {
    if (!was.is_object()) return "by another pfce, which recorded no link settings";
    std::string out;
    auto add = [&](const std::string& piece) { out += (out.empty() ? "" : ", ") + piece; };
    for (const char* key : {"radius", "conflict", "max_color_step"})
        if (was.value(key, nlohmann::json()) != now.value(key, nlohmann::json()))
            add(std::string(key) + " " + was.value(key, nlohmann::json()).dump() + " there, " +
                now.value(key, nlohmann::json()).dump() + " asked");
    if (was.value("in_dir", nlohmann::json()) != now.value("in_dir", nlohmann::json()))
        add("linked from " + was.value("in_dir", nlohmann::json()).dump());
    else if (was.value("in_meta", nlohmann::json()) != now.value("in_meta", nlohmann::json()) ||
             was.value("in_masks", nlohmann::json()) != now.value("in_masks", nlohmann::json()))
        add("from other sparse masks in " + was.value("in_dir", std::string()) +
            " (sampled again, or a mask changed since)");
    return out.empty() ? "with other settings" : out;
}

}  // namespace

LinkDirResult link_mask_dir(Backend& backend, const LinkDirOptions& o) {
    const Stopwatch t0;
    if (o.batch < 1) PFCE_THROW(InputError, "--batch ", o.batch, " must be at least 1");
    if (o.params.radius < 0 || o.params.radius > kMaxUsefulLinkRadius)
        PFCE_THROW(InputError, "--radius ", o.params.radius, ": expected 0..", kMaxUsefulLinkRadius,
                   " pixels (a distance between two points of one image)");
    std::error_code same_ec;
    if (fs::exists(o.out_dir, same_ec) && fs::equivalent(o.in_dir, o.out_dir, same_ec))
        PFCE_THROW(InputError, "--out ", o.out_dir, " is the input --in ", o.in_dir,
                   ": linking writes a new mask directory");
    // Held while the sparse masks are read, as a run holds its labels (core/dir_lock.hpp).
    const DirLock reading_in = lock_dir_for_reading(o.in_dir, "--in");
    const MaskDir md = open_mask_dir(o.in_dir);
    // Linking reads every labelled pixel as a point: the labelled pixels of linked masks (whole
    // segments) would become millions of points and pairs, and purity would fall. Older sparse
    // directories record no kind.
    const std::string in_kind = md.meta.value("kind", std::string("sparse"));
    if (in_kind != "sparse")
        PFCE_THROW(InputError, "--in ", o.in_dir, " holds ", in_kind,
                   " masks (masks.json \"kind\": \"", in_kind,
                   "\"), expected sparse ones: link takes the sparse masks of pfce sample",
                   md.meta.contains("linked_from") && md.meta["linked_from"].is_string()
                       ? " (these were linked from " + md.meta["linked_from"].get<std::string>() +
                             "; link that directory)"
                       : std::string());
    nlohmann::json settings = link_settings_json(o.params, o.in_dir, md.meta);
    // Sparse masks edited by hand after sampling keep their masks.json: their files tell.
    settings["in_masks"] = mask_files_fingerprint(o.in_dir, md.ids);
    LinkDirResult r;

    // The cache: the same input and settings reuse what is there.
    std::error_code ec;
    if (fs::exists(fs::path(o.out_dir) / "masks.json", ec)) {
        // Not while another pfce replaces them: its masks.json stays until its last mask is in.
        const DirLock reading = lock_dir_for_reading(o.out_dir, "--out");
        std::optional<MaskDir> prev;
        try {
            prev = open_mask_dir(o.out_dir);
        } catch (const InputError&) {
            if (!o.force) throw;
        }
        const bool same_links =
            prev && prev->meta.value("link", nlohmann::json()) == settings && prev->ids == md.ids;
        const std::string changed = same_links ? mask_files_change(*prev) : "";
        if (!changed.empty() && !o.force)
            PFCE_THROW(InputError, o.out_dir, " holds masks linked with these settings, but ",
                       changed, ": pass --force to link them again");
        r.made_again_because = changed;
        if (same_links && changed.empty()) {
            r.reused = true;
            remove_stale_temps(o.out_dir);  // a killed writer's, beside the complete masks
            const nlohmann::json s = prev->meta.value("link_stats", nlohmann::json::object());
            r.stats.points = s.value("points", std::int64_t{0});
            r.stats.pairs = s.value("pairs", std::int64_t{0});
            r.stats.segments = s.value("segments", std::int64_t{0});
            r.stats.labelled_after = s.value("labelled_after", std::int64_t{0});
            const nlohmann::json q = prev->meta.value("quality", nlohmann::json::object());
            auto get = [&](const char* key) { return q.value(key, std::int64_t{0}); };
            r.quality.images = get("images");
            r.quality.pixels = get("pixels");
            r.quality.labelled_before = get("labelled_before");
            r.quality.labelled_after = get("labelled_after");
            r.quality.dense_images = get("dense_images");
            r.quality.checked = get("checked");
            r.quality.agree = get("agree");
            r.quality.added_checked = get("added_checked");
            r.quality.added_agree = get("added_agree");
            r.have_dense = r.quality.dense_images > 0;
            r.data_root = prev->meta.value("source", std::string());
            r.total_seconds = t0.seconds();
            log_info("link: ", o.out_dir, " already holds these linked masks; reusing them");
            // Their place is their sparse masks' now (sample updates those on reuse).
            if (const std::size_t moved = update_mask_places(*prev, [&](std::size_t k) {
                    return find_sidecar_georef(mask_png_path(o.in_dir, prev->ids[k]));
                }))
                log_info(o.out_dir, ": ", moved, moved == 1 ? " mask's" : " masks'",
                         " place on the map updated (their sparse masks' changed)");
            return r;
        }
        if (prev && !o.force) {
            nlohmann::json same = prev->meta.value("link", nlohmann::json());
            if (same.is_object() && prev->ids == md.ids) same["in_masks"] = settings["in_masks"];
            if (same == settings)
                PFCE_THROW(InputError, o.out_dir, " holds masks linked with these settings from ",
                           o.in_dir,
                           " as its masks were before: a mask file there changed (or "
                           "was touched) since, or the links predate the record of it; pass "
                           "--force to link them again");
            // Sparse masks are no earlier links: --force would replace points with links.
            if (prev->meta.value("kind", std::string()) == "sparse")
                PFCE_THROW(InputError, o.out_dir,
                           " holds the sparse masks of pfce sample (points, not links); linking "
                           "into it would replace them: give link an --out of its own (--force "
                           "replaces them)");
            PFCE_THROW(InputError, o.out_dir, " already holds masks made otherwise (",
                       link_settings_change(prev->meta.value("link", nlohmann::json()), settings),
                       "); pass --force to replace them");
        }
    }

    // The dataset gives the palette, the dense masks (purity) and the colours (edge-aware).
    const bool edge = o.params.max_color_step >= 0.0f;
    const std::string made_from = md.meta.value("source", std::string());
    auto absolute_of = [](const std::string& p) {
        if (p.empty()) return p;  // no source and no --data: the fallbacks below
        std::error_code abs_ec;
        const fs::path a = fs::weakly_canonical(fs::absolute(p), abs_ec);
        return abs_ec ? p : a.string();
    };
    // --data must be the dataset the sparse masks were sampled from: another one's dense masks
    // would score the purity and another one's colours would steer edge-aware linking. (A source
    // that no longer exists is let pass: datasets move; their ids and classes are still checked.)
    if (!o.data_root.empty() && !made_from.empty() &&
        absolute_of(made_from) != absolute_of(o.data_root)) {
        if (fs::exists(made_from, ec))
            PFCE_THROW(InputError, "--data ", o.data_root, ": the masks in ", o.in_dir,
                       " were sampled from ", made_from,
                       "; link them with the dataset they belong to (or leave --data out)");
        log_warn("link: the masks in ", o.in_dir, " were sampled from ", made_from,
                 ", which no longer exists; using ", o.data_root);
    }
    const std::string root = absolute_of(!o.data_root.empty() ? o.data_root : made_from);
    std::optional<Dataset> ds;
    if (!root.empty()) {
        try {
            DatasetOptions dopt = o.data_options;
            const nlohmann::json made = md.meta.value("sample", nlohmann::json::object());
            if (o.data_root.empty() && made.is_object() && made.contains("dataset_kind"))
                dopt.kind = kDatasetKinds.parse(made["dataset_kind"].get<std::string>());
            // --data is the dataset the masks were sampled from (checked above), so its images
            // open as they did then: the bands and range the sampling (or import) recorded, or
            // where nothing records them (masks imported by an earlier pfce), as the dataset says.
            if (const nlohmann::json* reading = image_reading_record(md))
                apply_sampled_dataset_options(*reading, dopt);
            else
                adopt_declared_image(dopt.image, declared_image_settings(root, dopt.kind), false,
                                     false);
            ds = Dataset::open(root, dopt);
        } catch (const InputError& e) {
            if (!o.data_root.empty()) throw;
            // The path came from masks.json, not from the user: say so, and how to go on (the
            // dataset's own error named a path nobody typed).
            if (edge)
                PFCE_THROW(InputError, "edge-aware linking needs the images of the dataset ",
                           o.in_dir, "/masks.json names (\"source\"), ", root,
                           ", which does not open: ", e.what(),
                           ". If it moved, give its new place: pfce link --in ", o.in_dir,
                           " --out ", o.out_dir, " --data NEW_PLACE");
            log_warn("link: cannot open the source dataset ", root, " (", e.what(), "): no purity",
                     md.palette ? "" : ", Potsdam palette assumed");
        }
    } else if (edge) {
        PFCE_THROW(InputError, "edge-aware linking needs the images: ", o.in_dir,
                   "/masks.json names no \"source\" and no --data was given");
    }
    r.data_root = ds ? root : std::string();
    r.unopened_root = ds ? std::string() : root;
    // Format-2 mask directories record their classes; older ones fall back to Potsdam's.
    const Palette& palette = ds ? ds->palette() : md.palette ? *md.palette : potsdam_palette();
    if (ds) {
        refuse_output_among_samples(*ds, o.out_dir, "--out");
        check_mask_dir_classes(md, palette, root);
        check_class_encodings_unchanged(md, *ds);
        // Its dense masks score the purity and its colours steer edge-aware linking: say when
        // they are not those the points were sampled from.
        check_dense_labels_unchanged(md, *ds);
    }
    warn_if_mask_files_changed(md);
    std::unordered_map<std::string, std::size_t> index;
    if (ds)
        for (std::size_t i = 0; i < ds->size(); ++i) index.emplace(ds->sample(i).id, i);

    // Replacing was decided above; foreign files are refused.
    MaskDirWriting writing = prepare_mask_dir(o.out_dir, true, md.ids);

    const std::size_t n = md.ids.size();
    // Waves of at most o.batch masks and about kWavePixels pixels: a wave holds its masks (and
    // images) several times over, 4-7 bytes a pixel, so 512 masks of 6000x6000 took 4.3 GB, ran
    // 44 s without a progress line and 56 s to stop. The first wave (2) is small, to learn the
    // sizes and the time a mask takes.
    constexpr double kWavePixels = 64e6;
    // And of about kWaveSeconds: masks dense with points to join (2000 points, radius 200) took
    // 1.6 s each on a CPU, and a wave of 22 such made Ctrl-C wait 36 s for its end.
    constexpr double kWaveSeconds = 2;
    std::size_t wave = std::min<std::size_t>(2, static_cast<std::size_t>(o.batch));
    const Stopwatch since_start;
    // Labelled pixels of each class in the linked masks (masks.json's per_class is the input's).
    std::vector<std::int64_t> per_class(static_cast<std::size_t>(palette.num_classes()), 0);
    for (std::size_t w0 = 0, nw = 0; w0 < n; w0 += nw) {
        nw = std::min(wave, n - w0);
        const Stopwatch wave_time;
        std::vector<LabelMap> sparse(nw), dense(nw), linked;
        std::vector<RgbImage> images(edge ? nw : 0);
        std::vector<char> has_dense(nw, 0);
        parallel_for(nw, [&](std::size_t k) {
            const std::string& id = md.ids[w0 + k];
            sparse[k] = read_mask_png(md, id, palette);
            const auto it = ds ? index.find(id) : index.end();
            if (it == index.end()) {
                if (edge)
                    PFCE_THROW(InputError, "edge-aware linking: sample ", id, " of ", o.in_dir,
                               " is not in the dataset ", root);
                return;
            }
            const SampleRef& ref = ds->sample(it->second);
            const bool tiles = ds->kind() == DatasetKind::tiles;
            if (edge) {
                std::vector<std::uint8_t> nodata;  // an orthophoto's outside: its colours do
                images[k] = ds->read_image_and_no_data(it->second, nodata);  // for edges
                check_mask_fits(md, id, sparse[k], "image", ref.image_path, images[k].width,
                                images[k].height, tiles);
            }
            if (!ref.mask_path.empty()) {
                dense[k] = ds->read_mask(it->second);
                check_mask_fits(md, id, sparse[k], "dense mask", ref.mask_path, dense[k].width,
                                dense[k].height, tiles);
                has_dense[k] = 1;
            }
        });
        const Stopwatch t1;
        const LinkStats st = link_label_maps(backend, sparse, images, o.params, linked, o.batch);
        r.link_seconds += t1.seconds();
        r.stats.points += st.points;
        r.stats.pairs += st.pairs;
        r.stats.segments += st.segments;
        r.stats.labelled_after += st.labelled_after;
        for (std::size_t k = 0; k < nw; ++k) {
            try {
                measure_link(sparse[k], linked[k], has_dense[k] ? &dense[k] : nullptr, r.quality);
            } catch (const InputError& e) {
                PFCE_THROW(InputError, "sample ", md.ids[w0 + k], ": ", e.what());
            }
        }
        for (const LabelMap& m : linked)
            for (const std::uint8_t v : m.labels)
                if (v < per_class.size()) ++per_class[v];
        // Each on its sparse mask's place (its sidecars, as sample wrote them).
        parallel_for(nw, [&](std::size_t k) {
            writing.write(w0 + k, linked[k], palette,
                          find_sidecar_georef(mask_png_path(md.dir, md.ids[w0 + k])));
        });
        // Long work shows progress: past 2 s, a line a wave.
        if (w0 + nw < n && since_start.seconds() > 2) log_info("link: ", w0 + nw, "/", n, " masks");
        // Ctrl-C / SIGTERM (core/stop_signal): unwinding undoes the writing (mask_dir.hpp).
        if (stop_requested()) throw StopRequested();
        std::int64_t pixels = 0;
        for (const LabelMap& m : sparse) pixels += static_cast<std::int64_t>(m.width) * m.height;
        const double per_mask = static_cast<double>(pixels) / static_cast<double>(nw);
        const double seconds_per_mask = wave_time.seconds() / static_cast<double>(nw);
        wave = static_cast<std::size_t>(
            std::clamp(std::min(kWavePixels / std::max(per_mask, 1.0),
                                kWaveSeconds / std::max(seconds_per_mask, 1e-6)),
                       1.0, static_cast<double>(o.batch)));
    }
    r.have_dense = r.quality.dense_images > 0;

    nlohmann::json meta = md.meta;
    meta["kind"] = "linked";
    meta["labelled_pixels"] = r.quality.labelled_after;  // the sparse input's count is under "link"
    meta["pixels"] = r.quality.pixels;
    meta["per_class"] = per_class;
    if (!root.empty()) meta["source"] = root;
    meta["radius"] = o.params.radius;
    meta["conflict"] = conflict_name(o.params.conflict);
    meta["max_color_step"] = o.params.max_color_step;
    meta["linked_from"] = settings["in_dir"];
    meta["link"] = settings;
    meta["link_stats"] = stats_json(r.stats);
    meta["quality"] = r.quality.to_json();
    writing.finish(meta, palette);
    r.total_seconds = t0.seconds();
    return r;
}

}  // namespace pfce
