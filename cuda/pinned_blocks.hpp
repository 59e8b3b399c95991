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

// Whether [p, p + bytes) lies in a registered block of `device`.
bool holds(const void* p, std::size_t bytes, int device);

// Records the event marking reads of the registered block of `device` that holds [p, p + bytes)
// on `stream`, right after the caller enqueued its read there, and returns it; made at the block's
// first read (on the current device, which must be `device`). nullptr, recording nothing, when the
// range is in no such block.
cudaEvent_t record_read(const void* p, std::size_t bytes, int device, cudaStream_t stream);

// The event of the last read recorded for the registered block that holds [p, p + bytes); nullptr
// when the range is in no registered block or none was recorded.
cudaEvent_t last_read(const void* p, std::size_t bytes);

}  // namespace pfce::pinned
