// Checkpoint files: a versioned binary container of JSON metadata (config, schedule and loop state)
// and named host tensors (parameters, batch-norm buffers, optimizer state), closed by an FNV-1a
// 64-bit checksum of every byte before it. Tensors are stored as host data, so a checkpoint written
// on the GPU loads on the CPU and the reverse. Files are written atomically (temp + rename).
//
// Layout (little-endian): "PFCECKPT" | u32 version | u64 n, n bytes of JSON | u32 count |
//   count x (u32 n, name | u8 dtype | u8 rank | i64 dims[rank] | u64 bytes, data) | u64 fnv1a64
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/backend.hpp"
#include "core/hash.hpp"

namespace pfce {

constexpr std::uint32_t kCheckpointVersion = 1;

struct NamedTensor {
    std::string name;
    Tensor value;  // host
};

struct Checkpoint {
    nlohmann::json meta = nlohmann::json::object();
    std::vector<NamedTensor> tensors;

    const Tensor* find(const std::string& name) const;
    // Host copy of `t` (any device, via `backend`) appended under `name`.
    void add(Backend& backend, const std::string& name, const Tensor& t);
    // Copies the stored tensor `name` into `dst` (any device) after checking dtype and shape;
    // InputError naming `source` when missing or mismatched.
    void load_into(Backend& backend, const std::string& name, Tensor& dst,
                   const std::string& source) const;
};

void write_checkpoint(const std::string& path, const Checkpoint& ckpt);
// InputError naming the file for a missing file, bad magic, unknown version, truncation or a
// checksum mismatch.
Checkpoint read_checkpoint(const std::string& path);
// Whether `path` starts as a pfce checkpoint does (its magic bytes); false for an unreadable file.
bool is_checkpoint_file(const std::string& path);
// The metadata of the checkpoint at `path`, read from its head alone (no tensor is read and the
// checksum is not verified: a quick look, e.g. at a run's state); null when it cannot be read.
nlohmann::json peek_checkpoint_meta(const std::string& path);
// A checkpoint's weights as 16 hex digits: a hash of its tensors' names and bytes (its metadata,
// which records times, left out: the same weights written again hash alike); "absent" where the
// file is missing or not a checkpoint that reads.
std::string checkpoint_weights_checksum(const std::string& path);

}  // namespace pfce
