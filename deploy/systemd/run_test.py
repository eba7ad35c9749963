#!/usr/bin/python3
"""Runs the systemd units in deploy/systemd for real, as systemd would start them.

    run_test.py UNIT_DIR README JOB.yaml COORDINATOR SERVER WORKER CLI SANDBOX

There is no systemd to ask here (PID 1 is not systemd), so this does what
systemd does when it starts each unit: reads EnvironmentFile=
(/etc/petrel/ROLE.env: VAR=value lines, quotes removed, # comments) and runs
the unit's ExecStart= with $VAR split into words and ${VAR} kept whole, as a
non-root user (User=petrel), with ProtectSystem=strict as a read-only root,
StateDirectory= writable at /var/lib/ROLE-dir ($STATE_DIRECTORY) and
PrivateTmp= as a /tmp of its own. Each host (coord, ps1, ps2, gpu1, gpu2)
is a network namespace of its own; /etc/hosts maps the example names
(coord.example.com, ...) to their addresses.

The env files are the *.env.example files with what README.md says to
adjust: PETREL_CLUSTER_TOKEN set (a random token), and ps1 -> ps2,
gpu1 -> gpu2 on the second server and worker. /etc/petrel/tls is what the
README's `petrel certs init` line makes, without ca-key.pem. A job
(JOB.yaml with training.epochs 1) is submitted with the README's
`petrel submit` flags and must reach SUCCEEDED.

Needs root and `ip netns`; says SKIPPED and why otherwise.
"""
import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

SUBNET = "10.79.0"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
UID = 61001  # a DynamicUser= uid
HOSTS = [("coord", "coordinator"), ("ps1", "server"), ("ps2", "server"),
         ("gpu1", "worker"), ("gpu2", "worker")]


def skip(why):
    print(f"SKIPPED: {why}")
    xml = os.environ.get("XML_OUTPUT_FILE")
    if xml:
        with open(xml, "w") as f:
            f.write('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites><testsuite name="run_test" '
                    f'tests="1" skipped="1"><testcase name="run_test"><skipped message="{why}"/>'
                    "</testcase></testsuite></testsuites>\n")
    sys.exit(0)


def local_libraries(binaries):
    """{path: path} of the shared libraries the binaries load from /usr/local
    (a build made with nvcc links CUDA from /usr/local/cuda): /usr/local in
    the sandbox holds only what is put there, as in the image."""
    libs = {}
    for b in binaries:
        out = subprocess.run(["ldd", b], capture_output=True, text=True).stdout
        for lib in re.findall(r"=> (/usr/local/\S+)", out):
            libs[lib] = os.path.realpath(lib)
    return libs


class Failed(Exception):
    pass


def unit_keys(path):
    keys = {}
    for line in open(path):
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            k, v = line.split("=", 1)
            keys.setdefault(k, []).append(v)
    return keys


def environment_file(text):
    """What systemd's EnvironmentFile= reads: VAR=value, outer quotes removed."""
    env = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")) or "=" not in line:
            continue
        k, v = line.split("=", 1)
        v = v.strip()
        if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
            v = v[1:-1]
        env[k.strip()] = v
    return env


def exec_start(line, env):
    """ExecStart= words: $VAR splits into words, ${VAR} stays one word."""
    argv = []
    for word in shlex.split(line):
        m = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", word)
        if m:
            argv += env.get(m.group(1), "").split()
        else:
            argv.append(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: env.get(m.group(1), ""), word))
    return argv


def sh(*argv):
    subprocess.run(argv, check=True, capture_output=True)


def main(argv):
    if len(argv) != 9:
        print(__doc__)
        return 2
    unit_dir, readme, job_file = argv[1:4]
    bins = {"petrel-coordinator": argv[4], "petrel-server": argv[5], "petrel-worker": argv[6],
            "petrel": argv[7]}
    bins = {k: os.path.realpath(v) for k, v in bins.items()}
    sandbox = os.path.realpath(argv[8])
    libs = local_libraries(bins.values())
    if os.geteuid() != 0:
        skip("the hosts' network and mount namespaces need root")
    for tool in ("ip", "unshare", "mount", "hostname"):
        if shutil.which(tool) is None:
            skip(f"{tool} is missing (iproute2, util-linux, hostname)")
    tag = f"su{os.getpid()}"
    if subprocess.run(["ip", "netns", "add", f"{tag}-sw"], capture_output=True).returncode != 0:
        skip("cannot create network namespaces here")
    namespaces = [f"{tag}-sw"]
    procs = []
    tmp = tempfile.mkdtemp(prefix="units.", dir=os.environ.get("TEST_TMPDIR"))
    os.chmod(tmp, 0o755)
    started = time.time()
    try:
        token = secrets.token_hex(32)
        # The README's `petrel certs init` line, into a folder here.
        text = open(readme).read()
        lines = [l for l in text.replace("\\\n", " ").splitlines() if l.strip().startswith("petrel certs init")]
        os.makedirs(os.path.join(tmp, "tls"))
        if not lines:
            print("README: no `petrel certs init` line; /etc/petrel/tls stays empty")
        for line in lines[:1]:
            words = shlex.split(line)
            words[3] = os.path.join(tmp, "tls")
            os.rmdir(words[3])
            r = subprocess.run([bins["petrel"]] + words[1:], capture_output=True, text=True)
            if r.returncode != 0:
                raise Failed(f"README: {line.strip()}: {r.stderr.strip()}")
            print(f"README: ran {line.strip()}")
            os.unlink(os.path.join(tmp, "tls", "ca-key.pem"))
        tls = {f"petrel/tls/{n}": open(os.path.join(tmp, "tls", n)).read()
               for n in sorted(os.listdir(os.path.join(tmp, "tls")))}

        sh("ip", "-n", f"{tag}-sw", "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", f"{tag}-sw", "link", "set", "br0", "up")
        hosts_lines = ["127.0.0.1 localhost"]
        for i, (h, _) in enumerate(HOSTS):
            ns = f"{tag}-{h}"
            sh("ip", "netns", "add", ns)
            namespaces.append(ns)
            sh("ip", "link", "add", f"{tag}a{i}", "type", "veth", "peer", "name", f"{tag}b{i}")
            sh("ip", "link", "set", f"{tag}a{i}", "netns", ns, "name", "eth0")
            sh("ip", "link", "set", f"{tag}b{i}", "netns", f"{tag}-sw", "name", f"port{i}")
            sh("ip", "-n", f"{tag}-sw", "link", "set", f"port{i}", "master", "br0", "up")
            sh("ip", "-n", ns, "addr", "add", f"{SUBNET}.{i + 1}/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            hosts_lines.append(f"{SUBNET}.{i + 1} {h}.example.com {h}")
        hosts_text = "\n".join(hosts_lines) + "\n"

        def launch(host, argv, env, log, etc, state=None):
            priv_tmp = os.path.join(tmp, host, "tmp" + str(len(procs)))
            os.makedirs(priv_tmp)
            os.chmod(priv_tmp, 0o1777)
            mounts = [{"source": priv_tmp, "target": "/tmp"}]
            if state:
                mounts.append({"source": state[0], "target": state[1]})
            spec = {"root": os.path.join(tmp, host, f"root{len(procs)}"), "hostname": host,
                    "binaries": {**{f"/usr/local/bin/{b}": p for b, p in bins.items()}, **libs},
                    "etc_files": {"hosts": hosts_text, "hostname": host + "\n", **tls, **etc},
                    "users": [f"petrel:x:{UID}:{UID}::/nonexistent:/usr/sbin/nologin"],
                    "mounts": mounts, "read_only_root": True, "uid": UID, "gid": UID,
                    "env": env, "argv": argv}
            path = os.path.join(tmp, host, f"spec{len(procs)}.json")
            with open(path, "w") as f:
                json.dump(spec, f)
            out = open(log, "w")
            p = subprocess.Popen(["ip", "netns", "exec", f"{tag}-{host}", "unshare", "--mount", "--uts",
                                  "--propagation", "private", "/usr/bin/python3", sandbox, path],
                                 stdout=out, stderr=subprocess.STDOUT)
            procs.append((host, p, log))
            return p

        for h, role in HOSTS:
            unit = unit_keys(os.path.join(unit_dir, f"petrel-{role}.service"))
            env_path = unit["EnvironmentFile"][0].lstrip("-")
            example = open(os.path.join(unit_dir, f"{role}.env.example")).read()
            adjusted = re.sub(r"^PETREL_CLUSTER_TOKEN=.*$", f"PETREL_CLUSTER_TOKEN={token}", example, flags=re.M)
            adjusted = adjusted.replace("ps1.example.com", f"{h}.example.com") if role == "server" else adjusted
            adjusted = adjusted.replace("gpu1.example.com", f"{h}.example.com") if role == "worker" else adjusted
            env = environment_file(adjusted)
            state_dir = "/var/lib/" + unit["StateDirectory"][0]
            full_env = {"PATH": PATH, "USER": "petrel", "LOGNAME": "petrel", "HOME": "/",
                        "STATE_DIRECTORY": state_dir, **env}
            argv = exec_start(unit["ExecStart"][0], full_env)
            os.makedirs(os.path.join(tmp, h, "state"))
            os.chown(os.path.join(tmp, h, "state"), UID, UID)
            log = os.path.join(tmp, h, "daemon.log")
            launch(h, argv, full_env, log, {env_path[len("/etc/"):]: adjusted},
                   (os.path.join(tmp, h, "state"), state_dir))
            print(f"{h}: {shlex.join(argv)}")

        def check_alive():
            for h, p, log in procs[:len(HOSTS)]:
                if p.poll() is not None:
                    raise Failed(f"{h}: petrel-{dict(HOSTS)[h]}.service exited with status "
                                 f"{p.returncode} (systemd would restart it, and it would fail the same "
                                 f"way): {open(log).read().strip()[-600:]}")

        # The README's submit, from coord, as a user with the token.
        job = open(job_file).read()
        job = re.sub(r"^(\s+epochs:\s*)\d+", r"\g<1>1", job, flags=re.M)
        submit_line = next(l for l in text.splitlines() if l.strip().startswith("petrel submit"))
        flags = [w for w in shlex.split(submit_line)[3:]]
        cli_env = {"PATH": PATH, "PETREL_CLUSTER_TOKEN": token}
        etc_job = {"petrel/job.yaml": job}
        time.sleep(1)
        check_alive()
        out = os.path.join(tmp, "coord", "submit.log")
        p = launch("coord", ["petrel", "submit", "/etc/petrel/job.yaml"] + flags, cli_env, out, etc_job)
        if p.wait(60) != 0:
            check_alive()
            raise Failed(f"petrel submit ... {shlex.join(flags)}: {open(out).read().strip()[-600:]}")
        job_id = open(out).read().strip().splitlines()[-1]
        print(f"ok: petrel submit job.yaml {shlex.join(flags)} printed job id {job_id}")
        state = {}
        deadline = time.time() + 150
        n = 0
        while time.time() < deadline:
            check_alive()
            n += 1
            log = os.path.join(tmp, "coord", f"jobs{n}.log")
            q = launch("coord", ["petrel", "jobs", "--json"] + flags, cli_env, log, {})
            q.wait(30)
            try:
                state = next(j for j in json.loads(open(log).read())["jobs"] if j["job_id"] == job_id)
            except (ValueError, KeyError, StopIteration):
                state = {"state": "?", "output": open(log).read()[-300:]}
            if state.get("state") in ("SUCCEEDED", "FAILED", "CANCELLED"):
                break
            time.sleep(1)
        if state.get("state") != "SUCCEEDED":
            raise Failed(f"job {job_id} did not succeed: {json.dumps(state)[:600]}")
        print(f"ok: job {job_id} SUCCEEDED (test accuracy {state.get('test_accuracy')}) "
              f"{time.time() - started:.1f}s after the units started")
        print("all checks passed")
        return 0
    except Failed as e:
        print(f"FAIL: {e}")
        return 1
    finally:
        for _, p, _ in procs:
            if p.poll() is None:
                p.terminate()
        for _, p, _ in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        for ns in namespaces:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
