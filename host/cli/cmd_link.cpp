// `pfce link`: proximity linking of a sparse mask directory (written by `pfce sample`) into a
// directory of linked masks, on the chosen backend; prints points, pairs, coverage before/after,
// purity against the dense masks of the source dataset, and time.
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

#include "core/log.hpp"
#include "core/stop_signal.hpp"
#include "data/linking.hpp"
#include "host/backend/backend_factory.hpp"
#include "host/cli/cli_checks.hpp"
#include "host/cli/command_registry.hpp"
#include "host/cli/stopped.hpp"
#include "host/train/config.hpp"

namespace pfce::cli {
namespace {

// The flags fill the library's options directly, except the two that need converting.
struct LinkFlags {
    LinkDirOptions o;
    std::string device = "auto", conflict = "unlabelled";
    std::string max_color_step = "-1";  // as typed: read as labels.max_color_step is
};

void run_link(const LinkFlags& f) {
    LinkDirOptions o = f.o;
    if (f.conflict == "unlabelled")
        o.params.conflict = LinkConflict::unlabelled;
    else if (f.conflict == "lowest")
        o.params.conflict = LinkConflict::lowest;
    else
        PFCE_THROW(InputError, "--conflict ", f.conflict, ": expected unlabelled or lowest");
    refuse_output_dir_among_others("--out " + o.out_dir, o.out_dir, "its masks");
    if (o.data_options.max_pixels < 1)
        PFCE_THROW(InputError, "--max-pixels ", o.data_options.max_pixels,
                   ": expected a limit >= 1 (a limit; there is no 'no limit')");
    // As labels.max_color_step takes it (one parser, its messages): a run trained on these masks
    // records their value, and its --resume checks it (-2 linked here once made a run that could
    // not be resumed). Named as typed: 1e300 was said to be "inf", what a float made of it.
    {
        ConfigKey key = *find_config_key("labels.max_color_step");
        key.flag = "--max-color-step";
        Config c;
        apply_flag_text(c, key, f.max_color_step);
        const double step = c.labels.max_color_step;
        if (!(step >= 0 || step == -1) || !std::isfinite(static_cast<float>(step)))
            PFCE_THROW(InputError, "--max-color-step ", f.max_color_step,
                       ": expected a finite number >= 0 (at most 3.4e38, a float), or -1 (off)");
        o.params.max_color_step = static_cast<float>(step);
    }

    if (o.params.max_color_step == 0) log_warn(zero_colour_step_note("--max-color-step"));
    if (o.params.max_color_step >= kWidestColourStep)
        log_warn(wide_colour_step_note("--max-color-step", o.params.max_color_step));
    // Points are whole pixels: within 0 pixels lies no other point (pfce train says the same of
    // labels.radius = 0).
    if (o.params.radius == 0)
        log_warn(
            "--radius 0 links no two points: the linked masks are the sparse points as they "
            "are (expected a radius of a few pixels or more, e.g. 20)");
    require_input("--in", o.in_dir, true, "the --out of pfce sample");
    std::unique_ptr<Backend> backend = make_backend(f.device);
    LinkDirResult r;
    {
        // Ctrl-C / SIGTERM: stop after the wave in hand; the output is undone (mask_dir.hpp).
        const StopSignals stop_signals;
        try {
            r = link_mask_dir(*backend, o);
        } catch (const StopRequested&) {
            stopped_writing_masks(o.out_dir);
        }
        said_stop_came_late(o.out_dir);
    }
    const LinkQuality& q = r.quality;
    std::printf("%s %lld masks from %s on %s\n", r.reused ? "reused" : "linked",
                static_cast<long long>(q.images), o.in_dir.c_str(), backend->name().c_str());
    if (o.params.max_color_step >= 0)
        std::printf("radius %d, conflict %s, edge-aware: max colour step %g\n", o.params.radius,
                    f.conflict.c_str(),
                    static_cast<double>(o.params.max_color_step) + 0.0);  // -0 said as 0
    else
        std::printf("radius %d, conflict %s, edge-aware off\n", o.params.radius,
                    f.conflict.c_str());
    std::printf("points:           %lld\n", static_cast<long long>(r.stats.points));
    std::printf("pairs:            %lld (segments drawn %lld)\n",
                static_cast<long long>(r.stats.pairs), static_cast<long long>(r.stats.segments));
    const double gain = q.coverage_before() > 0 ? q.coverage_after() / q.coverage_before() : 0.0;
    std::printf("coverage:         %.4f%% -> %.4f%% of pixels (%.1fx)\n",
                100.0 * q.coverage_before(), 100.0 * q.coverage_after(), gain);
    if (r.have_dense && q.added_checked == 0)
        std::printf(
            "purity vs dense:  %.4f of labelled pixels with a dense label; %s (%lld images)\n",
            q.purity(),
            q.labelled_after == q.labelled_before ? "linking added no pixel"
                                                  : "no pixel linking added has a dense label",
            static_cast<long long>(q.dense_images));
    else if (r.have_dense)
        std::printf(
            "purity vs dense:  %.4f of labelled pixels with a dense label, %.4f of those added "
            "by linking (%lld images)\n",
            q.purity(), q.added_purity(), static_cast<long long>(q.dense_images));
    else if (r.reused)  // the masks were linked without their dataset; reusing them measures
                        // nothing
        std::printf(
            "purity vs dense:  not measured when these masks were linked (without the "
            "dataset); --force links them again and measures it\n");
    else if (!r.unopened_root.empty())  // said above, with why
        std::printf("purity vs dense:  not measured (its dataset %s did not open)\n",
                    r.unopened_root.c_str());
    else
        std::printf("purity vs dense:  not measured (no dense masks available; pass --data)\n");
    if (r.reused)
        std::printf("time:             %.3f s (cached)\n", r.total_seconds);
    else
        std::printf("time:             %.3f s linking (transfers included), %.3f s in all\n",
                    r.link_seconds, r.total_seconds);
    std::printf(r.reused ? "kept %s as it was\n" : "wrote %s\n", o.out_dir.c_str());
}

const bool registered = register_command(
    "link", "join same-class sparse points within a radius by lines (proximity linking)",
    [](CLI::App& sub) {
        auto f = std::make_shared<LinkFlags>();
        sub.add_option("--in", f->o.in_dir, "sparse mask directory (from `pfce sample`)")
            ->required();
        sub.add_option("--out", f->o.out_dir, "output mask directory")->required();
        sub.add_option("--radius", f->o.params.radius,
                       "D: link same-class points with dx^2+dy^2 <= D^2 (0..10000)")
            ->capture_default_str();
        sub.add_option("--conflict", f->conflict,
                       "pixel on segments of several classes: unlabelled or lowest")
            ->transform(any_case())
            ->capture_default_str();
        sub.add_option("--max-color-step", f->max_color_step,
                       "edge-aware: skip segments with a pixel farther than this from the "
                       "endpoints' mean RGB (-1: off)")
            ->capture_default_str();
        sub.add_option("--device", f->device, "auto, cpu or cuda[:N]")->capture_default_str();
        sub.add_option("--data", f->o.data_root,
                       "dataset for dense masks and images (default: masks.json source)");
        sub.add_option("--batch", f->o.batch, "images per backend call")->capture_default_str();
        sub.add_option("--max-pixels", f->o.data_options.max_pixels,
                       "refuse dataset images with more pixels than this when reopening them "
                       "(a memory guard; raise it as the sampling did)")
            ->capture_default_str();
        sub.add_flag("--force", f->o.force, "replace an output directory made with other settings");
        sub.callback([f] { run_link(*f); });
    });

}  // namespace
}  // namespace pfce::cli
