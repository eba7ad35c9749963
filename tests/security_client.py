"""gRPC checks of tests/security_test.sh, from a client that shares no code
with Petrel: Debian's python3-grpcio, messages encoded by hand.

usage: security_client.py COORDINATOR SERVER TLS_DIR OTHER_TLS_DIR TOKEN_FILE JOB_ID
       security_client.py --unix_token_check unix:SOCKET WRONG_TOKEN_FILE
         (a local cluster's server socket: calls without a token, and with a
         wrong one, must be UNAUTHENTICATED)

Prints "ok: ..." or "FAIL: ..." per check; exits 1 if any failed. Never
prints the token.
"""
import sys
import threading
import time

import grpc
from google.protobuf import descriptor_pb2



def unix_token_check(address, wrong_token_file):
    """Calls Parameter.Pull over a Unix socket without and with a wrong token."""
    wrong = open(wrong_token_file).read().strip()
    local = grpc.local_channel_credentials(grpc.LocalConnectionType.UDS)
    bad = 0
    for label, credentials in [
            ("no token", local),
            ("a wrong token", grpc.composite_channel_credentials(
                local, grpc.access_token_call_credentials(wrong)))]:
        with grpc.secure_channel(address, credentials) as channel:
            pull = channel.unary_unary("/petrel.Parameter/Pull")
            try:
                pull(b"", timeout=10)
                code = grpc.StatusCode.OK
            except grpc.RpcError as error:
                code = error.code()
        ok = code == grpc.StatusCode.UNAUTHENTICATED
        bad += 0 if ok else 1
        print(("ok: " if ok else "FAIL: ") + f"Pull with {label} over {address}: {code.name}")
    sys.exit(1 if bad else 0)


if sys.argv[1] == "--unix_token_check":
    unix_token_check(sys.argv[2], sys.argv[3])

coordinator, server, tls_dir, other_dir, token_file, job_id = sys.argv[1:7]
token = open(token_file).read().strip()
failures = 0


def check(condition, what):
    global failures
    print(("ok: " if condition else "FAIL: ") + what, flush=True)
    failures += 0 if condition else 1


def read(path):
    return open(path, "rb").read()


# --- protobuf wire format, just enough -------------------------------------
def varint(n):
    out = b""
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out += bytes([byte | 0x80])
        else:
            return out + bytes([byte])


def field(number, payload):
    if isinstance(payload, str):
        payload = payload.encode()
    if isinstance(payload, bytes):
        return varint(number << 3 | 2) + varint(len(payload)) + payload
    return varint(number << 3) + varint(payload)


def fields(data):
    """(number, value) of each field; value is bytes or int."""
    i = 0
    while i < len(data):
        key, i = read_varint(data, i)
        number, kind = key >> 3, key & 7
        if kind == 0:
            value, i = read_varint(data, i)
        elif kind == 2:
            size, i = read_varint(data, i)
            value, i = data[i:i + size], i + size
        elif kind == 1:
            value, i = data[i:i + 8], i + 8
        else:
            value, i = data[i:i + 4], i + 4
        yield number, value


def read_varint(data, i):
    shift = result = 0
    while True:
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, i


def slice_msg(table, begin, end):
    return field(1, table) + field(2, begin) + field(3, end)


# --- channels ----------------------------------------------------------------
def channel(address, ca=None, cert=None, key=None):
    if ca is None:
        return grpc.insecure_channel(address)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=read(ca), private_key=read(key) if key else None,
        certificate_chain=read(cert) if cert else None)
    return grpc.secure_channel(address, credentials)


def good_channel(address):
    return channel(address, f"{tls_dir}/ca.pem", f"{tls_dir}/client.pem",
                   f"{tls_dir}/client-key.pem")


def bearer(value):
    return (("authorization", "Bearer " + value),) if value is not None else ()


def call(ch, method, request=b"", metadata=(), streaming=False, timeout=10):
    """The call's status code and details."""
    try:
        if streaming:
            stub = ch.stream_stream(method, request_serializer=lambda m: m,
                                    response_deserializer=lambda m: m)
            answers = list(stub(iter([request]), metadata=metadata, timeout=timeout))
            return grpc.StatusCode.OK, b"".join(answers)
        stub = ch.unary_unary(method, request_serializer=lambda m: m,
                              response_deserializer=lambda m: m)
        return grpc.StatusCode.OK, stub(request, metadata=metadata, timeout=timeout)
    except grpc.RpcError as error:
        return error.code(), error.details() or ""


HEALTH = "/grpc.health.v1.Health/Check"
REFLECTION = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"

# 1. Transport: plaintext, the wrong CA, no client certificate.
for name, address in (("coordinator", coordinator), ("server", server)):
    code, _ = call(channel(address), HEALTH, timeout=5)
    check(code == grpc.StatusCode.UNAVAILABLE,
          f"a plaintext client cannot talk to the TLS {name} ({code.name})")
    code, _ = call(channel(address, f"{tls_dir}/ca.pem", f"{other_dir}/client.pem",
                           f"{other_dir}/client-key.pem"), HEALTH, timeout=5)
    check(code == grpc.StatusCode.UNAVAILABLE,
          f"a client certificate of another CA is refused by the {name} ({code.name})")
    code, _ = call(channel(address, f"{tls_dir}/ca.pem"), HEALTH, timeout=5)
    check(code == grpc.StatusCode.UNAVAILABLE,
          f"a client with no certificate is refused by the {name} under mutual TLS ({code.name})")
    code, _ = call(channel(address, f"{other_dir}/ca.pem", f"{tls_dir}/client.pem",
                           f"{tls_dir}/client-key.pem"), HEALTH, timeout=5)
    check(code == grpc.StatusCode.UNAVAILABLE,
          f"a client that trusts another CA does not accept the {name} ({code.name})")
    code, answer = call(good_channel(address), HEALTH)
    check(code == grpc.StatusCode.OK and answer == b"\x08\x01",
          f"the {name}'s health check answers SERVING without a token ({code.name})")


# 2. The token, on every method of every service (found through reflection).
def services_and_methods(address):
    ch = good_channel(address)
    code, answer = call(ch, REFLECTION, b"\x3a\x00", bearer(token), streaming=True)
    assert code == grpc.StatusCode.OK, code
    names = []
    for number, response in fields(answer):
        if number != 6:  # list_services_response
            continue
        for _, service in fields(response):
            names.extend(v.decode() for n, v in fields(service) if n == 1)
    methods = []
    for service in names:
        if service.startswith("grpc."):
            continue
        code, answer = call(ch, REFLECTION, field(4, service), bearer(token), streaming=True)
        for number, response in fields(answer):
            if number != 4:  # file_descriptor_response
                continue
            for _, blob in fields(response):
                proto = descriptor_pb2.FileDescriptorProto.FromString(blob)
                for s in proto.service:
                    if f"{proto.package}.{s.name}" == service:
                        methods += [(f"/{service}/{m.name}", m.client_streaming or m.server_streaming)
                                    for m in s.method]
    return names, methods


for name, address, expected in (("coordinator", coordinator, "petrel.Coordinator"),
                                ("server", server, "petrel.Parameter")):
    services, methods = services_and_methods(address)
    check(expected in services and len(methods) >= 2,
          f"reflection with the token lists {expected}: {len(methods)} methods")
    methods.append((REFLECTION, True))
    for label, metadata in (("no", ()), ("a wrong", bearer("x" * 64)),
                            ("a truncated", bearer(token[:-1])), ("a longer", bearer(token + "0")),
                            ("an unprefixed", (("authorization", token),))):
        codes = {m: call(good_channel(address), m, b"", metadata, streaming)[0]
                 for m, streaming in methods}
        bad = {m: c.name for m, c in codes.items() if c != grpc.StatusCode.UNAUTHENTICATED}
        check(not bad, f"{name}: {label} token gets UNAUTHENTICATED on all {len(codes)} methods"
              + (f"; not on {bad}" if bad else ""))

code, answer = call(good_channel(coordinator), "/petrel.Coordinator/ListJobs", b"", bearer(token))
check(code == grpc.StatusCode.OK and job_id.encode() in answer, "the right token lists the jobs")

# 3. Limits: each over-limit request gets its code and names the limit.
weights = "layer0/weights"
many_slices = b"".join(field(5, slice_msg(weights, i, i + 1)) for i in range(4097))
pull = field(1, job_id) + field(2, "observer") + many_slices + field(6, 1)
push = field(1, job_id) + field(2, "worker-0") + field(3, 1) + many_slices + b"".join(
    field(6, b"\x00\x00\x80\x3f") for _ in range(4097))
many_keys = field(1, job_id) + field(2, "observer") + field(6, 1) + field(
    7, field(1, "weights") + field(2, b"\x01" * 8 * ((1 << 20) + 1)))
long_name = field(1, "j" * 2000) + field(2, "observer") + field(6, 1)
for label, method, request, limit in (
        ("a pull of 4097 slices", "Pull", pull, "kMaxSlicesPerRequest"),
        ("a push of 4097 slices", "Push", push, "kMaxSlicesPerRequest"),
        ("a pull of 2^20 + 1 sparse keys", "Pull", many_keys, "kMaxKeysPerRequest"),
        ("a pull with a 2000-byte job id", "Pull", long_name, "kMaxNameBytes")):
    code, details = call(good_channel(server), f"/petrel.Parameter/{method}", request, bearer(token))
    check(code == grpc.StatusCode.RESOURCE_EXHAUSTED and limit in details,
          f"{label}: {code.name}, naming {limit} ({details})")
code, details = call(good_channel(server), "/petrel.Parameter/Pull",
                     b"\x0a" + varint(80 << 20) + b"x" * (80 << 20), bearer(token), timeout=30)
check(code == grpc.StatusCode.RESOURCE_EXHAUSTED,
      f"a message of 80 MiB is refused by gRPC's size limit: {code.name}")

# 4. A flood of bad requests (no token, over-limit) while a good client works.
stop = threading.Event()
flooded = [0]


def flood(kind):
    ch = good_channel(server)
    while not stop.is_set():
        if kind == 0:
            call(ch, "/petrel.Parameter/Pull", pull, bearer("y" * 64))
        else:
            call(ch, "/petrel.Parameter/Pull", pull, bearer(token))
        flooded[0] += 1


threads = [threading.Thread(target=flood, args=(i % 2,)) for i in range(6)]
for t in threads:
    t.start()
good = good_channel(server)
observer_pull = field(1, job_id) + field(2, "observer") + field(5, slice_msg(weights, 0, 100)) + field(6, 1)
latencies, codes = [], []
deadline = time.time() + 3
while time.time() < deadline:
    start = time.time()
    codes.append(call(good, "/petrel.Parameter/Pull", observer_pull, bearer(token))[0])
    latencies.append(time.time() - start)
stop.set()
for t in threads:
    t.join()
latencies.sort()
ok = sum(c == grpc.StatusCode.OK for c in codes)
check(ok == len(codes) and ok >= 10 and latencies[int(0.99 * (len(latencies) - 1))] < 1.0,
      f"under a flood of {flooded[0]} bad requests, {ok}/{len(codes)} good pulls succeeded, "
      f"p99 {latencies[int(0.99 * (len(latencies) - 1))] * 1000:.0f} ms")

sys.exit(1 if failures else 0)
