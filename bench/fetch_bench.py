#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Cloud-film download speed: `cloudfilm fetch` against a sequential Python client, both
downloading one 300-image study from the Hinacom replica (tests/replica) with a fixed
latency before every response.

The sequential client (tests/integration/hinacom_replica.py) does what the public Python
downloader does: L1-L5, the listing, then for each image its tags and its pixels, one
request at a time over one keep-alive connection per port. It only downloads (no DICOM
rebuild, no files), so it is an optimistic baseline. cloudfilm rebuilds every instance,
checks the JPEG 2000 codestream by decoding it, and stores it (fsync, SQLite index).

Rows: the sequential client, cloudfilm with the default concurrency (fetch.max_per_host 4,
hinacom threads 4), and cloudfilm with 16/16. Each cloudfilm run starts from an empty
store. Prints seconds (median of --runs), HTTP requests/s, the replica's peak number of
requests in flight, and the speedup over the sequential client.

    bench/fetch_bench.py --bin build/cloudfilm
    bench/fetch_bench.py --bin build/cloudfilm --latency-ms 100 --runs 5 --raw
    bench/fetch_bench.py --bin build/cloudfilm --concurrency 4,4:8,16,32   # H:T = max_per_host:threads

Needs python3-pydicom and python3-numpy, and the replica binary (build target
cloudfilm_replica; default <dir of --bin>/tests/replica/cloudfilm_replica, or
--replica). Every wait is bounded.
"""

import argparse
import json
import os
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
import hinacom_replica  # noqa: E402

k_fetch_timeout = 1800  # seconds per cloudfilm fetch run
k_seed = 11


def write_config(path, data_dir, per_host, threads):
    lines = [
        "storage:",
        "  path: {}".format(json.dumps(data_dir)),
        "log:",
        "  level: warn",
        "fetch:",
        "  max_per_host: {}".format(per_host),
        "  modules:",
        "    hinacom:",
        "      threads: \"{}\"".format(threads),
    ]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def run_cloudfilm(args, replica, workdir, per_host, threads, raw, run):
    base = os.path.join(workdir, "cf-{}-{}-{}".format(per_host, threads, run))
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    config = os.path.join(base, "cloudfilm.yaml")
    write_config(config, os.path.join(base, "data"), per_host, threads)
    cmd = [args.bin, "fetch", replica.share_url, "--password", replica.password] + replica.resolve_args()
    if raw:
        cmd.append("--raw")
    cmd += ["--config", config]
    replica.reset()
    start = time.monotonic()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=k_fetch_timeout)
    seconds = time.monotonic() - start
    out = proc.stdout.decode("utf-8", "replace")
    if proc.returncode != 0 or "{} stored".format(args.count) not in out:
        raise SystemExit("cloudfilm fetch failed (exit {}):\n{}\n{}".format(
            proc.returncode, out, proc.stderr.decode("utf-8", "replace")[-3000:]))
    requests = len(replica.log())
    stats = replica.stats()
    peak = max(stats["report"]["peak_in_flight"], stats["viewer"]["peak_in_flight"])
    if not args.workdir:
        shutil.rmtree(base, ignore_errors=True)
    return {"seconds": seconds, "requests": requests, "peak": peak}


def run_sequential(replica, raw):
    replica.reset()
    result = hinacom_replica.sequential_download(replica, raw=raw)
    stats = replica.stats()
    result["peak"] = max(stats["report"]["peak_in_flight"], stats["viewer"]["peak_in_flight"])
    result["requests"] = len(replica.log())
    return result


def summarize(rows, name, results):
    seconds = statistics.median(r["seconds"] for r in results)
    requests = results[0]["requests"]
    rows.append({"name": name, "seconds": seconds, "all": [r["seconds"] for r in results],
                 "requests": requests, "rate": requests / seconds, "peak": max(r["peak"] for r in results)})


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=os.path.join(k_here, "..", "build", "cloudfilm"))
    parser.add_argument("--replica", help="replica binary (default: next to --bin)")
    parser.add_argument("--count", type=int, default=300, help="images in the study")
    parser.add_argument("--size", type=int, default=512, help="rows = columns")
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3, help="runs per cloudfilm row (median)")
    parser.add_argument("--baseline-runs", type=int, help="runs of the sequential client (default: --runs)")
    parser.add_argument("--concurrency", default="4,16",
                        help="cloudfilm rows: N (max_per_host = threads = N) or H:T (max_per_host H, threads T)")
    parser.add_argument("--raw", action="store_true", help="native pixels instead of JPEG 2000")
    parser.add_argument("--workdir", help="keep data and logs here")
    args = parser.parse_args(argv)
    args.bin = os.path.abspath(args.bin)
    os.environ["CLOUDFILM_REPLICA"] = os.path.abspath(args.replica or hinacom_replica.replica_bin(args.bin))
    if not hinacom_replica.have_replica():
        raise SystemExit("no replica binary at {}".format(os.environ["CLOUDFILM_REPLICA"]))

    workdir = args.workdir or tempfile.mkdtemp(prefix="fetch-bench-")
    os.makedirs(workdir, exist_ok=True)
    replica = None
    try:
        fixtures = os.path.join(workdir, "study")
        if not os.path.isdir(fixtures) or len(os.listdir(fixtures)) != args.count:
            shutil.rmtree(fixtures, ignore_errors=True)
            make_ct_series.make_series(fixtures, count=args.count, seed=k_seed, size=args.size)
        replica = hinacom_replica.Replica(workdir, fixtures, args=["--latency-ms", str(args.latency_ms)])
        mode = "raw" if args.raw else "j2k"
        print("study: {} images {}x{}, replica latency {} ms per response, pixels {}, {} run(s) per row".format(
            args.count, args.size, args.size, args.latency_ms, mode, args.runs), flush=True)

        rows = []
        results = []
        for run in range(max(1, args.baseline_runs or args.runs)):
            r = run_sequential(replica, args.raw)
            if r["images"] != args.count:
                raise SystemExit("sequential client got {} images".format(r["images"]))
            results.append(r)
            print("  sequential run {}: {:.2f} s".format(run + 1, r["seconds"]), flush=True)
        summarize(rows, "sequential Python client", results)
        for row in args.concurrency.split(","):
            per_host, _, threads = row.partition(":")
            per_host, threads = int(per_host), int(threads or per_host)
            results = []
            for run in range(args.runs):
                r = run_cloudfilm(args, replica, workdir, per_host, threads, args.raw, run)
                results.append(r)
                print("  cloudfilm {}/{} run {}: {:.2f} s".format(per_host, threads, run + 1, r["seconds"]), flush=True)
            summarize(rows, "cloudfilm fetch, max_per_host {}, threads {}".format(per_host, threads), results)

        base = rows[0]["seconds"]
        print()
        print("| client | seconds (median) | HTTP requests | requests/s | peak in flight | speedup |")
        print("|---|---|---|---|---|---|")
        for row in rows:
            print("| {} | {:.2f} | {} | {:.0f} | {} | {:.1f}x |".format(
                row["name"], row["seconds"], row["requests"], row["rate"], row["peak"], base / row["seconds"]))
    finally:
        if replica is not None:
            replica.stop()
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
