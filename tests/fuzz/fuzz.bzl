"""petrel_fuzz_target: one libFuzzer target and its replay test."""

def petrel_fuzz_target(name, srcs, deps):
    """Defines NAME_lib, NAME (the libFuzzer binary) and NAME_replay_test.

    NAME links no main(): it is only built by tools/fuzz, with clang and
    -fsanitize=fuzzer, hence tagged manual so that `bazel build //...` with
    gcc skips it. NAME_replay_test runs the same LLVMFuzzerTestOneInput over
    corpus/NAME and regressions/NAME in the ordinary build.
    """
    native.cc_library(
        name = name + "_lib",
        testonly = True,
        srcs = srcs,
        deps = deps + [":fuzz_util"],
        alwayslink = True,
    )
    native.cc_binary(
        name = name,
        testonly = True,
        deps = [":" + name + "_lib"],
        tags = ["manual"],
    )
    inputs = native.glob(
        ["corpus/%s/**" % name, "regressions/%s/**" % name],
        allow_empty = True,
    )
    native.cc_test(
        name = name + "_replay_test",
        size = "small",
        srcs = ["replay_main.cc"],
        args = [
            "tests/fuzz/corpus/" + name,
            "tests/fuzz/regressions/" + name,
        ],
        data = inputs,
        deps = [":" + name + "_lib"],
    )
