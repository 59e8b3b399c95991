// The registry of pinned staging blocks (pinned_blocks.hpp): start address -> size, device and the
// event of the block's last read, under one mutex.
#include "cuda/pinned_blocks.hpp"

#include <cstdint>
#include <map>
#include <mutex>

#include "cuda/cuda_check.hpp"

namespace pfce::pinned {

namespace {

struct Block {
    std::size_t bytes = 0;
    int device = 0;
    cudaEvent_t read = nullptr;  // made at the block's first read, reused for every later one
    bool recorded = false;       // a read has been recorded on `read`
};

struct Registry {
    std::mutex mu;
    std::map<std::uintptr_t, Block> blocks;  // by start address
};

// Never destroyed: a tensor may be freed during static destruction, after a static would be gone.
Registry& registry() {
    static Registry* r = new Registry;
    return *r;
}

// The block holding [p, p + bytes), or blocks.end() (the caller holds mu).
std::map<std::uintptr_t, Block>::iterator find(Registry& r, const void* p, std::size_t bytes) {
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    auto it = r.blocks.upper_bound(a);  // the first block starting after p
    if (it == r.blocks.begin()) return r.blocks.end();
    --it;  // the last block starting at or before p
    const std::size_t offset = a - it->first;
    if (offset > it->second.bytes || bytes > it->second.bytes - offset) return r.blocks.end();
    return it;
}

}  // namespace

void add(void* p, std::size_t bytes, int device) {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    Block b;
    b.bytes = bytes;
    b.device = device;
    r.blocks[reinterpret_cast<std::uintptr_t>(p)] = b;
}

void release(void* p) noexcept {
    cudaEvent_t read = nullptr;
    bool recorded = false;
    {
        Registry& r = registry();
        std::lock_guard<std::mutex> lock(r.mu);
        const auto it = r.blocks.find(reinterpret_cast<std::uintptr_t>(p));
        if (it != r.blocks.end()) {
            read = it->second.read;
            recorded = it->second.recorded;
            r.blocks.erase(it);
        }
    }
    // A copy may still be reading the block (its owner let it go without wait_until_read).
    if (recorded) PFCE_CUDA_CHECK_LOG(cudaEventSynchronize(read));
    if (read) PFCE_CUDA_CHECK_LOG(cudaEventDestroy(read));
    PFCE_CUDA_CHECK_LOG(cudaFreeHost(p));
}

bool holds(const void* p, std::size_t bytes, int device) {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    const auto it = find(r, p, bytes);
    return it != r.blocks.end() && it->second.device == device;
}

cudaEvent_t record_read(const void* p, std::size_t bytes, int device, cudaStream_t stream) {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    const auto it = find(r, p, bytes);
    if (it == r.blocks.end() || it->second.device != device) return nullptr;
    Block& b = it->second;
    // Blocking: the waits are the loader threads', which should sleep rather than spin on a core.
    if (!b.read)
        PFCE_CUDA_CHECK(
            cudaEventCreateWithFlags(&b.read, cudaEventDisableTiming | cudaEventBlockingSync));
    // Recorded and marked under the lock: a waiter never sees `recorded` before the record.
    PFCE_CUDA_CHECK(cudaEventRecord(b.read, stream));
    b.recorded = true;
    return b.read;
}

cudaEvent_t last_read(const void* p, std::size_t bytes) {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    const auto it = find(r, p, bytes);
    return it != r.blocks.end() && it->second.recorded ? it->second.read : nullptr;
}

}  // namespace pfce::pinned
