"""nvcc as a genrule, and Petrel's CUDA targets, defined only when @cuda has nvcc."""

load("@cuda//:defs.bzl", "CUDA_AVAILABLE", "NVCC")
load("@rules_cc//cc:defs.bzl", "cc_library", "cc_test")

# sm_80 (A100) and sm_90 (H100, H200) machine code, plus compute_90 PTX for
# newer GPUs to JIT.
NVCC_FLAGS = [
    "-O3",
    "-std=c++17",
    "-Xcompiler",
    "-fPIC",
    "--generate-code",
    "arch=compute_80,code=sm_80",
    "--generate-code",
    "arch=compute_90,code=[sm_90,compute_90]",
]

def nvcc_object(name, src, hdrs = []):
    """Compiles one .cu file to `<name>.o` with nvcc (includes relative to the workspace root)."""
    native.genrule(
        name = name,
        srcs = [src] + hdrs,
        outs = [name + ".o"],
        cmd = "%s %s -I. -c $(location %s) -o $@" % (NVCC, " ".join(NVCC_FLAGS), src),
        message = "nvcc " + src,
    )

def cuda_targets():
    """Petrel's CUDA libraries and tests; nothing when @cuda has no nvcc."""
    if not CUDA_AVAILABLE:
        return
    internal_hdrs = ["cuda_api.h", "kernels.cuh"]
    for src in ["cuda_context", "fused_kernels", "sparse_kernels"]:
        nvcc_object(name = src + "_cu", src = src + ".cu", hdrs = internal_hdrs)

    # The nvcc-compiled half: no Abseil, only the CUDA runtime and cuBLAS.
    cc_library(
        name = "cuda_context",
        srcs = [":cuda_context_cu", ":fused_kernels_cu", ":sparse_kernels_cu"],
        hdrs = ["cuda_api.h"],
        deps = ["@cuda//:cublas", "@cuda//:cudart"],
    )

    cc_library(
        name = "cuda_backend",
        srcs = ["cuda_backend.cc"],
        hdrs = ["cuda_backend.h", "cuda_status.h"],
        deps = [
            ":cuda_context",
            "//kernels:backend_interface",
            "@system//:absl",
        ],
    )

    cc_test(
        name = "cuda_backend_test",
        size = "medium",
        srcs = ["cuda_backend_test.cc"],
        deps = [
            ":cuda_backend",
            "//kernels/cpu:cpu_backend",
            "@system//:absl",
        ],
    )

    cc_test(
        name = "sparse_kernels_test",
        size = "small",
        srcs = ["sparse_kernels_test.cc"],
        deps = [":cuda_backend", "@system//:absl"],
    )

    # The standalone parity program that tools/gpu_check builds with nvcc on
    # the GPU machine; built here too so that it keeps compiling. It is a test
    # that passes (skipping) where there is no GPU.
    cc_test(
        name = "gpu_parity",
        size = "medium",
        srcs = ["gpu_parity_main.cc"],
        deps = [":cuda_context"],
    )
