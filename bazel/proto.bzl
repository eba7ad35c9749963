"""The one macro that turns .proto files into C++ message and gRPC code."""

def petrel_proto_library(name, srcs, visibility = None):
    """Generates *.pb.{h,cc} and *.grpc.pb.{h,cc} with the system protoc.

    All srcs go through one protoc call, so they may import each other as
    "proto/<file>.proto".
    """
    bases = [s[:-len(".proto")] for s in srcs]
    hdrs = [b + ".pb.h" for b in bases] + [b + ".grpc.pb.h" for b in bases]
    cc_srcs = [b + ".pb.cc" for b in bases] + [b + ".grpc.pb.cc" for b in bases]
    native.genrule(
        name = name + "_codegen",
        srcs = srcs,
        outs = hdrs + cc_srcs,
        cmd = ("protoc -I. --cpp_out=$(GENDIR) --grpc_out=$(GENDIR) " +
               "--plugin=protoc-gen-grpc=$$(command -v grpc_cpp_plugin) $(SRCS)"),
    )
    native.cc_library(
        name = name,
        srcs = cc_srcs,
        hdrs = hdrs,
        deps = ["@system//:grpc"],
        visibility = visibility,
    )
