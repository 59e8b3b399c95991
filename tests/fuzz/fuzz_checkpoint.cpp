// Fuzz target for the checkpoint reader: the container (magic, version, JSON length, tensor
// records, checksum) and the config JSON inside it.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "host/train/checkpoint.hpp"
#include "host/train/config.hpp"
#include "tests/fuzz/fuzz_target.hpp"

namespace {

void read_one(const std::string& bytes) {
    const std::string path = pfce::fuzz::scratch_file(
        reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), ".ckpt");
    try {
        const pfce::Checkpoint ck = pfce::read_checkpoint(path);
        if (ck.meta.contains("config")) (void)pfce::config_from_json(ck.meta["config"], path);
    } catch (const pfce::Error&) {
    } catch (const nlohmann::json::exception&) {  // metadata of the wrong shape
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string bytes(reinterpret_cast<const char*>(data), size);
    read_one(bytes);
    // Almost every mutation breaks the checksum, which is checked first; with it mended, the
    // lengths, records and JSON behind it are fuzzed too.
    if (bytes.size() >= 8) {
        const std::uint64_t h = pfce::fnv1a64(bytes.data(), bytes.size() - 8);
        std::memcpy(&bytes[bytes.size() - 8], &h, 8);
        read_one(bytes);
    }
    return 0;
}

std::vector<std::string> fuzz_seeds() {
    using namespace pfce;
    Checkpoint ck;
    ck.meta = {{"format", "pfce-unet"}, {"config", to_json(Config{})}};
    Tensor a = Tensor::host({2, 3}, DType::f32);
    for (int i = 0; i < 6; ++i) a.data<float>()[i] = static_cast<float>(i) * 0.5f;
    ck.tensors.push_back({"param.a", std::move(a)});
    Tensor b = Tensor::host({4}, DType::u8);
    ck.tensors.push_back({"buffer.b", std::move(b)});
    const std::string p = "/tmp/pfce-fuzz-seed-" + std::to_string(::getpid()) + ".ckpt";
    write_checkpoint(p, ck);
    std::string bytes = fuzz::file_bytes(p);
    std::remove(p.c_str());
    return {bytes};
}
