// `pfce doctor`: what this build is and what it can use on this machine.
#include <cstdio>
#include <string>

#include "core/build_info.hpp"
#include "core/op_variants.hpp"
#include "core/source_version.hpp"
#include "host/backend/backend_factory.hpp"
#include "host/cli/command_registry.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

extern "C" {
int openblas_get_num_threads(void);
char* openblas_get_config(void);
}

namespace pfce::cli {
namespace {

void run_doctor() {
    std::printf("pfce %s, %s build, %s\n", pfce_version_text().c_str(), PFCE_BUILD_TYPE,
                PFCE_COMPILER);
    std::printf("CUDA backend:      %s\n",
                cuda_compiled() ? "built" : "not built (PFCE_CUDA=OFF or toolkit not found)");
    if (cuda_compiled()) {
        std::printf("CUDA:              %s\n", cuda_runtime_version_string().c_str());
        std::printf("cuDNN:             %s\n", cudnn_version_string().c_str());
        std::printf("architectures:     %s\n", PFCE_CUDA_ARCHITECTURES);
        const auto lines = cuda_device_lines();
        std::printf("CUDA devices:      %zu\n", lines.size());
        for (const auto& l : lines) std::printf("  %s\n", l.c_str());
        // Why: an old driver, no driver, a hidden device (CUDA_VISIBLE_DEVICES) read alike.
        if (lines.empty())
            std::printf("  (none visible: %s; --device auto will use the CPU)\n",
                        cuda_unavailable_reason().c_str());
    }
    // Its config string starts with its own name ("OpenBLAS 0.3.21 ..."): not said twice. One
    // thread unless OPENBLAS_NUM_THREADS says otherwise (host/cli/main.cpp: no idle pool).
    std::printf("BLAS:              %s, %d thread%s (pfce calls no BLAS routine)\n",
                openblas_get_config(), openblas_get_num_threads(),
                openblas_get_num_threads() == 1 ? "" : "s");
#ifdef _OPENMP
    std::printf("OpenMP:            %d threads (OMP_NUM_THREADS to change)\n",
                omp_get_max_threads());
#else
    std::printf("OpenMP:            not built\n");
#endif
    std::printf("default device:    %s\n", cuda_devices() > 0 ? "cuda:0" : "cpu");
    // What run.kernels (--kernels op=variant,...) may pick; the CPU backend has one of each.
    std::printf("kernel variants:   CUDA only, a run's default marked * (run.kernels)\n");
    for (const OpVariantFamily& f : cuda_op_variant_families()) {
        std::string names;
        for (const std::string& v : f.variants)
            names += (names.empty() ? "" : " | ") + v + (v == f.run_default ? "*" : "");
        std::printf("  %-17s %s: %s\n", f.op.c_str(), names.c_str(), f.about.c_str());
    }
}

const bool registered =
    register_command("doctor", "print build flags, devices, BLAS and OpenMP threads",
                     [](CLI::App& sub) { sub.callback(run_doctor); });

}  // namespace
}  // namespace pfce::cli
