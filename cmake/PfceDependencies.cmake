# Third-party libraries, all from Debian packages (scripts/setup.sh installs them).
find_package(Threads REQUIRED)
find_package(OpenMP REQUIRED COMPONENTS CXX)
find_package(TIFF REQUIRED)
find_package(PNG REQUIRED)
find_package(JPEG REQUIRED)  # libjpeg62-turbo-dev (libtiff-dev needs it too)
find_package(tomlplusplus REQUIRED)
find_package(CLI11 REQUIRED)
find_package(nlohmann_json REQUIRED)

# OpenBLAS: Debian ships no CMake config; find the library and header directly. Installed, they
# are reached through update-alternatives links in the multiarch directories; unpacked without
# dpkg (scripts/gpu_check.sh) only the openblas-pthread/ directories hold them.
find_library(PFCE_OPENBLAS_LIB NAMES openblas PATH_SUFFIXES openblas-pthread REQUIRED)
find_path(PFCE_CBLAS_INCLUDE NAMES cblas.h
          PATH_SUFFIXES openblas x86_64-linux-gnu/openblas-pthread openblas-pthread REQUIRED)
add_library(pfce::openblas INTERFACE IMPORTED)
target_link_libraries(pfce::openblas INTERFACE ${PFCE_OPENBLAS_LIB})
target_include_directories(pfce::openblas INTERFACE ${PFCE_CBLAS_INCLUDE})

# oneDNN (libdnnl-dev, 2.x: the version Debian's PyTorch uses) runs the CPU backend's convolutions.
# Its package config also looks for OpenCL (Debian builds it with the OpenCL GPU runtime), so
# ocl-icd-opencl-dev is installed beside it. A prefix install works through dnnl_DIR or
# CMAKE_PREFIX_PATH.
find_package(dnnl 2.6 CONFIG REQUIRED)

# stb (libstb-dev): headers under stb/, implementations compiled into libstb. The tests write JPEGs
# with it (pfce reads them with libjpeg).
find_path(PFCE_STB_INCLUDE NAMES stb/stb_image.h REQUIRED)
find_library(PFCE_STB_LIB NAMES stb REQUIRED)
add_library(pfce::stb INTERFACE IMPORTED)
target_link_libraries(pfce::stb INTERFACE ${PFCE_STB_LIB})
target_include_directories(pfce::stb INTERFACE ${PFCE_STB_INCLUDE})

# nanoflann is header-only and used only by the KD-tree baseline in bench/.
find_path(PFCE_NANOFLANN_INCLUDE NAMES nanoflann.hpp)

if(PFCE_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
