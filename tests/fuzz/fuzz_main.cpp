// A bounded mutation fuzzer for targets built without libFuzzer (g++, the sanitizer build): starts
// from fuzz_seeds() and files given on the command line, applies random byte-level mutations
// (bit flips, interesting values, insertions, deletions, duplicated ranges, truncation) from a
// fixed seed, and runs the target until the time budget is spent. Deterministic for a given seed
// and iteration count, so a failure found is a failure that reproduces (the input is saved).
//   fuzz_png [--seconds N] [--seed S] [--save-failure FILE] [corpus files...]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_target.hpp"

namespace {

std::string mutate(std::string s, std::mt19937_64& rng) {
    auto pick = [&](std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(rng() % n); };
    const int edits = 1 + static_cast<int>(rng() % 8);
    static const unsigned char interesting[] = {0, 1, 0x7F, 0x80, 0xFF, 0xFE, 0x10, 0x40};
    for (int e = 0; e < edits; ++e) {
        switch (rng() % 7) {
            case 0:  // flip a bit
                if (!s.empty()) s[pick(s.size())] ^= static_cast<char>(1u << (rng() % 8));
                break;
            case 1:  // an interesting byte
                if (!s.empty()) s[pick(s.size())] = static_cast<char>(interesting[rng() % 8]);
                break;
            case 2: {  // insert random bytes
                std::string ins(1 + pick(16), '\0');
                for (char& c : ins) c = static_cast<char>(rng());
                s.insert(pick(s.size() + 1), ins);
                break;
            }
            case 3:  // delete a range
                if (!s.empty()) {
                    const std::size_t at = pick(s.size());
                    s.erase(at, 1 + pick(std::min<std::size_t>(32, s.size() - at)));
                }
                break;
            case 4:  // duplicate a range
                if (!s.empty()) {
                    const std::size_t at = pick(s.size());
                    s.insert(pick(s.size()), s.substr(at, 1 + pick(32)));
                }
                break;
            case 5:  // truncate
                s.resize(pick(s.size() + 1));
                break;
            default:  // a 32-bit field set to an extreme (sizes and offsets in headers)
                if (s.size() >= 4) {
                    const std::uint32_t v =
                        rng() % 2 ? 0xFFFFFFFFu : static_cast<std::uint32_t>(rng() % 70000);
                    std::memcpy(&s[pick(s.size() - 3)], &v, 4);
                }
                break;
        }
    }
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    double seconds = 10;
    std::uint64_t seed = 1;
    std::string save = "fuzz-failure.bin";
    std::vector<std::string> corpus = fuzz_seeds();
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--seconds" && i + 1 < argc) {
            seconds = std::atof(argv[++i]);
        } else if (a == "--seed" && i + 1 < argc) {
            seed = std::strtoull(argv[++i], nullptr, 10);
        } else if (a == "--save-failure" && i + 1 < argc) {
            save = argv[++i];
        } else {
            corpus.push_back(pfce::fuzz::file_bytes(a));
        }
    }
    if (corpus.empty()) corpus.emplace_back();
    std::mt19937_64 rng(seed);
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    long long runs = 0;
    for (const std::string& c : corpus)  // the seeds themselves must pass
        LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(c.data()), c.size()), ++runs;
    while (std::chrono::steady_clock::now() < end) {
        const std::string input = mutate(corpus[rng() % corpus.size()], rng);
        {  // saved first: if the target crashes, the input that did it is on disk
            std::ofstream f(save, std::ios::binary | std::ios::trunc);
            f.write(input.data(), static_cast<std::streamsize>(input.size()));
        }
        LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
        ++runs;
    }
    std::remove(save.c_str());
    std::printf("fuzz: %lld inputs in %.0f s, %zu seeds, no failure\n", runs, seconds,
                corpus.size());
    return 0;
}
