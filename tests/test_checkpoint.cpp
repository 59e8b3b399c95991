// Checkpoint files: bit-exact round trip, and refusal of corrupted, truncated or foreign files with
// an error naming the file.
#include <cstring>
#include <filesystem>
#include <fstream>

#include "host/train/checkpoint.hpp"
#include "tests/test_util.hpp"

namespace pfce {
namespace {

Checkpoint sample_checkpoint(Backend& b) {
    Checkpoint ck;
    ck.meta = {{"config", {{"width", 8}, {"optimizer", "adamw"}}}, {"epoch", 3}, {"lr", 1e-3 / 3}};
    Tensor w = test::random_f32({4, 3, 3, 3}, 5, -10, 10);
    w.data<float>()[0] = -0.0f;  // sign of zero and denormals must survive
    w.data<float>()[1] = 1e-42f;
    ck.add(b, "enc0.conv1.weight", w);
    Tensor counts = Tensor::host({6, 6}, DType::i32);
    for (int i = 0; i < 36; ++i) counts.data<std::int32_t>()[i] = i * 1000003 - 7;
    ck.add(b, "confusion", counts);
    ck.add(b, "empty", Tensor::host({0}, DType::f32));
    ck.add(b, "labels", Tensor::host({2, 3, 4}, DType::u8));
    return ck;
}

std::vector<char> read_bytes(const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& p, const std::vector<char>& bytes) {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void expect_refused(const std::string& path, const std::string& why) {
    try {
        read_checkpoint(path);
        ADD_FAILURE() << "accepted a " << why << " checkpoint";
    } catch (const InputError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find(path), std::string::npos) << msg;
    }
}

TEST(Checkpoint, RoundTripIsBitExact) {
    auto b = test::cpu_backend();
    const std::string dir = test::temp_dir("ckpt");
    const std::string path = dir + "/a.ckpt";
    const Checkpoint ck = sample_checkpoint(*b);
    write_checkpoint(path, ck);
    EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));  // renamed into place
    const Checkpoint back = read_checkpoint(path);
    EXPECT_EQ(back.meta, ck.meta);
    EXPECT_EQ(back.meta["lr"].get<double>(), 1e-3 / 3);  // doubles round-trip exactly
    ASSERT_EQ(back.tensors.size(), ck.tensors.size());
    for (std::size_t i = 0; i < ck.tensors.size(); ++i) {
        EXPECT_EQ(back.tensors[i].name, ck.tensors[i].name);
        EXPECT_EQ(back.tensors[i].value.describe(), ck.tensors[i].value.describe());
        EXPECT_EQ(0, std::memcmp(back.tensors[i].value.raw(), ck.tensors[i].value.raw(),
                                 ck.tensors[i].value.bytes()));
    }
    // Writing what was read gives the same file, byte for byte.
    write_checkpoint(dir + "/b.ckpt", back);
    EXPECT_EQ(read_bytes(path), read_bytes(dir + "/b.ckpt"));

    Tensor dst = Tensor::host({4, 3, 3, 3}, DType::f32);
    back.load_into(*b, "enc0.conv1.weight", dst, path);
    EXPECT_EQ(0, std::memcmp(dst.raw(), back.find("enc0.conv1.weight")->raw(), dst.bytes()));
    Tensor wrong = Tensor::host({4, 3, 3}, DType::f32);
    EXPECT_THROW(back.load_into(*b, "enc0.conv1.weight", wrong, path), InputError);
    EXPECT_THROW(back.load_into(*b, "nope", dst, path), InputError);
}

TEST(Checkpoint, CorruptedOrTruncatedIsRefused) {
    auto b = test::cpu_backend();
    const std::string dir = test::temp_dir("ckpt");
    const std::string good = dir + "/good.ckpt";
    write_checkpoint(good, sample_checkpoint(*b));
    const std::vector<char> bytes = read_bytes(good);

    // A flipped bit anywhere (metadata, a name, tensor data, the checksum itself) is caught.
    for (std::size_t at :
         {std::size_t(20), bytes.size() / 2, bytes.size() - 30, bytes.size() - 1}) {
        std::vector<char> bad = bytes;
        bad[at] = static_cast<char>(bad[at] ^ 0x10);
        const std::string p = dir + "/flip" + std::to_string(at) + ".ckpt";
        write_bytes(p, bad);
        expect_refused(p, "bit-flipped");
    }
    for (std::size_t keep : {std::size_t(0), std::size_t(7), std::size_t(30), bytes.size() - 1}) {
        const std::string p = dir + "/trunc" + std::to_string(keep) + ".ckpt";
        write_bytes(p, std::vector<char>(bytes.begin(), bytes.begin() + static_cast<long>(keep)));
        expect_refused(p, "truncated");
    }
    std::vector<char> foreign = bytes;
    foreign[0] = 'X';
    write_bytes(dir + "/foreign.ckpt", foreign);
    expect_refused(dir + "/foreign.ckpt", "foreign");
    expect_refused(dir + "/missing.ckpt", "missing");
}

// A file that is not a checkpoint is refused by its first 8 bytes, before the rest is read: a
// hostile-user probe waited 32 s and 4 GB of memory for a 3 GB file, and /dev/zero (endless
// zeros) ran out of memory; /dev/zero is now refused as a device before it is opened.
TEST(Checkpoint, AForeignFileIsRefusedByItsMagicBeforeItIsRead) {
    try {
        read_checkpoint("/dev/zero");
        ADD_FAILURE() << "accepted /dev/zero";
    } catch (const InputError& e) {
        // Refused as a device now, before it is opened (a FIFO would wait for a writer).
        EXPECT_MESSAGE_HAS(std::string(e.what()), "/dev/zero is a device, not a regular file");
    }
    const std::string png = test::temp_dir("ckpt_foreign") + "/image.png";
    write_bytes(png, {'\x89', 'P', 'N', 'G', '\r', '\n', '\x1a', '\n', 0, 0});
    try {
        read_checkpoint(png);
        ADD_FAILURE() << "accepted a PNG";
    } catch (const InputError& e) {
        EXPECT_MESSAGE_HAS(std::string(e.what()), png);
        EXPECT_MESSAGE_HAS(std::string(e.what()), "PFCECKPT");
    }
}

TEST(CheckpointGpu, DeviceTensorsAreStoredAsHostData) {
    PFCE_REQUIRE_GPU(gpu);
    auto cpu = test::cpu_backend();
    Tensor h = test::random_f32({3, 5, 7}, 9);
    Tensor d = test::to_backend(*gpu, h);
    Checkpoint ck;
    ck.add(*gpu, "x", d);
    const std::string path = test::temp_dir("ckpt") + "/gpu.ckpt";
    write_checkpoint(path, ck);
    const Checkpoint back = read_checkpoint(path);
    Tensor on_cpu = Tensor::host({3, 5, 7}, DType::f32);
    back.load_into(*cpu, "x", on_cpu, path);
    EXPECT_EQ(0, std::memcmp(on_cpu.raw(), h.raw(), h.bytes()));
    Tensor on_gpu = gpu->zeros({3, 5, 7}, DType::f32);
    back.load_into(*gpu, "x", on_gpu, path);
    EXPECT_EQ(0, std::memcmp(test::to_host(*gpu, on_gpu).raw(), h.raw(), h.bytes()));
}

}  // namespace
}  // namespace pfce
