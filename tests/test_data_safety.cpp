// Nothing a user types destroys data (issue: hostile-user probe). Each case failed before the fix:
// synthetic data generated over a real dataset, masks written into an image folder, an earlier
// run's results deleted, outputs written over inputs, half-written files on a full disk, seeds that
// made a run's own checkpoints unreadable, and a linking radius that crashed the process.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <png.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <vector>

#include "core/dir_lock.hpp"
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/output_dir.hpp"
#include "core/stop_signal.hpp"
#include "data/dataset.hpp"
#include "data/image_io.hpp"
#include "data/linking.hpp"
#include "data/mask_dir.hpp"
#include "data/sparse_masks.hpp"
#include "data/synth.hpp"
#include "host/cli/cli_checks.hpp"
#include "host/train/train_data.hpp"
#include "tests/foreign_dataset.hpp"
#include "tests/test_util.hpp"

using namespace pfce;
namespace fs = std::filesystem;

namespace {

// Every regular file under `dir` with its bytes, to prove a command changed nothing.
std::map<std::string, std::string> snapshot(const std::string& dir) {
    std::map<std::string, std::string> files;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.is_regular_file()) files[e.path().string()] = read_whole_file(e.path().string());
    return files;
}

// A dataset a user brought: Kaggle layout, written without any pfce marker.
std::string write_user_dataset(const std::string& root) {
    return test::write_synthetic(root, 6, 32, 77);
}

// The PID of a process that has exited (and been reaped): no process has it now.
pid_t dead_pid() {
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(0);
    int st = 0;
    ::waitpid(pid, &st, 0);
    return pid;
}

// A temporary of temp_path_for's form for `target` beside it, as a writer with `pid` leaves it.
std::string plant_temp(const std::string& target, pid_t pid, int n) {
    const fs::path t(target);
    std::string name = ".";  // appended to: GCC 12 warns (-Wrestrict) at "." + string&&
    name += t.filename().string() + ".tmp" + std::to_string(pid) + "_" + std::to_string(n);
    const std::string p = (t.parent_path() / name).string();
    std::ofstream(p) << "partial";
    return p;
}

// `pfce args` where file permissions apply: root ignores them, so as root it runs as nobody
// (setpriv); "" status -1 when that is not possible.
// Nobody must also be able to run the binary and read `readable` (a clone in a mktemp -d
// directory, mode 0700, lets no one else in): otherwise status -1 as well.
test::CommandResult run_pfce_unprivileged(const std::string& args, const std::string& readable) {
    if (::geteuid() != 0) return test::run_pfce(args);
    test::CommandResult r;
    if (std::system("command -v setpriv > /dev/null") != 0) return r;
    const std::string as_nobody = "setpriv --reuid=65534 --regid=65534 --clear-groups ";
    if (std::system((as_nobody + "sh -c 'test -x \"$0\" && test -r \"$1\"' \"" +
                     test::pfce_binary() + "\" \"" + readable + "\" > /dev/null 2>&1")
                        .c_str()) != 0)
        return r;
    return test::run_command(as_nobody + "\"" + test::pfce_binary() + "\" " + args + " 2>&1");
}

// A directory nobody but root may write into (mode 0555).
std::string read_only_dir(const std::string& path) {
    fs::create_directories(path);
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                              fs::perms::group_exec | fs::perms::others_read |
                              fs::perms::others_exec);
    return path;
}

// `pfce train` of a one-epoch U-Net of width 4 on `data` into `run`: a checkpoint to predict with.
test::CommandResult train_tiny_run(const std::string& data, const std::string& run) {
    return test::run_pfce("train --data " + data + " --out " + run +
                          " --epochs 1 --batch-size 4 --width 4 --depth 1 --device cpu");
}

// A run's data settings for the synthetic dataset of (count, size, seed) in `root`.
DataSettings synthetic_settings(const std::string& root, int count, int size, std::uint64_t seed) {
    DataSettings d;
    d.source = "synthetic";
    d.root = root;
    d.synthetic_count = count;
    d.synthetic_size = size;
    d.synthetic_seed = seed;
    return d;
}

}  // namespace

TEST(DataSafety, SyntheticDataIsNeverWrittenOverAUsersDataset) {
    const std::string root = test::temp_dir("safety_synth");
    const std::string data = write_user_dataset(root + "/potsdam");
    const auto before = snapshot(data);
    // The default suite with --data (the suite name forgotten), with and without --force.
    for (const char* force : {"", " --force"}) {
        const test::CommandResult r =
            test::run_pfce("run --data " + data + " --out " + root + "/runs" + force);
        EXPECT_EQ(r.status, 2) << r.output;
        EXPECT_MESSAGE_HAS(r.output, "already holds other files than pfce's synthetic dataset");
        EXPECT_MESSAGE_HAS(r.output, data);
    }
    for (const char* force : {"", " --force"}) {
        const test::CommandResult r =
            test::run_pfce("data synth --out " + data + " --count 3 --size 32 --seed 1" + force);
        EXPECT_EQ(r.status, 2) << r.output;
    }
    EXPECT_EQ(snapshot(data), before);
}

TEST(DataSafety, SyntheticDataIsReusedReplacedOnlyWithForce) {
    const std::string out = test::temp_dir("safety_synth_own") + "/synth";
    auto synth = [&](const std::string& extra) {
        return test::run_pfce("data synth --out " + out + " --count 3 --size 32 " + extra);
    };
    ASSERT_EQ(synth("--seed 1").status, 0);
    const test::CommandResult again = synth("--seed 1");
    EXPECT_EQ(again.status, 0) << again.output;
    EXPECT_MESSAGE_HAS(again.output, "already holds this synthetic dataset");
    const test::CommandResult other = synth("--seed 2");
    EXPECT_EQ(other.status, 2) << other.output;
    EXPECT_MESSAGE_HAS(other.output, "--force");
    EXPECT_EQ(synth("--seed 2 --force").status, 0);

    // --force replaces pfce's images, never a user's file put beside them: refused, nothing gone.
    std::ofstream(out + "/patches/README.txt") << "mine\n";
    const auto with_mine = snapshot(out);
    const test::CommandResult kept = synth("--seed 3 --force");
    EXPECT_EQ(kept.status, 2) << kept.output;
    EXPECT_MESSAGE_HAS(kept.output, "README.txt");
    EXPECT_EQ(snapshot(out), with_mine);
    fs::remove(out + "/patches/README.txt");

    // An interrupted run (no synthetic.json yet; images of other settings, a temporary) is
    // cleared before a new one is written: the dataset then holds exactly the new images.
    fs::remove(out + "/synthetic.json");
    fs::copy_file(out + "/patches/Images/Image_0.tif", out + "/patches/Images/Image_7.tif");
    fs::copy_file(out + "/patches/Labels/Label_0.tif", out + "/patches/Labels/Label_7.tif");
    std::ofstream(out + "/patches/Images/.Image_8.tif.tmp123_0") << "partial";
    const test::CommandResult fresh =
        test::run_pfce("data synth --out " + out + " --count 2 --size 32 --seed 4");
    EXPECT_EQ(fresh.status, 0) << fresh.output;
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(out + "/patches/Images"))
        names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"Image_0.tif", "Image_1.tif"}));
}

// A `pfce data synth` killed before synthetic.json (written last) leaves some of its images under
// pfce's marker: every reader took them for a smaller dataset. Now the reader refuses it, saying it
// was interrupted and how to write it again; `pfce run` (open_run_dataset) still writes it again.
TEST(DataSafety, AnInterruptedSyntheticDatasetIsRefusedByReaders) {
    const std::string root = test::temp_dir("safety_synth_killed");
    const std::string out = root + "/synth";
    ASSERT_EQ(test::run_pfce("data synth --out " + out + " --count 3 --size 32 --seed 2").status,
              0);
    fs::remove(out + "/synthetic.json");  // as a SIGKILL before the last write leaves it
    fs::remove(out + "/patches/Images/Image_2.tif");
    fs::remove(out + "/patches/Labels/Label_2.tif");
    // Its patches/ directory is the same partial dataset (a probe trained on 91 of 3000 images).
    for (const std::string& cmd :
         {"data stats " + out, "sample --data " + out + " --points 5 --out " + root + "/s",
          "data stats " + out + "/patches",
          "sample --data " + out + "/patches/ --points 5 --out " + root + "/s"}) {
        const test::CommandResult r = test::run_pfce(cmd);
        EXPECT_EQ(r.status, 2) << cmd << "\n" << r.output;
        EXPECT_MESSAGE_HAS(r.output, out);
        EXPECT_MESSAGE_HAS(r.output, "interrupted while being written");
        EXPECT_MESSAGE_HAS(r.output, "pfce data synth --out " + out);
    }
    EXPECT_FALSE(fs::exists(root + "/s/masks.json"));
    // Only pfce's own synthetic output is judged by its marker: a user's Kaggle dataset has none.
    EXPECT_EQ(Dataset::open(test::write_synthetic(root + "/user", 2, 32)).size(), 2u);

    const DataSettings d = synthetic_settings(out, 3, 32, 2);
    EXPECT_EQ(open_run_dataset(d).size(), 3u);  // written again, then read whole
    EXPECT_TRUE(fs::exists(out + "/synthetic.json"));
    EXPECT_EQ(test::run_pfce("data stats " + out).status, 0);
}

// A mask directory given where a dataset is read says what it is, not which dataset layouts were
// expected; one whose writer was killed before masks.json (written last) says it did not finish
// (`data stats` on it said "cannot tell the dataset kind").
TEST(DataSafety, AMaskDirectoryGivenAsADatasetSaysWhatItIs) {
    const std::string root = test::temp_dir("safety_masks_as_data");
    const std::string data = root + "/data", masks = root + "/masks";
    ASSERT_EQ(test::run_pfce("data synth --count 4 --size 64 --out " + data).status, 0);
    ASSERT_EQ(test::run_pfce("sample --data " + data + " --points 5 --out " + masks).status, 0);
    const test::CommandResult train =
        test::run_pfce("train --data " + masks + " --out " + root + "/run --device cpu");
    EXPECT_EQ(train.status, 2) << train.output;
    EXPECT_MESSAGE_HAS(train.output, masks +
                                         " is a mask directory (the --out of pfce sample or "
                                         "pfce link), not a dataset: give it as --labels");
    fs::remove(masks + "/masks.json");  // as a SIGKILL before the last write leaves it
    for (const std::string& cmd :
         {"data stats " + masks, "sample --data " + masks + " --points 5 --out " + root + "/s"}) {
        const test::CommandResult r = test::run_pfce(cmd);
        EXPECT_EQ(r.status, 2) << cmd << "\n" << r.output;
        EXPECT_MESSAGE_HAS(r.output, masks +
                                         " is a mask directory (the --out of pfce sample or "
                                         "pfce link) whose writing did not finish");
        EXPECT_MESSAGE_HAS(r.output, "masks.json, written last, is missing");
    }
    EXPECT_FALSE(fs::exists(root + "/run"));
    EXPECT_FALSE(fs::exists(root + "/s"));
    // The same sample again writes them again, and says so (they vanish and come back).
    const test::CommandResult again =
        test::run_pfce("sample --data " + data + " --points 5 --out " + masks);
    ASSERT_EQ(again.status, 0) << again.output;
    EXPECT_MESSAGE_HAS(
        again.output, masks + ": the masks a stopped pfce left incomplete there are written again");
    fs::remove(data + "/synthetic.json");  // the dataset too
    const test::CommandResult synth =
        test::run_pfce("data synth --count 4 --size 64 --out " + data);
    ASSERT_EQ(synth.status, 0) << synth.output;
    EXPECT_MESSAGE_HAS(synth.output, "--out " + data +
                                         ": the synthetic dataset a stopped pfce left incomplete "
                                         "there is written again");
}

// A synthetic dataset was reused by its synthetic.json alone: files deleted or added since were
// read as fewer or more images, and `--force` with the same settings did nothing. Now reuse checks
// that exactly its files are there (naming the first that is not) and hold the bytes pfce wrote,
// and --force writes it again.
TEST(DataSafety, ASyntheticDatasetIsReusedOnlyWholeAndForceWritesItAgain) {
    const std::string out = test::temp_dir("safety_synth_damaged") + "/synth";
    const std::string synth = "data synth --out " + out + " --count 3 --size 32 --seed 1";
    ASSERT_EQ(test::run_pfce(synth).status, 0);
    const auto whole = snapshot(out);
    const std::string image1 = out + "/patches/Images/Image_1.tif";
    const std::string label0 = out + "/patches/Labels/Label_0.tif";

    fs::remove(image1);
    const test::CommandResult missing = test::run_pfce(synth);
    EXPECT_EQ(missing.status, 2) << missing.output;
    EXPECT_MESSAGE_HAS(missing.output, image1 + " is missing");
    EXPECT_MESSAGE_HAS(missing.output, synth + " --force");
    const DataSettings d = synthetic_settings(out, 3, 32, 1);
    EXPECT_MESSAGE_HAS(test::input_error_message([&] { open_run_dataset(d); }), image1);
    EXPECT_EQ(open_run_dataset(d, /*force=*/true).size(), 3u);  // `pfce run --force` repairs it
    EXPECT_EQ(snapshot(out), whole);

    // Replaced under its own name (it was reused: a suite then trained and reported on other
    // labels than its settings make): seen by the hash of the files' bytes synthetic.json
    // records; --force writes every file again.
    fs::copy_file(out + "/patches/Labels/Label_2.tif", label0,
                  fs::copy_options::overwrite_existing);
    const test::CommandResult replaced = test::run_pfce(synth);
    EXPECT_EQ(replaced.status, 2) << replaced.output;
    EXPECT_MESSAGE_HAS(replaced.output, "its images or labels are not the files pfce wrote");
    EXPECT_MESSAGE_HAS(test::input_error_message([&] { open_run_dataset(d); }),
                       "not the files pfce wrote");
    const test::CommandResult forced = test::run_pfce(synth + " --force");
    EXPECT_EQ(forced.status, 0) << forced.output;
    EXPECT_MESSAGE_HAS(forced.output, "wrote 3");
    EXPECT_EQ(snapshot(out), whole);

    // One image more beside them would be read as a fourth sample.
    fs::copy_file(image1, out + "/patches/Images/Image_3.tif");
    fs::copy_file(label0, out + "/patches/Labels/Label_3.tif");
    const test::CommandResult extra = test::run_pfce(synth);
    EXPECT_EQ(extra.status, 2) << extra.output;
    EXPECT_MESSAGE_HAS(extra.output, "Image_3.tif");
    EXPECT_EQ(test::run_pfce(synth + " --force").status, 0);
    EXPECT_EQ(snapshot(out), whole);
    const test::CommandResult again = test::run_pfce(synth);
    EXPECT_EQ(again.status, 0) << again.output;
    EXPECT_MESSAGE_HAS(again.output, "already holds this synthetic dataset");

    // Its record cut short (a full disk, an editor): damaged, not "another dataset" (it said
    // "holds another synthetic dataset (synthetic.json: null ...)"); --force writes it again.
    const std::string record = read_whole_file(out + "/synthetic.json");
    std::ofstream(out + "/synthetic.json") << record.substr(0, record.size() / 2);
    const test::CommandResult cut = test::run_pfce(synth);
    EXPECT_EQ(cut.status, 2) << cut.output;
    EXPECT_MESSAGE_HAS(cut.output, "holds a synthetic dataset whose record " + out +
                                       "/synthetic.json is damaged: it is not JSON (");
    EXPECT_EQ(cut.output.find("another"), std::string::npos) << cut.output;
    EXPECT_MESSAGE_HAS(cut.output, synth + " --force");
    std::ofstream(out + "/synthetic.json") << "[1, 2]\n";
    EXPECT_MESSAGE_HAS(test::run_pfce(synth).output, "it holds [1,2], not a JSON object");
    EXPECT_EQ(test::run_pfce(synth + " --force").status, 0);
    EXPECT_EQ(snapshot(out), whole);

    // Damaged and holding a user's file: the advice moves the file first, since --force alone
    // is refused for it.
    std::ofstream(out + "/patches/Images/notes.txt") << "mine\n";
    fs::remove(image1);
    const test::CommandResult both = test::run_pfce(synth);
    EXPECT_EQ(both.status, 2) << both.output;
    EXPECT_MESSAGE_HAS(both.output, "move the files pfce did not write out of it (" + out +
                                        "/patches/Images/notes.txt), then: pfce " + synth +
                                        " --force");
}

// data synth --out inside another dataset's images or masks (a Kaggle Images/, a generic masks/)
// wrote a dataset there, which that dataset's scans then met (and its own data synth --force
// refused as files it did not write): refused, --force or not, and the dataset stays whole.
TEST(DataSafety, ASyntheticDatasetIsNeverWrittenAmongAnotherDatasetsFiles) {
    const std::string root = test::temp_dir("safety_synth_inside");
    const std::string out = root + "/synth";
    ASSERT_EQ(test::run_pfce("data synth --out " + out + " --count 3 --size 32 --seed 1").status,
              0);
    const auto whole = snapshot(out);
    for (const char* force : {"", " --force"}) {
        const test::CommandResult in_images = test::run_pfce(
            "data synth --out " + out + "/patches/Images/x --count 3 --size 32" + force);
        EXPECT_EQ(in_images.status, 2) << in_images.output;
        EXPECT_MESSAGE_HAS(in_images.output, "--out " + out +
                                                 "/patches/Images/x would lie in the "
                                                 "Images/ of the dataset " +
                                                 out + "/patches");
        EXPECT_MESSAGE_HAS(in_images.output, "--force does not change this");
    }
    EXPECT_EQ(snapshot(out), whole);
    const test::ForeignDataset fd = test::write_foreign_dataset(root + "/generic", {});
    const test::CommandResult in_masks =
        test::run_pfce("data synth --out " + fd.root + "/masks/x --count 3 --size 32");
    EXPECT_EQ(in_masks.status, 2) << in_masks.output;
    EXPECT_MESSAGE_HAS(in_masks.output, "would lie in the mask directory");
    EXPECT_FALSE(fs::exists(fd.root + "/masks/x"));
}

TEST(DataSafety, MasksAreNeverWrittenIntoAFolderOfOtherFiles) {
    const std::string root = test::temp_dir("safety_sample");
    const test::ForeignDataset fd =
        test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    const auto before = snapshot(fd.root);
    for (const std::string& target : {fd.root + "/images", fd.root})
        for (const char* force : {"", " --force"}) {
            const test::CommandResult r =
                test::run_pfce("sample --data " + fd.root + " --points 5 --out " + target + force);
            EXPECT_EQ(r.status, 2) << r.output;
            EXPECT_MESSAGE_HAS(r.output, target == fd.root ? "other files than pfce's masks"
                                                           : "holds the dataset's images or masks");
        }
    EXPECT_EQ(snapshot(fd.root), before);
    // pfce's own mask directory: replaced only with --force; link never writes over its input.
    const std::string sparse = root + "/sparse";
    ASSERT_EQ(test::run_pfce("sample --data " + fd.root + " --points 5 --out " + sparse).status, 0);
    const test::CommandResult same =
        test::run_pfce("sample --data " + fd.root + " --points 5 --out " + sparse);
    EXPECT_EQ(same.status, 0) << same.output;  // the same settings: reused, not rewritten
    EXPECT_MESSAGE_HAS(same.output, "reused");
    EXPECT_EQ(test::run_pfce("sample --data " + fd.root + " --points 6 --out " + sparse).status, 2);
    EXPECT_EQ(
        test::run_pfce("sample --data " + fd.root + " --points 6 --out " + sparse + " --force")
            .status,
        0);
    const auto sparse_before = snapshot(sparse);
    const test::CommandResult l =
        test::run_pfce("link --in " + sparse + " --out " + sparse + " --force --device cpu");
    EXPECT_EQ(l.status, 2) << l.output;
    EXPECT_MESSAGE_HAS(l.output, "is the input --in");
    // Named with a trailing '/', the same refusal (it was refused as "among the dataset's images
    // or masks": "sp/"'s parent read as sp itself).
    const test::CommandResult slash =
        test::run_pfce("link --in " + sparse + " --out " + sparse + "/ --force --device cpu");
    EXPECT_EQ(slash.status, 2) << slash.output;
    EXPECT_MESSAGE_HAS(slash.output, "is the input --in");
    EXPECT_EQ(snapshot(sparse), sparse_before);
}

// A mask directory was reused on its masks.json alone: a mask copied over another, or removed,
// was trained on as it was (or failed every later run, --force or not, in a suite's cache). Its
// masks.json now records the files, and a reuse checks them: refused with what changed, redone
// with --force (a suite's cache always redoes it).
// A masks.json cut short (a damaged disk, an editor) names nothing to reuse: sample says so and
// that --force samples them again, which it does (it said only "not valid JSON", and --force
// failed the same way: rm -rf was the way out).
TEST(DataSafety, ADamagedMaskRecordIsSampledAgainWithForce) {
    const std::string root = test::temp_dir("safety_mask_record");
    const test::ForeignDataset fd =
        test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    const std::string sparse = root + "/sparse";
    const std::string sample = "sample --data " + fd.root + " --points 5 --out " + sparse;
    ASSERT_EQ(test::run_pfce(sample).status, 0);
    const std::string record = read_whole_file(sparse + "/masks.json");
    std::ofstream(sparse + "/masks.json", std::ios::trunc) << record.substr(0, record.size() / 2);
    const test::CommandResult refused = test::run_pfce(sample);
    EXPECT_EQ(refused.status, 2) << refused.output;
    EXPECT_MESSAGE_HAS(refused.output, sparse + "/masks.json: not valid JSON");
    EXPECT_MESSAGE_HAS(refused.output, "pass --force to sample the masks of this directory again");
    const test::CommandResult again = test::run_pfce(sample + " --force");
    ASSERT_EQ(again.status, 0) << again.output;
    EXPECT_EQ(open_mask_dir(sparse).ids, fd.ids);
    EXPECT_MESSAGE_HAS(test::run_pfce(sample).output, "reused");
    // A class renamed in the record: every reader refuses the masks, so sample does not call
    // them reused (it did); --force samples them again. So in a record of an older pfce, which
    // has no checksum to tell the edit.
    for (const bool older : {false, true}) {
        std::string edited = read_whole_file(sparse + "/masks.json");
        if (older) {
            nlohmann::json j = nlohmann::json::parse(edited);
            j.erase("checksum");
            edited = j.dump(2);
        }
        const std::string name = "\"" + test::foreign_class_names()[0] + "\"";
        ASSERT_NE(edited.find(name), std::string::npos);
        edited.replace(edited.find(name), name.size(), "\"renamed\"");
        std::ofstream(sparse + "/masks.json", std::ios::trunc) << edited;
        const test::CommandResult renamed = test::run_pfce(sample);
        EXPECT_EQ(renamed.status, 2) << renamed.output;
        EXPECT_MESSAGE_HAS(renamed.output,
                           older ? "they do not belong together; pass --force to sample"
                                 : "masks.json: edited since pfce wrote it");
        EXPECT_MESSAGE_HAS(renamed.output, "pass --force to sample the masks");
        EXPECT_EQ(test::run_pfce(sample + " --force").status, 0);
        EXPECT_MESSAGE_HAS(test::run_pfce(sample).output, "reused");
    }
}

// A masks.json edited to say other settings than made its masks (hostile-user probe): sample
// --force and link --force called the masks "reused" when the record claimed the settings asked
// for; train copied the claimed points, kind or seed into its run (sparse points trained and
// recorded as dense labels), and a resume trained on other masks than the record's. The record's
// checksum tells the edit: every reader refuses it, naming the file, and --force makes the masks
// again.
TEST(DataSafety, AnEditedMaskRecordIsNeitherBelievedNorReused) {
    const std::string root = test::temp_dir("safety_mask_edited");
    const test::ForeignDataset fd =
        test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    const std::string sparse = root + "/sparse", linked = root + "/linked";
    ASSERT_EQ(test::run_pfce("sample --data " + fd.root + " --points 3 --out " + sparse).status, 0);
    const std::string link = "link --in " + sparse + " --out " + linked + " --device cpu";
    ASSERT_EQ(test::run_pfce(link + " --radius 5").status, 0);
    auto edit = [](const std::string& dir, const std::function<void(nlohmann::json&)>& change) {
        nlohmann::json j = nlohmann::json::parse(read_whole_file(dir + "/masks.json"));
        change(j);
        std::ofstream(dir + "/masks.json", std::ios::trunc) << j.dump(2);
    };
    const std::string run = root + "/run";
    ASSERT_EQ(test::run_pfce("train --labels " + sparse + " --data " + fd.root + " --out " + run +
                             " --epochs 1 --batch-size 4 --width 4 --depth 1 --device cpu")
                  .status,
              0);
    // (The record also lists a mask of a sample the dataset no longer has: --force removes it,
    // as it removes those an unedited record lists.)
    edit(sparse, [](nlohmann::json& j) {
        j["sample"]["points"] = {40};
        j["ids"].push_back("gone");
    });
    fs::copy_file(mask_png_path(sparse, fd.ids[0]), mask_png_path(sparse, "gone"));
    for (const std::string& cmd :
         {"train --data " + fd.root + " --labels " + sparse + " --out " + root +
              "/other --epochs 1 --device cpu",
          "train --resume --out " + run + " --epochs 2 --device cpu",
          "eval --checkpoint " + run + "/last.ckpt --device cpu --labels " + sparse,
          link + " --radius 5 --force", "data stats " + sparse}) {
        const test::CommandResult r = test::run_pfce(cmd);
        EXPECT_EQ(r.status, 2) << cmd << "\n" << r.output;
        EXPECT_MESSAGE_HAS(r.output, sparse + "/masks.json: edited since pfce wrote it");
    }
    EXPECT_FALSE(fs::exists(root + "/other"));
    // Asked for the claimed settings, --force samples again rather than reuse.
    const test::CommandResult resampled =
        test::run_pfce("sample --data " + fd.root + " --points 40 --out " + sparse + " --force");
    ASSERT_EQ(resampled.status, 0) << resampled.output;
    EXPECT_EQ(resampled.output.find("reused"), std::string::npos) << resampled.output;
    EXPECT_EQ(open_mask_dir(sparse).meta["sample"]["points"], nlohmann::json({40}));
    EXPECT_FALSE(fs::exists(mask_png_path(sparse, "gone")));
    // A linked record claiming another radius is linked again under --force, not reused.
    edit(linked, [](nlohmann::json& j) { j["link"]["radius"] = 40; });
    const test::CommandResult relinked = test::run_pfce(link + " --radius 40 --force");
    ASSERT_EQ(relinked.status, 0) << relinked.output;
    EXPECT_EQ(relinked.output.find("reusing"), std::string::npos) << relinked.output;
    EXPECT_NO_THROW(open_mask_dir(linked));
}

TEST(DataSafety, AMaskDirectoryWhoseFilesChangedIsNotReused) {
    const std::string root = test::temp_dir("safety_mask_files");
    const test::ForeignDataset fd =
        test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    const std::string sparse = root + "/sparse", linked = root + "/linked";
    const std::string sample = "sample --data " + fd.root + " --points 5 --out " + sparse;
    const std::string link = "link --in " + sparse + " --out " + linked + " --device cpu";
    ASSERT_EQ(test::run_pfce(sample).status, 0);
    ASSERT_EQ(test::run_pfce(link).status, 0);
    std::vector<std::string> masks;
    for (const auto& e : fs::directory_iterator(sparse))
        if (e.path().extension() == ".png") masks.push_back(e.path().string());
    std::sort(masks.begin(), masks.end());
    ASSERT_GE(masks.size(), 2u);
    fs::copy_file(masks[0], masks[1], fs::copy_options::overwrite_existing);
    const test::CommandResult copied = test::run_pfce(sample);
    EXPECT_EQ(copied.status, 2) << copied.output;
    EXPECT_MESSAGE_HAS(copied.output,
                       "holds masks sampled with these settings, but its mask " + masks[1] +
                           " changed after it was written: pass --force to sample them again");
    // Its readers use it as it stands (a hand-corrected mask is a change too), and say so: they
    // trained on another image's mask without a word.
    const test::CommandResult trained =
        test::run_pfce("train --data " + fd.root + " --labels " + sparse + " --out " + root +
                       "/run --epochs 1 --batch-size 4 --width 4 --depth 1 --device cpu");
    EXPECT_EQ(trained.status, 0) << trained.output;
    EXPECT_MESSAGE_HAS(trained.output, "the masks in " + sparse + ": its mask " + masks[1] +
                                           " changed after it was written; read as they are now");
    const test::CommandResult linked_from =
        test::run_pfce("link --in " + sparse + " --out " + root + "/linked2 --device cpu");
    EXPECT_EQ(linked_from.status, 0) << linked_from.output;
    EXPECT_MESSAGE_HAS(linked_from.output, "changed after it was written; read as they are now");
    fs::remove(masks[1]);
    const test::CommandResult missing = test::run_pfce(sample);
    EXPECT_EQ(missing.status, 2) << missing.output;
    EXPECT_MESSAGE_HAS(missing.output, "its mask " + masks[1] + " is missing");
    const test::CommandResult again = test::run_pfce(sample + " --force");
    EXPECT_EQ(again.status, 0) << again.output;
    EXPECT_TRUE(fs::exists(masks[1]));
    EXPECT_EQ(test::run_pfce(sample).output.find("changed"), std::string::npos);
    // The linked masks: their input changed, so they are made again; then one of their own.
    ASSERT_EQ(test::run_pfce(link + " --force").status, 0);
    std::string one_linked;
    for (const auto& e : fs::directory_iterator(linked))
        if (e.path().extension() == ".png") one_linked = e.path().string();
    fs::last_write_time(one_linked, fs::last_write_time(one_linked) - std::chrono::hours(1));
    const test::CommandResult touched = test::run_pfce(link);
    EXPECT_EQ(touched.status, 2) << touched.output;
    EXPECT_MESSAGE_HAS(touched.output, "holds masks linked with these settings, but a mask file");
    EXPECT_EQ(test::run_pfce(link + " --force").status, 0);
    // Every mask newer than masks.json (a copy of the directory, cp -r): said as such, not as one
    // mask that changed.
    for (const auto& e : fs::directory_iterator(linked))
        if (e.path().extension() == ".png")
            fs::last_write_time(e.path(), fs::last_write_time(e.path()) + std::chrono::hours(1));
    const test::CommandResult copied_dir = test::run_pfce(link);
    EXPECT_EQ(copied_dir.status, 2) << copied_dir.output;
    EXPECT_MESSAGE_HAS(copied_dir.output,
                       "its masks were all modified after its masks.json (a "
                       "copy of the directory, or touched)");
}

TEST(DataSafety, AnEarlierRunIsKeptWithoutForce) {
    const std::string root = test::temp_dir("safety_train");
    const test::ForeignDataset fd =
        test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    const std::string run = root + "/run";
    const std::string train = "train --data " + fd.root + " --out " + run +
                              " --epochs 1 --batch-size 4 --width 4 --depth 1 --device cpu";
    ASSERT_EQ(test::run_pfce(train).status, 0);
    fs::remove(run + "/last.ckpt");  // best.ckpt and metrics.jsonl remain: still a run's results
    const auto before = snapshot(run);
    const test::CommandResult r = test::run_pfce(train + " --lr -1");  // would fail anyway
    EXPECT_NE(r.status, 0);
    const test::CommandResult r2 = test::run_pfce(train);
    EXPECT_EQ(r2.status, 2) << r2.output;
    EXPECT_MESSAGE_HAS(r2.output, "already holds a run");
    EXPECT_MESSAGE_HAS(r2.output, "best.ckpt");
    EXPECT_EQ(snapshot(run), before);
    const test::CommandResult resume = test::run_pfce(train + " --resume");
    EXPECT_EQ(resume.status, 2) << resume.output;
    EXPECT_MESSAGE_HAS(resume.output, "no last.ckpt");
    EXPECT_EQ(test::run_pfce(train + " --force").status, 0);
}

// Sets or clears a file's attribute (chattr +i / -i, +a / -a); false where the file system or the
// user cannot (tmpfs, not root).
bool chattr(const std::string& change, const std::string& path) {
    return std::system(("chattr " + change + " " + path + " 2>/dev/null").c_str()) == 0;
}
bool set_immutable(const std::string& path, bool on) {
    return chattr(on ? "+i" : "-i", path);
}

// A file nothing may replace (chattr +i) is said before any work: train --resume and --force
// into a run whose last.ckpt is immutable failed only at the end of the first epoch, as the rename
// over it (robustness probe); predict --force onto an immutable mask likewise after the forward
// passes. Nothing is changed.
TEST(DataSafety, AFileThatCannotBeReplacedIsSaidBeforeAnyWork) {
    const std::string root = test::temp_dir("safety_immutable");
    const test::ForeignDataset fd =
        test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    const std::string run = root + "/run";
    ASSERT_EQ(train_tiny_run(fd.root, run).status, 0);
    const std::string last = run + "/last.ckpt", mask = root + "/tile_0.png";
    const std::string append_only = root + "/append-only";
    fs::create_directories(append_only);
    struct Cleared {  // whatever fails, the test's directory stays removable
        std::string a, b, c;
        ~Cleared() { set_immutable(a, false), set_immutable(b, false), chattr("-a", c); }
    } cleared{last, mask, append_only};
    if (!set_immutable(last, true))
        GTEST_SKIP() << "cannot set the immutable attribute here (chattr +i needs root and ext4 "
                        "or a like file system)";
    EXPECT_EQ(unreplaceable_attribute(last), "immutable (chattr +i)");
    EXPECT_EQ(unreplaceable_attribute(run + "/metrics.jsonl"), "");
    EXPECT_EQ(unreplaceable_attribute(root + "/nothing"), "");
    const auto before = snapshot(run);
    const std::string train = "train --data " + fd.root + " --out " + run +
                              " --epochs 2 --batch-size 4 --width 4 --depth 1 --device cpu";
    for (const char* how : {" --resume", " --force"}) {
        const test::CommandResult r = test::run_pfce(train + how);
        EXPECT_EQ(r.status, 2) << how << "\n" << r.output;
        EXPECT_MESSAGE_HAS(r.output, "last.ckpt is immutable (chattr +i)");
        EXPECT_MESSAGE_HAS(r.output, "chattr -i");
        EXPECT_EQ(r.output.find("epoch 1"), std::string::npos) << r.output;
    }
    EXPECT_EQ(snapshot(run), before);
    const std::string predict = "predict --checkpoint " + last + " --input " + fd.root +
                                "/images/tile_0.png --out " + mask + " --device cpu";
    ASSERT_EQ(test::run_pfce(predict).status, 0);
    ASSERT_TRUE(set_immutable(mask, true));
    const std::string mask_bytes = read_whole_file(mask);
    const test::CommandResult p = test::run_pfce(predict + " --force");
    EXPECT_EQ(p.status, 2) << p.output;
    EXPECT_MESSAGE_HAS(p.output, "cannot replace " + mask + ": it is immutable (chattr +i)");
    EXPECT_EQ(read_whole_file(mask), mask_bytes);
    EXPECT_TRUE(set_immutable(mask, false));
    // A directory nothing may be renamed in (+a): no temporary could become the file, nor the
    // run's.
    ASSERT_TRUE(chattr("+a", append_only));
    const test::CommandResult into =
        test::run_pfce("predict --checkpoint " + last + " --input " + fd.root +
                       "/images/tile_0.png --out " + append_only + "/m.png --device cpu");
    EXPECT_EQ(into.status, 2) << into.output;
    EXPECT_MESSAGE_HAS(into.output, "its directory " + append_only + " is append-only (chattr +a)");
    const test::CommandResult run_into =
        test::run_pfce("train --data " + fd.root + " --out " + append_only +
                       " --epochs 1 --batch-size 4 --width 4 --depth 1 --device cpu");
    EXPECT_EQ(run_into.status, 2) << run_into.output;
    EXPECT_MESSAGE_HAS(run_into.output, append_only + " is append-only (chattr +a)");
    EXPECT_TRUE(fs::is_empty(append_only));
    EXPECT_EQ(test::run_pfce(predict + " --force").status, 0);
}

TEST(DataSafety, OutputsNeverReplaceInputsOrExistingFiles) {
    const std::string root = test::temp_dir("safety_outputs");
    const test::ForeignDataset fd =
        test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    const std::string run = root + "/run";
    ASSERT_EQ(train_tiny_run(fd.root, run).status, 0);
    const std::string image = fd.root + "/images/tile_0.png";
    const auto before = snapshot(fd.root);
    const std::string predict = "predict --checkpoint " + run + "/last.ckpt --input " + image;
    for (const char* force : {"", " --force"}) {
        const test::CommandResult r = test::run_pfce(predict + " --out " + image + force);
        EXPECT_EQ(r.status, 2) << r.output;
        EXPECT_MESSAGE_HAS(r.output, "input");
    }
    // Another image's name among the dataset's images or masks would be read as data: refused,
    // --force or not; a folder of its own inside the dataset's root is fine.
    for (const std::string& dir : {fd.root + "/images", fd.root + "/masks"})
        for (const char* force : {"", " --force"}) {
            const test::CommandResult r =
                test::run_pfce(predict + " --out " + dir + "/tile_99.png" + force);
            EXPECT_EQ(r.status, 2) << r.output;
            EXPECT_MESSAGE_HAS(r.output, "would be read as data");
        }
    // Where a file of that name is there already: the same word, not "pass --force", which could
    // not help (hostile-user probe).
    const test::CommandResult taken =
        test::run_pfce(predict + " --out " + fd.root + "/masks/tile_1.png");
    EXPECT_EQ(taken.status, 2) << taken.output;
    EXPECT_MESSAGE_HAS(taken.output, "would be read as data");
    EXPECT_EQ(taken.output.find("pass --force"), std::string::npos) << taken.output;
    EXPECT_EQ(test::run_pfce(predict + " --out " + fd.root + "/predictions/").status, 0);
    fs::remove_all(fd.root + "/predictions");
    // A link to nothing is an entry of the user's too: replaced only with --force.
    const std::string dangling = root + "/dangling.png";
    fs::create_symlink(root + "/nowhere.png", dangling);
    const test::CommandResult link = test::run_pfce(predict + " --out " + dangling);
    EXPECT_EQ(link.status, 2) << link.output;
    EXPECT_MESSAGE_HAS(link.output, dangling + " is a link to nothing (" + root + "/nowhere.png)");
    EXPECT_TRUE(fs::is_symlink(dangling));
    const std::string out = root + "/pred.png";
    ASSERT_EQ(test::run_pfce(predict + " --out " + out).status, 0);
    EXPECT_EQ(test::run_pfce(predict + " --out " + out).status, 2);
    EXPECT_EQ(test::run_pfce(predict + " --out " + out + " --force").status, 0);

    const std::string sheet = root + "/sheet.png";
    ASSERT_EQ(test::run_pfce("data preview " + fd.root + " --out " + sheet).status, 0);
    EXPECT_EQ(test::run_pfce("data preview " + fd.root + " --out " + sheet).status, 2);
    EXPECT_EQ(test::run_pfce("data preview " + fd.root + " --out " + sheet + " --force").status, 0);
    const test::CommandResult inside =
        test::run_pfce("data preview " + fd.root + " --out " + image + " --force");
    EXPECT_EQ(inside.status, 2) << inside.output;
    EXPECT_EQ(snapshot(fd.root), before);
    // Nor into another dataset or a mask directory, where it would be read as one of its files
    // (it replaced a mask of pfce sample's output with --force, and made a new Label_9.png).
    const std::string masks = root + "/masks";
    ASSERT_EQ(test::run_pfce("sample --data " + fd.root + " --points 5 --out " + masks).status, 0);
    const test::ForeignDataset other =
        test::write_foreign_dataset(root + "/other", test::ForeignSpec{});
    const auto masks_before = snapshot(masks), other_before = snapshot(other.root);
    for (const std::string& target :
         {masks + "/tile_0.png", masks + "/new.png", other.root + "/masks/tile_99.png"}) {
        const test::CommandResult r =
            test::run_pfce("data preview " + fd.root + " --out " + target + " --force");
        EXPECT_EQ(r.status, 2) << r.output;
        EXPECT_MESSAGE_HAS(r.output, "would be read as data; write the sheet elsewhere");
    }
    EXPECT_EQ(snapshot(masks), masks_before);
    EXPECT_EQ(snapshot(other.root), other_before);

    // A dataset's directories by other names ([files] images, masks), or reached through a link,
    // are its data too (probe: predict --force replaced the ground truth of a masks = "gt").
    const std::string custom = root + "/custom";
    fs::copy(fd.root, custom, fs::copy_options::recursive);
    fs::rename(custom + "/images", custom + "/imgs");
    fs::rename(custom + "/masks", custom + "/gt");
    std::ofstream(custom + "/dataset.toml", std::ios::app)
        << "\n[files]\nimages = \"imgs\"\nmasks = \"gt\"\n";
    const std::string linked = root + "/linked";
    fs::copy(fd.root, linked, fs::copy_options::recursive);
    fs::rename(linked + "/images", root + "/raw-images");
    fs::create_directory_symlink(root + "/raw-images", linked + "/images");
    const auto custom_before = snapshot(custom), raw_before = snapshot(root + "/raw-images");
    for (const std::string& target : {custom + "/gt/tile_0.png", custom + "/imgs/tile_99.png",
                                      linked + "/images/tile_99.png"}) {
        const test::CommandResult r = test::run_pfce(predict + " --out " + target + " --force");
        EXPECT_EQ(r.status, 2) << target << ": " << r.output;
        EXPECT_MESSAGE_HAS(r.output, "would be read as data");
    }
    EXPECT_EQ(snapshot(custom), custom_before);
    EXPECT_EQ(snapshot(root + "/raw-images"), raw_before);
    // One directory of images and masks (DeepGlobe's train/): no prediction into it, and its
    // masks are no inputs (a prediction named tile_0_mask.png would pass for ground truth).
    const std::string shared = root + "/shared";
    fs::create_directories(shared + "/train");
    fs::copy_file(fd.root + "/dataset.toml", shared + "/dataset.toml");
    std::ofstream(shared + "/dataset.toml", std::ios::app)
        << "\n[files]\nimages = \"train\"\nmasks = \"train\"\nimage_suffix = \"_sat\"\n"
           "mask_suffix = \"_mask\"\n";
    for (const auto& e : fs::directory_iterator(fd.root + "/images"))
        fs::copy_file(e.path(), shared + "/train/" + e.path().stem().string() + "_sat.png");
    for (const auto& e : fs::directory_iterator(fd.root + "/masks"))
        fs::copy_file(e.path(), shared + "/train/" + e.path().stem().string() + "_mask" +
                                    e.path().extension().string());
    const auto shared_before = snapshot(shared);
    const std::string on_shared = "predict --checkpoint " + run + "/last.ckpt --input " + shared;
    const test::CommandResult into =
        test::run_pfce(on_shared + "/train/tile_0_sat.png --out " + shared + "/train/x.png");
    EXPECT_EQ(into.status, 2) << into.output;
    EXPECT_MESSAGE_HAS(into.output, "would be read as data");
    const test::CommandResult all =
        test::run_pfce(on_shared + "/train --out " + root + "/shared-pred");
    ASSERT_EQ(all.status, 0) << all.output;
    EXPECT_MESSAGE_HAS(all.output, "masks (*_mask, as its dataset.toml says) are left out");
    for (const auto& e : fs::directory_iterator(root + "/shared-pred"))
        EXPECT_EQ(e.path().filename().string().find("_mask"), std::string::npos) << e.path();
    EXPECT_EQ(snapshot(shared), shared_before);
}

TEST(DataSafety, AFullDiskLeavesTheOldFileWholeAndNoTemporary) {
    const std::string dir = test::temp_dir("safety_disk");
    const std::string path = dir + "/metrics.jsonl";
    write_file_atomically(path, "old history\n");
    // A file-size limit makes write() fail with EFBIG past it, as a full disk fails with ENOSPC.
    rlimit old{};
    ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
    auto previous = std::signal(SIGXFSZ, SIG_IGN);
    rlimit small = old;
    small.rlim_cur = 4096;
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
    bool threw = false;
    try {
        write_file_atomically(path, std::string(100000, 'x'));
    } catch (const SystemError& e) {
        threw = true;
        EXPECT_MESSAGE_HAS(std::string(e.what()), path);
    }
    setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, previous);
    EXPECT_TRUE(threw);
    EXPECT_EQ(read_whole_file(path), "old history\n");
    int entries = 0;
    for (const auto& e : fs::directory_iterator(dir)) ++entries, (void)e;
    EXPECT_EQ(entries, 1) << "a temporary was left behind";
}

TEST(DataSafety, AnySeedTrainsAndItsCheckpointsStayReadable) {
    const std::string root = test::temp_dir("safety_seed");
    const test::ForeignDataset fd =
        test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    const std::string base =
        "train --data " + fd.root + " --epochs 1 --batch-size 4 --width 4 --depth 1 --device cpu";
    const test::CommandResult neg = test::run_pfce(base + " --out " + root + "/neg --seed -1");
    EXPECT_NE(neg.status, 0);
    EXPECT_MESSAGE_HAS(neg.output, "non-negative");
    const std::string run = root + "/big";
    const test::CommandResult t =
        test::run_pfce(base + " --out " + run + " --seed 18446744073709551615");
    ASSERT_EQ(t.status, 0) << t.output;
    const test::CommandResult e = test::run_pfce("eval --checkpoint " + run + "/last.ckpt --data " +
                                                 fd.root + " --split all --device cpu");
    EXPECT_EQ(e.status, 0) << e.output;
    const test::CommandResult p =
        test::run_pfce("predict --checkpoint " + run + "/last.ckpt --input " + fd.root +
                       "/images/tile_1.png --out " + root + "/p.png --device cpu");
    EXPECT_EQ(p.status, 0) << p.output;
    // Past 2^64 - 1 a seed is refused (CLI11 saturated it to 2^64 - 1: another seed than typed),
    // and a point count past int's range is out of range, not "not an integer".
    for (const std::string& cmd :
         {"data synth --out " + root + "/s --seed 18446744073709551616",
          "sample --data " + fd.root + " --out " + root + "/sp --seed 99999999999999999999",
          "sample --data " + fd.root + " --out " + root +
              "/sp --points-per-class 1,2,3,99999999999"}) {
        const test::CommandResult r = test::run_pfce(cmd);
        EXPECT_EQ(r.status, 2) << cmd << "\n" << r.output;
        EXPECT_MESSAGE_HAS(r.output, cmd.find("--points-per-class") != std::string::npos
                                         ? "99999999999]: expected an integer in int range"
                                         : "expected at most 18446744073709551615 (2^64 - 1)");
    }
    EXPECT_FALSE(fs::exists(root + "/s"));
    EXPECT_FALSE(fs::exists(root + "/sp"));
}

// A directory with one image pfce cannot read (16-bit samples, known from its header) is refused
// naming it before any mask is written, not after half of them.
TEST(DataSafety, PredictRefusesADirectoryWithAnUnreadableImageBeforeWritingAny) {
    const std::string root = test::temp_dir("safety_predict_mixed");
    const test::ForeignDataset fd =
        test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    const std::string run = root + "/run";
    ASSERT_EQ(test::run_pfce("train --data " + fd.root + " --epochs 1 --batch-size 4 --width 4 " +
                             "--depth 1 --device cpu --out " + run)
                  .status,
              0);
    fs::create_directories(root + "/mixed");
    fs::copy_file(fd.root + "/images/tile_1.png", root + "/mixed/a.png");
    png_image deep{};
    deep.version = PNG_IMAGE_VERSION;
    deep.width = 8;
    deep.height = 8;
    deep.format = PNG_FORMAT_LINEAR_Y;
    const std::vector<std::uint16_t> gray16(64, 1000);
    ASSERT_TRUE(png_image_write_to_file(&deep, (root + "/mixed/b.png").c_str(), 0, gray16.data(), 0,
                                        nullptr));
    const test::CommandResult mixed =
        test::run_pfce("predict --checkpoint " + run + "/last.ckpt --input " + root +
                       "/mixed --out " + root + "/mixed_out --device cpu");
    EXPECT_EQ(mixed.status, 2) << mixed.output;
    EXPECT_MESSAGE_HAS(mixed.output, root + "/mixed/b.png");
    EXPECT_MESSAGE_HAS(mixed.output, "16-bit");
    EXPECT_FALSE(fs::exists(root + "/mixed_out/a.png"));
    // Several bad inputs are named in one refusal (it named the first only, so each rerun found
    // the next).
    std::ofstream(root + "/mixed/c.png") << "not a PNG";
    write_png(root + "/mixed/d.png", test::random_rgb(1, 1, 1));  // too small for the U-Net
    const test::CommandResult three =
        test::run_pfce("predict --checkpoint " + run + "/last.ckpt --input " + root +
                       "/mixed --out " + root + "/mixed_out --device cpu");
    EXPECT_EQ(three.status, 2) << three.output;
    EXPECT_MESSAGE_HAS(three.output, "3 of 4 inputs are refused (nothing written)");
    EXPECT_MESSAGE_HAS(three.output, root + "/mixed/b.png");
    EXPECT_MESSAGE_HAS(three.output, root + "/mixed/c.png");
    EXPECT_MESSAGE_HAS(three.output, root + "/mixed/d.png is 1x1");
    EXPECT_FALSE(fs::exists(root + "/mixed_out/a.png"));
    fs::remove(root + "/mixed/c.png");
    fs::remove(root + "/mixed/d.png");
    // What a directory holds besides its images is left out and said (it was passed over without
    // a word): a subdirectory, a link to nothing named as an image, a hidden image file.
    fs::remove(root + "/mixed/b.png");
    fs::create_directories(root + "/mixed/more");
    fs::create_symlink(root + "/nowhere.png", root + "/mixed/c.png");
    fs::copy_file(root + "/mixed/a.png", root + "/mixed/._a.png");
    const test::CommandResult rest =
        test::run_pfce("predict --checkpoint " + run + "/last.ckpt --input " + root +
                       "/mixed --out " + root + "/mixed_out --device cpu");
    EXPECT_EQ(rest.status, 0) << rest.output;
    EXPECT_MESSAGE_HAS(rest.output, "1 subdirectory is not read (e.g. " + root + "/mixed/more/)");
    EXPECT_MESSAGE_HAS(rest.output, "1 entry named as an image is no readable file");
    EXPECT_MESSAGE_HAS(rest.output, "1 hidden image file is not read (" + root + "/mixed/._a.png)");
    EXPECT_TRUE(fs::exists(root + "/mixed_out/a.png"));
    EXPECT_FALSE(fs::exists(root + "/mixed_out/._a.png"));
}

TEST(DataSafety, AnAbsurdLinkingRadiusIsRefusedAndTheLargestClamped) {
    const std::string root = test::temp_dir("safety_radius");
    const test::ForeignDataset fd =
        test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    ASSERT_EQ(
        test::run_pfce("sample --data " + fd.root + " --points 5 --out " + root + "/s").status, 0);
    // Past any image's diagonal a radius is refused, naming the bound (it crashed once) ...
    const test::CommandResult absurd = test::run_pfce("link --in " + root + "/s --out " + root +
                                                      "/l0 --radius 2147483646 --device cpu");
    EXPECT_EQ(absurd.status, 2) << absurd.output;
    EXPECT_MESSAGE_HAS(absurd.output, "--radius 2147483646: expected 0..10000");
    EXPECT_FALSE(fs::exists(root + "/l0"));
    // ... and the largest accepted one is clamped to the image's diagonal: the same masks as the
    // diagonal itself (40x32 -> 52).
    const test::CommandResult huge = test::run_pfce("link --in " + root + "/s --out " + root +
                                                    "/l1 --radius 10000 --device cpu");
    ASSERT_EQ(huge.status, 0) << huge.output;
    ASSERT_EQ(
        test::run_pfce("link --in " + root + "/s --out " + root + "/l2 --radius 52 --device cpu")
            .status,
        0);
    const MaskDir a = open_mask_dir(root + "/l1"), b = open_mask_dir(root + "/l2");
    for (const std::string& id : a.ids)
        EXPECT_EQ(read_mask_png(a, id, *a.palette).labels, read_mask_png(b, id, *b.palette).labels);
}

// An output directory that cannot be made says why (the reason create_directories gave, not that
// of a later check), and every path a command cannot use is named with what was expected, never a
// bare "filesystem error".
TEST(DataSafety, AnOutputThatCannotBeWrittenSaysWhyAndNamesThePath) {
    const std::string root = test::temp_dir("safety_unwritable");
    const std::string ro = read_only_dir(root + "/ro");
    {  // In the process: as root, permissions apply only to another effective user.
        const bool as_root = ::geteuid() == 0;
        if (as_root) {
            ASSERT_EQ(::seteuid(65534), 0);
        }
        std::string msg;
        try {
            (void)claim_output_dir(ro + "/s", "masks", "masks.json");
        } catch (const std::exception& e) {
            msg = e.what();
        }
        if (as_root) {
            ASSERT_EQ(::seteuid(0), 0);
        }
        EXPECT_MESSAGE_HAS(msg, "Permission denied");
        EXPECT_MESSAGE_HAS(msg, ro + "/s");
    }
    const test::ForeignDataset fd =
        test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    for (const std::string& cmd :
         {"sample --data " + fd.root + " --points 5 --out " + ro + "/s",
          "data preview " + fd.root + " --out " + ro + "/sheet.png",
          "train --data " + fd.root + " --out " + ro +
              "/run --epochs 1 --batch-size 4 --width 4 --depth 1 --device cpu"}) {
        const test::CommandResult r = run_pfce_unprivileged(cmd, fd.root + "/dataset.toml");
        if (r.status == -1)
            GTEST_SKIP() << "cannot run pfce as another user here (setpriv, or a build tree "
                            "others cannot enter)";
        EXPECT_EQ(r.status, 2) << cmd << "\n" << r.output;
        EXPECT_MESSAGE_HAS(r.output, "Permission denied");
        EXPECT_MESSAGE_HAS(r.output, ro);
        EXPECT_EQ(r.output.find("filesystem error"), std::string::npos) << r.output;
    }
    // A directory of images predicted into an existing file; a directory given as a checkpoint.
    std::ofstream(root + "/afile") << "mine\n";
    const test::CommandResult p =
        test::run_pfce("predict --checkpoint " + root + "/none.ckpt --input " + fd.root +
                       "/images --out " + root + "/afile --device cpu");
    EXPECT_EQ(p.status, 2) << p.output;
    EXPECT_MESSAGE_HAS(p.output, root + "/afile is a file");
    EXPECT_MESSAGE_HAS(p.output, "must be a directory");
    EXPECT_EQ(read_whole_file(root + "/afile"), "mine\n");
    const test::CommandResult e =
        test::run_pfce("eval --checkpoint " + root + "/data --data " + fd.root + " --device cpu");
    EXPECT_EQ(e.status, 2) << e.output;
    EXPECT_MESSAGE_HAS(e.output, root + "/data is a directory");
    EXPECT_MESSAGE_HAS(e.output, "expected a checkpoint file");
}

// --out of `pfce train` is new, empty or an earlier run: a user's files, the dataset root and the
// labels directory are refused (--force or not) before anything is written; a run is still
// resumed and replaced as before.
TEST(DataSafety, TrainWritesOnlyIntoANewDirectoryOrAnEarlierRun) {
    const std::string root = test::temp_dir("safety_train_out");
    const test::ForeignDataset fd =
        test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    const std::string tiny = " --epochs 1 --batch-size 4 --width 4 --depth 1 --device cpu";
    const std::string train = "train --data " + fd.root + tiny;
    fs::create_directories(root + "/mine");
    std::ofstream(root + "/mine/notes.txt") << "mine\n";
    const auto mine = snapshot(root + "/mine");
    for (const char* force : {"", " --force"}) {
        const test::CommandResult r = test::run_pfce(train + " --out " + root + "/mine" + force);
        EXPECT_EQ(r.status, 2) << r.output;
        EXPECT_MESSAGE_HAS(r.output, "notes.txt");
        EXPECT_MESSAGE_HAS(r.output, "not a run's");
    }
    // Sparse labels would be sampled into OUT/labels first: refused before that too.
    const test::CommandResult sp =
        test::run_pfce(train + " --label-kind sparse --points 5 --out " + root + "/mine");
    EXPECT_EQ(sp.status, 2) << sp.output;
    EXPECT_EQ(snapshot(root + "/mine"), mine);
    EXPECT_FALSE(fs::exists(root + "/mine/labels"));

    const auto data_before = snapshot(fd.root);
    const test::CommandResult in_data = test::run_pfce(train + " --out " + fd.root + "/runs");
    EXPECT_EQ(in_data.status, 2) << in_data.output;
    EXPECT_MESSAGE_HAS(in_data.output, "inside the dataset root");
    EXPECT_MESSAGE_HAS(in_data.output, fd.root + "/runs");
    EXPECT_FALSE(fs::exists(fd.root + "/runs"));
    EXPECT_EQ(snapshot(fd.root), data_before);

    const std::string labels = root + "/sp";
    ASSERT_EQ(test::run_pfce("sample --data " + fd.root + " --points 5 --out " + labels).status, 0);
    const test::CommandResult in_labels = test::run_pfce(train + " --label-kind sparse --labels " +
                                                         labels + " --out " + labels + "/run");
    EXPECT_EQ(in_labels.status, 2) << in_labels.output;
    EXPECT_MESSAGE_HAS(in_labels.output, "inside the labels directory " + labels);
    EXPECT_FALSE(fs::exists(labels + "/run"));

    // An earlier run, with its own label cache: --resume and --force work on it as before.
    const std::string run = root + "/run";
    const std::string sparse = train + " --label-kind sparse --points 5 --out " + run;
    ASSERT_EQ(test::run_pfce(sparse).status, 0);
    const test::CommandResult resume = test::run_pfce(sparse + " --resume");
    EXPECT_EQ(resume.status, 0) << resume.output;
    EXPECT_EQ(test::run_pfce(sparse + " --force").status, 0);
    // An empty directory is a new one.
    fs::create_directories(root + "/empty");
    EXPECT_EQ(test::run_pfce(train + " --out " + root + "/empty").status, 0);

    // Files of a run's names are not a run where they cannot be one (hostile-user probe): another
    // tool's metrics.jsonl with an "epoch" key, and a checkpoint copied into a folder of one's own
    // files, were called a run, and --force replaced them.
    fs::create_directories(root + "/other");
    std::ofstream(root + "/other/metrics.jsonl") << "{\"epoch\": 0, \"loss\": 0.93}\n";
    std::ofstream(root + "/other/model.pt") << "w\n";
    const auto other = snapshot(root + "/other");
    fs::create_directories(root + "/models");
    fs::copy_file(run + "/best.ckpt", root + "/models/best.ckpt");
    std::ofstream(root + "/models/README.md") << "notes\n";
    const auto models = snapshot(root + "/models");
    for (const char* force : {"", " --force"}) {
        const test::CommandResult r = test::run_pfce(train + " --out " + root + "/other" + force);
        EXPECT_EQ(r.status, 2) << r.output;
        EXPECT_MESSAGE_HAS(r.output, "metrics.jsonl that pfce did not write");
        const test::CommandResult m = test::run_pfce(train + " --out " + root + "/models" + force);
        EXPECT_EQ(m.status, 2) << m.output;
        EXPECT_MESSAGE_HAS(m.output, root +
                                         "/models holds best.ckpt beside files that are not a "
                                         "run's (README.md; 1 entry), but not the run that "
                                         "writes them (no last.ckpt)");
    }
    EXPECT_EQ(snapshot(root + "/other"), other);
    EXPECT_EQ(snapshot(root + "/models"), models);
    // A run of one's own with a file put beside it is still a run: resumed, and started over.
    std::ofstream(run + "/notes.txt") << "mine\n";
    EXPECT_EQ(test::run_pfce(sparse + " --resume --epochs 2").status, 0);
    EXPECT_EQ(test::run_pfce(sparse + " --force").status, 0);
    EXPECT_EQ(read_whole_file(run + "/notes.txt"), "mine\n");
    // A label cache holding one's own files is refused naming the --out typed (it named only the
    // cache, as if that had been given as --out).
    fs::create_directories(root + "/proj/labels/sparse");
    std::ofstream(root + "/proj/labels/sparse/mine.txt") << "mine\n";
    const test::CommandResult cache = test::run_pfce(
        train + " --label-kind linked --points 5 --radius 3 --out " + root + "/proj");
    EXPECT_EQ(cache.status, 2) << cache.output;
    EXPECT_MESSAGE_HAS(cache.output, "the label cache of the run directory " + root +
                                         "/proj: " + root +
                                         "/proj/labels/sparse already holds other files than "
                                         "pfce's masks (mine.txt");
    // A snapshot of the run by hard links (cp -al) keeps its metrics when the run is resumed: the
    // lines were appended into the shared file, so the copy gained epochs its checkpoints lack.
    fs::create_hard_link(run + "/metrics.jsonl", root + "/snapshot-metrics.jsonl");
    const std::string one_epoch = read_whole_file(run + "/metrics.jsonl");
    EXPECT_EQ(test::run_pfce(sparse + " --resume --epochs 2").status, 0);
    EXPECT_EQ(read_whole_file(root + "/snapshot-metrics.jsonl"), one_epoch);
    EXPECT_EQ(read_whole_file(run + "/metrics.jsonl").rfind(one_epoch, 0), 0u);
    EXPECT_GT(read_whole_file(run + "/metrics.jsonl").size(), one_epoch.size());
}

// Nor among ANOTHER dataset's files, nor inside what another command filled (hostile probe:
// sample, link and train wrote into a second dataset's Labels/ and Images/ and into a suite's
// OUT, whose next run then refused the files it did not write, --force or not; predict, preview
// and eval refused the same places), --force or not, before anything is written.
TEST(DataSafety, OutputsAreNotWrittenIntoAnotherDatasetOrCommandsOutput) {
    const std::string root = test::temp_dir("safety_other_data");
    const std::string a = root + "/A", b = root + "/B";
    for (const std::string& d : {a, b})
        ASSERT_EQ(test::run_pfce("data synth --out " + d + " --count 4 --size 32 --seed 1").status,
                  0);
    const auto before = snapshot(a);
    for (const char* force : {"", " --force"}) {
        const test::CommandResult sample = test::run_pfce(
            "sample --data " + b + " --points 5 --out " + a + "/patches/Labels/pts" + force);
        EXPECT_EQ(sample.status, 2) << sample.output;
        EXPECT_MESSAGE_HAS(sample.output, "--out " + a + "/patches/Labels/pts lies in the Labels/");
        EXPECT_MESSAGE_HAS(sample.output, "--force does not change this");
    }
    ASSERT_EQ(test::run_pfce("sample --data " + b + " --points 5 --out " + root + "/sp").status, 0);
    const test::CommandResult link =
        test::run_pfce("link --in " + root + "/sp --out " + a + "/patches/Images/lnk --device cpu");
    EXPECT_EQ(link.status, 2) << link.output;
    EXPECT_MESSAGE_HAS(link.output, "lies in the Images/");
    const std::string train =
        "train --data " + b + " --epochs 1 --batch-size 2 --width 4 --depth 1 --device cpu --out ";
    const test::CommandResult in_images = test::run_pfce(train + a + "/patches/Images/run");
    EXPECT_EQ(in_images.status, 2) << in_images.output;
    EXPECT_MESSAGE_HAS(in_images.output, "lies in the Images/");
    // The synthetic dataset's root (its .pfce-output marker): data synth --force there refused the
    // run it did not write.
    const test::CommandResult in_root = test::run_pfce(train + a + "/run --force");
    EXPECT_EQ(in_root.status, 2) << in_root.output;
    EXPECT_MESSAGE_HAS(in_root.output, "--out " + a + "/run lies inside " + a +
                                           ", a synthetic dataset that pfce wrote");
    // The directory itself, however it is written, lies inside no output: a rerun into "runs/s/"
    // found its own marker and refused itself (review).
    for (const std::string& self : {a, a + "/", a + "/.", a + "/./"})
        EXPECT_TRUE(pfce_output_above(self).dir.empty()) << self;
    EXPECT_FALSE(pfce_output_above(a + "/sub/").dir.empty());
    EXPECT_FALSE(pfce_output_above(a + "/sub/.").dir.empty());
    // pfce run too: it wrote a whole suite there, even inside another suite's train/ (probe).
    for (const char* force : {"", " --force"}) {
        const test::CommandResult suite =
            test::run_pfce("run synthetic-small --device cpu --out " + a + "/suite" + force);
        EXPECT_EQ(suite.status, 2) << suite.output;
        EXPECT_MESSAGE_HAS(suite.output, "--out " + a + "/suite lies inside " + a +
                                             ", a synthetic dataset that pfce wrote");
    }
    // Nor a file of predict, data preview, export or eval (probe: predictions in a synthetic
    // dataset stopped its data synth --force).
    ASSERT_EQ(test::run_pfce(train + root + "/run").status, 0);
    const std::string ckpt = root + "/run/last.ckpt";
    for (const std::string& cmd :
         {"predict --checkpoint " + ckpt + " --device cpu --input " + b +
              "/patches/Images/Image_0.tif --out " + a + "/patches/newdir/p.png",
          "predict --checkpoint " + ckpt + " --device cpu --input " + b +
              "/patches/Images/Image_0.tif --out " + a + "/p.png",
          "data preview " + b + " --out " + a + "/sheet.png",
          "export --checkpoint " + ckpt + " --out " + a + "/m.onnx",
          "eval --checkpoint " + ckpt + " --device cpu --per-image " + a + "/scores.csv"}) {
        const test::CommandResult r = test::run_pfce(cmd + " --force");
        EXPECT_EQ(r.status, 2) << cmd << "\n" << r.output;
        EXPECT_MESSAGE_HAS(r.output, " lies inside " + a + ", a synthetic dataset that pfce wrote");
    }
    // A suite's OUT refuses other files only in an experiment's own directory (OUT/<id>/): there
    // they are refused, in its train/ and elsewhere in OUT taken (an ONNX model exported beside a
    // suite's checkpoint was refused, and pfce run kept such files: review).
    const std::string suite = root + "/suite";
    fs::create_directories(suite + "/e1/train");
    std::ofstream(suite + "/.pfce-output") << "run of suite \"tiny\"\n";
    std::ofstream(suite + "/e1/result.json") << "{}\n";
    const std::string exp = "export --checkpoint " + ckpt + " --out ";
    const test::CommandResult in_experiment = test::run_pfce(exp + suite + "/e1/m.onnx");
    EXPECT_EQ(in_experiment.status, 2) << in_experiment.output;
    EXPECT_MESSAGE_HAS(in_experiment.output,
                       "lies inside " + suite + ", a run of suite \"tiny\" that pfce wrote");
    EXPECT_EQ(test::run_pfce(exp + suite + "/e1/train/m.onnx").status, 0);
    EXPECT_EQ(test::run_pfce(exp + suite + "/m.onnx").status, 0);
    EXPECT_EQ(test::run_pfce(exp + suite + "/exports/m.onnx").status, 0);
    // Masks into a training run's directory: its files are named as a run's, not as files pfce
    // did not write (probe).
    const test::CommandResult into_run =
        test::run_pfce("link --in " + root + "/sp --out " + root + "/run --device cpu");
    EXPECT_EQ(into_run.status, 2) << into_run.output;
    EXPECT_MESSAGE_HAS(into_run.output,
                       "--out " + root + "/run already holds other files than pfce's masks (");
    EXPECT_MESSAGE_HAS(into_run.output, "; a training run's directory)");
    EXPECT_EQ(snapshot(a), before);
    ASSERT_EQ(
        test::run_pfce("data synth --out " + a + " --count 4 --size 32 --seed 2 --force").status,
        0);
}

// Masks written among the dataset's own files (sample or link --out inside its image or mask
// directory) are refused before anything is written; elsewhere inside the dataset's root they are
// not (a labels folder beside images/ and masks/).
TEST(DataSafety, MasksAreNotWrittenAmongTheDatasetsFiles) {
    const std::string root = test::temp_dir("safety_among_samples");
    const test::ForeignDataset fd =
        test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    const auto before = snapshot(fd.root);
    for (const char* inside : {"/images/sp", "/masks", "/masks/sp/deeper"}) {
        const test::CommandResult r =
            test::run_pfce("sample --data " + fd.root + " --points 5 --out " + fd.root + inside);
        EXPECT_EQ(r.status, 2) << inside << "\n" << r.output;
        EXPECT_MESSAGE_HAS(r.output, "which holds the dataset's images or masks");
    }
    EXPECT_EQ(snapshot(fd.root), before);
    const std::string sparse = fd.root + "/labels/sparse";
    ASSERT_EQ(test::run_pfce("sample --data " + fd.root + " --points 5 --out " + sparse).status, 0);
    const test::CommandResult link =
        test::run_pfce("link --in " + sparse + " --out " + fd.root + "/masks/linked --device cpu");
    EXPECT_EQ(link.status, 2) << link.output;
    EXPECT_MESSAGE_HAS(link.output, "which holds the dataset's images or masks");
    EXPECT_FALSE(fs::exists(fd.root + "/masks/linked"));
    // Images in the root itself (images = "."): a folder beside them is a labels folder still.
    for (const auto& e : fs::directory_iterator(fd.root + "/images"))
        fs::rename(e.path(), fd.root + "/" + e.path().filename().string());
    fs::remove(fd.root + "/images");
    std::ofstream(fd.root + "/dataset.toml", std::ios::app) << "\n[files]\nimages = \".\"\n";
    const test::CommandResult flat =
        test::run_pfce("sample --data " + fd.root + " --points 5 --out " + fd.root + "/flat-sp");
    EXPECT_EQ(flat.status, 0) << flat.output;
    // What a file written there would be read as (predict's and preview's guard): the root that
    // holds the images is a data directory, a folder beside them is not, and neither is a
    // subdirectory of the masks' spared (it was, written into, said by every later scan).
    EXPECT_NE(cli::data_directory_of(fd.root), "");
    EXPECT_EQ(cli::data_directory_of(fd.root + "/flat-sp"),
              "the mask directory " + fs::weakly_canonical(fd.root + "/flat-sp").string());
    EXPECT_EQ(cli::data_directory_of(fd.root + "/predictions"), "");
    EXPECT_NE(cli::data_directory_of(fd.root + "/masks/vis"), "");
    EXPECT_NE(cli::data_directory_of(fd.root + "/masks"), "");
}

// A writer killed mid-write (SIGKILL) leaves its temporary: the next command that writes there
// removes the temporaries of processes that are gone, and nothing else (not a live process's, not
// a file of another name, not a temporary of a file the command does not write).
TEST(DataSafety, TemporariesOfAKilledWriterAreRemovedAndNothingElse) {
    const std::string root = test::temp_dir("safety_temps");
    const test::ForeignDataset fd =
        test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    const pid_t gone = dead_pid(), alive = ::getpid();

    // A mask directory: reused as it is, and rewritten after an interruption.
    const std::string sp = root + "/sp";
    const std::string sample = "sample --data " + fd.root + " --points 5 --out " + sp;
    ASSERT_EQ(test::run_pfce(sample).status, 0);
    const std::string stale = plant_temp(sp + "/tile_0.png", gone, 161);
    const std::string live = plant_temp(sp + "/tile_1.png", alive, 3);
    const test::CommandResult reused = test::run_pfce(sample);
    EXPECT_EQ(reused.status, 0) << reused.output;
    EXPECT_FALSE(fs::exists(stale));
    EXPECT_TRUE(fs::exists(live));
    fs::remove(live);
    fs::remove(sp + "/masks.json");  // as a kill before it leaves the directory
    const std::string stale2 = plant_temp(sp + "/tile_2.png", gone, 162);
    const test::CommandResult again = test::run_pfce(sample);
    EXPECT_EQ(again.status, 0) << again.output;
    EXPECT_FALSE(fs::exists(stale2));
    EXPECT_TRUE(fs::exists(sp + "/masks.json"));

    // A run: its checkpoints' temporaries go when the run is resumed (or started over).
    const std::string run = root + "/run";
    const std::string train = "train --data " + fd.root + " --out " + run +
                              " --epochs 1 --batch-size 4 --width 4 --depth 1 --device cpu";
    ASSERT_EQ(test::run_pfce(train).status, 0);
    const std::string best_tmp = plant_temp(run + "/best.ckpt", gone, 7);
    const std::string config_tmp = plant_temp(run + "/config.toml", gone, 8);
    std::ofstream(run + "/.notes.tmp") << "not pfce's\n";
    // A temporary of a dead process for a file train never writes is not train's to remove (it
    // removed any, without a word: robustness probe).
    const std::string users_tmp = plant_temp(run + "/user.txt", gone, 9);
    const test::CommandResult resume = test::run_pfce(train + " --resume");
    EXPECT_EQ(resume.status, 0) << resume.output;
    EXPECT_FALSE(fs::exists(best_tmp));
    EXPECT_FALSE(fs::exists(config_tmp));
    EXPECT_TRUE(fs::exists(run + "/.notes.tmp"));
    EXPECT_TRUE(fs::exists(users_tmp));
    fs::remove(users_tmp);

    // predict: the temporaries of the files it writes, after a --force rerun as without.
    const std::string pred = root + "/pred";
    const std::string predict = "predict --checkpoint " + run + "/last.ckpt --input " + fd.root +
                                "/images --out " + pred + " --device cpu";
    ASSERT_EQ(test::run_pfce(predict).status, 0);
    const std::string mask_tmp = plant_temp(pred + "/tile_0.png", gone, 1);
    const std::string overlay_tmp = plant_temp(pred + "/tile_0_overlay.png", gone, 2);
    const std::string other_tmp = plant_temp(pred + "/elsewhere.png", gone, 3);
    const std::string nested_tmp = plant_temp(mask_tmp, gone, 4);  // a staged file's own
    EXPECT_EQ(test::run_pfce(predict + " --force").status, 0);
    EXPECT_FALSE(fs::exists(mask_tmp));
    EXPECT_FALSE(fs::exists(overlay_tmp));
    EXPECT_FALSE(fs::exists(nested_tmp));
    EXPECT_TRUE(fs::exists(other_tmp));  // not a file this predict writes

    // A contact sheet: a killed preview's temporary went only with its process, never (1.9 MB
    // each, hostile-user probe).
    const std::string sheet_tmp = plant_temp(root + "/sheet.png", gone, 5);
    const std::string other_sheet_tmp = plant_temp(root + "/other.png", gone, 6);
    EXPECT_EQ(test::run_pfce("data preview " + fd.root + " --count 1 --out " + root + "/sheet.png")
                  .status,
              0);
    EXPECT_FALSE(fs::exists(sheet_tmp));
    EXPECT_TRUE(fs::exists(other_sheet_tmp));

    // A full disk while an image's outputs are replaced (--force) leaves the old ones together
    // (before, a new mask beside the old overlay). A file-size limit fails writes past it as a
    // full disk does: the palette mask (1.2 KB) fits in its 2 KB, the colour overlay (3.3 KB) not.
    const std::string mask = pred + "/tile_0.png", overlay = pred + "/tile_0_overlay.png";
    fs::remove(other_tmp);
    write_file_atomically(mask, "old mask");
    write_file_atomically(overlay, "old overlay");
    const test::CommandResult full = test::run_command(
        "trap '' XFSZ; ulimit -f 2; \"" + test::pfce_binary() + "\" " + predict + " --force 2>&1");
    EXPECT_EQ(full.status, 1) << full.output;
    EXPECT_EQ(read_whole_file(mask), "old mask");
    EXPECT_EQ(read_whole_file(overlay), "old overlay");
    for (const auto& e : fs::directory_iterator(pred))
        EXPECT_FALSE(is_temp_name(e.path().filename().string())) << e.path();
}

// Several predicts may share one --out (inputs split across devices or processes): none locks it
// (a lock made the others fail). Two writing the same name are kept apart where they meet: an
// image's outputs are put in place together, and without --force never over a file that appeared
// since (hostile-user probe: two predicts into one --out mixed two models' masks and overlays).
TEST(DataSafety, PredictsShareAnOutputDirectoryWithoutMixingFiles) {
    const std::string root = test::temp_dir("safety_predict_share");
    const test::ForeignDataset fd =
        test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    const std::string run = root + "/run";
    ASSERT_EQ(train_tiny_run(fd.root, run).status, 0);
    const std::string pred = root + "/pred/";
    std::string both = "s=0; for i in 0 1 2; do \"" + test::pfce_binary() +
                       "\" predict --checkpoint " + run + "/last.ckpt --input " + fd.root +
                       "/images/tile_$i.png --out " + pred +
                       " --device cpu -q 2>&1 & pids=\"$pids $!\"; ";
    // Each waited for by its PID: bash 5.2's `wait -n` can miss a job that ended early.
    both += "done; for p in $pids; do wait $p || s=1; done; exit $s";
    const test::CommandResult r = test::run_command("bash -c '" + both + "'");
    EXPECT_EQ(r.status, 0) << r.output;
    for (int i = 0; i < 3; ++i) {
        const std::string n = pred + "tile_" + std::to_string(i);
        EXPECT_TRUE(fs::exists(n + ".png") && fs::exists(n + "_overlay.png")) << n;
    }

    // Where they meet: a file that appeared after the check is not replaced, and what was renamed
    // before it is taken back. With replace, a rename that fails puts the old files back.
    const std::string dir = root + "/staged";
    fs::create_directories(dir);
    {
        StagedFiles staged;
        write_file_atomically(staged.stage(dir + "/a.png"), "new a");
        write_file_atomically(staged.stage(dir + "/b.png"), "new b");
        write_file_atomically(dir + "/b.png", "another command's b");
        EXPECT_THROW(staged.commit(false), InputError);
    }
    EXPECT_FALSE(fs::exists(dir + "/a.png"));
    EXPECT_EQ(read_whole_file(dir + "/b.png"), "another command's b");
    write_file_atomically(dir + "/a.png", "old a");
    fs::remove(dir + "/b.png");
    fs::create_directories(dir + "/b.png/in-the-way");  // the rename of b fails
    {
        StagedFiles staged;
        write_file_atomically(staged.stage(dir + "/a.png"), "new a");
        write_file_atomically(staged.stage(dir + "/b.png"), "new b");
        EXPECT_THROW(staged.commit(true), SystemError);
    }
    EXPECT_EQ(read_whole_file(dir + "/a.png"), "old a");
    for (const auto& e : fs::directory_iterator(dir))  // no temporary, no old file kept aside
        EXPECT_FALSE(is_temp_name(e.path().filename().string())) << e.path();
    // A dropped file goes with the commit, and comes back when the commit fails; one gone
    // already is no failure.
    fs::remove_all(dir + "/b.png");
    write_file_atomically(dir + "/a.pgw", "old world");
    {
        StagedFiles staged;
        write_file_atomically(staged.stage(dir + "/a.png"), "new a");
        staged.drop(dir + "/a.pgw");
        staged.drop(dir + "/never-there.pgw");
        staged.commit(true);
    }
    EXPECT_EQ(read_whole_file(dir + "/a.png"), "new a");
    EXPECT_FALSE(fs::exists(dir + "/a.pgw"));
    write_file_atomically(dir + "/a.pgw", "old world");
    fs::create_directories(dir + "/b.png/in-the-way");
    {
        StagedFiles staged;
        write_file_atomically(staged.stage(dir + "/a.png"), "newer a");
        staged.drop(dir + "/a.pgw");
        write_file_atomically(staged.stage(dir + "/b.png"), "new b");  // fails: a directory
        EXPECT_THROW(staged.commit(true), SystemError);
    }
    EXPECT_EQ(read_whole_file(dir + "/a.png"), "new a");
    EXPECT_EQ(read_whole_file(dir + "/a.pgw"), "old world");
    for (const auto& e : fs::directory_iterator(dir))
        EXPECT_FALSE(is_temp_name(e.path().filename().string())) << e.path();
}

// The writer of a temporary can be gone while its PID still names a process: a zombie (killed,
// not yet reaped by a shell that has not waited for it), or a process started later that reuses
// the PID. Both temporaries are stale; a live writer's is not.
TEST(DataSafety, TemporariesOfAZombieOrAReusedPidAreStale) {
    const std::string dir = test::temp_dir("safety_zombie");
    const pid_t zombie = ::fork();
    if (zombie == 0) ::_exit(0);
    const pid_t sleeper = ::fork();
    if (sleeper == 0) {
        ::pause();
        ::_exit(0);
    }
    auto state_of = [](pid_t pid) {
        std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
        std::string line;
        std::getline(stat, line);
        const std::size_t close = line.rfind(')');
        return close == std::string::npos || close + 2 >= line.size() ? '?' : line[close + 2];
    };
    for (int i = 0; i < 500 && state_of(zombie) != 'Z'; ++i) ::usleep(10000);
    ASSERT_EQ(state_of(zombie), 'Z');

    const std::string of_zombie = plant_temp(dir + "/a.png", zombie, 1);
    const std::string of_live = plant_temp(dir + "/b.png", sleeper, 2);
    const std::string of_reused = plant_temp(dir + "/c.png", sleeper, 3);
    // Written an hour before the sleeper started: the sleeper cannot have written it.
    fs::last_write_time(of_reused, fs::file_time_type::clock::now() - std::chrono::hours(1));
    EXPECT_EQ(remove_stale_temps(dir), 2u);
    EXPECT_FALSE(fs::exists(of_zombie));
    EXPECT_TRUE(fs::exists(of_live));
    EXPECT_FALSE(fs::exists(of_reused));

    ::kill(sleeper, SIGKILL);
    int st = 0;
    ::waitpid(sleeper, &st, 0);
    ::waitpid(zombie, &st, 0);
}

// Two writers of one directory at once: the second is refused while the first holds the lock (a
// descriptor of this test process here, as another pfce holds it), and nothing of the first's is
// touched, --force or not; once the lock is gone the same command works.
TEST(DataSafety, ADirectoryBeingWrittenIsRefusedToASecondWriter) {
    const std::string root = test::temp_dir("safety_lock");
    const std::string data = root + "/data", run = root + "/run";
    const std::string synth = "data synth --count 6 --size 64 --out " + data;
    ASSERT_EQ(test::run_pfce(synth).status, 0);
    const std::string train = "train --data " + data + " --out " + run +
                              " --epochs 1 --batch-size 2 --width 4 --depth 1 --device cpu";
    ASSERT_EQ(test::run_pfce(train).status, 0);

    for (const std::string& dir : {data, run}) {
        const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
        const auto before = snapshot(dir);
        const test::CommandResult r = test::run_pfce((dir == data ? synth : train) + " --force");
        EXPECT_EQ(r.status, 2) << r.output;
        EXPECT_MESSAGE_HAS(r.output, dir + " is being written or read by another pfce command now");
        EXPECT_EQ(snapshot(dir), before);
        ::close(fd);
        const test::CommandResult after =
            test::run_pfce((dir == data ? synth : train) + " --force");
        EXPECT_EQ(after.status, 0) << after.output;
    }
    // One process may claim a directory it holds again (a mask directory on its way to being
    // written); the outer lock keeps it, and once that is gone so is the lock.
    {
        const DirLock outer = lock_output_dir(run);
        EXPECT_TRUE(outer.owns());
        DirLock inner;
        EXPECT_NO_THROW(inner = lock_output_dir(run));
        EXPECT_FALSE(inner.owns());
        EXPECT_NE(test::run_pfce(train + " --force").status, 0);
    }
    EXPECT_EQ(test::run_pfce(train + " --force").status, 0);
}

// Two trains started at once on a new --out both saw it missing and made it; the one refused its
// lock then removed "the directory it made" from under the other, and neither trained (a hostile
// probe, 6 of 20 tries). A directory another process holds is never removed by one that failed:
// neither by train's clean-up nor by MadeDirectories (every other command's), nor those above it.
TEST(DataSafety, ADirectoryAnotherCommandHoldsIsNotRemovedByOneThatFailed) {
    const std::string root = test::temp_dir("safety_made_held");
    const std::string out = root + "/a/b";
    auto raw_lock = [](const std::string& dir) {  // as another process's lock conflicts
        const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        EXPECT_GE(fd, 0);
        EXPECT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
        return fd;
    };
    std::optional<MadeDirectories> made;
    made.emplace();
    std::error_code ec;
    made->create(out, ec);
    ASSERT_TRUE(fs::is_directory(out));
    EXPECT_FALSE(locked_by_another_process(out));
    const int fd = raw_lock(out);
    EXPECT_TRUE(locked_by_another_process(out));
    {
        const DirLock ours = lock_output_dir(root);  // this process's own: not another's
        EXPECT_FALSE(locked_by_another_process(root));
    }
    made.reset();  // ends (failed) while "another command" holds what it made
    EXPECT_TRUE(fs::is_directory(out));
    EXPECT_TRUE(fs::is_directory(root + "/a"));
    ::close(fd);
    made.emplace();
    made->create(root + "/a/b/c/d", ec);
    made.reset();
    EXPECT_FALSE(fs::exists(root + "/a/b/c"));  // not held: what it made goes again
    EXPECT_TRUE(fs::is_directory(out));         // not made by it
    EXPECT_FALSE(locked_by_another_process(root + "/missing"));
}

// A mask directory replaced while a run reads it would give the run some old and some new masks
// (hostile-user probe: `train --labels` read them unlocked while `sample --force` rewrote them).
// Readers share the directory's lock: a writer is refused while one reads, a reader while one
// writes, and readers do not refuse each other.
TEST(DataSafety, MasksBeingReadAreNotReplacedNorReadWhileReplaced) {
    const std::string root = test::temp_dir("safety_read_lock");
    const std::string data = root + "/data", masks = root + "/masks";
    ASSERT_EQ(test::run_pfce("data synth --count 6 --size 64 --out " + data).status, 0);
    const std::string sample = "sample --data " + data + " --points 5 --out " + masks;
    ASSERT_EQ(test::run_pfce(sample).status, 0);
    const std::string train = "train --data " + data + " --labels " + masks + " --out " + root +
                              "/run --epochs 1 --batch-size 2 --width 4 --depth 1 --device cpu";
    const int fd = ::open(masks.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::flock(fd, LOCK_SH | LOCK_NB), 0);  // a run reading them
    const auto before = snapshot(masks);
    const test::CommandResult replace = test::run_pfce(sample + " --seed 4 --force");
    EXPECT_EQ(replace.status, 2) << replace.output;
    EXPECT_MESSAGE_HAS(replace.output, masks + " is being written or read by another pfce");
    EXPECT_EQ(snapshot(masks), before);
    const test::CommandResult reader = test::run_pfce(train);  // another reader: fine
    EXPECT_EQ(reader.status, 0) << reader.output;
    ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);  // now one writing them
    const test::CommandResult refused = test::run_pfce(train + " --force");
    EXPECT_EQ(refused.status, 2) << refused.output;
    EXPECT_MESSAGE_HAS(refused.output,
                       "labels.dir " + masks + " is being written by another pfce command now");
    const test::CommandResult link =
        test::run_pfce("link --in " + masks + " --radius 5 --device cpu --out " + root + "/l");
    EXPECT_EQ(link.status, 2) << link.output;
    EXPECT_MESSAGE_HAS(link.output, "--in " + masks + " is being written by another pfce");
    EXPECT_FALSE(fs::exists(root + "/l"));
    const test::CommandResult eval =
        test::run_pfce("eval --checkpoint " + root + "/run/last.ckpt --labels " + masks +
                       " --device cpu");  // the loss on them
    EXPECT_EQ(eval.status, 2) << eval.output;
    EXPECT_MESSAGE_HAS(eval.output, "--labels " + masks + " is being written by another pfce");
    ::close(fd);
    EXPECT_EQ(test::run_pfce(train + " --force").status, 0);
}

// The same for the dataset a run reads (hostile-user probe: `data synth --force` rewrote it while
// a run read it, and the run failed on what looked like bad input).
TEST(DataSafety, ADatasetBeingReadIsNotWrittenAgainNorReadWhileWritten) {
    const std::string root = test::temp_dir("safety_read_data");
    const std::string data = root + "/data";
    const std::string synth = "data synth --count 6 --size 64 --out " + data;
    ASSERT_EQ(test::run_pfce(synth).status, 0);
    const std::string train = "train --data " + data + " --out " + root +
                              "/run --epochs 1 --batch-size 2 --width 4 --depth 1 --device cpu";
    const int fd = ::open(data.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::flock(fd, LOCK_SH | LOCK_NB), 0);  // a run reading it
    const test::CommandResult rewrite = test::run_pfce(synth + " --seed 3 --force");
    EXPECT_EQ(rewrite.status, 2) << rewrite.output;
    EXPECT_MESSAGE_HAS(rewrite.output, data + " is being written or read by another pfce");
    const test::CommandResult reader = test::run_pfce(train);  // another reader: fine
    EXPECT_EQ(reader.status, 0) << reader.output;
    const std::string eval =
        "eval --checkpoint " + root + "/run/last.ckpt --split all --device cpu";
    const test::CommandResult scoring = test::run_pfce(eval);  // eval reads it too: fine
    EXPECT_EQ(scoring.status, 0) << scoring.output;
    ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);  // now one writing it
    const test::CommandResult refused = test::run_pfce(train + " --force");
    EXPECT_EQ(refused.status, 2) << refused.output;
    EXPECT_MESSAGE_HAS(refused.output,
                       "--data " + data + " is being written by another pfce command now");
    const test::CommandResult eval_refused = test::run_pfce(eval);  // nor scored meanwhile
    EXPECT_EQ(eval_refused.status, 2) << eval_refused.output;
    EXPECT_MESSAGE_HAS(eval_refused.output,
                       "--data " + data + " is being written by another pfce command now");
    ::close(fd);
    EXPECT_EQ(test::run_pfce(train + " --force").status, 0);
}

// A command refused for its arguments (or its device) leaves no output directory behind.
TEST(DataSafety, ARefusedCommandCreatesNoOutputDirectory) {
    const std::string root = test::temp_dir("safety_refused");
    // The last needs 40 PB: more than any disk here has free.
    for (const char* bad : {" --count 0", " --size 5", " --count 3 --size 100000",
                            " --count 100000000 --size 8192"}) {
        const test::CommandResult r =
            test::run_pfce("data synth --out " + root + "/dx" + std::string(bad));
        EXPECT_EQ(r.status, 2) << bad << "\n" << r.output;
        EXPECT_FALSE(fs::exists(root + "/dx")) << bad;
    }
    // No machine has a 100th GPU: refused as a missing one is, before OUT is claimed.
    const test::CommandResult run = test::run_pfce("run --device cuda:99 --out " + root + "/sx8");
    EXPECT_EQ(run.status, 2) << run.output;
    EXPECT_MESSAGE_HAS(run.output, "--device cuda");
    EXPECT_FALSE(fs::exists(root + "/sx8"));
}

// A bad mask found halfway (sample reads the dense masks as it writes the points, link the sparse
// masks) fails the command: a directory it made is removed, one that was empty is emptied again,
// so no half-written mask directory is left (before, the masks written so far and the marker).
TEST(DataSafety, AMaskFoundBadHalfwayLeavesNoHalfWrittenDirectory) {
    const std::string root = test::temp_dir("safety_halfway");
    test::ForeignSpec spec;
    spec.sizes.assign(12, {40, 32});
    const auto fd = test::write_foreign_dataset(root + "/data", spec);
    ASSERT_EQ(
        test::run_pfce("sample --data " + fd.root + " --points 5 --out " + root + "/good").status,
        0);
    // The last dense mask gets a colour of no class, the last sparse mask a value of none.
    const std::string dense = fd.root + "/masks/" + fd.ids.back() + ".png";
    const std::string dense_bytes = read_whole_file(dense);
    RgbImage m = read_rgb(dense);
    m.at(10, 20)[0] = 1;
    m.at(10, 20)[1] = 2;
    m.at(10, 20)[2] = 3;
    write_png(dense, m);
    fs::create_directories(root + "/empty");
    for (const std::string& out : {root + "/new", root + "/empty", root + "/up/to/new"}) {
        const test::CommandResult r =
            test::run_pfce("sample --data " + fd.root + " --points 5 --out " + out);
        EXPECT_EQ(r.status, 2) << r.output;
        EXPECT_MESSAGE_HAS(r.output, fd.ids.back());
    }
    EXPECT_FALSE(fs::exists(root + "/new"));
    EXPECT_TRUE(fs::is_empty(root + "/empty"));
    EXPECT_FALSE(fs::exists(root + "/up")) << "the parents made for it are removed too";
    // Replacing complete masks, the new ones stay temporaries until all are written: a failure
    // leaves the old masks and masks.json as they were (before, masks.json was gone and the masks
    // up to the bad one were new).
    const auto good = snapshot(root + "/good");
    const test::CommandResult forced =
        test::run_pfce("sample --data " + fd.root + " --points 7 --force --out " + root + "/good");
    EXPECT_EQ(forced.status, 2) << forced.output;
    EXPECT_EQ(snapshot(root + "/good"), good);
    // Only what it wrote is undone: a file put there meanwhile stays, and so does its directory.
    {
        MaskDirWriting writing = prepare_mask_dir(root + "/busy", false, {"a"});
        std::ofstream(root + "/busy/a.png") << "mask";
        std::ofstream(root + "/busy/mine.txt") << "mine";
    }
    EXPECT_FALSE(fs::exists(root + "/busy/a.png"));
    EXPECT_FALSE(fs::exists(root + "/busy/.pfce-output"));
    EXPECT_EQ(read_whole_file(root + "/busy/mine.txt"), "mine");

    const std::string sparse = root + "/good/" + fd.ids.back() + ".png";
    const std::string sparse_bytes = read_whole_file(sparse);
    LabelMap bad = read_gray(sparse);
    bad.labels[0] = 200;  // no class index, not unlabelled
    write_png_gray(sparse, bad);
    const std::string link = "link --in " + root + "/good --radius 5 --device cpu --out ";
    const test::CommandResult l = test::run_pfce(link + root + "/linked");
    EXPECT_EQ(l.status, 2) << l.output;
    EXPECT_FALSE(fs::exists(root + "/linked"));
    // Linked masks are kept whole when linking them again fails.
    write_file_atomically(sparse, sparse_bytes);
    write_file_atomically(dense, dense_bytes);
    const test::CommandResult made = test::run_pfce(link + root + "/relinked");
    ASSERT_EQ(made.status, 0) << made.output;
    const auto linked = snapshot(root + "/relinked");
    write_png_gray(sparse, bad);
    // A sparse mask edited since is no reason to reuse the links (before, they were reused).
    const test::CommandResult edited = test::run_pfce(link + root + "/relinked");
    EXPECT_EQ(edited.status, 2) << edited.output;
    EXPECT_MESSAGE_HAS(edited.output, "a mask file there changed");
    EXPECT_EQ(test::run_pfce(link + root + "/relinked --force").status, 2);
    EXPECT_EQ(snapshot(root + "/relinked"), linked);
}

// Ctrl-C / SIGTERM while masks or a synthetic dataset are written (hostile-user probe: they died
// mid-write, so replacing masks with --force could be cut between its renames): the commands stop
// between masks, and unwinding undoes what they wrote as a failure does. The stop is requested
// here as the signal handler does (core/stop_signal).
TEST(DataSafety, StoppingAWriterUndoesItsWritingAndKeepsTheOldMasks) {
    struct ClearStop {
        ~ClearStop() { clear_stop_request(); }
    } clear;
    const std::string root = test::temp_dir("safety_stop");
    test::ForeignSpec spec;
    spec.sizes.assign(12, {40, 32});
    const auto fd = test::write_foreign_dataset(root + "/data", spec);
    const Dataset ds = Dataset::open(fd.root);
    SamplerOptions so;
    so.points = {5};
    const auto stop = [](std::size_t, std::size_t) { request_stop(); };
    EXPECT_THROW(make_sparse_masks(ds, so, root + "/new", false, stop), StopRequested);
    EXPECT_FALSE(fs::exists(root + "/new"));
    clear_stop_request();
    make_sparse_masks(ds, so, root + "/good", false, nullptr);
    const auto good = snapshot(root + "/good");
    so.seed = 9;
    EXPECT_THROW(make_sparse_masks(ds, so, root + "/good", true, stop), StopRequested);
    EXPECT_EQ(snapshot(root + "/good"), good);  // the old masks and masks.json, untouched

    auto backend = test::cpu_backend();
    LinkDirOptions lo;
    lo.in_dir = root + "/good";
    lo.out_dir = root + "/linked";
    lo.params.radius = 5;
    request_stop();
    EXPECT_THROW(link_mask_dir(*backend, lo), StopRequested);
    EXPECT_FALSE(fs::exists(root + "/linked"));

    // A stopped synthetic dataset stays incomplete (no marker), and the same call finishes it.
    SynthOptions syn;
    syn.out_dir = root + "/synth";
    syn.count = 4;
    syn.size = 32;
    EXPECT_THROW(prepare_synthetic_dataset(syn, SynthReplace::never, nullptr), StopRequested);
    EXPECT_FALSE(fs::exists(root + "/synth/" + kSynthCompletionFile));
    clear_stop_request();
    EXPECT_FALSE(prepare_synthetic_dataset(syn, SynthReplace::never, nullptr));
    EXPECT_TRUE(fs::exists(root + "/synth/" + kSynthCompletionFile));
}

// The command itself, stopped by SIGTERM while it writes: it says so and exits 130 (before, it died
// by the signal without a word).
TEST(DataSafety, AStoppedSynthSaysWhatItLeft) {
    const std::string out = test::temp_dir("safety_stop_cli") + "/synth";
    // Stopped once its first image is written; 400 images of 256x256 take seconds.
    std::string command = "\"";  // appended to: GCC 12 warns (-Wrestrict) at "\"" + string&&
    command += test::pfce_binary() + "\" data synth --count 400 --size 256 --out " + out +
               " 2>&1 & pid=$!; i=0; while [ ! -e " + out +
               "/patches/Images/Image_0.tif ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; "
               "kill -TERM $pid; wait $pid";
    const test::CommandResult r = test::run_command(command);
    if (fs::exists(out + "/" + kSynthCompletionFile)) GTEST_SKIP() << "it finished first";
    EXPECT_EQ(r.status, 130) << r.output;
    EXPECT_MESSAGE_HAS(r.output, "stopped (Ctrl-C / SIGTERM)");
    EXPECT_MESSAGE_HAS(r.output, "run the same command again");
}

// data preview stopped while it writes its sheet: exit 130, said, the user's earlier sheet as it
// was and no temporary beside it (it had no handler: killed by the signal, it left a half-written
// temporary; interruption probe).
TEST(DataSafety, AStoppedPreviewLeavesTheSheetAsItWas) {
    const std::string root = test::temp_dir("safety_stop_preview");
    test::write_synthetic(root + "/data", 30, 64, 0);
    const std::string sheet = root + "/out/sheet.png";
    fs::create_directories(root + "/out");
    std::ofstream(sheet) << "the user's own";
    // 30 rows of 768-pixel panels: a sheet of 100 MB takes a second or more to write.
    std::string command = "\"";  // appended to: GCC 12 warns (-Wrestrict) at "\"" + string&&
    command += test::pfce_binary() + "\" data preview " + root + "/data --count 30 --panel 768 " +
               "--force --out " + sheet + " 2>&1 & pid=$!; i=0; while ! ls -a " + root +
               "/out | grep -q tmp && [ $i -lt 400 ]; do sleep 0.02; i=$((i+1)); done; "
               "kill -TERM $pid; wait $pid";
    const test::CommandResult r = test::run_command(command);
    if (r.status == 0) GTEST_SKIP() << "it finished first";
    EXPECT_EQ(r.status, 130) << r.output;
    EXPECT_MESSAGE_HAS(r.output, "pfce: stopped (Ctrl-C / SIGTERM): no sheet written (" + sheet +
                                     " is as it was); run the same command again to write it");
    EXPECT_EQ(read_whole_file(sheet), "the user's own");
    for (const auto& e : fs::directory_iterator(root + "/out"))
        EXPECT_EQ(e.path().string(), sheet) << "left beside it";
}

// A synthetic suite of one dense experiment, 12 images of 32x32.
const char* const kSyntheticSuite = R"([suite]
name = "s"
experiments = [{ id = "a", labels = { kind = "dense" } }]
[data]
source = "synthetic"
synthetic_count = 12
synthetic_size = 32
)";

// `pfce run --force` reruns experiments; it never replaces a dataset that --data names outside
// OUT (other runs may read it): refused as without --force, with the command that does replace
// it, and before OUT exists.
TEST(DataSafety, RunForceNeverReplacesADatasetGivenByData) {
    const std::string root = test::temp_dir("safety_run_data_force");
    std::ofstream(root + "/s.toml") << kSyntheticSuite;
    const std::string data = root + "/myds";
    ASSERT_EQ(test::run_pfce("data synth --out " + data + " --count 24 --size 32").status, 0);
    const auto before = snapshot(data);
    for (const char* force : {"", " --force"}) {
        const test::CommandResult r =
            test::run_pfce("run " + root + "/s.toml --device cpu --data " + data + " --out " +
                           root + "/o" + force);
        EXPECT_EQ(r.status, 2) << force << "\n" << r.output;
        EXPECT_MESSAGE_HAS(r.output, "holds another synthetic dataset");
        EXPECT_MESSAGE_HAS(r.output, "pfce data synth --out " + data + " --count 12");
        EXPECT_FALSE(fs::exists(root + "/o")) << force;
    }
    EXPECT_EQ(snapshot(data), before);
}

// pfce run holds its data's read lock from reading it to its end: `data synth --force` into it
// while a later experiment has yet to train is refused (it was not: the suite said complete with
// experiments trained on other, partly mixed data; hostile probe), and so is one while it trains.
TEST(DataSafety, ASuitesDataIsNotWrittenAgainWhileTheSuiteRuns) {
    const std::string root = test::temp_dir("safety_run_data_lock");
    std::ofstream(root + "/s.toml")
        << "[suite]\nname = \"s\"\nexperiments = [{ id = \"a\", labels = { kind = \"dense\" } }, "
           "{ id = \"b\", labels = { kind = \"dense\" } }]\n[data]\nsource = \"synthetic\"\n"
           "synthetic_count = 12\nsynthetic_size = 32\n[model]\nwidth = 4\ndepth = 2\n"
           "[run]\nbatch_size = 4\nepochs = 40\n";
    const std::string data = root + "/myds";
    ASSERT_EQ(test::run_pfce("data synth --out " + data + " --count 12 --size 32").status, 0);
    // The run in the background; once its first experiment trains, the data is written again.
    std::string command = "\"";  // appended to: GCC 12 warns (-Wrestrict) at "\"" + string&&
    command += test::pfce_binary() + "\" run " + root + "/s.toml --device cpu --data " + data +
               " --out " + root + "/o > " + root + "/run.log 2>&1 & pid=$!; i=0; while [ ! -e " +
               root + "/o/a/train/metrics.jsonl ] && [ $i -lt 600 ]; do sleep 0.02; i=$((i+1)); " +
               "done; kill -0 $pid 2>/dev/null && echo alive=1; \"" + test::pfce_binary() +
               "\" data synth --out " + data +
               " --count 12 --size 32 --seed 9 --force 2>&1; echo synth=$?; wait $pid; echo run=$?";
    const test::CommandResult r = test::run_command(command);
    if (r.output.find("alive=1") == std::string::npos) GTEST_SKIP() << "the suite finished first";
    EXPECT_MESSAGE_HAS(r.output, "synth=2");
    EXPECT_MESSAGE_HAS(r.output, "is being written or read by another pfce command now");
    EXPECT_MESSAGE_HAS(r.output, "run=0");
}

// A --data pfce run may not use is refused naming --data, before OUT is created: a directory of
// a user's files (for a synthetic suite), OUT itself, a directory inside OUT (where experiments
// train), one holding OUT.
TEST(DataSafety, RunRefusesADataDirectoryItMayNotUseBeforeCreatingOut) {
    const std::string root = test::temp_dir("safety_run_data_dir");
    std::ofstream(root + "/s.toml") << kSyntheticSuite;
    fs::create_directories(root + "/user");
    std::ofstream(root + "/user/notes.txt") << "x\n";
    const std::string out = root + "/o1";
    auto run = [&](const std::string& data, const std::string& o) {
        return test::run_pfce("run " + root + "/s.toml --device cpu --data " + data + " --out " +
                              o);
    };
    const test::CommandResult user = run(root + "/user", out);
    EXPECT_EQ(user.status, 2) << user.output;
    EXPECT_MESSAGE_HAS(user.output, "--data " + root + "/user already holds other files");
    EXPECT_EQ(user.output.find("--out " + root + "/user"), std::string::npos) << user.output;
    EXPECT_FALSE(fs::exists(out));
    for (const std::string& inside : {out, out + "/a", out + "/a/train", out + "/data"}) {
        const test::CommandResult r = run(inside, out);
        EXPECT_EQ(r.status, 2) << inside << "\n" << r.output;
        EXPECT_MESSAGE_HAS(r.output, "--data " + inside + " is ");
        EXPECT_FALSE(fs::exists(out)) << inside;
    }
    const test::CommandResult holds = run(root + "/d2", root + "/d2/runs");
    EXPECT_EQ(holds.status, 2) << holds.output;
    EXPECT_MESSAGE_HAS(holds.output, "is inside --data");
    EXPECT_FALSE(fs::exists(root + "/d2"));
    // The same for a dataset the suite file names ([data] root): refused before OUT exists.
    const std::string ds = root + "/foreign";
    test::write_foreign_dataset(ds, test::ForeignSpec{});
    std::ofstream(root + "/ds.toml") << "[suite]\nname = \"d\"\nexperiments = [{ id = \"a\", "
                                        "labels = { kind = \"dense\" } }]\n[data]\nsource = "
                                        "\"dataset\"\nroot = \""
                                     << ds << "\"\n";
    const test::CommandResult in_root =
        test::run_pfce("run " + root + "/ds.toml --device cpu --out " + ds + "/images/out");
    EXPECT_EQ(in_root.status, 2) << in_root.output;
    EXPECT_MESSAGE_HAS(in_root.output, "--out " + ds + "/images/out is inside the dataset " + ds);
    EXPECT_FALSE(fs::exists(ds + "/images/out"));
    EXPECT_EQ(snapshot(root + "/user").size(), 1u);
    // A dataset that is not there (or a file): refused before OUT exists (hostile probe: OUT was
    // claimed first, and then refused another suite).
    for (const std::string& missing : {root + "/nowhere", root + "/s.toml"}) {
        const test::CommandResult r =
            test::run_pfce("run potsdam --device cpu --data " + missing + " --out " + out);
        EXPECT_EQ(r.status, 2) << r.output;
        EXPECT_MESSAGE_HAS(r.output, "--data " + missing);
        EXPECT_FALSE(fs::exists(out)) << missing;
    }
}
