#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""HTTP side of cloudfilm against Orthanc's REST API, in the same run (issue #9):

- study list: `GET /api/studies?limit=100` (and with `PatientName=Wang*`) against Orthanc's
  `POST /tools/find` (Level Study, Limit 100, Expand) over N one-instance studies
  (default 10,000; names as bench/qr_bench.py makes them, two in three Chinese): p50/p95;
- zip export of a 300-instance CT study (512x512, ~160 MB): cloudfilm
  `/api/studies/{uid}/archive` (with a DICOMDIR) against Orthanc `/studies/{id}/media`: MB/s
  and the server's peak RSS growth while it streams; the physical limit printed beside it is
  reading the same files from the page cache;
- upload of that study as one zip (~160 MB) into an empty node: cloudfilm `POST
  /api/instances` against Orthanc `POST /instances`: MB/s.

    bench/web_bench.py --bin build/cloudfilm
    bench/web_bench.py --bin build/cloudfilm --studies 2000 --runs 100 --workdir /tmp/cf-web

Needs dcmtk, python3-pydicom, python3-numpy and orthanc. Every wait is bounded.
"""

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile

k_here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(k_here, "..", "tests", "fixtures"))
sys.path.insert(0, os.path.join(k_here, "..", "tests", "integration"))
sys.path.insert(0, k_here)

import make_ct_series  # noqa: E402
import orthanc  # noqa: E402
import qr_bench  # noqa: E402

k_ready_timeout = 30
k_http_timeout = 600


def start_cloudfilm(binary, workdir):
    port = qr_bench.free_port()
    http_port = qr_bench.free_port()
    os.makedirs(workdir, exist_ok=True)
    config = os.path.join(workdir, "cloudfilm.yaml")
    with open(config, "w") as f:
        f.write("node:\n  ae_title: CLOUDFILM\n  bind: 127.0.0.1\n  port: {}\n"
                "storage:\n  path: \"{}\"\nhttp:\n  port: {}\nlog:\n  level: warn\n"
                .format(port, os.path.join(workdir, "data"), http_port))
    log = open(os.path.join(workdir, "cloudfilm.log"), "wb")
    proc = subprocess.Popen([binary, "serve", "--config", config], stdin=subprocess.DEVNULL,
                            stdout=log, stderr=log, env=qr_bench.env())
    deadline = time.monotonic() + k_ready_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("cloudfilm exited with {}".format(proc.returncode))
        if qr_bench.echo_ok(port, "CLOUDFILM"):
            return proc, port, http_port
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("cloudfilm did not start")


def request(port, method, path, body=None, headers=None, sink=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=k_http_timeout)
    conn.request(method, path, body=body, headers=dict({"Host": "127.0.0.1:{}".format(port)}, **(headers or {})))
    r = conn.getresponse()
    if sink is None:
        data = r.read()
    else:
        data = 0
        while True:
            chunk = r.read(1 << 20)
            if not chunk:
                break
            data += len(chunk)
    conn.close()
    if r.status >= 300:
        raise RuntimeError("{} {} -> {}".format(method, path, r.status))
    return data


def latency(fn, runs):
    for _ in range(3):
        fn()
    times = []
    budget = time.monotonic() + 120
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
        if time.monotonic() > budget:
            break
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))]


def rss_kb(pid):
    with open("/proc/{}/status".format(pid)) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def timed_with_rss(pid, fn):
    """(seconds, result, peak RSS growth in MB) of fn() while sampling the server's RSS."""
    base = rss_kb(pid)
    peak = [base]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_kb(pid))
            time.sleep(0.01)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    done.set()
    t.join()
    return seconds, result, (peak[0] - base) / 1024.0


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default=os.path.join(k_here, "..", "build", "cloudfilm"))
    p.add_argument("--studies", type=int, default=10000)
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--workdir")
    args = p.parse_args(argv)
    work = args.workdir or tempfile.mkdtemp(prefix="cf-web-bench-")
    os.makedirs(work, exist_ok=True)
    procs = []
    try:
        print("generating {} studies and a 300-instance CT ...".format(args.studies), flush=True)
        small, _, _ = qr_bench.generate(os.path.join(work, "small"), args.studies, args.studies, 7)
        big_dir = os.path.join(work, "big")
        big = make_ct_series.make_series(big_dir, count=300, seed=qr_bench.k_big_seed, size=512)
        big_bytes = sum(os.path.getsize(f) for f in big)
        big_uid = make_ct_series.make_uid(qr_bench.k_big_seed, "study")

        cf, cf_port, cf_http = start_cloudfilm(args.bin, os.path.join(work, "cloudfilm"))
        procs.append(cf)
        orth = orthanc.Orthanc(os.path.join(work, "orthanc"), peers={"bench": (qr_bench.k_store_ae, 0)})
        orth.config["DicomAlwaysAllowStore"] = True
        with open(orth.config_path, "w", encoding="utf-8") as f:
            json.dump(orth.config, f)
        orth.start()
        print("storing ...", flush=True)
        for files in (small, big):
            qr_bench.store(files, cf_port, "CLOUDFILM")
            qr_bench.store(files, orth.dicom_port, orth.ae_title)

        print("\nstudy list over {} studies, {} runs (ms)".format(args.studies, args.runs))
        print("{:<34} {:>8} {:>8}".format("", "p50", "p95"))
        cases = [
            ("cloudfilm GET /api/studies", lambda: request(cf_http, "GET", "/api/studies?limit=100")),
            ("orthanc /tools/find", lambda: request(orth.http_port, "POST", "/tools/find", json.dumps(
                {"Level": "Study", "Query": {}, "Limit": 100, "Expand": True}))),
            ("cloudfilm PatientName=Wang*", lambda: request(cf_http, "GET",
                                                            "/api/studies?limit=100&PatientName=Wang*")),
            ("orthanc PatientName=Wang*", lambda: request(orth.http_port, "POST", "/tools/find", json.dumps(
                {"Level": "Study", "Query": {"PatientName": "Wang*"}, "Limit": 100, "Expand": True}))),
        ]
        results = {}
        for name, fn in cases:
            results[name] = latency(fn, args.runs)
            print("{:<34} {:>8.1f} {:>8.1f}".format(name, *results[name]))
        print("ratio orthanc/cloudfilm p50: all {:.2f}, Wang* {:.2f}".format(
            results["orthanc /tools/find"][0] / results["cloudfilm GET /api/studies"][0],
            results["orthanc PatientName=Wang*"][0] / results["cloudfilm PatientName=Wang*"][0]))

        print("\nzip export of {} instances, {:.0f} MB".format(len(big), big_bytes / 1e6))
        start = time.perf_counter()
        for f in big:
            with open(f, "rb") as fh:
                while fh.read(1 << 20):
                    pass
        cache = big_bytes / 1e6 / (time.perf_counter() - start)
        print("physical limit (reading the files from the page cache): {:.0f} MB/s".format(cache))
        orth_id = json.loads(request(orth.http_port, "POST", "/tools/lookup", big_uid))[0]["ID"]
        s1, n1, r1 = timed_with_rss(cf.pid, lambda: request(cf_http, "GET", "/api/studies/{}/archive".format(big_uid),
                                                            sink=True))
        s2, n2, r2 = timed_with_rss(orth.proc.pid, lambda: request(orth.http_port, "GET",
                                                                   "/studies/{}/media".format(orth_id), sink=True))
        # MB/s of the study exported (Orthanc deflates its zip, so its transfer is smaller).
        print("cloudfilm /archive: {:.0f} MB/s of study ({:.1f} s, zip {:.0f} MB), peak RSS +{:.0f} MB".format(
            big_bytes / 1e6 / s1, s1, n1 / 1e6, r1))
        print("orthanc /media:     {:.0f} MB/s of study ({:.1f} s, zip {:.0f} MB), peak RSS +{:.0f} MB".format(
            big_bytes / 1e6 / s2, s2, n2 / 1e6, r2))
        print("ratio cloudfilm/orthanc: {:.2f}".format(s2 / s1))

        zip_path = os.path.join(work, "big.zip")
        with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_STORED) as z:
            for i, f in enumerate(big):
                z.write(f, "IMG{:04d}.dcm".format(i))
        zip_bytes = os.path.getsize(zip_path)
        cf2, _, cf2_http = start_cloudfilm(args.bin, os.path.join(work, "cloudfilm-upload"))
        procs.append(cf2)
        orth2 = orthanc.Orthanc(os.path.join(work, "orthanc-upload"))
        orth2.start()
        with open(zip_path, "rb") as f:
            body = f.read()
        print("\nupload of a {:.0f} MB zip into an empty node".format(zip_bytes / 1e6))
        s1, _, r1 = timed_with_rss(cf2.pid, lambda: request(cf2_http, "POST", "/api/instances", body,
                                                            {"Content-Type": "application/zip"}))
        s2, _, r2 = timed_with_rss(orth2.proc.pid, lambda: request(orth2.http_port, "POST", "/instances", body,
                                                                   {"Content-Type": "application/zip"}))
        print("cloudfilm POST /api/instances: {:.0f} MB/s ({:.1f} s), peak RSS +{:.0f} MB".format(
            zip_bytes / 1e6 / s1, s1, r1))
        print("orthanc POST /instances:       {:.0f} MB/s ({:.1f} s), peak RSS +{:.0f} MB".format(
            zip_bytes / 1e6 / s2, s2, r2))
        print("ratio cloudfilm/orthanc: {:.2f}".format(s2 / s1))
        orth2.stop()
        orth.stop()
    finally:
        for proc in procs:
            qr_bench.stop_cloudfilm(proc)
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
