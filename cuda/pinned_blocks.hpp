// The pinned host blocks CudaBackend::host_staging hands out, registered by address. A host->device
// copy whose source lies in one DMAs straight from it, without the staging ring's host copy, and
// records the block's event after the read; Backend::wait_until_read waits on that event before
// the block is refilled. Process-wide rather than per context, because a tensor's deleter (a plain
// function, core/tensor.hpp) must find its block to drop it; an entry names its device, and only a
// context of that device reads it directly (an event belongs to one device). Thread-safe: the
// batch loader's threads allocate, free and wait.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>

namespace pfce::pinned {

// Registers the block of `bytes` pinned bytes at p (cudaMallocHost) as device `device`'s.
void add(void* p, std::size_t bytes, int device);

// Deregisters p's block, waits for its last recorded read, frees it: host_staging's deleter.
void release(void* p) noexcept;

// The event marking reads of the registered block of `device` that holds [p, p + bytes), made at
// the block's first use (on the current device, which must be `device`); nullptr when the range
// is in no such block. The caller records it on its stream right after enqueuing the read.
cudaEvent_t read_event(const void* p, std::size_t bytes, int device);

// The event of the last read recorded for the registered block that holds [p, p + bytes); nullptr
// when the range is in no registered block or none was recorded.
cudaEvent_t last_read(const void* p, std::size_t bytes);

}  // namespace pfce::pinned
