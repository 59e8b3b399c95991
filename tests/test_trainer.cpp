// The trainer end to end on the CPU with small synthetic scenes: a small U-Net overfits one image
// with dense labels; with sparse labels the training loss falls; an interrupted-and-resumed run
// ends bit-identical to an uninterrupted one, and so does a run on another thread count; a
// diverging run stops with a clear error and keeps the last good checkpoint; the outputs
// (metrics.jsonl, best/last checkpoints) are what eval/predict read.
#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/file_io.hpp"
#include "core/source_version.hpp"
#include "core/stop_signal.hpp"
#include "data/image_io.hpp"
#include "host/train/memory_estimate.hpp"
#include "host/train/train_data.hpp"
#include "tests/trainer_fixtures.hpp"

namespace pfce {
namespace {

using namespace test;

// Images too small for the U-Net are named together, and a lower depth only where one takes them:
// a side of 3 fits depth 2 (reflect padding to 4 mirrors 1 pixel), a side of 1 fits none.
TEST(Trainer, TooSmallImagesAreNamedTogetherWithADepthThatFits) {
    TooSmallImages small(3);
    small.add("big.png", 64, 64);
    EXPECT_TRUE(small.empty());
    small.add("a.png", 3, 30);
    EXPECT_EQ(small.describe("r.ckpt"),
              "a.png is 3x30: too small for a depth-3 U-Net of r.ckpt (each side needs at least 4 "
              "pixels)");
    EXPECT_EQ(small.lower_depth_that_fits(), 2);
    for (const char* name : {"b.png", "c.png", "d.png"}) small.add(name, 1, 5);
    EXPECT_EQ(small.describe(),
              "4 images are too small for a depth-3 U-Net (each side needs at least 4 pixels): "
              "a.png (3x30), b.png (1x5), c.png (1x5), ...");
    EXPECT_EQ(small.lower_depth_that_fits(), 0);
}

// What a model learnt from, gray or colour images, as predict and eval read it from the checkpoint:
// a model trained on both is unlike neither (it was said to be trained on colour images only);
// a checkpoint of an older pfce records only whether every image was gray.
TEST(Trainer, TheKindsOfTrainingImagesAreRecordedForInputsUnlikeThem) {
    SampleData gray, colour;
    gray.image = RgbImage(2, 1);
    gray.image.pixels = {7, 7, 7, 9, 9, 9};
    colour.image = RgbImage(2, 1);
    colour.image.pixels = {7, 7, 7, 9, 8, 9};
    const nlohmann::json mixed = {{"image_kinds", training_image_kinds({gray, colour, gray})}};
    EXPECT_EQ(mixed["image_kinds"], (nlohmann::json{{"gray", 2}, {"colour", 1}}));
    const TrainedImageKinds both = trained_image_kinds(mixed);
    EXPECT_TRUE(both.known && both.gray && both.colour);
    EXPECT_FALSE(both.unlike(true));
    EXPECT_FALSE(both.unlike(false));
    const TrainedImageKinds colour_only =
        trained_image_kinds({{"image_kinds", training_image_kinds({colour})}});
    EXPECT_TRUE(colour_only.unlike(true));
    EXPECT_FALSE(colour_only.unlike(false));
    const TrainedImageKinds older = trained_image_kinds({{"gray_images", true}});
    EXPECT_FALSE(older.unlike(true));
    EXPECT_TRUE(older.unlike(false));
    // Nothing recorded, or records of the wrong type: nothing is said.
    for (const nlohmann::json& meta :
         {nlohmann::json(), nlohmann::json::object(), nlohmann::json{{"gray_images", "yes"}},
          nlohmann::json{{"image_kinds", {{"gray", "2"}, {"colour", 1}}}}}) {
        EXPECT_FALSE(trained_image_kinds(meta).known) << meta;
        EXPECT_FALSE(trained_image_kinds(meta).unlike(true)) << meta;
    }
}

TEST(Trainer, SmallUNetOverfitsOneSmallImageWithDenseLabels) {
    check_overfit(32, 100);
}

TEST(Trainer, SparseLabelsTrainingLossFalls) {
    auto b = test::cpu_backend();
    const TrainInputs in = synthetic_inputs(4, 32, true);
    Config c = small_config(test::temp_dir("trainer") + "/run");
    c.run.epochs = 6;
    c.data.augment = false;
    c.schedule.name = "cosine";
    c.schedule.warmup_epochs = 1;
    const TrainOptions o = quiet_options();
    const TrainResult r = train_unet(*b, c, in, o);
    const auto lines = read_metrics(r.metrics_path);
    ASSERT_EQ(lines.size(), 6u);
    const double first = lines.front()["train_loss"], last = lines.back()["train_loss"];
    EXPECT_LT(last, 0.7 * first) << "first " << first << " last " << last;
    // Validation reports the loss on sparse labels and on dense masks, and dense metrics.
    EXPECT_TRUE(lines.back()["val_loss"].is_number());
    EXPECT_TRUE(lines.back()["val_loss_dense"].is_number());
    EXPECT_TRUE(lines.back()["val_miou"].is_number());
}

TEST(Trainer, InterruptedAndResumedRunIsBitIdentical) {
    auto b = test::cpu_backend();
    const TrainInputs in = synthetic_inputs(4, 32, true);
    const std::string root = test::temp_dir("trainer");
    Config c = small_config(root + "/a");
    c.optimizer.name = "adamw";
    c.optimizer.weight_decay = 1e-2;
    c.optimizer.clip = 0.5;
    c.schedule.name = "plateau";
    c.schedule.plateau_patience = 0;
    c.data.augment = true;
    c.run.seed = 3;
    const TrainOptions o = quiet_options();
    const TrainResult full = train_unet(*b, c, in, o);
    ASSERT_EQ(full.steps, 6);

    c.run.out = root + "/b";
    train_interrupted_after(*b, c, in, o, 3);  // mid-epoch 2 (2 batches/epoch)
    // Starting again without --resume or --force is refused (it would overwrite the run).
    EXPECT_THROW(train_unet(*b, c, in, o), InputError);
    const TrainResult rest = resume_training(*b, c, in, o, 6);

    const Checkpoint ca = read_checkpoint(full.last_checkpoint),
                     cb = read_checkpoint(rest.last_checkpoint);
    ASSERT_EQ(ca.tensors.size(), cb.tensors.size());
    for (std::size_t i = 0; i < ca.tensors.size(); ++i) {
        ASSERT_EQ(ca.tensors[i].name, cb.tensors[i].name);
        EXPECT_EQ(0, std::memcmp(ca.tensors[i].value.raw(), cb.tensors[i].value.raw(),
                                 ca.tensors[i].value.bytes()))
            << ca.tensors[i].name << " differs after resume";
    }
    EXPECT_EQ(ca.meta["state"], cb.meta["state"]);
    const auto la = read_metrics(full.metrics_path), lb = read_metrics(rest.metrics_path);
    ASSERT_EQ(la.size(), 3u);
    ASSERT_EQ(lb.size(), 3u);
    for (std::size_t e = 0; e < 3; ++e) {
        EXPECT_EQ(la[e]["train_loss"], lb[e]["train_loss"]) << "epoch " << e + 1;
        EXPECT_EQ(la[e]["val_loss"], lb[e]["val_loss"]) << "epoch " << e + 1;
        EXPECT_EQ(la[e]["lr"], lb[e]["lr"]) << "epoch " << e + 1;
    }
    // A different config cannot resume this run; the message names the key that differs.
    const double lr = c.optimizer.lr;
    c.optimizer.lr = 0.5;
    TrainOptions resume = o;
    resume.resume = true;
    try {
        train_unet(*b, c, in, resume);
        ADD_FAILURE() << "resumed with another lr";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("optimizer.lr"), std::string::npos) << e.what();
    }
    // run.deterministic only picks among algorithms of one arithmetic (it does nothing on the
    // CPU): a resume may change it, as it may change the device.
    c.optimizer.lr = lr;
    c.run.deterministic = !c.run.deterministic;
    c.run.epochs = 4;
    EXPECT_NO_THROW(train_unet(*b, c, in, resume));
    EXPECT_EQ(read_metrics(rest.metrics_path).size(), 4u);
}

// The CPU trains to the same bits on any thread count: every sum split between threads is added in
// a fixed order, and the convolutions' filter gradients are made in fixed tiles of channels
// (host/cpu/dnnl_plan.hpp). Width 16 gives convolutions whose gradient oneDNN alone splits by
// thread count. A new op that reduces per thread without a fixed order fails here.
TEST(Trainer, ARunHasTheSameBitsOnAnyThreadCount) {
#ifndef _OPENMP
    GTEST_SKIP() << "built without OpenMP: one thread only";
#else
    const TrainInputs in = synthetic_inputs(4, 32, true);
    const std::string root = test::temp_dir("trainer-threads");
    const int saved = omp_get_max_threads();
    std::vector<Checkpoint> runs;
    std::vector<std::vector<nlohmann::json> > metrics;
    for (int threads : {1, 3}) {
        omp_set_num_threads(threads);
        auto b = test::cpu_backend();
        Config c = small_config(root + "/t" + std::to_string(threads));
        c.model.width = 16;
        c.run.epochs = 2;
        const TrainResult r = train_unet(*b, c, in, quiet_options());
        runs.push_back(read_checkpoint(r.last_checkpoint));
        metrics.push_back(read_metrics(r.metrics_path));
    }
    omp_set_num_threads(saved);
    ASSERT_EQ(runs[0].tensors.size(), runs[1].tensors.size());
    for (std::size_t i = 0; i < runs[0].tensors.size(); ++i)
        EXPECT_EQ(0, std::memcmp(runs[0].tensors[i].value.raw(), runs[1].tensors[i].value.raw(),
                                 runs[0].tensors[i].value.bytes()))
            << runs[0].tensors[i].name << " differs between 1 and 3 threads";
    ASSERT_EQ(metrics[0].size(), 2u);
    ASSERT_EQ(metrics[1].size(), 2u);
    for (std::size_t e = 0; e < 2; ++e) {
        EXPECT_EQ(metrics[0][e]["train_loss"], metrics[1][e]["train_loss"]) << "epoch " << e + 1;
        EXPECT_EQ(metrics[0][e]["val_loss"], metrics[1][e]["val_loss"]) << "epoch " << e + 1;
    }
#endif
}

// A run killed (SIGKILL, power) in its first epoch once held no last.ckpt: neither --resume nor a
// new run without --force was possible. It now saves last.ckpt at its start; killed after epoch 1's
// metrics line but before its checkpoint, it resumes from epoch 0 (dropping that line) and ends
// bit-identical to an uninterrupted run.
TEST(Trainer, ARunKilledInItsFirstEpochResumesFromItsStart) {
    auto b = test::cpu_backend();
    const TrainInputs in = synthetic_inputs(4, 32, true);
    const std::string root = test::temp_dir("trainer_first_epoch");
    Config c = small_config(root + "/a");
    c.data.augment = true;
    const TrainOptions o = quiet_options();
    const TrainResult full = train_unet(*b, c, in, o);

    c.run.out = root + "/b";
    TrainOptions first = o;
    first.stop_after_step = [&](std::int64_t step) {
        if (step == 1) {  // within epoch 1: the start's checkpoint is there
            EXPECT_EQ(read_checkpoint(c.run.out + "/last.ckpt").meta["state"]["epoch"], 0);
            fs::copy_file(c.run.out + "/last.ckpt", root + "/start.ckpt");
        }
        return false;
    };
    train_unet(*b, c, in, first);
    // What a kill between epoch 1's metrics line and its checkpoint leaves.
    fs::copy_file(root + "/start.ckpt", c.run.out + "/last.ckpt",
                  fs::copy_options::overwrite_existing);
    fs::remove(c.run.out + "/best.ckpt");
    const auto lines = read_metrics(c.run.out + "/metrics.jsonl");
    std::ofstream(c.run.out + "/metrics.jsonl") << lines.front().dump() << "\n";
    EXPECT_THROW(train_unet(*b, c, in, o), InputError);  // a run: --resume or --force
    const TrainResult rest = resume_training(*b, c, in, o, full.steps);
    expect_same_tensors(full.last_checkpoint, rest.last_checkpoint);
    EXPECT_EQ(read_metrics(full.metrics_path).size(), read_metrics(rest.metrics_path).size());
    EXPECT_TRUE(fs::exists(c.run.out + "/best.ckpt"));
    // A checkpoint names the pfce that wrote it (version and commit), for a paper's methods.
    EXPECT_EQ(read_checkpoint(c.run.out + "/last.ckpt").meta["pfce"], pfce_version_text());

    // A run stopped before its first step ended (killed, failed) leaves only that start: the
    // same command, or a corrected one, runs again without --force, as before the start was saved.
    c.run.out = root + "/c";
    TrainOptions failing = o;
    failing.stop_after_step = [](std::int64_t) -> bool { throw std::runtime_error("killed"); };
    EXPECT_THROW(train_unet(*b, c, in, failing), std::runtime_error);
    EXPECT_EQ(read_checkpoint(c.run.out + "/last.ckpt").meta["state"]["epoch"], 0);
    c.run.batch_size = 1;  // corrected
    EXPECT_EQ(train_unet(*b, c, in, o).epochs_completed, c.run.epochs);
}

// Another run's last.ckpt copied into OUT (its settings given, so nothing else differs) was
// resumed: its epochs continued under this run's curves and replaced this run's best.ckpt. Its
// best epoch's value is not the one this run's metrics hold there: refused, best.ckpt kept.
TEST(Trainer, AnotherRunsCheckpointIsNotResumed) {
    auto b = test::cpu_backend();
    const TrainInputs in = synthetic_inputs(4, 32, true);
    const std::string root = test::temp_dir("trainer_foreign_ckpt");
    Config mine = small_config(root + "/mine");
    train_unet(*b, mine, in, quiet_options());
    Config other = small_config(root + "/other");
    other.model.depth = 1;
    other.run.epochs = 1;
    train_unet(*b, other, in, quiet_options());
    const std::string best = read_whole_file(mine.run.out + "/best.ckpt");
    fs::copy_file(other.run.out + "/last.ckpt", mine.run.out + "/last.ckpt",
                  fs::copy_options::overwrite_existing);
    other.run.out = mine.run.out;
    other.run.epochs = 3;
    TrainOptions resume = quiet_options();
    resume.resume = true;
    const std::string msg = test::input_error_message([&] { train_unet(*b, other, in, resume); });
    EXPECT_MESSAGE_HAS(msg, "the checkpoint is another run's");
    EXPECT_EQ(read_whole_file(mine.run.out + "/best.ckpt"), best);
}

// The same from a run that went further (a probe copied a 20-epoch run's last.ckpt into a 10-epoch
// one): this run's metrics.jsonl has no line at its best epoch to compare, and the resume removed
// this run's best.ckpt as "another epoch's". metrics.jsonl ending an epoch or more before the
// checkpoint's best is refused. And another run's best.ckpt of the same epoch number, copied in,
// was taken as the run's best (eval scored it as such): refused, naming both values.
TEST(Trainer, ACheckpointOfALongerRunOrAnotherRunsBestIsNotResumed) {
    auto b = test::cpu_backend();
    const TrainInputs in = synthetic_inputs(4, 32, true);
    const std::string root = test::temp_dir("trainer_longer_ckpt");
    Config c = small_config(root + "/run");
    c.run.epochs = 4;
    train_unet(*b, c, in, quiet_options());
    const std::string last = c.run.out + "/last.ckpt", best = c.run.out + "/best.ckpt";
    const std::string metrics = read_whole_file(c.run.out + "/metrics.jsonl");
    Checkpoint forged = read_checkpoint(last);  // its best at epoch 4, which no line reaches
    forged.meta["state"]["best_epoch"] = 4;
    write_checkpoint(last, forged);
    write_file_atomically(c.run.out + "/metrics.jsonl", metrics.substr(0, metrics.find('\n') + 1));
    const std::string best_before = read_whole_file(best);
    TrainOptions resume = quiet_options();
    resume.resume = true;
    c.run.epochs = 5;
    const std::string msg = test::input_error_message([&] { train_unet(*b, c, in, resume); });
    EXPECT_MESSAGE_HAS(msg, "but its metrics.jsonl ends at epoch 1");
    EXPECT_MESSAGE_HAS(msg, "the checkpoint is another run's (copied in?)");
    EXPECT_EQ(read_whole_file(best), best_before);

    // Its own files back, and another run's best.ckpt of the run's best epoch in place of its own.
    Config again = small_config(root + "/again");
    again.run.epochs = 2;
    train_unet(*b, again, in, quiet_options());
    Checkpoint own_best = read_checkpoint(again.run.out + "/best.ckpt");
    const nlohmann::json state = own_best.meta["state"];
    ASSERT_EQ(read_checkpoint(again.run.out + "/last.ckpt").meta["state"]["best_epoch"],
              state["epoch"]);
    own_best.meta["state"]["best_value"] = state["best_value"].get<double>() + 0.25;
    write_checkpoint(again.run.out + "/best.ckpt", own_best);
    const std::string foreign = read_whole_file(again.run.out + "/best.ckpt");
    again.run.epochs = 3;
    EXPECT_MESSAGE_HAS(test::input_error_message([&] { train_unet(*b, again, in, resume); }),
                       "it is another run's best checkpoint (copied in?)");
    EXPECT_EQ(read_whole_file(again.run.out + "/best.ckpt"), foreign);

    // A best.ckpt that does not read (a flipped bit) is said, and left for eval and predict to
    // refuse, not removed by a resume that has nothing to do.
    std::string damaged = read_whole_file(again.run.out + "/best.ckpt");
    damaged[damaged.size() / 2] ^= 0x10;
    write_file_atomically(again.run.out + "/best.ckpt", damaged);
    Checkpoint ck = read_checkpoint(again.run.out + "/last.ckpt");
    ck.meta["state"]["best_epoch"] = 1;  // not last.ckpt's epoch: its weights are not there
    ck.meta["state"]["best_value"] = read_metrics(again.run.out + "/metrics.jsonl")[0]["val_loss"];
    write_checkpoint(again.run.out + "/last.ckpt", ck);
    again.run.epochs = 2;
    testing::internal::CaptureStderr();
    train_unet(*b, again, in, resume);
    const std::string said = testing::internal::GetCapturedStderr();
    EXPECT_MESSAGE_HAS(said, "best.ckpt is unreadable");
    EXPECT_EQ(read_whole_file(again.run.out + "/best.ckpt"), damaged);
}

// A validation split whose masks label no pixel (orthophoto borders, all no-data) has a loss of 0
// and no mIoU: taken at its word, epoch 1 would stay best.ckpt forever (or, by mIoU, no best.ckpt
// would be written) and plateau would cut the rate at once. Best and plateau follow the training
// loss instead, as with no validation split.
TEST(Trainer, AValidationSplitWithoutLabelledPixelsChoosesNothing) {
    auto b = test::cpu_backend();
    TrainInputs in = synthetic_inputs(4, 32, true);
    ASSERT_FALSE(in.val.empty());
    for (SampleData& s : in.val) {
        std::fill(s.train_labels.labels.begin(), s.train_labels.labels.end(), kUnlabelled);
        std::fill(s.dense.labels.begin(), s.dense.labels.end(), kUnlabelled);
    }
    for (const std::string best : {"val_loss", "val_miou"}) {
        Config c = small_config(test::temp_dir("trainer") + "/run");
        c.run.epochs = 4;
        c.run.best_metric = best;
        c.data.augment = false;
        c.schedule.name = "plateau";
        c.schedule.plateau_patience = 0;
        c.schedule.plateau_metric = best;  // val_miou: higher was better, not for the loss
        const TrainResult r = train_unet(*b, c, in, quiet_options());
        EXPECT_EQ(r.best_metric, "train_loss") << best;
        const auto lines = read_metrics(r.metrics_path);
        ASSERT_EQ(lines.size(), 4u);
        std::size_t lowest = 0;
        for (std::size_t e = 1; e < lines.size(); ++e)
            if (lines[e]["train_loss"].get<double>() < lines[lowest]["train_loss"].get<double>())
                lowest = e;
        EXPECT_EQ(r.best_epoch, static_cast<int>(lowest) + 1) << best;
        EXPECT_TRUE(lines.front()["val_loss"].is_null()) << "a loss of no pixel is no 0";
        EXPECT_TRUE(fs::exists(r.best_checkpoint)) << best;
        // Plateau follows the training loss too: an epoch that lowered it clearly keeps the rate.
        double lowest_loss = lines[0]["train_loss"].get<double>();
        for (std::size_t e = 1; e + 1 < lines.size(); ++e) {
            const double loss = lines[e]["train_loss"].get<double>();
            if (loss < 0.99 * lowest_loss) {
                EXPECT_EQ(lines[e + 1]["lr"], lines[e]["lr"]) << best << ", epoch " << e + 1;
            }
            lowest_loss = std::min(lowest_loss, loss);
        }
    }
}

// last.ckpt is written before best.ckpt: a failure (a full disk, a kill) between the two leaves a
// run --resume continues, never a best.ckpt without its last.ckpt. Here last.ckpt cannot be
// written (a directory is in its place), as a full disk fails a write.
TEST(Trainer, BestCheckpointIsNeverWrittenWithoutTheLastOne) {
    auto b = test::cpu_backend();
    const TrainInputs in = synthetic_inputs(4, 32, false);
    const Config c = small_config(test::temp_dir("trainer_order") + "/run");
    const std::string last = c.run.out + "/last.ckpt";
    TrainOptions o = quiet_options();
    o.stop_after_step = [&](std::int64_t) {               // before the first epoch's checkpoints
        if (fs::is_regular_file(last)) fs::remove(last);  // the start's (epoch 0)
        fs::create_directories(last + "/in-the-way");
        return false;
    };
    EXPECT_THROW(train_unet(*b, c, in, o), SystemError);
    EXPECT_FALSE(fs::exists(c.run.out + "/best.ckpt"));
    for (const auto& e : fs::directory_iterator(c.run.out))  // and no temporary is left
        EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
}

// A write that fails mid-run (a full disk; here best.ckpt cannot be written) says what failed and
// that --resume continues from last.ckpt, which does (a hostile probe's full disk said only what
// failed).
TEST(Trainer, AFailedWriteSaysResumeContinuesTheRun) {
    auto b = test::cpu_backend();
    const TrainInputs in = synthetic_inputs(4, 32, false);
    const Config c = small_config(test::temp_dir("trainer_failed_write") + "/run");
    const std::string best = c.run.out + "/best.ckpt";
    TrainOptions o = quiet_options();
    o.stop_after_step = [&](std::int64_t) {
        fs::create_directories(best + "/in-the-way");
        return false;
    };
    try {
        train_unet(*b, c, in, o);
        ADD_FAILURE() << "a run whose best.ckpt cannot be written finished";
    } catch (const SystemError& e) {
        EXPECT_MESSAGE_HAS(std::string(e.what()), best);
        EXPECT_MESSAGE_HAS(std::string(e.what()), "; the run so far is in " + c.run.out +
                                                      "/last.ckpt: once that is mended, the same "
                                                      "command with --resume continues it");
    }
    fs::remove_all(best);
    TrainOptions resume = quiet_options();
    resume.resume = true;
    EXPECT_EQ(train_unet(*b, c, in, resume).epochs_completed, c.run.epochs);
}

// A kill or a failed write between last.ckpt and best.ckpt (hostile-user probe) leaves last.ckpt
// recording a best epoch that best.ckpt does not hold. --resume copies last.ckpt when it is that
// epoch's end; when the best epoch's weights are gone it says so and chooses best.ckpt again
// instead of naming an epoch it does not hold.
TEST(Trainer, ResumeRepairsTheBestCheckpointAStopLeftBehind) {
    auto b = test::cpu_backend();
    const TrainInputs in = synthetic_inputs(4, 32, false);
    Config c = small_config(test::temp_dir("trainer_best") + "/run");
    const std::string last = c.run.out + "/last.ckpt", best = c.run.out + "/best.ckpt";
    const std::string epoch1 = c.run.out + "/../epoch1.ckpt";
    TrainOptions resume = quiet_options();
    resume.resume = true;
    c.run.epochs = 1;
    train_unet(*b, c, in, quiet_options());
    fs::copy_file(best, epoch1);
    c.run.epochs = 2;
    train_unet(*b, c, in, resume);
    const auto forge_best_epoch = [&](int epoch) {  // with the value its metrics line holds
        Checkpoint ck = read_checkpoint(last);
        ck.meta["state"]["best_epoch"] = epoch;
        ck.meta["state"]["best_value"] =
            read_metrics(c.run.out + "/metrics.jsonl")[epoch - 1]["val_loss"];
        write_checkpoint(last, ck);
    };
    const auto epoch_of = [](const std::string& path) {
        return read_checkpoint(path).meta["state"]["epoch"].get<int>();
    };
    forge_best_epoch(2);
    for (const bool stale : {true, false}) {  // best.ckpt of epoch 1, or none
        if (stale)
            fs::copy_file(epoch1, best, fs::copy_options::overwrite_existing);
        else
            fs::remove(best);
        testing::internal::CaptureStderr();
        const TrainResult r = train_unet(*b, c, in, resume);
        const std::string log = testing::internal::GetCapturedStderr();
        EXPECT_MESSAGE_HAS(log, "the best epoch is 2 (the run stopped while saving it)");
        EXPECT_EQ(r.best_epoch, 2);
        EXPECT_EQ(read_whole_file(best), read_whole_file(last));
    }
    // The best epoch (1) is not last.ckpt's and best.ckpt holds another (2): nothing can restore
    // it, and a best.ckpt of epoch 2 would be taken for the best one, so it goes.
    forge_best_epoch(1);
    testing::internal::CaptureStderr();
    TrainResult r = train_unet(*b, c, in, resume);  // finished: last.ckpt is what it has
    std::string log = testing::internal::GetCapturedStderr();
    EXPECT_MESSAGE_HAS(log, "holds epoch 2 but the best epoch was 1, whose weights are lost");
    EXPECT_MESSAGE_HAS(log, "(epoch 2) is the run's checkpoint");
    EXPECT_EQ(log.find("no epoch had a finite"), std::string::npos) << log;
    EXPECT_EQ(r.best_epoch, 0);
    EXPECT_FALSE(fs::exists(best));
    testing::internal::CaptureStderr();
    r = train_unet(*b, c, in, resume);  // recorded: said once
    log = testing::internal::GetCapturedStderr();
    EXPECT_EQ(log.find("weights are lost"), std::string::npos) << log;
    EXPECT_EQ(log.find("no epoch had a finite"), std::string::npos) << log;
    c.run.epochs = 3;  // the next epoch is the best one since
    r = train_unet(*b, c, in, resume);
    EXPECT_EQ(r.best_epoch, 3);
    EXPECT_EQ(epoch_of(best), 3);
    // Lost with epochs still to run: best.ckpt is chosen again from the next one on.
    forge_best_epoch(2);
    c.run.epochs = 4;
    testing::internal::CaptureStderr();
    r = train_unet(*b, c, in, resume);
    log = testing::internal::GetCapturedStderr();
    EXPECT_MESSAGE_HAS(log, "holds epoch 3 but the best epoch was 2, whose weights are lost");
    EXPECT_MESSAGE_HAS(log, "is chosen again from epoch 4 on");
    EXPECT_EQ(r.best_epoch, 4);
    EXPECT_EQ(epoch_of(best), 4);
}

TEST(Trainer, DivergenceStopsAndKeepsTheLastGoodCheckpoint) {
    auto b = test::cpu_backend();
    const TrainInputs in = synthetic_inputs(2, 32, false);
    Config c = small_config(test::temp_dir("trainer") + "/run");
    c.optimizer.name = "sgd";
    c.optimizer.momentum = 0;
    c.optimizer.lr = 1e-3;
    c.schedule.name = "step";  // epoch 1 trains normally, epoch 2 gets lr 1e-3 * 1e36: overflow
    c.schedule.step_size = 1;
    c.schedule.step_gamma = 1e36;
    c.run.epochs = 4;
    const TrainOptions o = quiet_options();
    try {
        train_unet(*b, c, in, o);
        FAIL() << "no error for a diverging run";
    } catch (const NumericError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("diverged"), std::string::npos) << msg;
        EXPECT_NE(msg.find("last.ckpt"), std::string::npos) << msg;
    }
    const Checkpoint ck = read_checkpoint(c.run.out + "/last.ckpt");
    EXPECT_EQ(ck.meta["state"]["epoch"], 1);  // the end of the good epoch
    for (const auto& t : ck.tensors) {
        if (t.value.dtype() != DType::f32) continue;
        for (std::int64_t i = 0; i < t.value.numel(); ++i)
            ASSERT_TRUE(std::isfinite(t.value.data<float>()[i])) << t.name;
    }
}

// A loss that stays finite but far above an untrained network's is training on nonsense
// (hostile-user probe: lr 1e9 ended at a loss of 9.5e8 with exit 0). Adam at lr 1, the largest
// lr validate() lets through, keeps the training loss near 1 (batch norm normalises each batch)
// but sends the validation loss past 1e6: one warning naming the lr. A sane run says nothing.
TEST(Trainer, ALossFarAboveAnUntrainedNetworksIsWarnedAbout) {
    auto b = test::cpu_backend();
    const TrainInputs in = synthetic_inputs(4, 32, false);
    for (const double lr : {1.0, 1e-2}) {
        Config c = small_config(test::temp_dir("trainer_blowup") + "/run");
        c.optimizer.lr = lr;
        c.run.epochs = 2;
        testing::internal::CaptureStderr();
        const TrainResult r = train_unet(*b, c, in, quiet_options());
        const std::string log = testing::internal::GetCapturedStderr();
        EXPECT_EQ(r.epochs_completed, 2);
        if (lr == 1.0) {
            EXPECT_MESSAGE_HAS(log, "times what an untrained network scores");
            EXPECT_MESSAGE_HAS(log, "lower optimizer.lr (--lr, now 1)");
            EXPECT_EQ(log.find("throw the weights"), log.rfind("throw the weights")) << "once";
        } else {
            EXPECT_EQ(log.find("throw the weights"), std::string::npos) << log;
        }
    }
}

// SGD's clipped step moves the weights by at most lr * clip / (1 - momentum): at --clip 1e-6 the
// whole run moves them by a millionth of their norm and trained as lr 1e-10 would, without a word.
// Said, with the bound; a clip that lets the weights move says nothing, nor does Adam's.
TEST(Trainer, SgdWhoseClipLeavesTheWeightsWhereTheyAreIsWarnedAbout) {
    auto b = test::cpu_backend();
    const TrainInputs in = synthetic_inputs(4, 32, false);
    for (const auto& [name, clip] : {std::pair{"sgd", 1e-6}, {"sgd", 10.0}, {"adam", 1e-6}}) {
        Config c = small_config(test::temp_dir("trainer_sgd_clip") + "/run");
        c.optimizer.name = name;
        c.optimizer.clip = clip;
        c.run.epochs = 1;
        testing::internal::CaptureStderr();
        train_unet(*b, c, in, quiet_options());
        const std::string log = testing::internal::GetCapturedStderr();
        if (clip == 1e-6 && std::string(name) == "sgd") {
            EXPECT_MESSAGE_HAS(log,
                               "optimizer.clip 1e-06 with sgd at lr 0.01 and momentum 0.9: "
                               "the gradient moves the weights by at most lr * clip / (1 - "
                               "momentum) = 1e-07, the run's 2 steps by at most 2e-07");
            EXPECT_MESSAGE_HAS(log, "the model can hardly learn; raise optimizer.clip");
        } else {
            EXPECT_EQ(log.find("can hardly learn"), std::string::npos) << name << " " << clip;
        }
    }
}

// The trainer clips the whole gradient to optimizer.clip before the step: one SGD step (no
// momentum, no decay) moves the parameters by exactly lr * clip in L2 norm, whatever the
// gradient's own norm; unclipped, by far more here. (A semantics audit found clipping pinned op by
// op, but no test that would fail were the trainer to skip it or clip only some gradients.)
TEST(Trainer, OneClippedSgdStepMovesTheWeightsByLrTimesClip) {
    auto b = test::cpu_backend();
    const TrainInputs in = synthetic_inputs(2, 32, false);
    const auto moved = [&](double clip) {
        Config c = small_config(test::temp_dir("trainer_clip_step") + "/run");
        c.optimizer.name = "sgd";
        c.optimizer.momentum = 0;
        c.optimizer.weight_decay = 0;
        c.optimizer.lr = 0.1;
        c.optimizer.clip = clip;
        c.run.epochs = 1;  // 2 samples in a batch of 2: one step
        c.data.augment = false;
        testing::internal::CaptureStderr();
        const TrainResult r = train_unet(*b, c, in, quiet_options());
        testing::internal::GetCapturedStderr();
        UNetConfig uc;
        uc.in_channels = in.stats.channels;
        uc.num_classes = static_cast<int>(in.class_names.size());
        uc.depth = c.model.depth;
        uc.base_width = c.model.width;
        UNet initial(*b, uc, c.run.seed);  // the trainer's starting weights
        const Checkpoint ck = read_checkpoint(r.last_checkpoint);
        EXPECT_EQ(ck.meta["state"]["global_step"], 1);
        double sum = 0;
        std::size_t params = 0;
        for (Parameter* p : initial.parameters()) {
            const Tensor* t = ck.find("param." + p->name);
            if (t == nullptr) {
                ADD_FAILURE() << p->name << " is not in the checkpoint";
                continue;
            }
            const float* w0 = p->value.data<float>();
            const float* w1 = t->data<float>();
            for (std::int64_t i = 0; i < p->value.numel(); ++i)
                sum += std::pow(static_cast<double>(w1[i]) - w0[i], 2);
            ++params;
        }
        EXPECT_GT(params, 10u);
        return std::sqrt(sum);
    };
    EXPECT_NEAR(moved(0.01), 0.1 * 0.01, 1e-6);
    EXPECT_GT(moved(0.0), 10 * 0.1 * 0.01) << "the gradient's own norm is far above the clip";
}

// metrics.jsonl is appended to a line at a time, so a kill or a full disk during an append leaves
// its last line cut short (hostile-user probe: --resume then failed with "malformed line" and no
// hint). That line is a write that never finished: resume drops it, says so, and the file it goes
// on with is whole, one line per epoch. (An unparsable last line that has its newline was written
// whole: ResumeRefusesAMalformedMiddleMetricsLineSayingHowToRecover.)
TEST(Trainer, ResumeDropsATornLastMetricsLine) {
    auto b = test::cpu_backend();
    const TrainInputs in = synthetic_inputs(4, 32, false);
    for (const std::string torn : {"{\"epoch\":3,\"train_lo", "{\"epoch\":3,\"train_lo  \r"}) {
        Config c = small_config(test::temp_dir("trainer_torn") + "/run");
        c.run.epochs = 2;
        const TrainOptions o = quiet_options();
        const TrainResult first = train_unet(*b, c, in, o);
        { std::ofstream(first.metrics_path, std::ios::app) << torn; }
        c.run.epochs = 3;
        TrainOptions resume = o;
        resume.resume = true;
        testing::internal::CaptureStderr();
        TrainResult rest;
        try {
            rest = train_unet(*b, c, in, resume);
        } catch (const InputError& e) {
            testing::internal::GetCapturedStderr();
            FAIL() << e.what();
        }
        const std::string log = testing::internal::GetCapturedStderr();
        EXPECT_MESSAGE_HAS(log, "dropped its last line");
        EXPECT_MESSAGE_HAS(log, "{\"epoch\":3,\"train_lo");
        EXPECT_EQ(rest.epochs_completed, 3);
        const auto lines = read_metrics(rest.metrics_path);  // every line parses
        ASSERT_EQ(lines.size(), 3u);
        for (int e = 0; e < 3; ++e) EXPECT_EQ(lines[static_cast<std::size_t>(e)]["epoch"], e + 1);
        EXPECT_EQ(read_whole_file(rest.metrics_path).back(), '\n');
        for (const auto& f : fs::directory_iterator(c.run.out))  // rewritten through a temporary
            EXPECT_EQ(f.path().filename().string().find(".tmp"), std::string::npos) << f.path();
    }
}

// A malformed line before the last is no unfinished write, nor is a malformed last line that ends
// in its newline (an append writes it last; such a line was dropped as a kill's, robustness
// probe): resume refuses them, naming the line and how to go on, and leaves the file as it was.
TEST(Trainer, ResumeRefusesAMalformedMiddleMetricsLineSayingHowToRecover) {
    auto b = test::cpu_backend();
    const TrainInputs in = synthetic_inputs(4, 32, false);
    Config c = small_config(test::temp_dir("trainer_malformed") + "/run");
    c.run.epochs = 2;
    const TrainOptions o = quiet_options();
    const TrainResult first = train_unet(*b, c, in, o);
    const std::string text = read_whole_file(first.metrics_path);
    const std::string broken = text.substr(0, text.find('\n') + 1) + "{\"epoch\":2,\"train_lo\n" +
                               text.substr(text.find('\n') + 1);
    write_file_atomically(first.metrics_path, broken);
    c.run.epochs = 3;
    TrainOptions resume = o;
    resume.resume = true;
    const std::string msg = test::input_error_message([&] { train_unet(*b, c, in, resume); });
    EXPECT_MESSAGE_HAS(msg, "metrics.jsonl: line 2");
    EXPECT_MESSAGE_HAS(msg, "remove or repair that line");
    EXPECT_MESSAGE_HAS(msg, "--force");
    EXPECT_EQ(read_whole_file(first.metrics_path), broken);

    const std::string last_whole = text + "garbage\n";
    write_file_atomically(first.metrics_path, last_whole);
    const std::string said = test::input_error_message([&] { train_unet(*b, c, in, resume); });
    EXPECT_MESSAGE_HAS(said, "metrics.jsonl: line 3 is malformed: garbage");
    EXPECT_EQ(read_whole_file(first.metrics_path), last_whole);
}

// Epochs are appended in order, once each: a metrics.jsonl whose lines repeat or go back (edited,
// or two files joined) is refused on resume, since its curves would go back in time; one that lost
// lines is said, and the run continues.
TEST(Trainer, ResumeRefusesRepeatedEpochsAndSaysMissingOnes) {
    auto b = test::cpu_backend();
    const TrainInputs in = synthetic_inputs(4, 32, false);
    Config c = small_config(test::temp_dir("trainer_metrics_order") + "/run");
    c.run.epochs = 2;
    const TrainOptions o = quiet_options();
    const TrainResult first = train_unet(*b, c, in, o);
    const std::string text = read_whole_file(first.metrics_path);
    write_file_atomically(first.metrics_path, text + text);  // epochs 1, 2, 1, 2
    c.run.epochs = 3;
    TrainOptions resume = o;
    resume.resume = true;
    const std::string msg = test::input_error_message([&] { train_unet(*b, c, in, resume); });
    EXPECT_MESSAGE_HAS(msg, "metrics.jsonl: line 3 repeats or goes back to epoch 1 after epoch 2");
    EXPECT_EQ(read_whole_file(first.metrics_path), text + text);
    std::string halves = text;  // epoch 2 as 2.5
    const std::size_t at = halves.find("\"epoch\":2");
    ASSERT_NE(at, std::string::npos);
    halves.insert(at + 9, ".5");
    write_file_atomically(first.metrics_path, halves);
    EXPECT_MESSAGE_HAS(test::input_error_message([&] { train_unet(*b, c, in, resume); }),
                       "metrics.jsonl: line 2 has no epoch number (1, 2, ...)");
    // A line past the checkpoint before the last (epoch 1 edited to 99) is no line a stop leaves:
    // refused, not dropped as "run again" with the record of epoch 1 it replaced.
    std::string ahead = text;
    const std::size_t one = ahead.find("\"epoch\":1");
    ASSERT_NE(one, std::string::npos);
    ahead.replace(one, 9, "\"epoch\":99");
    write_file_atomically(first.metrics_path, ahead);
    EXPECT_MESSAGE_HAS(test::input_error_message([&] { train_unet(*b, c, in, resume); }),
                       "metrics.jsonl: line 2 repeats or goes back to epoch 2 after epoch 99");
    EXPECT_EQ(read_whole_file(first.metrics_path), ahead);

    write_file_atomically(first.metrics_path, "");
    testing::internal::CaptureStderr();
    const TrainResult resumed = train_unet(*b, c, in, resume);
    const std::string said = testing::internal::GetCapturedStderr();
    EXPECT_MESSAGE_HAS(said, "metrics.jsonl: holds 0 of the 2 epochs the checkpoint has completed");
    EXPECT_EQ(resumed.epochs_completed, 3);
    EXPECT_EQ(read_metrics(first.metrics_path).size(), 1u);
}

// A step that cannot fit in the machine's memory is refused before training, with the estimate
// and a crop that fits; one above what is available now is warned about; the GPU is not judged
// by host memory. The estimate is that measured (2000x2000 at width 8, batch 1: 3.64 GB).
TEST(Trainer, AStepLargerThanTheMachinesMemoryIsRefusedWithACropThatFits) {
    EXPECT_NEAR(training_step_bytes(2000 * 2000, 1, 8), 3.64e9, 0.2 * 3.64e9);
    std::vector<SampleData> train(4), val;
    for (SampleData& s : train) s.image = RgbImage(2000, 2000);
    Config cfg;
    cfg.model.width = 32;
    cfg.run.batch_size = 8;  // 4 images: batches of 4
    const double gb = 1e9;
    auto check = [&](double total, double available, bool resuming,
                     DeviceKind device = DeviceKind::cpu) {
        check_training_memory(training_footprint(train, val, cfg.data.crop_size), cfg, device,
                              total, available, resuming);
    };
    const std::string msg = test::input_error_message([&] { check(16 * gb, 15 * gb, false); });
    EXPECT_MESSAGE_HAS(msg,
                       "training on whole 2000x2000 images (data.crop_size = 0) at batch 4 and "
                       "model.width 32 needs about 53.0 GB (52.8 GB for one step on the CPU, "
                       "124.2 MB for the weights, gradients and optimizer state, 80.0 MB for "
                       "the 4 training and validation samples it holds at 5 bytes a "
                       "pixel), more than this machine's 16.0 GB of memory; train on crops of at "
                       "most 768 (--crop-size 512: about 3.5 GB a step)");
    cfg.data.crop_size = 512;
    EXPECT_NO_THROW(check(16 * gb, 15 * gb, false));
    cfg.data.crop_size = 0;
    EXPECT_NO_THROW(check(16 * gb, 15 * gb, false, DeviceKind::cuda));
    EXPECT_NO_THROW(check(0, 0, false));  // unknown
    testing::internal::CaptureStderr();
    check(64 * gb, 30 * gb, false);
    EXPECT_MESSAGE_HAS(testing::internal::GetCapturedStderr(),
                       "close to or more than the 30.0 GB of memory available now");
    // Without swap the system kills a run past the memory (a probe's, at 1.11x, after 131 s and
    // with no message): refused past the memory itself. With swap, only well past it.
    auto check_swap = [&](double total, double swap, bool resuming) {
        check_training_memory(training_footprint(train, val, cfg.data.crop_size), cfg,
                              DeviceKind::cpu, total, total, resuming, swap);
    };
    testing::internal::CaptureStderr();
    EXPECT_NO_THROW(check_swap(48 * gb, 8 * gb, false));  // 53.0 GB: 1.10x the memory
    EXPECT_MESSAGE_HAS(testing::internal::GetCapturedStderr(), "the machine may swap");
    EXPECT_MESSAGE_HAS(test::input_error_message([&] { check_swap(48 * gb, 0, false); }),
                       "more than the 48.0 GB of memory available now (and it has no swap: the "
                       "system would stop the run without a message); train on crops");
    // Nearly all of it (a walkthrough's run estimated at 0.99x the memory was killed, silently,
    // after 3 minutes), or more than other programs leave available now.
    EXPECT_MESSAGE_HAS(test::input_error_message([&] { check_swap(53.5 * gb, 0, false); }),
                       "nearly all of the 53.5 GB of memory available now");
    EXPECT_MESSAGE_HAS(test::input_error_message([&] {
                           check_training_memory(training_footprint(train, val, 0), cfg,
                                                 DeviceKind::cpu, 64 * gb, 40 * gb, false, 0);
                       }),
                       "more than the 40.0 GB of memory available now");
    EXPECT_NO_THROW(check_swap(60 * gb, 0, false));  // below the memory: a warning
    testing::internal::CaptureStderr();
    EXPECT_NO_THROW(check_swap(48 * gb, 0, true));
    EXPECT_MESSAGE_HAS(testing::internal::GetCapturedStderr(), "this machine has no swap");
    // A resume is never refused (the run trained here before), only warned about.
    testing::internal::CaptureStderr();
    EXPECT_NO_THROW(check(16 * gb, 15 * gb, true));
    EXPECT_MESSAGE_HAS(testing::internal::GetCapturedStderr(), "needs about 53.0 GB");
    // The samples are held for the whole run (5 bytes a pixel): many of them do not fit however
    // small the crop, and the advice is fewer samples. 400 images of 2000x2000: 8 GB.
    TrainingFootprint many_samples{256, 256, 400, 400 * 5.0 * 2000 * 2000};
    cfg.data.crop_size = 256;
    const std::string many = test::input_error_message(
        [&] { check_training_memory(many_samples, cfg, DeviceKind::cpu, 6 * gb, 5 * gb, false); });
    EXPECT_MESSAGE_HAS(many,
                       "training on 256x256 crops at batch 8 and model.width 32 needs about 9.9 "
                       "GB (1.7 GB for one step on the CPU, 124.2 MB for the weights, gradients "
                       "and optimizer state, 8.0 GB for the 400 training and "
                       "validation samples it holds at 5 bytes a pixel), more than this machine's "
                       "6.0 GB of memory; train on fewer samples (data.max_samples, or a shorter "
                       "data.train_list)");
    EXPECT_EQ(many.find("crops of at most"), std::string::npos) << "a 256 crop fits alone";
    // On CUDA the step is the device's, but the samples are in host memory all the same.
    const std::string on_gpu = test::input_error_message(
        [&] { check_training_memory(many_samples, cfg, DeviceKind::cuda, 6 * gb, 5 * gb, false); });
    EXPECT_MESSAGE_HAS(on_gpu,
                       "training on 400 samples needs about 8.0 GB of host memory (8.0 GB "
                       "for the 400 training and validation samples it holds at 5 bytes "
                       "a pixel), more than this machine's 6.0 GB of memory; train on "
                       "fewer samples");
    // Whole 9000x9000 images: neither fewer samples alone nor a crop beside all of them fits.
    TrainingFootprint huge{9000, 9000, 20, 20 * 5.0 * 9000 * 9000};
    cfg.data.crop_size = 0;
    const std::string both = test::input_error_message(
        [&] { check_training_memory(huge, cfg, DeviceKind::cpu, 16 * gb, 15 * gb, false); });
    EXPECT_MESSAGE_HAS(both,
                       "train on fewer samples (data.max_samples, or a shorter "
                       "data.train_list) and on crops of at most");
    // A model whose weights, gradients and Adam state alone pass the memory (width 128, depth
    // 8: 31.9G parameters): the step's pixels were counted and the model was not, so a hostile
    // probe's run allocated tens of GB past the estimate; no crop helps, the model is named.
    cfg.model.width = 128;
    cfg.model.depth = 8;
    cfg.data.crop_size = 256;
    const std::string model = test::input_error_message([&] { check(64 * gb, 60 * gb, false); });
    EXPECT_MESSAGE_HAS(model,
                       "lower model.width or model.depth (the model's 31854431238 "
                       "parameters, their gradients and the optimizer's state alone need "
                       "about 509.7 GB)");
}

// pfce train refuses a run that cannot fit before reading a pixel: from the files' sizes, as the
// dataset's headers give them (a whole large dataset took minutes to read before the refusal).
TEST(Trainer, TheMemoryCheckUsesTheFilesSizesBeforeReadingPixels) {
    const std::string dir = test::temp_dir("trainer_memory_sizes");
    const std::string synth = write_synthetic(dir + "/synth", 6, 64);
    const Dataset ds = Dataset::open(synth);
    Split split;
    split.train = {0, 1, 2, 3};
    split.val = {4};
    const TrainingFootprint f = training_footprint(ds, split, 0);
    EXPECT_EQ(f.width, 64);
    EXPECT_EQ(f.height, 64);
    EXPECT_EQ(f.train_count, 4u);
    EXPECT_EQ(f.data_bytes, 5.0 * 5 * 64 * 64);
    EXPECT_EQ(training_footprint(ds, split, 32).width, 32);

    // PNGs whose headers say 9000x9000 and whose pixel data is 100 bytes: pfce train refuses them
    // for memory (a step of whole 9000x9000 images needs hundreds of GB), not for the damage it
    // would find reading them.
    const std::string big = dir + "/big";
    fs::create_directories(big + "/images");
    fs::create_directories(big + "/masks");
    for (const char* id : {"a", "b", "c"}) {
        test::write_header_only_png(big + "/images/" + id + ".png", 9000, 9000, '\2');
        test::write_header_only_png(big + "/masks/" + id + ".png", 9000, 9000, '\0');
    }
    std::ofstream(big + "/dataset.toml")
        << "[classes]\nnames = [\"x\", \"y\"]\n[mask]\nencoding = \"index\"\n";
    if (machine_memory().total <= 0) GTEST_SKIP() << "/proc/meminfo gives no total memory";
    const test::CommandResult r =
        test::run_pfce("train --data " + big + " --device cpu --out " + dir + "/run --epochs 1");
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_MESSAGE_HAS(r.output,
                       "training on whole 9000x9000 images (data.crop_size = 0) at batch");
    EXPECT_MESSAGE_HAS(r.output, "for one step on the CPU, ");
    EXPECT_MESSAGE_HAS(r.output,
                       " training and validation samples it holds at 5 bytes a pixel), "
                       "more than ");  // this machine's memory, or (no swap) what is available
    EXPECT_FALSE(fs::exists(dir + "/run"));
}

TEST(TrainCli, TrainEvalPredictOnASyntheticDataset) {
    const std::string dir = test::temp_dir("trainer");
    const std::string synth = write_synthetic(dir + "/synth", 6, 32);
    const std::string pfce = test::pfce_binary();
    const std::string run = dir + "/run";
    const std::string train_cmd = pfce + " -q train --data " + synth +
                                  " --epochs 2 --batch-size 2 --width 4 "
                                  "--depth 1 --device cpu --out " +
                                  run + " > " + dir + "/train.txt 2>&1";
    ASSERT_EQ(std::system(train_cmd.c_str()), 0) << train_cmd;
    EXPECT_TRUE(fs::exists(run + "/best.ckpt"));
    EXPECT_EQ(read_metrics(run + "/metrics.jsonl").size(), 2u);
    // The same command again is refused (no silent overwrite) ...
    EXPECT_NE(std::system(train_cmd.c_str()), 0);
    // ... and --resume of a finished run trains nothing more.
    const std::string resume = pfce + " -q train --resume --out " + run + " > /dev/null 2>&1";
    EXPECT_EQ(std::system(resume.c_str()), 0);
    EXPECT_EQ(read_metrics(run + "/metrics.jsonl").size(), 2u);

    const std::string eval_cmd = pfce + " -q eval --checkpoint " + run + "/best.ckpt --data " +
                                 synth + " --split all --device cpu --json > " + dir + "/eval.json";
    ASSERT_EQ(std::system(eval_cmd.c_str()), 0) << eval_cmd;
    std::ifstream ef(dir + "/eval.json");
    const auto ej = nlohmann::json::parse(ef);
    EXPECT_EQ(ej["pixels"], 6 * 32 * 32);
    EXPECT_EQ(ej["iou"].size(), 6u);
    const test::CommandResult table = test::run_pfce(
        "-q eval --checkpoint " + run + "/best.ckpt --data " + synth + " --split all --device cpu");
    EXPECT_MESSAGE_HAS(table.output, "mIoU w/o clutter");  // the Potsdam palette has one

    const std::string img = synth + "/patches/Images/Image_1.tif";
    const std::string pred_cmd = pfce + " -q predict --checkpoint " + run + "/last.ckpt --input " +
                                 img + " --device cpu --out " + dir + "/pred.png > /dev/null";
    ASSERT_EQ(std::system(pred_cmd.c_str()), 0) << pred_cmd;
    EXPECT_TRUE(fs::exists(dir + "/pred.png"));
    EXPECT_TRUE(fs::exists(dir + "/pred_overlay.png"));
    // A mask file in a directory that does not exist yet: the directory is made.
    const std::string nested = dir + "/new/sub/pred.png";
    ASSERT_EQ(std::system((pred_cmd.substr(0, pred_cmd.find(" --out ")) + " --out " + nested +
                           " > /dev/null")
                              .c_str()),
              0);
    EXPECT_TRUE(fs::exists(nested));
    // Two inputs of a directory with one stem would write one mask: refused before anything runs,
    // naming both.
    fs::create_directories(dir + "/two");
    fs::copy_file(img, dir + "/two/x.tif");
    fs::copy_file(img, dir + "/two/x.TIF");
    const test::CommandResult clash =
        test::run_pfce("predict --checkpoint " + run + "/last.ckpt --device cpu --input " + dir +
                       "/two --out " + dir + "/two-out");
    EXPECT_NE(clash.status, 0);
    EXPECT_MESSAGE_HAS(clash.output, "x.tif");
    EXPECT_MESSAGE_HAS(clash.output, "x.TIF");
    EXPECT_MESSAGE_HAS(clash.output, "rename one");
    EXPECT_FALSE(fs::exists(dir + "/two-out/x.png"));
    // --recursive: a subdirectory named as an image's overlay would be a file and a directory of
    // masks at once; refused before anything runs (it failed at the rename, said to be another
    // command's file).
    fs::create_directories(dir + "/nest/x_overlay.png");
    fs::copy_file(img, dir + "/nest/x.tif");
    fs::copy_file(img, dir + "/nest/x_overlay.png/y.tif");
    const test::CommandResult nest =
        test::run_pfce("predict --checkpoint " + run + "/last.ckpt --device cpu --recursive " +
                       "--format png --input " + dir + "/nest --out " + dir + "/nest-out");
    EXPECT_NE(nest.status, 0);
    EXPECT_MESSAGE_HAS(nest.output,
                       "would write " + dir + "/nest-out/x_overlay.png, the directory");
    EXPECT_FALSE(fs::exists(dir + "/nest-out"));
    // An input too small for the network stops the command before any prediction is written,
    // naming it; so does a window that means nothing.
    fs::remove(dir + "/two/x.TIF");
    write_png(dir + "/two/y.png", test::random_rgb(1, 1, 3));
    write_png(dir + "/two/z.png", test::random_rgb(2, 1, 3));
    const test::CommandResult tiny =
        test::run_pfce("predict --checkpoint " + run + "/last.ckpt --device cpu --input " + dir +
                       "/two --out " + dir + "/tiny-out");
    EXPECT_NE(tiny.status, 0);
    EXPECT_MESSAGE_HAS(tiny.output, "2 images are too small for a depth-");
    // A file damaged past its header (found only when decoded): the other inputs are predicted,
    // the command fails at the end naming it, and with --force an earlier prediction of it is
    // removed, not left to pass for this one's.
    fs::create_directories(dir + "/dmg");
    fs::copy_file(img, dir + "/dmg/a.tif");
    write_png(dir + "/dmg/b.png", test::random_rgb(40, 40, 5));
    fs::copy_file(img, dir + "/dmg/c.tif");
    const std::string into_dmg = "predict --checkpoint " + run +
                                 "/last.ckpt --device cpu --input " + dir + "/dmg --out " + dir +
                                 "/dmg-out";
    ASSERT_EQ(test::run_pfce(into_dmg).status, 0);
    ASSERT_TRUE(fs::exists(dir + "/dmg-out/b.png"));
    fs::resize_file(dir + "/dmg/b.png", fs::file_size(dir + "/dmg/b.png") * 2 / 3);
    const test::CommandResult damaged = test::run_pfce(into_dmg + " --force");
    EXPECT_EQ(damaged.status, 3) << damaged.output;  // some written: not a refusal (2)
    EXPECT_MESSAGE_HAS(damaged.output,
                       "1 of 3 inputs could not be read or predicted and have no prediction "
                       "(the other 2 were written; each failed one is named "
                       "above, with why): " +
                           dir + "/dmg/b.png");
    EXPECT_MESSAGE_HAS(damaged.output, "its earlier one is removed: " + dir + "/dmg-out/b.png");
    EXPECT_TRUE(fs::exists(dir + "/dmg-out/a.png"));
    EXPECT_TRUE(fs::exists(dir + "/dmg-out/c.png"));
    EXPECT_FALSE(fs::exists(dir + "/dmg-out/b.png"));
    EXPECT_FALSE(fs::exists(dir + "/dmg-out/b_overlay.png"));
    EXPECT_MESSAGE_HAS(tiny.output, "y.png (1x1), " + dir + "/two/z.png (2x1); leave them out");
    EXPECT_FALSE(fs::exists(dir + "/tiny-out/x.png"));
    // One image's file names its format: a --format that says otherwise is refused (it wrote a
    // PNG without a word); a name without extension takes --format's.
    const test::CommandResult format =
        test::run_pfce("predict --checkpoint " + run + "/last.ckpt --device cpu --input " + img +
                       " --format tif --out " + dir + "/f.png");
    EXPECT_EQ(format.status, 2) << format.output;
    EXPECT_MESSAGE_HAS(format.output, "--format tif but --out " + dir +
                                          "/f.png names a PNG file; expected --out " + dir +
                                          "/f.tif");
    EXPECT_FALSE(fs::exists(dir + "/f.png"));
    EXPECT_EQ(test::run_pfce("predict --checkpoint " + run + "/last.ckpt --device cpu --input " +
                             img + " --format tif --out " + dir + "/f")
                  .status,
              0);
    EXPECT_TRUE(fs::exists(dir + "/f.tif"));
    const test::CommandResult window =
        test::run_pfce("predict --checkpoint " + run + "/last.ckpt --input " + img +
                       " --window -5 --out " + dir + "/w.png");
    EXPECT_NE(window.status, 0);
    EXPECT_MESSAGE_HAS(window.output, "--window -5");
    const test::CommandResult sheet =
        test::run_pfce("data preview " + synth + " --out " + dir + "/sheet.jpg");
    EXPECT_NE(sheet.status, 0);
    EXPECT_MESSAGE_HAS(sheet.output, "expected a .png file");

    // A corrupted checkpoint is refused with its name in the message.
    std::fstream f(run + "/last.ckpt", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\x7f');
    f.close();
    const std::string bad = pfce + " predict --checkpoint " + run + "/last.ckpt --input " + img +
                            " --out " + dir + "/x.png 2> " + dir + "/err.txt";
    EXPECT_NE(std::system(bad.c_str()), 0);
    std::ifstream errf(dir + "/err.txt");
    const std::string err((std::istreambuf_iterator<char>(errf)), std::istreambuf_iterator<char>());
    EXPECT_NE(err.find("last.ckpt"), std::string::npos) << err;
    EXPECT_NE(err.find("checksum"), std::string::npos) << err;
}

// Ctrl-C during validation stops it (minutes of windows on large tiles; it ran to the end, then
// one more training step): the epoch's training is saved, --resume validates it and goes on,
// bit for bit as the run that was never stopped.
TEST(Trainer, AStopDuringValidationSavesTheEpochAndResumesBitIdentical) {
    auto b = test::cpu_backend();
    const TrainInputs in = synthetic_inputs(4, 32, true);
    const std::string root = test::temp_dir("trainer_stop_in_validation");
    Config c = small_config(root + "/a");
    c.run.seed = 5;
    c.schedule.name = "cosine";  // an lr that moves every step: the lines must record the same
    const TrainOptions o = quiet_options();
    const TrainResult full = train_unet(*b, c, in, o);
    ASSERT_EQ(full.steps, 6);

    c.run.out = root + "/b";
    TrainOptions stop = o;
    bool asked = false;
    stop.during_validation = [&] {
        if (!asked) request_stop();
        asked = true;
    };
    const TrainResult part = train_unet(*b, c, in, stop);
    clear_stop_request();
    EXPECT_TRUE(part.interrupted);
    EXPECT_EQ(part.steps, 2);  // epoch 1's two steps, none of epoch 2
    EXPECT_EQ(part.epochs_completed, 0);
    EXPECT_TRUE(read_metrics(part.metrics_path).empty());
    const TrainResult rest = resume_training(*b, c, in, o, 6);
    expect_same_tensors(full.last_checkpoint, rest.last_checkpoint);
    const auto la = read_metrics(full.metrics_path), lb = read_metrics(rest.metrics_path);
    ASSERT_EQ(lb.size(), 3u);
    for (std::size_t e = 0; e < 3; ++e) {
        EXPECT_EQ(la[e]["train_loss"], lb[e]["train_loss"]) << "epoch " << e + 1;
        EXPECT_EQ(la[e]["val_loss"], lb[e]["val_loss"]) << "epoch " << e + 1;
        // The lr of the epoch's last step, also for the epoch resumed with no step left (it
        // recorded the next step's).
        EXPECT_EQ(la[e]["lr"], lb[e]["lr"]) << "epoch " << e + 1;
    }
}

}  // namespace
// Training images of several sizes need crops of one size: the crop suggested lies inside every
// image (it suggested 512, which a dataset of 64-pixel chips then refused as too large).
TEST(TrainData, MixedSizesSuggestACropTheImagesTake) {
    const std::vector<ImageSize> sizes = {{48, 40}, {64, 64}, {64, 36}};
    const std::string message = test::input_error_message([&] {
        check_training_sizes(sizes, {"a", "b", "c"}, 0);
    });
    EXPECT_MESSAGE_HAS(message, "training images differ in size: a is 48x40, b is 64x64");
    EXPECT_MESSAGE_HAS(message, "e.g. --crop-size 36, the shortest side of the training images");
    EXPECT_NO_THROW(check_training_sizes(sizes, {"a", "b", "c"}, 36));
}

// Points that keep most of what the dense masks label are no sparse labels: said (a probe's
// points = 1000000000 trained on 100% of the pixels as "sparse" without a word); the default
// count on the same images is not.
TEST(TrainCli, SparsePointsThatKeepMostPixelsAreSaid) {
    const std::string dir = test::temp_dir("trainer_sparse_is_dense");
    const std::string synth = write_synthetic(dir + "/synth", 8, 64, 3);
    const std::string train = "train --data " + synth + " --label-kind sparse --epochs 1 " +
                              "--width 4 --depth 1 --device cpu --out " + dir;
    const test::CommandResult all = test::run_pfce(train + "/all --points 1000000000");
    ASSERT_EQ(all.status, 0) << all.output;
    EXPECT_MESSAGE_HAS(all.output,
                       "labels.points = [1000000000] keeps 100% of the pixels the "
                       "dense masks label: these are no sparse labels");
    const test::CommandResult some = test::run_pfce(train + "/some");
    ASSERT_EQ(some.status, 0) << some.output;
    EXPECT_EQ(some.output.find("no sparse labels"), std::string::npos) << some.output;
}

// Crops smaller than the gaps between sparse points leave most batches without a labelled pixel:
// they train nothing and count 0 in the epoch's mean loss, which read 0.54 for a network that had
// learned nothing (a probe) without a word. Counted in metrics.jsonl, beside the loss and warned.
TEST(TrainCli, BatchesWithoutALabelledPixelAreCountedAndSaid) {
    const std::string dir = test::temp_dir("trainer_unlabelled_batches");
    const std::string synth = write_synthetic(dir + "/synth", 12, 64, 3);
    const test::CommandResult r = test::run_pfce(
        "train --data " + synth + " --out " + dir + "/run --label-kind sparse --points 1 " +
        "--no-scale-by-area --crop-size 16 --batch-size 1 --epochs 1 --width 4 --depth 1 " +
        "--no-augment --device cpu");
    ASSERT_EQ(r.status, 0) << r.output;
    const std::vector<nlohmann::json> m = read_metrics(dir + "/run/metrics.jsonl");
    ASSERT_EQ(m.size(), 1u);
    const std::int64_t unlabelled = m[0].at("train_unlabelled_batches").get<std::int64_t>();
    EXPECT_GT(unlabelled, 0);
    EXPECT_MESSAGE_HAS(r.output, std::to_string(unlabelled) + " of ");
    EXPECT_MESSAGE_HAS(r.output, "training batches of epoch 1");
    EXPECT_MESSAGE_HAS(r.output, "hold no labelled pixel: they train nothing");
    EXPECT_MESSAGE_HAS(r.output, "batches unlabelled, at 0)");
    // Dense labels: every batch is labelled, nothing said.
    const test::CommandResult dense =
        test::run_pfce("train --data " + synth + " --out " + dir +
                       "/dense --crop-size 16 --batch-size 1 --epochs 1 --width 4 --depth 1 "
                       "--device cpu");
    ASSERT_EQ(dense.status, 0) << dense.output;
    EXPECT_EQ(read_metrics(dir + "/dense/metrics.jsonl")[0].at("train_unlabelled_batches"), 0);
    EXPECT_EQ(dense.output.find("no labelled pixel"), std::string::npos) << dense.output;
}

// An earlier last.ckpt put back into a run that went on rewinds it: said once, as a warning
// naming the epochs trained again (it was an info line per epoch), where a stop leaves one line.
TEST(Trainer, AnEarlierCheckpointPutBackIsSaidOnce) {
    auto b = test::cpu_backend();
    const TrainInputs in = synthetic_inputs(4, 32, false);
    Config c = small_config(test::temp_dir("trainer_rewound") + "/run");
    const std::string last = c.run.out + "/last.ckpt", early = c.run.out + "/../epoch1.ckpt";
    c.run.epochs = 1;
    train_unet(*b, c, in, quiet_options());
    fs::copy_file(last, early);
    TrainOptions resume = quiet_options();
    resume.resume = true;
    c.run.epochs = 3;
    train_unet(*b, c, in, resume);
    fs::copy_file(early, last, fs::copy_options::overwrite_existing);
    testing::internal::CaptureStderr();
    const TrainResult r = train_unet(*b, c, in, resume);
    const std::string said = testing::internal::GetCapturedStderr();
    EXPECT_MESSAGE_HAS(said,
                       "metrics.jsonl: dropped the lines of epochs 2..3, past the "
                       "checkpoint's 1: a stop leaves one such line at most");
    EXPECT_EQ(said.find("dropped the line of epoch"), std::string::npos) << said;
    EXPECT_EQ(r.epochs_completed, 3);
    EXPECT_EQ(read_metrics(c.run.out + "/metrics.jsonl").size(), 3u);
}
// schedule.plateau_metric = "val_iou:CLASS": a plateau schedule watches that class's validation
// IoU (higher is better) as best.ckpt may; a class no validation mask holds falls back to the
// validation loss, said; a class the dataset lacks is refused before training.
TEST(Trainer, PlateauScheduleCanWatchOneClassIou) {
    auto b = test::cpu_backend();
    const TrainInputs in = synthetic_inputs(4, 32, true);
    ASSERT_GE(in.class_names.size(), 2u);
    const std::string name = in.class_names[1];
    Config c = small_config(test::temp_dir("trainer_plateau_class") + "/run");
    c.run.epochs = 6;
    c.schedule.name = "plateau";
    c.schedule.plateau_metric = std::string(kBestIouPrefix) + name;
    c.schedule.plateau_patience = 0;
    c.schedule.plateau_threshold = 0;
    c.schedule.plateau_factor = 0.5;
    validate(c, "x");
    const TrainResult r = train_unet(*b, c, in, quiet_options());
    const auto lines = read_metrics(r.metrics_path);
    ASSERT_EQ(lines.size(), 6u);
    // Replayed: an epoch whose class IoU does not beat the best so far halves the next epoch's
    // lr (patience 0); the validation loss would have decided otherwise somewhere.
    double best_iou = -1, best_loss = 1e300;
    bool loss_differs = false;
    for (std::size_t e = 0; e + 1 < lines.size(); ++e) {
        const double iou = lines[e]["val_iou"][1].get<double>();
        const double loss = lines[e]["val_loss"].get<double>();
        const bool better = iou > best_iou;
        loss_differs = loss_differs || better != (loss < best_loss);
        best_iou = std::max(best_iou, iou);
        best_loss = std::min(best_loss, loss);
        EXPECT_DOUBLE_EQ(lines[e + 1]["lr"].get<double>(),
                         lines[e]["lr"].get<double>() * (better ? 1.0 : 0.5))
            << "epoch " << e + 2 << ": " << lines[e].dump();
    }
    if (!loss_differs) std::printf("note: the validation loss made the same decisions here\n");

    // Resumed where no validation mask holds the class any more, the plateau watches the
    // validation loss: its best and patience start over, said, rather than comparing a loss with
    // the IoU it kept.
    TrainInputs lost = in;
    for (SampleData& s : lost.val)
        for (std::uint8_t& v : s.dense.labels)
            if (v == 1) v = 0;
    Config longer = c;
    longer.run.epochs = 8;
    TrainOptions resume = quiet_options();
    resume.resume = true;
    testing::internal::CaptureStderr();
    train_unet(*b, longer, lost, resume);
    const std::string said_resume = testing::internal::GetCapturedStderr();
    EXPECT_MESSAGE_HAS(said_resume, "the plateau schedule watched val_iou:" + name +
                                        " up to epoch 6; from this resume on it watches "
                                        "val_loss: its best and patience start over");
    // The lr stays: epoch 7 runs at what epoch 6 decided under the old watch.
    const auto resumed = read_metrics(r.metrics_path);
    ASSERT_EQ(resumed.size(), 8u);
    EXPECT_DOUBLE_EQ(resumed[6]["lr"].get<double>(),
                     lines[5]["lr"].get<double>() *
                         (lines[5]["val_iou"][1].get<double>() > best_iou ? 1.0 : 0.5));
    // Epoch 7, the first watched on the loss, sets its best (an IoU kept as the best would have
    // beaten every loss, and halved the lr of epoch 8).
    EXPECT_DOUBLE_EQ(resumed[7]["lr"].get<double>(), resumed[6]["lr"].get<double>());

    // No validation mask holds the class: the validation loss instead, said.
    TrainInputs no_class = in;
    for (SampleData& s : no_class.val)
        for (std::uint8_t& v : s.dense.labels)
            if (v == 1) v = 0;
    Config absent = c;
    absent.run.out = test::temp_dir("trainer_plateau_absent") + "/run";
    absent.run.epochs = 2;
    testing::internal::CaptureStderr();
    train_unet(*b, absent, no_class, quiet_options());
    const std::string said = testing::internal::GetCapturedStderr();
    EXPECT_MESSAGE_HAS(said, "no validation mask labels a pixel of " + name);
    EXPECT_MESSAGE_HAS(
        said, "the plateau schedule follows the validation loss instead of val_iou:" + name);
    // best.ckpt following the same class: one line says both.
    absent.run.best_metric = c.schedule.plateau_metric;
    absent.run.out = test::temp_dir("trainer_plateau_absent_both") + "/run";
    testing::internal::CaptureStderr();
    train_unet(*b, absent, no_class, quiet_options());
    const std::string both = testing::internal::GetCapturedStderr();
    EXPECT_MESSAGE_HAS(both,
                       "best.ckpt and the plateau schedule follow the validation loss "
                       "instead of val_iou:" +
                           name);
    EXPECT_EQ(both.find("no validation mask labels"), both.rfind("no validation mask labels"))
        << both;

    Config typo = c;
    typo.run.out = test::temp_dir("trainer_plateau_typo") + "/run";
    typo.schedule.plateau_metric = std::string(kBestIouPrefix) + name + "s";
    EXPECT_MESSAGE_HAS(
        test::input_error_message([&] { train_unet(*b, typo, in, quiet_options()); }),
        "schedule.plateau_metric = \"val_iou:" + name + "s\": the dataset has no class");
    const std::string early = test::input_error_message([&] {
        validate_for_classes(typo, in.class_names, "ds",
                             [](const std::vector<std::string>&) { return std::string("x.toml"); });
    });
    EXPECT_MESSAGE_HAS(early, "x.toml: schedule.plateau_metric = \"val_iou:" + name + "s\"");
    EXPECT_MESSAGE_HAS(early, "did you mean val_iou:" + name + "?");
    // Another schedule ignores it (config_unused says so): its class is not looked for.
    typo.schedule.name = "constant";
    EXPECT_NO_THROW(validate_for_classes(typo, in.class_names, "ds",
                                         [](const auto&) { return std::string("x.toml"); }));
    typo.schedule.plateau_metric = "val_accuracy";
    EXPECT_MESSAGE_HAS(test::input_error_message([&] { validate(typo, "x"); }),
                       "schedule.plateau_metric = \"val_accuracy\": expected the metric watched: "
                       "val_loss, val_miou, or val_iou:CLASS");
}

// run.best_metric = "val_iou:CLASS" keeps the epoch of that class's highest validation IoU (for a
// building-extraction dataset the background's IoU makes the mIoU follow it little); a class the
// dataset lacks is refused before training, naming the classes and the nearest; resume checks the
// recorded best against the class's entry of val_iou.
TEST(Trainer, BestCheckpointCanFollowOneClassIou) {
    auto b = test::cpu_backend();
    const TrainInputs in = synthetic_inputs(4, 32, true);
    ASSERT_GE(in.class_names.size(), 2u);
    const std::string name = in.class_names[1];
    Config c = small_config(test::temp_dir("trainer_best_class") + "/run");
    c.run.epochs = 4;
    c.run.best_metric = std::string(kBestIouPrefix) + name;
    validate(c, "x");
    const TrainResult r = train_unet(*b, c, in, quiet_options());
    EXPECT_EQ(r.best_metric, c.run.best_metric);
    const auto lines = read_metrics(r.metrics_path);
    ASSERT_EQ(lines.size(), 4u);
    std::size_t highest = 0;
    for (std::size_t e = 1; e < lines.size(); ++e)
        if (lines[e]["val_iou"][1].get<double>() > lines[highest]["val_iou"][1].get<double>())
            highest = e;
    EXPECT_EQ(r.best_epoch, static_cast<int>(highest) + 1);
    EXPECT_EQ(r.best_value, lines[highest]["val_iou"][1].get<double>());
    // Resumed with more epochs, the record agrees with metrics.jsonl; its class's entry of
    // val_iou at the best epoch is what the check reads (another value there: another run's).
    Config more = c;
    more.run.epochs = 5;
    TrainOptions o = quiet_options();
    o.resume = true;
    const std::string metrics_path = c.run.out + "/metrics.jsonl";
    const std::string metrics = read_whole_file(metrics_path);
    std::string forged;
    for (nlohmann::json line : lines) {
        if (line["epoch"] == r.best_epoch) line["val_iou"][1] = 0.123456;
        forged += line.dump() + "\n";
    }
    write_file_atomically(metrics_path, forged);
    EXPECT_MESSAGE_HAS(test::input_error_message([&] { train_unet(*b, more, in, o); }),
                       "its metrics.jsonl has 0.123456 there");
    write_file_atomically(metrics_path, metrics);
    EXPECT_NO_THROW(train_unet(*b, more, in, o));
    // Resumed where no validation mask holds the class any more, the run follows the validation
    // loss: its best starts over, said, rather than comparing a loss with the IoU recorded.
    TrainInputs lost = in;
    for (SampleData& s : lost.val)
        for (std::uint8_t& v : s.dense.labels)
            if (v == 1) v = 0;
    Config longer = c;
    longer.run.epochs = 6;
    testing::internal::CaptureStderr();
    TrainResult switched;
    try {
        switched = train_unet(*b, longer, lost, o);
    } catch (const InputError& e) {
        testing::internal::GetCapturedStderr();
        GTEST_SKIP() << "changed validation labels are refused on resume: " << e.what();
    }
    const std::string said_resume = testing::internal::GetCapturedStderr();
    EXPECT_MESSAGE_HAS(said_resume, "followed val_iou:" + name + " up to epoch 5");
    EXPECT_MESSAGE_HAS(said_resume, "from this resume on it follows val_loss");
    EXPECT_EQ(switched.best_metric, "val_loss");
    EXPECT_EQ(switched.best_epoch, 6);

    Config typo = small_config(test::temp_dir("trainer_best_typo") + "/run");
    typo.run.best_metric = std::string(kBestIouPrefix) + name + "s";
    const std::string msg =
        test::input_error_message([&] { train_unet(*b, typo, in, quiet_options()); });
    EXPECT_MESSAGE_HAS(msg,
                       "run.best_metric = \"val_iou:" + name + "s\": the dataset has no class");
    EXPECT_MESSAGE_HAS(msg, "did you mean val_iou:" + name + "?");
    // Checked with the dataset's classes before anything trains, naming where it was set.
    const std::string early = test::input_error_message([&] {
        validate_for_classes(typo, in.class_names, "ds",
                             [](const std::vector<std::string>&) { return std::string("x.toml"); });
    });
    EXPECT_MESSAGE_HAS(early, "x.toml: run.best_metric = \"val_iou:" + name + "s\"");
    EXPECT_MESSAGE_HAS(early, "did you mean val_iou:" + name + "?");
    // A class no validation mask holds: the validation loss instead, said at the start.
    TrainInputs no_class = in;
    for (SampleData& s : no_class.val)
        for (std::uint8_t& v : s.dense.labels)
            if (v == 1) v = 0;
    Config absent = small_config(test::temp_dir("trainer_best_absent") + "/run");
    absent.run.best_metric = c.run.best_metric;
    testing::internal::CaptureStderr();
    const TrainResult fell = train_unet(*b, absent, no_class, quiet_options());
    const std::string said = testing::internal::GetCapturedStderr();
    EXPECT_EQ(fell.best_metric, "val_loss");
    EXPECT_MESSAGE_HAS(said, "no validation mask labels a pixel of " + name);
    EXPECT_MESSAGE_HAS(said, "best.ckpt follows the validation loss instead of val_iou:" + name);
    Config empty = typo;
    empty.run.best_metric = kBestIouPrefix;
    EXPECT_THROW(validate(empty, "x"), InputError);
    empty.run.best_metric = "val_accuracy";
    EXPECT_THROW(validate(empty, "x"), InputError);
}

}  // namespace pfce
