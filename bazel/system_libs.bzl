"""Turns Debian's pkg-config packages into cc_library targets of @system."""

def _pkg_config(ctx, args):
    result = ctx.execute(["pkg-config"] + args)
    if result.return_code != 0:
        fail("pkg-config %s failed: %s\nRun tools/setup to install Petrel's dependencies." %
             (" ".join(args), result.stderr))
    return result.stdout.strip().split(" ")

def _system_libraries_impl(ctx):
    build = ['package(default_visibility = ["//visibility:public"])', ""]
    for name, packages in ctx.attr.libraries.items():
        linkopts = [f for f in _pkg_config(ctx, ["--libs"] + packages) if f]
        defines = []
        includes = []
        for flag in _pkg_config(ctx, ["--cflags"] + packages):
            if flag.startswith("-D"):
                defines.append(flag[2:])
            elif flag.startswith("-I"):
                # cc_library wants include dirs inside the repository: link them in.
                link = "include_%s_%d" % (name, len(includes))
                ctx.symlink(flag[2:], link)
                includes.append(link)
        build.append("cc_library(")
        build.append("    name = %r," % name)
        if includes:
            build.append("    hdrs = glob([%s]), " % ", ".join(["%r" % (i + "/**/*.h") for i in includes]))
            build.append("    includes = %r," % includes)
        build.append("    defines = %r," % defines)
        build.append("    linkopts = %r," % linkopts)
        build.append(")")
        build.append("")
    ctx.file("WORKSPACE", 'workspace(name = "%s")\n' % ctx.name)
    ctx.file("BUILD", "\n".join(build))

system_libraries = repository_rule(
    implementation = _system_libraries_impl,
    attrs = {"libraries": attr.string_list_dict(mandatory = True)},
    environ = ["PKG_CONFIG_PATH"],
    local = True,
)
