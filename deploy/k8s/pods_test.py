#!/usr/bin/python3
"""Runs the manifests in deploy/k8s as a kubelet would, without Kubernetes.

    pods_test.py MANIFEST_DIR README COORDINATOR SERVER WORKER CLI SANDBOX IMAGE_CONTEXT

Why not a real container engine: Debian 12's podman (4.3.1) `kube play`
knows no StatefulSet or Job ("YAML document does not contain any supported
kube kind"), and on this machine's hybrid cgroup set-up its default crun
runtime does not start at all. So this test is the kubelet itself, in
small: for each pod the manifests make (Deployment replicas, StatefulSet
ordinals, the worker Job's parallelism, the submit Job) it takes each
container's command, args, env (values, Secrets, ConfigMaps, the downward
API's metadata.name, $(VAR) expansion), volumes (emptyDir, configMap,
secret with items and modes) and securityContext (runAsUser/Group,
fsGroup, readOnlyRootFilesystem) from the YAML and starts exactly that, as
a process, through pod_sandbox.py:

  - one network namespace per pod, on a bridge in a "node" namespace, pod
    IPs 10.78.0.N;
  - the root file system is this host's Debian 12 /usr, read-only, with
    the bazel-built binaries where the Dockerfile puts them;
  - init containers run to completion first, sharing the pod's emptyDirs.

What is substituted, since there is no cluster DNS and no kube-proxy: every
pod's /etc/hosts maps the names cluster DNS would answer, a ClusterIP
Service's name (and .petrel, .petrel.svc, .petrel.svc.cluster.local) to the
IP of the one pod it selects, which stands in for the ClusterIP (valid
because the test checks the Service's port equals the container port it
targets), and a headless Service's HOSTNAME.SERVICE.petrel.svc.cluster.local
to each pod's IP. Probes are run from the node namespace as the kubelet
runs them: httpGet, tcpSocket, and grpc the way the kubelet dials it
(plaintext HTTP/2: the kubelet's gRPC probe has no TLS, KEP-4939).

The Secrets: the token Secret's placeholder is replaced by a random token,
as README.md says to; every command in README.md that makes a Secret from
files (`kubectl ... create secret generic NAME --from-file=...`) is done
here, after the README's `petrel certs init` line, run with the real CLI.
The only other change: the job's training.epochs becomes 1, so the test is
short. The test then waits for the submit Job's `petrel submit` to print a
job id and for that job to reach SUCCEEDED, asking the coordinator with
the submit container's own flags (`petrel jobs --json`).

Needs root, `ip netns` and /usr/share/datasets/fashion-mnist (the image's
dataset-fashion-mnist); without them it says SKIPPED and why.
"""
import base64
import copy
import glob
import json
import os
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import yaml

NAMESPACE = "petrel"
SUBNET = "10.78.0"
NODE_IP = f"{SUBNET}.254"
DATASET = "/usr/share/datasets/fashion-mnist"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
JOB_SECONDS = 150


def skip(why):
    print(f"SKIPPED: {why}")
    xml = os.environ.get("XML_OUTPUT_FILE")
    if xml:
        with open(xml, "w") as f:
            f.write('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites><testsuite name="pods_test" '
                    f'tests="1" skipped="1"><testcase name="pods_test"><skipped message="{why}"/>'
                    "</testcase></testsuite></testsuites>\n")
    sys.exit(0)


def local_libraries(binaries, image_context):
    """{path in the image: file here} of the shared libraries the binaries
    load from /usr/local (a build made with nvcc links CUDA from
    /usr/local/cuda). /usr/local in the sandbox holds only what the image
    holds: the libraries `image-context --list` puts in cuda-lib64/, which the
    Dockerfile copies to /usr/local/cuda/lib64/. One it leaves out fails the
    test, as the worker would fail to start in the image."""
    bin_root = os.path.dirname(os.path.dirname(binaries["petrel-coordinator"]))
    listed = subprocess.run([image_context, "--list"], capture_output=True, text=True, check=True,
                            env={**os.environ, "PETREL_BIN_ROOT": bin_root}).stdout.split()
    shipped = {os.path.basename(f) for f in listed if f.startswith("cuda-lib64/")}
    libs = {}
    for b in binaries.values():
        out = subprocess.run(["ldd", b], capture_output=True, text=True).stdout
        for name, lib in re.findall(r"(\S+) => (/usr/local/\S+)", out):
            if not lib.startswith("/usr/local/cuda/lib64/") or name not in shipped:
                raise Failed(f"{os.path.basename(b)} loads {lib}, which deploy/k8s/image-context "
                             f"does not put in the image (it ships {sorted(shipped)})")
            libs[f"/usr/local/cuda/lib64/{name}"] = os.path.realpath(lib)
    return libs


class Failed(Exception):
    pass


def run(*argv, **kw):
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kw)


def expand(text, env):
    """Kubernetes' $(VAR) expansion in command, args and env values."""
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                  lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)),
                  str(text))


class Cluster:
    def __init__(self, manifest_dir, readme, bins, sandbox, image_context, tmp):
        self.tmp = tmp
        self.bins = bins
        self.sandbox = sandbox
        self.libs = local_libraries(bins, image_context)
        for lib in self.libs:
            print(f"the image's {lib} (deploy/k8s/image-context ships it)")
        self.tag = f"pk{os.getpid()}"
        self.namespaces = []
        self.procs = []  # (name, Popen, log path)
        self.objects = []
        for path in sorted(glob.glob(os.path.join(manifest_dir, "*.yaml"))):
            with open(path) as f:
                self.objects += [o for o in yaml.safe_load_all(f) if o and o.get("kind") != "Kustomization"]
        self.secrets = {}
        self.configmaps = {}
        for o in self.objects:
            name = o["metadata"]["name"]
            if o["kind"] == "Secret":
                data = {k: base64.b64decode(v) for k, v in (o.get("data") or {}).items()}
                data.update({k: v.encode() for k, v in (o.get("stringData") or {}).items()})
                self.secrets[name] = data
            elif o["kind"] == "ConfigMap":
                self.configmaps[name] = {k: v.encode() for k, v in (o.get("data") or {}).items()}
        self.replace_placeholder_token()
        self.readme_secrets(readme)
        self.shorten_job()

    # --- the objects ---------------------------------------------------------

    def replace_placeholder_token(self):
        for name, data in self.secrets.items():
            for key, value in data.items():
                if b"REPLACE-ME" in value:
                    data[key] = secrets.token_hex(32).encode()
                    print(f"substituted: Secret {name} key {key}: the placeholder by a random token")

    def readme_secrets(self, readme):
        """Runs README's `petrel certs init` and its `create secret generic --from-file`."""
        with open(readme) as f:
            text = f.read()
        commands = []
        for block in re.findall(r"```sh\n(.*?)```", text, re.S):
            for line in block.replace("\\\n", " ").splitlines():
                line = line.split(" #")[0].strip()
                if line.startswith("petrel certs init") or (
                        "create secret generic" in line and "--from-file" in line):
                    commands.append(shlex.split(line))
        work = os.path.join(self.tmp, "readme")
        os.makedirs(work)
        for argv in commands:
            if argv[:3] == ["petrel", "certs", "init"]:
                r = subprocess.run([self.bins["petrel"]] + argv[1:], cwd=work,
                                   capture_output=True, text=True)
                if r.returncode != 0:
                    raise Failed(f"README: {shlex.join(argv)}: {r.stderr.strip()}")
                print(f"README: ran {shlex.join(argv)}")
                continue
            name = argv[argv.index("generic") + 1]
            data = {}
            for a in argv:
                if a.startswith("--from-file="):
                    spec = a[len("--from-file="):]
                    key, _, path = spec.rpartition("=")
                    path = os.path.join(work, path)
                    files = ([os.path.join(path, n) for n in sorted(os.listdir(path))]
                             if os.path.isdir(path) else [path])
                    for p in files:
                        with open(p, "rb") as f:
                            data[key or os.path.basename(p)] = f.read()
            self.secrets[name] = data
            print(f"README: made Secret {name} with keys {sorted(data)}")

    def shorten_job(self):
        for name, data in self.configmaps.items():
            for key, value in data.items():
                text = value.decode()
                short = re.sub(r"^(\s+epochs:\s*)\d+", r"\g<1>1", text, flags=re.M)
                if short != text:
                    data[key] = short.encode()
                    print(f"substituted: ConfigMap {name} key {key}: training.epochs -> 1")

    def pods(self):
        """[(pod name, workload, pod template, extra env, hostname, subdomain)]."""
        pods = []
        for o in self.objects:
            kind, name = o["kind"], o["metadata"]["name"]
            spec = o.get("spec", {})
            t = spec.get("template")
            if kind == "Deployment":
                for i in range(spec.get("replicas", 1)):
                    pods.append((f"{name}-5d8f7c9b4-xkq{i}w", o, t, {}, None, None))
            elif kind == "StatefulSet":
                for i in range(spec.get("replicas", 1)):
                    pods.append((f"{name}-{i}", o, t, {}, f"{name}-{i}", spec.get("serviceName")))
            elif kind == "Job":
                n = spec.get("parallelism", 1)
                for i in range(n):
                    extra = {}
                    pod = f"{name}-{secrets.token_hex(3)[:5]}"
                    if spec.get("completionMode") == "Indexed":
                        extra = {"JOB_COMPLETION_INDEX": str(i)}
                        pod = f"{name}-{i}-{secrets.token_hex(3)[:5]}"
                    pods.append((pod, o, t, extra, None, None))
        return pods

    def selects(self, selector, template):
        labels = template.get("metadata", {}).get("labels", {})
        return bool(selector) and all(labels.get(k) == v for k, v in selector.items())

    def dns(self, pods, ips):
        """The names cluster DNS would answer, as /etc/hosts lines."""
        lines = []
        for svc in (o for o in self.objects if o["kind"] == "Service"):
            name = svc["metadata"]["name"]
            spec = svc["spec"]
            chosen = [p for p in pods if self.selects(spec.get("selector"), p[2])]
            if spec.get("clusterIP") == "None":
                for p in chosen:
                    if p[4] and p[5] == name:
                        fqdn = f"{p[4]}.{name}.{NAMESPACE}.svc.cluster.local"
                        lines.append(f"{ips[p[0]]} {fqdn} {p[4]}.{name}.{NAMESPACE}.svc {p[4]}.{name}")
                continue
            if len(chosen) != 1:
                raise Failed(f"Service {name} selects {len(chosen)} pods; this test stands one pod's "
                             f"IP in for a ClusterIP, so it needs exactly one")
            pod = chosen[0]
            for port in spec.get("ports", []):
                target = self.container_port(pod[2], port.get("targetPort", port["port"]))
                if target != port["port"]:
                    raise Failed(f"Service {name} port {port['port']} -> container port {target}: "
                                 f"the pod IP cannot stand in for the ClusterIP")
            lines.append(f"{ips[pod[0]]} {name} {name}.{NAMESPACE} {name}.{NAMESPACE}.svc "
                         f"{name}.{NAMESPACE}.svc.cluster.local")
            print(f"substituted: Service {name}'s ClusterIP by pod {pod[0]}'s IP {ips[pod[0]]}")
        return lines

    def container_port(self, template, target):
        for c in template["spec"]["containers"]:
            for p in c.get("ports", []):
                if target in (p.get("name"), p.get("containerPort")):
                    return p["containerPort"]
        return None

    # --- the pods ------------------------------------------------------------

    def network(self, names):
        node = f"{self.tag}-node"
        run("ip", "netns", "add", node)
        self.namespaces.append(node)
        run("ip", "-n", node, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", node, "addr", "add", f"{NODE_IP}/24", "dev", "br0")
        run("ip", "-n", node, "link", "set", "br0", "up")
        run("ip", "-n", node, "link", "set", "lo", "up")
        ips = {}
        for i, pod in enumerate(names):
            ns = f"{self.tag}-{i}"
            run("ip", "netns", "add", ns)
            self.namespaces.append(ns)
            run("ip", "link", "add", f"{self.tag}a{i}", "type", "veth", "peer", "name", f"{self.tag}b{i}")
            run("ip", "link", "set", f"{self.tag}a{i}", "netns", ns, "name", "eth0")
            run("ip", "link", "set", f"{self.tag}b{i}", "netns", node, "name", f"veth{i}")
            run("ip", "-n", node, "link", "set", f"veth{i}", "master", "br0", "up")
            ips[pod] = f"{SUBNET}.{i + 1}"
            run("ip", "-n", ns, "addr", "add", f"{ips[pod]}/24", "dev", "eth0")
            run("ip", "-n", ns, "link", "set", "eth0", "up")
            run("ip", "-n", ns, "link", "set", "lo", "up")
        return node, ips

    def volumes(self, pod, template):
        """{volume name: host directory} for one pod, filled as the kubelet fills them."""
        spec = template["spec"]
        fs_group = spec.get("securityContext", {}).get("fsGroup")
        out = {}
        for v in spec.get("volumes", []):
            path = os.path.join(self.tmp, "pods", pod, "volumes", v["name"])
            os.makedirs(path)
            out[v["name"]] = path
            if "emptyDir" in v:
                os.chmod(path, 0o777)  # an emptyDir is world-writable
                continue
            source = v.get("secret") or v.get("configMap")
            if source is None:
                raise Failed(f"pod {pod}: volume {v['name']}: only emptyDir, secret and configMap are known here")
            name = source.get("secretName") or source.get("name")
            store = self.secrets if "secret" in v else self.configmaps
            if name not in store:
                raise Failed(f"pod {pod}: volume {v['name']}: {'Secret' if 'secret' in v else 'ConfigMap'} "
                             f"{name} is made neither by the manifests nor by README.md")
            data = store[name]
            items = source.get("items") or [{"key": k, "path": k} for k in data]
            for item in items:
                if item["key"] not in data:
                    raise Failed(f"pod {pod}: volume {v['name']}: {name} has no key {item['key']} "
                                 f"(it has {sorted(data)})")
                file = os.path.join(path, item["path"])
                os.makedirs(os.path.dirname(file), exist_ok=True)
                with open(file, "wb") as f:
                    f.write(data[item["key"]])
                mode = item.get("mode", source.get("defaultMode", 0o644))
                if fs_group is not None:  # the kubelet gives fsGroup the volume
                    os.chown(file, 0, fs_group)
                    mode |= 0o440
                os.chmod(file, mode)
        return out

    def start(self, pod, ns, container, template, extra_env, hosts_text, vols, log):
        env = {"PATH": PATH, "HOSTNAME": pod}
        for e in container.get("env", []):
            if "value" in e:
                env[e["name"]] = expand(e["value"], env)
                continue
            ref = e.get("valueFrom", {})
            if "secretKeyRef" in ref or "configMapKeyRef" in ref:
                r = ref.get("secretKeyRef") or ref.get("configMapKeyRef")
                store = self.secrets if "secretKeyRef" in ref else self.configmaps
                if r["key"] not in store.get(r["name"], {}):
                    raise Failed(f"pod {pod}: env {e['name']}: no {r['name']}/{r['key']}")
                env[e["name"]] = store[r["name"]][r["key"]].decode()
            elif "fieldRef" in ref:
                field = ref["fieldRef"]["fieldPath"]
                env[e["name"]] = {"metadata.name": pod, "metadata.namespace": NAMESPACE}[field]
        env.update(extra_env)
        argv = [expand(a, env) for a in container.get("command", []) + container.get("args", [])]
        pod_sc = template["spec"].get("securityContext", {})
        sc = {**pod_sc, **container.get("securityContext", {})}
        mounts = [{"source": vols[m["name"]], "target": m["mountPath"], "readonly": m.get("readOnly", False)}
                  for m in container.get("volumeMounts", [])]
        spec = {
            "root": os.path.join(self.tmp, "pods", pod, "root-" + container["name"]),
            "hostname": pod,
            "binaries": {**{f"/usr/local/bin/{b}": p for b, p in self.bins.items()}, **self.libs},
            "etc_files": {"hosts": hosts_text,
                          "resolv.conf": f"search {NAMESPACE}.svc.cluster.local svc.cluster.local cluster.local\n"
                                         "options ndots:5\n"},
            "users": ["petrel:x:10001:10001::/nonexistent:/usr/sbin/nologin"],
            "mounts": mounts,
            "read_only_root": sc.get("readOnlyRootFilesystem", False),
            "uid": sc.get("runAsUser", 0), "gid": sc.get("runAsGroup", 0),
            "groups": [pod_sc["fsGroup"]] if "fsGroup" in pod_sc else [],
            "env": env,
            "argv": argv,
        }
        spec_path = os.path.join(self.tmp, "pods", pod, container["name"] + ".json")
        os.makedirs(os.path.dirname(spec_path), exist_ok=True)
        with open(spec_path, "w") as f:
            json.dump(spec, f)
        out = open(log, "w")
        return subprocess.Popen(["ip", "netns", "exec", ns, "unshare", "--mount", "--uts",
                                 "--propagation", "private", "/usr/bin/python3", self.sandbox, spec_path],
                                stdout=out, stderr=subprocess.STDOUT)

    def probe(self, node, ip, probe, container):
        """One probe, run from the node as the kubelet runs it; True when it passes."""
        named = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
        if "httpGet" in probe:
            port = named.get(probe["httpGet"]["port"], probe["httpGet"]["port"])
            # As the kubelet: HTTPS probes do not check the certificate.
            scheme = probe["httpGet"].get("scheme", "HTTP").lower()
            code = (f"import ssl, urllib.request; urllib.request.urlopen("
                    f"'{scheme}://{ip}:{port}{probe['httpGet'].get('path', '/')}', timeout=2, "
                    f"context=ssl._create_unverified_context())")
        elif "tcpSocket" in probe:
            port = named.get(probe["tcpSocket"]["port"], probe["tcpSocket"]["port"])
            code = f"import socket; socket.create_connection(('{ip}', {port}), 2)"
        elif "grpc" in probe:
            code = GRPC_PROBE + f"\nsys.exit(0 if check('{ip}', {probe['grpc']['port']}) else 1)"
        else:
            raise Failed(f"unknown probe {probe}")
        return subprocess.run(["ip", "netns", "exec", node, "python3", "-c", code],
                              capture_output=True, timeout=10).returncode == 0

    def cleanup(self):
        for _, p, _ in self.procs:
            if p.poll() is None:
                p.terminate()
        deadline = time.time() + 10
        for _, p, _ in self.procs:
            try:
                p.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
        for ns in self.namespaces:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


# A gRPC health check the way the kubelet's grpc probe makes it: plaintext
# HTTP/2 (prior knowledge), /grpc.health.v1.Health/Check with an empty
# request; SERVING is the response message 08 01.
GRPC_PROBE = r'''
import socket, struct, sys
def frame(kind, flags, stream, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload
def literal(name, value):
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value
def check(host, port):
    try:
        s = socket.create_connection((host, port), 2)
        s.settimeout(2)
        headers = b"".join(literal(n, v) for n, v in [
            (b":method", b"POST"), (b":scheme", b"http"), (b":path", b"/grpc.health.v1.Health/Check"),
            (b":authority", ("%s:%d" % (host, port)).encode()), (b"content-type", b"application/grpc"),
            (b"te", b"trailers")])
        s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0, b"") +
                  frame(1, 4, 1, headers) + frame(0, 1, 1, b"\x00\x00\x00\x00\x00"))
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            i = 0
            while i + 9 <= len(data):
                n = int.from_bytes(data[i:i + 3], "big")
                if data[i + 3] == 0 and data[i + 9:i + 9 + n].endswith(b"\x08\x01"):
                    return True
                i += 9 + n
    except OSError:
        return False
    return False
'''


def main(argv):
    if len(argv) != 9:
        print(__doc__)
        return 2
    manifest_dir, readme = argv[1], argv[2]
    bins = {"petrel-coordinator": os.path.realpath(argv[3]), "petrel-server": os.path.realpath(argv[4]),
            "petrel-worker": os.path.realpath(argv[5]), "petrel": os.path.realpath(argv[6])}
    sandbox = os.path.realpath(argv[7])
    image_context = os.path.realpath(argv[8])
    if os.geteuid() != 0:
        skip("the pods' network and mount namespaces need root")
    for tool in ("ip", "unshare", "mount", "hostname"):
        if shutil.which(tool) is None:
            skip(f"{tool} is missing (iproute2, util-linux, hostname)")
    if not os.path.isdir(DATASET):
        skip(f"{DATASET} is missing (Debian: dataset-fashion-mnist, which the image has)")
    probe_ns = f"pk{os.getpid()}-probe"
    if subprocess.run(["ip", "netns", "add", probe_ns], capture_output=True).returncode != 0:
        skip("cannot create network namespaces here")
    subprocess.run(["ip", "netns", "del", probe_ns], capture_output=True)

    tmp = tempfile.mkdtemp(prefix="pods.", dir=os.environ.get("TEST_TMPDIR"))
    os.chmod(tmp, 0o755)
    started = time.time()
    cluster = None
    try:
        cluster = Cluster(manifest_dir, readme, bins, sandbox, image_context, tmp)
        pods = cluster.pods()
        node, ips = cluster.network([p[0] for p in pods])
        records = cluster.dns(pods, ips)
        print(f"pods: {', '.join(f'{p[0]} {ips[p[0]]}' for p in pods)}")
        waiting = []  # (pod, ns, template, extra, hosts, vols, remaining init containers)
        for i, (pod, workload, t, extra, hostname, subdomain) in enumerate(pods):
            own = f"{ips[pod]} {hostname}.{subdomain}.{NAMESPACE}.svc.cluster.local {hostname}" \
                if hostname and subdomain else f"{ips[pod]} {pod}"
            hosts_text = "\n".join(["127.0.0.1 localhost", "::1 localhost", own] + records) + "\n"
            vols = cluster.volumes(pod, t)
            waiting.append([pod, f"{cluster.tag}-{i}", t, extra, hosts_text, vols,
                            list(t["spec"].get("initContainers", [])), workload])
        # Init containers, in order per pod, then the containers.
        running = []
        for pod, ns, t, extra, hosts_text, vols, inits, workload in waiting:
            for c in inits:
                log = os.path.join(tmp, "pods", pod, c["name"] + ".log")
                p = cluster.start(pod, ns, c, t, extra, hosts_text, vols, log)
                if p.wait(60) != 0:
                    raise Failed(f"pod {pod}: init container {c['name']} exited {p.returncode}: "
                                 f"{open(log).read().strip()[-500:]}")
            for c in t["spec"]["containers"]:
                log = os.path.join(tmp, "pods", pod, c["name"] + ".log")
                p = cluster.start(pod, ns, c, t, extra, hosts_text, vols, log)
                cluster.procs.append((f"{pod}/{c['name']}", p, log))
                running.append((pod, c, workload, p, log))
        print(f"started {len(running)} containers in {time.time() - started:.1f}s")

        def check_alive():
            for pod, c, workload, p, log in running:
                if p.poll() is not None and workload["metadata"]["name"] != "petrel-submit":
                    raise Failed(f"pod {pod}: container {c['name']} exited with status {p.returncode}: "
                                 f"{open(log).read().strip()[-600:]}")

        # Readiness: every probe the manifests declare passes, as the kubelet runs it.
        ready = set()
        deadline = time.time() + 60
        probed = [(pod, c) for pod, c, _, _, _ in running if c.get("readinessProbe")]
        while len(ready) < len(probed) and time.time() < deadline:
            check_alive()
            for pod, c in probed:
                if pod not in ready and cluster.probe(node, ips[pod], c["readinessProbe"], c):
                    ready.add(pod)
            time.sleep(0.5)
        for pod, c in probed:
            if pod not in ready:
                kind = next(iter(c["readinessProbe"].keys() & {"httpGet", "tcpSocket", "grpc", "exec"}))
                raise Failed(f"pod {pod}: readinessProbe ({kind} {c['readinessProbe'][kind]}) "
                             f"never passed in 60 s; the kubelet would never make it Ready")
            if not cluster.probe(node, ips[pod], c["livenessProbe"], c):
                raise Failed(f"pod {pod}: livenessProbe fails; the kubelet would restart it")
        print(f"ok: the readiness and liveness probes of {len(probed)} pods pass "
              f"({time.time() - started:.1f}s)")

        submit = [r for r in running if r[2]["metadata"]["name"] == "petrel-submit"]
        if len(submit) != 1:
            raise Failed("no petrel-submit pod")
        pod, c, workload, p, log = submit[0]
        deadline = time.time() + 60
        while p.poll() is None and time.time() < deadline:
            check_alive()
            time.sleep(0.2)
        out = open(log).read().strip()
        if p.returncode != 0:
            raise Failed(f"pod {pod}: `{shlex.join(c['command'] + c['args'])}` exited "
                         f"{p.returncode}: {out[-600:]}")
        job_id = out.splitlines()[-1].strip()
        print(f"ok: {pod}: `{shlex.join(c['command'] + c['args'])}` printed job id {job_id}")

        # Ask the coordinator as the submit container would: its flags, `jobs --json`.
        ask = copy.deepcopy(c)
        ask["name"] = "jobs"
        ask["args"] = ["jobs", "--json"] + [a for a in c["args"] if str(a).startswith("--")]
        ns = next(w[1] for w in waiting if w[0] == pod)
        hosts_text = next(w[4] for w in waiting if w[0] == pod)
        vols = next(w[5] for w in waiting if w[0] == pod)
        job = {}
        deadline = time.time() + JOB_SECONDS
        n = 0
        while time.time() < deadline:
            check_alive()
            n += 1
            jlog = os.path.join(tmp, "pods", pod, f"jobs{n}.log")
            q = cluster.start(pod, ns, ask, workload["spec"]["template"], {}, hosts_text, vols, jlog)
            q.wait(30)
            try:
                jobs = json.loads(open(jlog).read())["jobs"]
                job = next(j for j in jobs if j["job_id"] == job_id)
            except (ValueError, KeyError, StopIteration):
                job = {"state": "?", "output": open(jlog).read()[-300:]}
            if job.get("state") in ("SUCCEEDED", "FAILED", "CANCELLED"):
                break
            time.sleep(1)
        if job.get("state") != "SUCCEEDED":
            raise Failed(f"job {job_id} did not succeed in {JOB_SECONDS} s: {json.dumps(job)[:600]}")
        print(f"ok: job {job_id} SUCCEEDED (test accuracy {job.get('test_accuracy')}) "
              f"{time.time() - started:.1f}s after the pods started")
        print("all checks passed")
        return 0
    except Failed as e:
        print(f"FAIL: {e}")
        return 1
    finally:
        if cluster:
            cluster.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
