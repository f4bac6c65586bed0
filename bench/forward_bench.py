#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Forwarding throughput: `cloudfilm send --wait` against DCMTK's storescu, both into Orthanc.

Generates one CT study (default 300 instances of 512x512 16-bit, ~520 KB each), imports
it into a cloudfilm store once, then per run sends the whole study to the same Orthanc
(Debian's `orthanc`, a plain child process) twice: with `cloudfilm send STUDY --to
orthanc --wait` and with `storescu -R` over the same files on one association, each into
a fresh, empty Orthanc storage (Orthanc is restarted in between). The order alternates
between runs. Prints instances/s (median of the runs) and the ratio cloudfilm/storescu.

    bench/forward_bench.py [--bin build/cloudfilm] [--count 300] [--runs 3]

TCP_NODELAY=1 is exported to cloudfilm, storescu and Orthanc (Debian's DCMTK, which
Orthanc links, otherwise leaves Nagle on: ~50 ms per C-STORE).
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

k_here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(k_here, "..", "tests", "fixtures"))
sys.path.insert(0, os.path.join(k_here, "..", "tests", "integration"))

import make_ct_series  # noqa: E402
import orthanc  # noqa: E402  (tests/integration/orthanc.py)

k_seed = 7
k_ae = "CLOUDFILM"
k_storescu_ae = "STORESCU"
k_send_timeout = 600  # seconds for one transfer
k_import_timeout = 600
k_target = 0.9
k_queued_re = re.compile(r"queued job (\d+): (\d+) instances? to")


def env():
    out = dict(os.environ)
    out["TCP_NODELAY"] = "1"
    return out


def run(cmd, timeout):
    return subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, env=env(), encoding="utf-8", errors="replace")


def write_config(path, data_dir, orthanc_port):
    with open(path, "w") as f:
        f.write("node:\n  ae_title: {}\n  bind: 127.0.0.1\n"
                "storage:\n  path: \"{}\"\n"
                "modalities:\n  orthanc: {{ae: ORTHANC, host: 127.0.0.1, port: {}}}\n"
                "forward:\n  retry: {{max_attempts: 1, initial_delay: 1, max_delay: 1}}\n"
                "log:\n  level: warn\n".format(k_ae, data_dir, orthanc_port))


def fresh(server):
    """Restart Orthanc on an empty storage (same ports)."""
    if server.running():
        server.stop()
    server.remove_storage()
    os.sync()  # the previous run's write-back must not slow this one down
    server.start()
    held = server.statistics()["CountInstances"]
    if held != 0:
        raise RuntimeError("Orthanc storage not empty after restart ({} instances)".format(held))


def by_cloudfilm(binary, config, study_uid):
    started = time.monotonic()
    result = run([binary, "send", study_uid, "--to", "orthanc", "--wait", "--config", config], k_send_timeout)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        raise RuntimeError("cloudfilm send --wait exit {}:\n{}\n{}".format(
            result.returncode, result.stdout, result.stderr[-3000:]))
    return elapsed


def by_storescu(server, files):
    cmd = ["storescu", "-R", "-aet", k_storescu_ae, "-aec", server.ae_title, "-to", "30", "-ta", "30",
           "-td", "120", "127.0.0.1", str(server.dicom_port)] + files
    started = time.monotonic()
    result = run(cmd, k_send_timeout)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        raise RuntimeError("storescu exit {}: {}".format(result.returncode, result.stderr[-3000:]))
    return elapsed


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=os.environ.get("CLOUDFILM_BIN", os.path.join(k_here, "..", "build", "cloudfilm")))
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--size", type=int, default=512, help="rows = columns of the generated CT")
    parser.add_argument("--runs", type=int, default=3, help="runs per sender; the median is reported")
    parser.add_argument("--workdir", help="keep everything here instead of a removed temp dir")
    args = parser.parse_args(argv)
    if not (1 <= args.runs <= 20 and 1 <= args.count <= 100000):
        parser.error("--runs must be 1..20 and --count 1..100000")
    binary = os.path.abspath(args.bin)
    if shutil.which("storescu") is None:
        print("storescu missing: apt-get install dcmtk", file=sys.stderr)
        return 125
    if not orthanc.installed():
        print("Orthanc missing: apt-get install orthanc", file=sys.stderr)
        return 125
    if not os.access(binary, os.X_OK):
        print("no cloudfilm binary at {}".format(binary), file=sys.stderr)
        return 2

    root = args.workdir or tempfile.mkdtemp(prefix="cf-fwd-bench-")
    os.makedirs(root, exist_ok=True)
    server = None
    try:
        files = make_ct_series.make_series(os.path.join(root, "series"), count=args.count, seed=k_seed, size=args.size)
        study_uid = make_ct_series.make_uid(k_seed, "study")
        megabytes = sum(os.path.getsize(f) for f in files) / 1e6

        server = orthanc.Orthanc(os.path.join(root, "orthanc"),
                                 peers={"cloudfilm": (k_ae, 0), "storescu": (k_storescu_ae, 0)})
        config = os.path.join(root, "cloudfilm.yaml")
        write_config(config, os.path.join(root, "cloudfilm-data"), server.dicom_port)
        imported = run([binary, "import", os.path.join(root, "series"), "--config", config], k_import_timeout)
        if imported.returncode != 0:
            raise RuntimeError("cloudfilm import failed: {}".format(imported.stderr[-2000:]))
        os.sync()
        print("study: {} instances, {:.0f} MB, {}x{}; destination Orthanc {} (fresh storage per run); "
              "TCP_NODELAY=1".format(len(files), megabytes, args.size, args.size, orthanc_version()))

        samples = {"cloudfilm": [], "storescu": []}
        print("{:<4} {:<10} {:>8} {:>10}".format("run", "sender", "seconds", "inst/s"))
        for index in range(args.runs):
            order = ("cloudfilm", "storescu") if index % 2 == 0 else ("storescu", "cloudfilm")
            for sender in order:
                fresh(server)
                if sender == "cloudfilm":
                    elapsed = by_cloudfilm(binary, config, study_uid)
                else:
                    elapsed = by_storescu(server, files)
                held = server.statistics()["CountInstances"]
                if held != len(files):
                    raise RuntimeError("{}: Orthanc holds {} of {} instances".format(sender, held, len(files)))
                samples[sender].append(elapsed)
                print("{:<4} {:<10} {:>8.2f} {:>10.1f}".format(index + 1, sender, elapsed, len(files) / elapsed))
        rates = {s: len(files) / statistics.median(v) for s, v in samples.items()}
        for sender in ("cloudfilm", "storescu"):
            print("median {:<10} {:>8.2f} s {:>8.1f} instances/s".format(
                sender, statistics.median(samples[sender]), rates[sender]))
        ratio = rates["cloudfilm"] / rates["storescu"]
        print("ratio cloudfilm/storescu: {:.2f} (target >= {})".format(ratio, k_target))
    finally:
        if server is not None and server.running():
            server.stop()
        if not args.workdir:
            shutil.rmtree(root, ignore_errors=True)
    return 0


def orthanc_version():
    try:
        out = subprocess.run([orthanc.k_binary, "--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             timeout=20, encoding="utf-8", errors="replace").stdout
        first = out.split("\n", 1)[0].split()  # "/usr/sbin/Orthanc 1.10.1"
        return first[1] if len(first) >= 2 and first[0].endswith("Orthanc") else "?"
    except (OSError, subprocess.TimeoutExpired, IndexError):
        return "?"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
