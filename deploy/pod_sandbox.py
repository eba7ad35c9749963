#!/usr/bin/python3
"""Runs one container's process the way a container runtime would, without one.

    pod_sandbox.py SPEC.json

Meant to run as root inside `ip netns exec NS unshare --mount --uts
--propagation private`, so that every mount below stays in this process's
own mount namespace and vanishes with it. SPEC (JSON) says:

  root        an empty directory to build the container's root in
  hostname    the pod's host name
  binaries    {path in the container: file on this host}, e.g. the
              Dockerfile's /usr/local/bin/petrel-* from bazel-bin
  etc_files   {path under /etc: text}, e.g. "hosts" and "resolv.conf"
  users       extra passwd lines (the image's users)
  mounts      [{source, target, readonly}], volumes and state directories
  read_only_root  mount the root read-only (readOnlyRootFilesystem)
  uid, gid, groups  who the process runs as (runAsUser, runAsGroup, fsGroup)
  env         the whole environment, {name: value}
  argv        the command line; argv[0] is resolved in the container
  cwd         working directory in the container (default /)

The "image" is this host's Debian 12 /usr (read-only) plus the binaries:
the packages deploy/k8s/Dockerfile installs are a subset of what
tools/setup installs here, at the same versions. /etc is a copy of the few
files the binaries read (the dynamic loader's cache, the alternatives that
pick OpenBLAS, CA certificates, nsswitch), plus SPEC's etc_files.
"""
import json
import os
import shutil
import subprocess
import sys

# What the image's /etc needs from the host's, copied (symlinks kept).
ETC_COPY = ("alternatives", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "nsswitch.conf",
            "ssl", "host.conf", "passwd", "group", "localtime")


def mount(*args):
    subprocess.run(["mount", *args], check=True)


def main(spec_path):
    with open(spec_path) as f:
        spec = json.load(f)
    root = spec["root"]
    os.makedirs(root, exist_ok=True)
    mount("-t", "tmpfs", "-o", "mode=0755", "tmpfs", root)
    for d in ("usr", "proc", "sys", "dev", "etc", "tmp", "var/tmp", "run"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    os.chmod(os.path.join(root, "tmp"), 0o1777)
    for link in ("bin", "lib", "lib64", "sbin"):
        os.symlink("usr/" + link, os.path.join(root, link))

    # The image: /usr read-only, the binaries on a tmpfs /usr/local.
    mount("--bind", "/usr", f"{root}/usr")
    mount("-o", "remount,bind,ro", f"{root}/usr")
    mount("-t", "tmpfs", "-o", "mode=0755", "tmpfs", f"{root}/usr/local")
    for target, source in spec.get("binaries", {}).items():
        path = root + target
        os.makedirs(os.path.dirname(path), exist_ok=True)
        shutil.copy(source, path)
        os.chmod(path, 0o755)
    mount("-o", "remount,ro", f"{root}/usr/local")

    etc = f"{root}/etc"
    for name in ETC_COPY:
        src = "/etc/" + name
        if os.path.isdir(src) and not os.path.islink(src):
            shutil.copytree(src, f"{etc}/{name}", symlinks=True)
        elif os.path.lexists(src):
            shutil.copy(src, f"{etc}/{name}", follow_symlinks=False)
    if spec.get("users"):
        with open(f"{etc}/passwd", "a") as f:
            f.write("".join(u + "\n" for u in spec["users"]))
    for name, text in spec.get("etc_files", {}).items():
        os.makedirs(os.path.dirname(f"{etc}/{name}"), exist_ok=True)
        with open(f"{etc}/{name}", "w") as f:
            f.write(text)

    mount("-t", "proc", "proc", f"{root}/proc")
    mount("--rbind", "/sys", f"{root}/sys")
    mount("--rbind", "/dev", f"{root}/dev")
    for m in spec.get("mounts", []):
        path = root + m["target"]
        os.makedirs(path, exist_ok=True)
        mount("--bind", m["source"], path)
        if m.get("readonly"):
            mount("-o", "remount,bind,ro", path)
    if spec.get("read_only_root"):
        mount("-o", "remount,ro", root)

    subprocess.run(["hostname", spec["hostname"]], check=True)
    os.chroot(root)
    os.chdir(spec.get("cwd", "/"))
    os.setgroups(spec.get("groups", []))
    os.setgid(spec.get("gid", 0))
    os.setuid(spec.get("uid", 0))
    argv = spec["argv"]
    env = spec["env"]
    program = argv[0]
    if "/" not in program:
        program = shutil.which(program, path=env.get("PATH", "/usr/bin:/bin")) or program
    os.execve(program, argv, env)


if __name__ == "__main__":
    main(sys.argv[1])
