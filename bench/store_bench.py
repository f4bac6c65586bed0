#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""C-STORE throughput: cloudfilm against DCMTK's storescp (files only, the practical ceiling).

Generates one CT study (default 300 instances of 512x512 16-bit, ~520 KB each), then for
each server and each association count stores the whole study with DCMTK's storescu
(files split evenly across parallel associations, TCP_NODELAY=1) into a fresh, empty
store, and prints instances/s and the ratio cloudfilm/storescp.

    bench/store_bench.py [--bin build/cloudfilm] [--count 300] [--parallel 1,4] [--runs 3]

storescp runs in its default single-process mode, so it serves parallel associations one
after another; its 4-association figure is therefore still a one-at-a-time ceiling.
"""

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

k_here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(k_here, "..", "tests", "fixtures"))

import make_ct_series  # noqa: E402

k_ae = "BENCHSCP"
k_ready_timeout = 20.0  # seconds for a server to answer C-ECHO
k_store_timeout = 600  # seconds for one storescu run
k_stop_timeout = 60  # seconds for a server to stop after SIGTERM


def env():
    out = dict(os.environ)
    out["TCP_NODELAY"] = "1"
    return out


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(proc, port, log_path):
    deadline = time.monotonic() + k_ready_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited with {}; see {}".format(proc.returncode, log_path))
        echo = subprocess.run(["echoscu", "-aec", k_ae, "-to", "3", "127.0.0.1", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env(), timeout=20)
        if echo.returncode == 0:
            return
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not answer C-ECHO within {} s; see {}".format(k_ready_timeout, log_path))


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=k_stop_timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
        raise RuntimeError("server did not stop within {} s of SIGTERM".format(k_stop_timeout))


def start_storescp(workdir, port, pdu):
    out = os.path.join(workdir, "storescp-out")
    os.makedirs(out)
    log_path = os.path.join(workdir, "storescp.log")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(["storescp", "-aet", k_ae, "-pdu", str(pdu), "-od", out, str(port)],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env())
    wait_ready(proc, port, log_path)
    return proc, lambda: len(os.listdir(out))


def start_cloudfilm(binary, workdir, port, pdu, fsync=True):
    data = os.path.join(workdir, "cloudfilm-data")
    config = os.path.join(workdir, "cloudfilm.yaml")
    with open(config, "w") as f:
        f.write("node:\n  ae_title: {}\n  bind: 127.0.0.1\n  port: {}\n  max_pdu: {}\n"
                "storage:\n  path: \"{}\"\n  fsync: {}\nlog:\n  level: warn\n".format(
                    k_ae, port, pdu, data, "true" if fsync else "false"))
    log_path = os.path.join(workdir, "cloudfilm.log")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([binary, "serve", "--config", config],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env())
    wait_ready(proc, port, log_path)

    def stored():
        objects = os.path.join(data, "objects")
        return sum(len(names) for _, _, names in os.walk(objects))
    return proc, stored


def store(files, port, parallel, pdu):
    """Store `files` over `parallel` associations; returns elapsed seconds."""
    size = len(files)
    chunks = [files[i * size // parallel:(i + 1) * size // parallel] for i in range(parallel)]
    started = time.monotonic()
    procs = [subprocess.Popen(["storescu", "-R", "-aec", k_ae, "-pdu", str(pdu), "127.0.0.1", str(port)] + chunk,
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              env=env())
             for chunk in chunks if chunk]
    errors = []
    for proc in procs:
        try:
            _, err = proc.communicate(timeout=k_store_timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate(timeout=10)
            errors.append("storescu timed out")
            continue
        if proc.returncode != 0:
            errors.append("storescu exit {}: {}".format(proc.returncode, err.decode("utf-8", "replace")[-500:]))
    elapsed = time.monotonic() - started
    if errors:
        raise RuntimeError("; ".join(errors))
    return elapsed


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=os.environ.get("CLOUDFILM_BIN", os.path.join(k_here, "..", "build", "cloudfilm")))
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--size", type=int, default=512, help="rows = columns of the generated CT")
    parser.add_argument("--parallel", default="1,4", help="comma-separated association counts")
    parser.add_argument("--runs", type=int, default=3, help="runs per case; the median is reported")
    parser.add_argument("--pdu", type=int, default=65536, help="max PDU for both servers and storescu")
    parser.add_argument("--workdir", help="keep everything here instead of a removed temp dir")
    args = parser.parse_args(argv)
    if not (1 <= args.runs <= 20 and 1 <= args.count <= 100000):
        parser.error("--runs must be 1..20 and --count 1..100000")
    parallels = [int(p) for p in args.parallel.split(",") if p.strip()]
    if not parallels or any(not 1 <= p <= 64 for p in parallels):
        parser.error("--parallel takes counts between 1 and 64")
    binary = os.path.abspath(args.bin)
    for tool in ("storescp", "storescu", "echoscu"):
        if shutil.which(tool) is None:
            print("{} missing: apt-get install dcmtk".format(tool), file=sys.stderr)
            return 125
    if not os.access(binary, os.X_OK):
        print("no cloudfilm binary at {}".format(binary), file=sys.stderr)
        return 2

    root = args.workdir or tempfile.mkdtemp(prefix="cf-bench-")
    os.makedirs(root, exist_ok=True)
    try:
        series_dir = os.path.join(root, "series")
        files = make_ct_series.make_series(series_dir, count=args.count, seed=7, size=args.size)
        megabytes = sum(os.path.getsize(f) for f in files) / 1e6
        os.sync()  # write-back of the fresh files would otherwise slow the first case down
        print("study: {} instances, {:.0f} MB, {}x{}; max PDU {}; TCP_NODELAY=1".format(
            len(files), megabytes, args.size, args.size, args.pdu))
        rates = {}
        print("{:<10} {:>5} {:>8} {:>10}".format("server", "assoc", "seconds", "inst/s"))
        # cloudfilm fsyncs every file and folder before acknowledging it
        # (storage.fsync, the default); storescp never syncs. The second
        # cloudfilm row is the same node with storage.fsync: false.
        for server in ("storescp", "cloudfilm", "cloudfilm-nofsync"):
            for parallel in parallels:
                samples = []
                for run in range(args.runs):
                    workdir = os.path.join(root, "{}-{}-{}".format(server, parallel, run))
                    os.makedirs(workdir)
                    port = free_port()
                    if server == "storescp":
                        proc, stored = start_storescp(workdir, port, args.pdu)
                    else:
                        proc, stored = start_cloudfilm(binary, workdir, port, args.pdu,
                                                       fsync=(server == "cloudfilm"))
                    try:
                        elapsed = store(files, port, parallel, args.pdu)
                    finally:
                        code = stop(proc)
                    if server != "storescp" and code != 0:
                        raise RuntimeError("cloudfilm exited with {} after SIGTERM".format(code))
                    if stored() != len(files):
                        raise RuntimeError("{} stored {} of {} files".format(server, stored(), len(files)))
                    samples.append(elapsed)
                    os.sync()  # the next case must not pay for this one's write-back
                    if not args.workdir:
                        shutil.rmtree(workdir, ignore_errors=True)
                seconds = statistics.median(samples)
                rates[(server, parallel)] = len(files) / seconds
                print("{:<10} {:>5} {:>8.2f} {:>10.1f}".format(server, parallel, seconds, rates[(server, parallel)]))
        for variant in ("cloudfilm", "cloudfilm-nofsync"):
            for parallel in parallels:
                print("ratio {}/storescp, {} association(s): {:.2f}".format(
                    variant, parallel, rates[(variant, parallel)] / rates[("storescp", parallel)]))
    finally:
        if not args.workdir:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
