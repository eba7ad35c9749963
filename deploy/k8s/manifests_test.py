#!/usr/bin/python3
"""Offline checks of the Kubernetes manifests in deploy/k8s.

    manifests_test.py MANIFEST_DIR COORDINATOR_MAIN SERVER_MAIN WORKER_MAIN CLI_MAIN SECURITY_FLAGS_CC

Parses every *.yaml in MANIFEST_DIR and checks, without a cluster, that the
objects fit together and fit the daemons: every ConfigMap, Secret, Service,
ServiceAccount and claim referenced exists; Service selectors pick pods;
ports agree between container ports, Services, probes, Prometheus
annotations and the daemons' --port/--http_port; every flag passed to a
binary is one its main.cc (or, for the daemons, common/daemon/daemon_security_flags.cc)
defines (ABSL_FLAG); probes point at real endpoints; the StatefulSet's
serviceName is a headless Service; every daemon and `petrel submit` runs with
--tls_dir on a mounted Secret holding its role's certificate. Then it
breaks copies of the manifests in known ways and checks each break is found,
so the checks cannot silently pass everything.

Runs on /usr/bin/python3 with PyYAML (Debian: python3-yaml).
"""
import copy
import glob
import os
import re
import sys

try:
    import yaml
except ImportError:  # pragma: no cover
    print("FAIL: PyYAML is missing: apt-get install python3-yaml")
    sys.exit(1)

NAMESPACE = "petrel"
DAEMONS = ("petrel-coordinator", "petrel-server", "petrel-worker")
CLI = "petrel"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job", "DaemonSet")
# The Dockerfile copies every binary here.
BIN_DIR = "/usr/local/bin"
# The certificate role (ROLE.pem, ROLE-key.pem in --tls_dir) of each binary.
TLS_ROLE = {"petrel-coordinator": "coordinator", "petrel-server": "server",
            "petrel-worker": "worker", CLI: "client"}
# Secrets the operator makes, as README.md says (from `petrel certs init`).
OPERATOR_SECRETS = ("petrel-tls",)


def defined_flags(main_cc):
    """The flag names a main.cc defines with ABSL_FLAG(type, name, ...)."""
    with open(main_cc) as f:
        text = f.read()
    names = set(re.findall(r"ABSL_FLAG\(\s*[\w:<>\s]+?,\s*(\w+)\s*,", text))
    if not names:
        raise SystemExit(f"FAIL: no ABSL_FLAG found in {main_cc}")
    return names


def load_manifests(directory):
    """{file name: [objects]} for every *.yaml in directory."""
    files = {}
    for path in sorted(glob.glob(os.path.join(directory, "*.yaml"))):
        with open(path) as f:
            files[os.path.basename(path)] = [d for d in yaml.safe_load_all(f) if d is not None]
    if not files:
        raise SystemExit(f"FAIL: no *.yaml in {directory}")
    return files


def parse_args(args):
    """(flags {name: value}, positionals, errors) of an absl command line."""
    flags, positionals, errors = {}, [], []
    i = 0
    while i < len(args):
        a = str(args[i])
        if a.startswith("--"):
            name, eq, value = a[2:].partition("=")
            if not eq:
                if i + 1 < len(args) and not str(args[i + 1]).startswith("--"):
                    value = str(args[i + 1])
                    i += 1
                else:
                    value = "true"
            if name in flags:
                errors.append(f"flag --{name} given twice")
            flags[name] = value
        elif a.startswith("-") and a != "-":
            errors.append(f"single-dash flag {a}: use --")
        else:
            positionals.append(a)
        i += 1
    return flags, positionals, errors


class Checker:
    def __init__(self, files, daemon_flags, cli_flags):
        self.files = files
        self.daemon_flags = daemon_flags
        self.cli_flags = cli_flags
        self.errors = []
        self.objects = [o for objs in files.values() for o in objs]

    def error(self, msg):
        self.errors.append(msg)

    # --- lookups -------------------------------------------------------------

    def find(self, kind, name, namespace=NAMESPACE):
        for o in self.objects:
            md = o.get("metadata", {})
            if o.get("kind") == kind and md.get("name") == name:
                if kind == "Namespace" or md.get("namespace") == namespace:
                    return o
        return None

    def of_kind(self, kind):
        return [o for o in self.objects if o.get("kind") == kind]

    def workloads(self):
        """(object, pod template) for every workload."""
        for o in self.objects:
            if o.get("kind") in WORKLOAD_KINDS:
                yield o, o.get("spec", {}).get("template", {})

    def name(self, o):
        return f"{o.get('kind')}/{o.get('metadata', {}).get('name')}"

    def pods_selected(self, selector):
        return [
            (w, t) for w, t in self.workloads()
            if selector and all(t.get("metadata", {}).get("labels", {}).get(k) == v
                                for k, v in selector.items())
        ]

    def daemon_container(self, template):
        """(binary, container) for the Petrel container of a pod template."""
        for c in template.get("spec", {}).get("containers", []):
            command = c.get("command") or []
            if command:
                return os.path.basename(command[0]), c
        return None, None

    # --- the checks ----------------------------------------------------------

    def run(self):
        self.check_basics()
        self.check_references()
        self.check_services()
        self.check_containers()
        self.check_statefulset()
        self.check_worker_job()
        self.check_submit()
        self.check_kustomization()
        self.check_placeholder_token()
        return self.errors

    def check_basics(self):
        if self.find("Namespace", NAMESPACE) is None:
            self.error(f"no Namespace {NAMESPACE}")
        seen = set()
        for o in self.objects:
            if o.get("kind") in ("Namespace", "Kustomization"):
                continue
            for key in ("apiVersion", "kind", "metadata"):
                if key not in o:
                    self.error(f"{self.name(o)}: no {key}")
            ns = o.get("metadata", {}).get("namespace")
            if ns != NAMESPACE:
                self.error(f"{self.name(o)}: namespace {ns!r}, expected {NAMESPACE!r}")
            key = (o.get("kind"), ns, o.get("metadata", {}).get("name"))
            if key in seen:
                self.error(f"{self.name(o)} defined twice")
            seen.add(key)

    def check_references(self):
        for w, t in self.workloads():
            where = self.name(w)
            spec = t.get("spec", {})
            # A workload's selector must pick its own pods.
            sel = w.get("spec", {}).get("selector", {}).get("matchLabels")
            labels = t.get("metadata", {}).get("labels", {})
            if w.get("kind") != "Job" and not sel:
                self.error(f"{where}: no selector.matchLabels")
            if sel and any(labels.get(k) != v for k, v in sel.items()):
                self.error(f"{where}: selector {sel} does not match its pod labels {labels}")
            sa = spec.get("serviceAccountName")
            if sa and self.find("ServiceAccount", sa) is None:
                self.error(f"{where}: ServiceAccount {sa} does not exist")
            claims = {c.get("metadata", {}).get("name")
                      for c in w.get("spec", {}).get("volumeClaimTemplates", [])}
            volumes = {}
            for v in spec.get("volumes", []):
                volumes[v.get("name")] = v
                if "configMap" in v:
                    cm = self.find("ConfigMap", v["configMap"].get("name"))
                    if cm is None:
                        self.error(f"{where}: volume {v['name']}: ConfigMap "
                                   f"{v['configMap'].get('name')} does not exist")
                if "secret" in v and v["secret"].get("secretName") in OPERATOR_SECRETS:
                    pass  # made by `kubectl create secret`, README.md
                elif "secret" in v and self.find("Secret", v["secret"].get("secretName")) is None:
                    self.error(f"{where}: volume {v['name']}: Secret "
                               f"{v['secret'].get('secretName')} does not exist")
                if "persistentVolumeClaim" in v:
                    claim = v["persistentVolumeClaim"].get("claimName")
                    if self.find("PersistentVolumeClaim", claim) is None:
                        self.error(f"{where}: volume {v['name']}: claim {claim} does not exist")
            for c in spec.get("initContainers", []) + spec.get("containers", []):
                cwhere = f"{where} container {c.get('name')}"
                for m in c.get("volumeMounts", []):
                    if m.get("name") not in volumes and m.get("name") not in claims:
                        self.error(f"{cwhere}: mounts unknown volume {m.get('name')}")
                for e in c.get("env", []):
                    ref = e.get("valueFrom", {})
                    if "secretKeyRef" in ref:
                        self.check_key("Secret", ref["secretKeyRef"], f"{cwhere} env {e['name']}")
                    if "configMapKeyRef" in ref:
                        self.check_key("ConfigMap", ref["configMapKeyRef"], f"{cwhere} env {e['name']}")
                for e in c.get("envFrom", []):
                    for kind, key in (("Secret", "secretRef"), ("ConfigMap", "configMapRef")):
                        if key in e and self.find(kind, e[key].get("name")) is None:
                            self.error(f"{cwhere}: envFrom {kind} {e[key].get('name')} does not exist")

    def check_key(self, kind, ref, where):
        o = self.find(kind, ref.get("name"))
        if o is None:
            self.error(f"{where}: {kind} {ref.get('name')} does not exist")
            return
        keys = set(o.get("data", {}) or {}) | set(o.get("stringData", {}) or {})
        if ref.get("key") not in keys:
            self.error(f"{where}: {kind} {ref.get('name')} has no key {ref.get('key')}")

    def check_services(self):
        for s in self.of_kind("Service"):
            where = self.name(s)
            selector = s.get("spec", {}).get("selector")
            pods = self.pods_selected(selector)
            if not pods:
                self.error(f"{where}: selector {selector} matches no pod template")
            for port in s.get("spec", {}).get("ports", []):
                target = port.get("targetPort", port.get("port"))
                for w, t in pods:
                    if not self.container_port(t, target):
                        self.error(f"{where}: port {port.get('name')} targets {target!r}, "
                                   f"which {self.name(w)} does not expose")

    def container_port(self, template, target):
        """The containerPort a Service targetPort (name or number) resolves to."""
        for c in template.get("spec", {}).get("containers", []):
            for p in c.get("ports", []):
                if target == p.get("name") or target == p.get("containerPort"):
                    return p.get("containerPort")
        return None

    def service_port(self, service, port):
        """The containerPort behind port `port` of a Service."""
        for p in service.get("spec", {}).get("ports", []):
            if p.get("port") == port:
                for _, t in self.pods_selected(service.get("spec", {}).get("selector")):
                    return self.container_port(t, p.get("targetPort", port))
        return None

    def check_containers(self):
        for w, t in self.workloads():
            spec = t.get("spec", {})
            for c in spec.get("containers", []):
                command = c.get("command") or []
                binary = os.path.basename(command[0]) if command else None
                where = f"{self.name(w)} container {c.get('name')}"
                if binary in DAEMONS + (CLI,):
                    if command[0] != f"{BIN_DIR}/{binary}":
                        self.error(f"{where}: runs {command[0]}, the image has {BIN_DIR}/{binary}")
                    if not str(c.get("image", "")).startswith("petrel:"):
                        self.error(f"{where}: image {c.get('image')} is not petrel:*")
                if binary in DAEMONS + (CLI,):
                    self.check_tls(t, c, binary, where)
                if binary in DAEMONS:
                    self.check_daemon(w, t, c, binary, where)
                elif binary == CLI:
                    flags, _, errs = parse_args(c.get("args", []))
                    for e in errs:
                        self.error(f"{where}: {e}")
                    for f in flags:
                        if f not in self.cli_flags:
                            self.error(f"{where}: petrel has no flag --{f}")
                self.check_env_refs(c, where)

    def check_tls(self, t, c, binary, where):
        """--tls_dir is a mounted Secret with the CA and this role's certificate."""
        flags, _, _ = parse_args(c.get("args", []))
        tls_dir = flags.get("tls_dir")
        if not tls_dir:
            self.error(f"{where}: no --tls_dir: the token in PETREL_CLUSTER_TOKEN needs TLS, "
                       f"so {binary} would refuse to start")
            return
        if binary in ("petrel-coordinator", "petrel-server") and flags.get("mtls") != "true":
            self.error(f"{where}: no --mtls: clients without the cluster's certificate would connect")
        volumes = {v.get("name"): v for v in t.get("spec", {}).get("volumes", [])}
        mount = [m for m in c.get("volumeMounts", []) if m.get("mountPath", "").rstrip("/") == tls_dir.rstrip("/")]
        secret = mount and volumes.get(mount[0].get("name"), {}).get("secret")
        if not secret:
            self.error(f"{where}: --tls_dir {tls_dir} is not a mounted Secret volume")
            return
        role = TLS_ROLE[binary]
        items = secret.get("items")
        if items is not None:
            paths = {i.get("path") for i in items if i.get("key") == i.get("path")}
            for want in ("ca.pem", f"{role}.pem", f"{role}-key.pem"):
                if want not in paths:
                    self.error(f"{where}: --tls_dir {tls_dir}: Secret {secret.get('secretName')} "
                               f"items give no {want}")
            if "ca-key.pem" in {i.get("key") for i in items}:
                self.error(f"{where}: the CA's key (ca-key.pem) belongs on no node")

    def check_env_refs(self, c, where):
        env = {e.get("name") for e in c.get("env", [])}
        for a in (c.get("command") or []) + (c.get("args") or []):
            for var in re.findall(r"\$\((\w+)\)", str(a)):
                if var not in env:
                    self.error(f"{where}: argument {a!r} uses $({var}), which is not in env")

    def check_daemon(self, w, t, c, binary, where):
        flags, positionals, errs = parse_args(c.get("args", []))
        for e in errs:
            self.error(f"{where}: {e}")
        if positionals:
            self.error(f"{where}: {binary} takes no positional arguments: {positionals}")
        for f in flags:
            if f not in self.daemon_flags[binary]:
                self.error(f"{where}: {binary} has no flag --{f}")
        ports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
        serves_grpc = binary != "petrel-worker"
        # The gRPC ports speak only TLS, and the kubelet's gRPC probe has no
        # TLS (KEP-4939): every daemon is probed on its HTTP /healthz.

        # Kubelet probes and Services dial the pod IP: bind all interfaces.
        if serves_grpc and flags.get("host") != "0.0.0.0":
            self.error(f"{where}: --host must be 0.0.0.0 (got {flags.get('host')!r})")
        if flags.get("http_host") != "0.0.0.0":
            self.error(f"{where}: --http_host must be 0.0.0.0 (got {flags.get('http_host')!r})")

        http_port = self.int_flag(flags, "http_port", where)
        if not http_port:
            self.error(f"{where}: --http_port must be a fixed port (probes, scraping)")
        elif ports.get("http") != http_port:
            self.error(f"{where}: containerPort http {ports.get('http')} != --http_port {http_port}")
        grpc_port = None
        if serves_grpc:
            grpc_port = self.int_flag(flags, "port", where)
            if not grpc_port:
                self.error(f"{where}: --port must be a fixed port")
            elif ports.get("grpc") != grpc_port:
                self.error(f"{where}: containerPort grpc {ports.get('grpc')} != --port {grpc_port}")
        elif "grpc" in ports:
            self.error(f"{where}: workers serve no gRPC, but a grpc port is declared")

        for kind in ("readinessProbe", "livenessProbe"):
            probe = c.get(kind)
            if not probe:
                self.error(f"{where}: no {kind}")
                continue
            get = probe.get("httpGet")
            if not get:
                self.error(f"{where}: {kind} must be httpGet /healthz on the HTTP port "
                           f"(the kubelet's grpc probe is plaintext; the gRPC port is TLS)")
            else:
                if get.get("path") != "/healthz":
                    self.error(f"{where}: {kind} path {get.get('path')} is not /healthz")
                # Under --tls_dir an HTTP port bound beyond loopback serves
                # HTTPS (common/rpc/rpc.h HttpSecurityFor).
                if "tls_dir" in flags and get.get("scheme") != "HTTPS":
                    self.error(f"{where}: {kind} must use scheme: HTTPS (the daemon has --tls_dir "
                               f"and --http_host {flags.get('http_host')}, so its HTTP port is HTTPS)")
                port = get.get("port")
                if port != http_port and ports.get(port) != http_port:
                    self.error(f"{where}: {kind} port {port} != --http_port {http_port}")

        ann = t.get("metadata", {}).get("annotations", {}) or {}
        if ann.get("prometheus.io/scrape") != "true":
            self.error(f"{self.name(w)}: no prometheus.io/scrape: \"true\" annotation")
        if str(ann.get("prometheus.io/port")) != str(http_port):
            self.error(f"{self.name(w)}: prometheus.io/port {ann.get('prometheus.io/port')} "
                       f"!= --http_port {http_port}")
        if ann.get("prometheus.io/path") != "/metrics":
            self.error(f"{self.name(w)}: prometheus.io/path is not /metrics")

        if binary != "petrel-coordinator":
            self.check_coordinator_address(flags.get("coordinator"), where)
        if binary == "petrel-worker":
            if "device" not in flags:
                self.error(f"{where}: workers need --device")
            gpu = c.get("resources", {}).get("limits", {}).get("nvidia.com/gpu")
            if str(gpu) != "1":
                self.error(f"{where}: limits nvidia.com/gpu is {gpu!r}, expected 1")

    def int_flag(self, flags, name, where):
        if name not in flags:
            return None
        try:
            return int(flags[name])
        except ValueError:
            self.error(f"{where}: --{name}={flags[name]} is not a number")
            return None

    def check_coordinator_address(self, address, where):
        """--coordinator must be SERVICE:PORT of the coordinator's gRPC port."""
        if not address or ":" not in address:
            self.error(f"{where}: --coordinator must be SERVICE:PORT (got {address!r})")
            return
        host, port = address.rsplit(":", 1)
        service_name = host.split(".")[0]
        service = self.find("Service", service_name)
        if service is None:
            self.error(f"{where}: --coordinator {address}: no Service {service_name}")
            return
        target = self.service_port(service, int(port))
        coord = [c for _, t in self.pods_selected(service["spec"].get("selector"))
                 for b, c in [self.daemon_container(t)] if b == "petrel-coordinator"]
        if not coord:
            self.error(f"{where}: --coordinator {address}: Service {service_name} "
                       f"selects no coordinator")
            return
        flags, _, _ = parse_args(coord[0].get("args", []))
        if target is None or str(target) != flags.get("port"):
            self.error(f"{where}: --coordinator {address} reaches container port {target}, "
                       f"but the coordinator's --port is {flags.get('port')}")

    def job_config(self):
        cm = self.find("ConfigMap", "petrel-job")
        if cm is None:
            self.error("no ConfigMap petrel-job")
            return {}
        try:
            return yaml.safe_load(cm.get("data", {}).get("job.yaml", "")) or {}
        except yaml.YAMLError as e:
            self.error(f"ConfigMap petrel-job: job.yaml does not parse: {e}")
            return {}

    def check_statefulset(self):
        sets = [w for w in self.of_kind("StatefulSet")]
        if not sets:
            self.error("no StatefulSet for the servers")
        for sts in sets:
            where = self.name(sts)
            svc_name = sts.get("spec", {}).get("serviceName")
            svc = self.find("Service", svc_name)
            if svc is None:
                self.error(f"{where}: serviceName {svc_name} is not a Service")
                continue
            if svc.get("spec", {}).get("clusterIP") != "None":
                self.error(f"{where}: Service {svc_name} is not headless (clusterIP: None)")
            t = sts["spec"].get("template", {})
            if sts not in [w for w, _ in self.pods_selected(svc["spec"].get("selector"))]:
                self.error(f"{where}: Service {svc_name} does not select its pods")
            binary, c = self.daemon_container(t)
            if binary != "petrel-server":
                continue
            flags, _, _ = parse_args(c.get("args", []))
            want = f"$(POD_NAME).{svc_name}.{NAMESPACE}.svc.cluster.local"
            if flags.get("advertise_host") != want:
                self.error(f"{where}: --advertise_host {flags.get('advertise_host')!r}, "
                           f"expected {want!r}")
            pod_name = [e for e in c.get("env", []) if e.get("name") == "POD_NAME"]
            if not pod_name or pod_name[0].get("valueFrom", {}).get("fieldRef", {}).get(
                    "fieldPath") != "metadata.name":
                self.error(f"{where}: POD_NAME must come from fieldRef metadata.name")
            servers = self.job_config().get("cluster", {}).get("servers")
            if servers != sts["spec"].get("replicas"):
                self.error(f"{where}: replicas {sts['spec'].get('replicas')} != "
                           f"cluster.servers {servers} in the job")

    def check_worker_job(self):
        jobs = [w for w, t in self.workloads()
                if w.get("kind") == "Job" and self.daemon_container(t)[0] == "petrel-worker"]
        if len(jobs) != 1:
            self.error(f"expected one worker Job, found {len(jobs)}")
            return
        job = jobs[0]
        spec = job.get("spec", {})
        where = self.name(job)
        if spec.get("completionMode") != "Indexed":
            self.error(f"{where}: completionMode must be Indexed")
        workers = self.job_config().get("cluster", {}).get("workers")
        if not (spec.get("parallelism") == spec.get("completions") == workers):
            self.error(f"{where}: parallelism {spec.get('parallelism')}, completions "
                       f"{spec.get('completions')} and cluster.workers {workers} must agree")
        # The job's data path must be on a volume the workers mount.
        _, c = self.daemon_container(spec.get("template", {}))
        self.check_data_mounted(c, where)

    def check_data_mounted(self, container, where):
        data_path = str(self.job_config().get("data", {}).get("path", ""))
        mounts = [m.get("mountPath", "").rstrip("/") + "/"
                  for m in container.get("volumeMounts", [])]
        if not any(data_path.startswith(m) for m in mounts):
            self.error(f"{where}: data.path {data_path} is on no mounted volume ({mounts})")

    def check_submit(self):
        submits = [(w, t) for w, t in self.workloads() if self.daemon_container(t)[0] == CLI]
        if not submits:
            self.error("no Job runs `petrel submit`")
        for w, t in submits:
            where = self.name(w)
            _, c = self.daemon_container(t)
            flags, positionals, _ = parse_args(c.get("args", []))
            if len(positionals) != 2 or positionals[0] != "submit":
                self.error(f"{where}: expected `petrel submit JOB.yaml`, got {positionals}")
                continue
            self.check_coordinator_address(flags.get("coordinator"), where)
            # `petrel submit` checks the data files exist before submitting.
            self.check_data_mounted(c, where)
            # The job file must be a key of a ConfigMap mounted at its folder.
            path = positionals[1]
            folder, key = os.path.split(path)
            volumes = {v.get("name"): v for v in t.get("spec", {}).get("volumes", [])}
            found = False
            for m in c.get("volumeMounts", []):
                if m.get("mountPath", "").rstrip("/") == folder:
                    cm_ref = volumes.get(m.get("name"), {}).get("configMap")
                    cm = cm_ref and self.find("ConfigMap", cm_ref.get("name"))
                    found = bool(cm) and key in (cm.get("data") or {})
            if not found:
                self.error(f"{where}: {path} is not a key of a ConfigMap mounted at {folder}")

    def check_kustomization(self):
        for name, objs in self.files.items():
            for o in objs:
                if o.get("kind") != "Kustomization":
                    continue
                listed = o.get("resources", [])
                # The token Secret is the user's to make: `apply -k` must not
                # overwrite it with the placeholder.
                others = sorted(n for n in self.files if n != name and not self.holds_secret(n))
                if sorted(listed) != others:
                    self.error(f"{name}: resources {listed} != the manifests {others} "
                               f"(Secrets excluded)")

    def holds_secret(self, file_name):
        return any(o.get("kind") == "Secret" for o in self.files[file_name])

    def check_placeholder_token(self):
        """A token Secret shipped in the manifests holds a placeholder every
        daemon refuses (under 16 characters), never a usable public token."""
        for name, objs in self.files.items():
            for o in objs:
                if o.get("kind") != "Secret":
                    continue
                for key, value in (o.get("stringData") or {}).items():
                    if len(str(value)) >= 16:
                        self.error(f"{name}: Secret {o['metadata']['name']} key {key} holds a "
                                   f"{len(str(value))}-character value the daemons would accept "
                                   f"as the cluster token; ship a placeholder under 16 characters")


def check_dockerfile(path):
    errors = []
    with open(path) as f:
        text = f.read()
    if not re.search(r"^FROM debian:12", text, re.M):
        errors.append("Dockerfile: not FROM debian:12")
    for package in ("libgrpc++1.51", "libprotobuf32", "libabsl20220623", "libspdlog1.10",
                    "libopenblas0", "libyaml-cpp0.7", "zlib1g", "libcpp-httplib0.11",
                    "dataset-fashion-mnist"):
        if not re.search(r"\s" + re.escape(package) + r"\s", text):
            errors.append(f"Dockerfile: does not install {package}")
    for binary in DAEMONS + (CLI,):
        if not re.search(r"bazel-bin/\S+/" + re.escape(binary) + r"\s", text):
            errors.append(f"Dockerfile: does not copy {binary} from bazel-bin")
    if BIN_DIR + "/" not in text:
        errors.append(f"Dockerfile: does not copy to {BIN_DIR}")
    # deploy/k8s/image-context puts the worker's CUDA libraries there.
    if not re.search(r"^COPY cuda-lib64/ /usr/local/cuda/lib64/", text, re.M):
        errors.append("Dockerfile: does not copy cuda-lib64/ (the worker's CUDA libraries) "
                      "to /usr/local/cuda/lib64/")
    return errors


# Known breakages: each must be reported by the checks above.
def _first(files, kind, name=None):
    for objs in files.values():
        for o in objs:
            if o.get("kind") == kind and (name is None or o["metadata"]["name"] == name):
                return o
    raise KeyError((kind, name))


def _container(files, kind, name=None):
    return _first(files, kind, name)["spec"]["template"]["spec"]["containers"][0]


def _set_arg(container, flag, value):
    container["args"] = [a for a in container["args"] if not a.startswith(f"--{flag}=")]
    if value is not None:
        container["args"].append(f"--{flag}={value}")


MUTATIONS = {
    "unknown coordinator flag": lambda f: _container(f, "Deployment")["args"].append("--grpc_port=7070"),
    "unknown worker flag": lambda f: _container(f, "Job", "petrel-worker")["args"].append("--rank=0"),
    "server --port disagrees with its container port": lambda f: _set_arg(_container(f, "StatefulSet"), "port", 7171),
    "coordinator probe on the gRPC port": lambda f: _container(f, "Deployment")["readinessProbe"]["httpGet"].update(port=7070),
    "server probed over gRPC": lambda f: _container(f, "StatefulSet").update(readinessProbe={"grpc": {"port": 7071}}),
    "worker probe on a wrong path": lambda f: _container(f, "Job", "petrel-worker")["livenessProbe"]["httpGet"].update(path="/status"),
    "server probed over plain HTTP": lambda f: _container(f, "StatefulSet")["readinessProbe"]["httpGet"].pop("scheme"),
    "worker probed over gRPC": lambda f: _container(f, "Job", "petrel-worker").update(livenessProbe={"grpc": {"port": 8072}}),
    "missing secret": lambda f: _first(f, "Secret")["metadata"].update(name="other"),
    "a usable placeholder token": lambda f: _first(f, "Secret")["stringData"].update(token="REPLACE-ME-with-openssl-rand"),
    "missing configmap": lambda f: _first(f, "ConfigMap")["metadata"].update(name="other"),
    "missing service account": lambda f: _first(f, "ServiceAccount")["metadata"].update(name="other"),
    "service selects nothing": lambda f: _first(f, "Service", "petrel-coordinator")["spec"]["selector"].update({"app.kubernetes.io/name": "nope"}),
    "statefulset service not headless": lambda f: _first(f, "Service", "petrel-server")["spec"].pop("clusterIP"),
    "wrong advertise host": lambda f: _set_arg(_container(f, "StatefulSet"), "advertise_host", "$(POD_NAME).petrel-server"),
    "coordinator address to the HTTP port": lambda f: _set_arg(_container(f, "Job", "petrel-worker"), "coordinator", "petrel-coordinator:8070"),
    "scrape annotation on the wrong port": lambda f: _first(f, "StatefulSet")["spec"]["template"]["metadata"]["annotations"].update({"prometheus.io/port": "7071"}),
    "HTTP bound to loopback": lambda f: _set_arg(_container(f, "Deployment"), "http_host", "127.0.0.1"),
    "worker without a GPU": lambda f: _container(f, "Job", "petrel-worker")["resources"]["limits"].pop("nvidia.com/gpu"),
    "job not indexed": lambda f: _first(f, "Job", "petrel-worker")["spec"].pop("completionMode"),
    "worker count disagrees": lambda f: _first(f, "Job", "petrel-worker")["spec"].update(parallelism=3),
    "server count disagrees": lambda f: _first(f, "StatefulSet")["spec"].update(replicas=3),
    "submit cannot see the data": lambda f: _container(f, "Job", "petrel-submit")["volumeMounts"].pop(),
    "workers cannot see the data": lambda f: _container(f, "Job", "petrel-worker").pop("volumeMounts"),
    "unknown CLI flag": lambda f: _container(f, "Job", "petrel-submit")["args"].append("--cordinator=x:1"),
    "coordinator without TLS": lambda f: _set_arg(_container(f, "Deployment"), "tls_dir", None),
    "submit without TLS": lambda f: _set_arg(_container(f, "Job", "petrel-submit"), "tls_dir", None),
    "server without --mtls": lambda f: _container(f, "StatefulSet")["args"].remove("--mtls"),
    "TLS Secret not mounted": lambda f: _container(f, "Job", "petrel-worker")["volumeMounts"].pop(),
    "TLS Secret without the role's key": lambda f: _first(f, "StatefulSet")["spec"]["template"]["spec"]["volumes"][0]["secret"]["items"].pop(),
}


def main(argv):
    if len(argv) != 7:
        print(__doc__)
        return 2
    directory, coordinator_cc, server_cc, worker_cc, cli_cc, security_cc = argv[1:]
    shared = defined_flags(security_cc)  # --tls_dir, --mtls, --token_file, --http_bind
    daemon_flags = {
        "petrel-coordinator": defined_flags(coordinator_cc) | shared,
        "petrel-server": defined_flags(server_cc) | shared,
        "petrel-worker": defined_flags(worker_cc) | shared,
    }
    cli_flags = defined_flags(cli_cc)
    files = load_manifests(directory)
    failed = 0

    errors = Checker(files, daemon_flags, cli_flags).run()
    errors += check_dockerfile(os.path.join(directory, "Dockerfile"))
    with open(os.path.join(directory, "README.md")) as f:
        readme = f.read()
    for name in OPERATOR_SECRETS:
        if not re.search(r"create secret generic " + re.escape(name) + r"\b", readme):
            errors.append(f"README.md does not say how to create the Secret {name}")
    for e in errors:
        print(f"FAIL: {e}")
    failed += len(errors)
    if not errors:
        n = sum(len(o) for o in files.values())
        print(f"PASS: {len(files)} manifest files, {n} objects are consistent")

    for what, mutate in MUTATIONS.items():
        broken = copy.deepcopy(files)
        mutate(broken)
        found = Checker(broken, daemon_flags, cli_flags).run()
        if found:
            print(f"PASS: breaking it ({what}) is caught: {found[0]}")
        else:
            print(f"FAIL: breaking it ({what}) went unnoticed")
            failed += 1

    print("all checks passed" if not failed else f"{failed} check(s) failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
