# Optional CUDA backend. PFCE_CUDA=AUTO turns it on when nvcc and cuDNN are both found; ON makes
# their absence an error; OFF never looks. Sets PFCE_HAVE_CUDA and the pfce::cudnn target.
set(PFCE_HAVE_CUDA OFF)
set(PFCE_CUDA_ARCHS_STRING "none")
if(NOT PFCE_CUDA STREQUAL "OFF")
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES OR CMAKE_CUDA_ARCHITECTURES STREQUAL "")
    set(CMAKE_CUDA_ARCHITECTURES 90 CACHE STRING "CUDA architectures to build for (default 90: H100/H200)")
  endif()
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    # cuDNN may also come only as PyTorch's nvidia-cudnn wheel (site-packages/nvidia/cudnn, which
    # holds libcudnn.so.9 but no libcudnn.so link): ask the Python on PATH where it is.
    set(pfce_cudnn_wheel "")
    find_program(PFCE_PYTHON3 python3)
    if(PFCE_PYTHON3)
      execute_process(COMMAND ${PFCE_PYTHON3} -c
                        "import nvidia.cudnn as m; print(list(m.__path__)[0])"
                      OUTPUT_VARIABLE pfce_cudnn_wheel OUTPUT_STRIP_TRAILING_WHITESPACE
                      ERROR_QUIET)
    endif()
    find_path(PFCE_CUDNN_INCLUDE cudnn.h HINTS ${CUDAToolkit_INCLUDE_DIRS} ${pfce_cudnn_wheel}
              PATH_SUFFIXES include)
    find_library(PFCE_CUDNN_LIB NAMES cudnn libcudnn.so.9
                 HINTS ${CUDAToolkit_LIBRARY_DIR} ${CUDAToolkit_LIBRARY_ROOT}/lib ${pfce_cudnn_wheel}
                 PATH_SUFFIXES lib lib64)
    if(PFCE_CUDNN_INCLUDE AND PFCE_CUDNN_LIB)
      set(PFCE_HAVE_CUDA ON)
      add_library(pfce::cudnn INTERFACE IMPORTED)
      target_link_libraries(pfce::cudnn INTERFACE ${PFCE_CUDNN_LIB})
      target_include_directories(pfce::cudnn INTERFACE ${PFCE_CUDNN_INCLUDE})
      # CMake 3.25 predates nvcc's C++20 support; tell it the flag (nvcc 13 accepts -std=c++20).
      set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
      set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
      set(CMAKE_CUDA_STANDARD 20)
      set(CMAKE_CUDA_STANDARD_REQUIRED ON)
      string(REPLACE ";" "," PFCE_CUDA_ARCHS_STRING "${CMAKE_CUDA_ARCHITECTURES}")
    elseif(PFCE_CUDA STREQUAL "ON")
      message(FATAL_ERROR "PFCE_CUDA=ON but cuDNN was not found (cudnn.h / libcudnn)")
    else()
      message(STATUS "pfce: nvcc found but cuDNN not found: building without the CUDA backend")
    endif()
  elseif(PFCE_CUDA STREQUAL "ON")
    message(FATAL_ERROR "PFCE_CUDA=ON but no CUDA compiler was found")
  else()
    message(STATUS "pfce: no CUDA compiler: building the CPU backend only")
  endif()
endif()
