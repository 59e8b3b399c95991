// The contract of a fuzz target (libFuzzer's): LLVMFuzzerTestOneInput gets arbitrary bytes and
// must return normally for every input: a reader may refuse bytes only by throwing pfce::Error
// (which the target catches), never by crashing, hanging, reading out of bounds or leaking.
// fuzz_seeds() gives valid inputs to start mutating from. Built with clang's -fsanitize=fuzzer when
// PFCE_FUZZ_LIBFUZZER is on, else with fuzz_main.cpp, a bounded mutation loop any compiler builds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
std::vector<std::string> fuzz_seeds();

namespace pfce::fuzz {

// Readers take paths: the input goes to a per-process scratch file (rewritten for every input).
inline std::string scratch_file(const std::uint8_t* data, std::size_t size, const char* ext) {
    const std::string path =
        "/tmp/pfce-fuzz-" + std::to_string(::getpid()) + ext;  // never shared between processes
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    return path;
}

inline std::string file_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

}  // namespace pfce::fuzz
