#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Cloud-film download speed: `cloudfilm fetch` against a sequential Python client, both
downloading one 300-image study from a platform replica (tests/replica) with a fixed
latency before every response: the Hinacom replica (tiled, tags + pixels per image) and the
sugh replica (whole-file platform, cloudfilm_replica_cdn --platform sugh).

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

sugh (--platform sugh): the sequential client (urllib, one request at a time) does what
modules/sugh does: G1 share lookup, G2 listing (`token` header), then G3 one GET per image
(trailing slash, `token`/`orgCode`/`systemCode` headers), body read and discarded. Rows:
cloudfilm with the default settings (no fetch keys in the config) and with
fetch.max_per_host 16 + fetch.modules.sugh.threads 16 (--sugh-concurrency).

    bench/fetch_bench.py --bin build/cloudfilm --platform sugh

Needs python3-pydicom and python3-numpy, and the replica binaries (build targets
cloudfilm_replica and cloudfilm_replica_cdn; default <dir of --bin>/tests/replica/, or
--replica / --replica-cdn). Every wait is bounded.
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
import urllib.parse
import urllib.request

k_here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(k_here, "..", "tests", "fixtures"))
sys.path.insert(0, os.path.join(k_here, "..", "tests", "integration"))

import make_ct_series  # noqa: E402
import hinacom_replica  # noqa: E402
import cdn_replica  # noqa: E402

k_fetch_timeout = 1800  # seconds per cloudfilm fetch run
k_seed = 11


def write_config(path, data_dir, per_host, threads, module="hinacom"):
    """per_host None: no fetch keys at all (cloudfilm's defaults)."""
    lines = [
        "storage:",
        "  path: {}".format(json.dumps(data_dir)),
        "log:",
        "  level: warn",
    ]
    if per_host is not None:
        lines += [
            "fetch:",
            "  max_per_host: {}".format(per_host),
            "  modules:",
            "    {}:".format(module),
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
                 "requests": requests, "rate": requests / seconds, "peak": max(r.get("peak", 0) for r in results)})


# --- sugh (whole-file platform, modules/sugh) ---------------------------------------------


def sugh_sequential(replica):
    """G1, G2, then G3 per image, one urllib request at a time (as modules/sugh, no storing).
    The platform host name goes in the Host header; the socket goes to 127.0.0.1:port."""
    start = time.monotonic()
    split = urllib.parse.urlsplit(replica.share_url)
    netloc = split.netloc
    local = "http://127.0.0.1:{}".format(replica.port)
    token = urllib.parse.parse_qs(split.query)["clinicalShareToken"][0]
    q = lambda v: urllib.parse.quote(v, safe="")  # noqa: E731
    totals = {"requests": 0, "bytes": 0}

    def get(path, headers=None):
        h = {"Host": netloc}
        h.update(headers or {})
        req = urllib.request.Request(local + path, headers=h)
        with urllib.request.urlopen(req, timeout=60) as resp:
            body = resp.read()
        totals["requests"] += 1
        totals["bytes"] += len(body)
        return body

    g1 = json.loads(get("/api/cloudfilm/api/studyInfo/getClinicalByShareCode?clinicalShareToken={}&shareCode=".format(
        q(token))))
    if g1.get("code") != "200":
        raise RuntimeError("G1: {}".format(g1.get("message")))
    study_uid, org = g1["data"]["studyUid"], g1["data"]["params"]["orgCode"]
    g2 = json.loads(get("/api/cloudfilm-mgt/api/v1/study/json/index?systemCode=cloudfilm&studyUid={}&orgCode={}"
                        "&purview=1".format(q(study_uid), q(org)),
                        {"Referer": replica.share_url, "token": token}))
    if g2.get("code") != "200":
        raise RuntimeError("G2: {}".format(g2.get("message")))
    std = g2["data"][0]["std"]
    files = "/api/cloudfilm-mgt/api/v1/dicom/studies/{}/series/".format(std["studyUID"])
    headers = {"orgCode": org, "systemCode": "cloudfilm", "Referer": replica.share_url, "token": token}
    images = skipped = 0
    for series in g2["data"][0]["sers"].values():
        for img in series["imgs"].values():
            uid = img.get("imageUID")
            if not uid or not series.get("seriesUID"):
                skipped += 1
                continue
            body = get(files + series["seriesUID"] + "/instances/" + uid + "/", headers)
            if body[128:132] != b"DICM":
                raise RuntimeError("G3 {}: not a Part 10 file".format(uid))
            images += 1
    return {"images": images, "skipped": skipped, "requests": totals["requests"], "bytes": totals["bytes"],
            "seconds": time.monotonic() - start}


def run_sugh_cloudfilm(args, replica, workdir, per_host, threads, run):
    base = os.path.join(workdir, "sugh-cf-{}-{}-{}".format(per_host, threads, run))
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    config = os.path.join(base, "cloudfilm.yaml")
    write_config(config, os.path.join(base, "data"), per_host, threads, module="sugh")
    cmd = [args.bin, "fetch", replica.share_url] + replica.resolve_args() + ["--config", config]
    replica.reset()
    start = time.monotonic()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=k_fetch_timeout)
    seconds = time.monotonic() - start
    out = proc.stdout.decode("utf-8", "replace")
    if proc.returncode != 0 or "{} stored".format(args.count) not in out:
        raise SystemExit("cloudfilm fetch (sugh) failed (exit {}):\n{}\n{}".format(
            proc.returncode, out, proc.stderr.decode("utf-8", "replace")[-3000:]))
    log = replica.log()
    files = [r for r in log if r["route"] == "file"]
    if len(files) != args.count:
        raise SystemExit("cloudfilm fetch (sugh) made {} file requests, expected {}".format(len(files), args.count))
    if not args.workdir:
        shutil.rmtree(base, ignore_errors=True)
    return {"seconds": seconds, "requests": len(log), "connections": len({r["connection"] for r in files})}


def bench_sugh(args, workdir, fixtures):
    replica = cdn_replica.Replica(workdir, fixtures, "sugh", args=["--latency-ms", str(args.latency_ms)])
    try:
        print("sugh: study {} images {}x{}, replica latency {} ms per response, whole Part 10 files, "
              "{} run(s) per row".format(args.count, args.size, args.size, args.latency_ms, args.runs), flush=True)
        rows = []
        results = []
        for run in range(max(1, args.baseline_runs or args.runs)):
            replica.reset()
            r = sugh_sequential(replica)
            if r["images"] != args.count:
                raise SystemExit("sequential sugh client got {} images".format(r["images"]))
            r["requests"] = len(replica.log())
            r["connections"] = 1
            results.append(r)
            print("  sequential run {}: {:.2f} s, {} requests".format(run + 1, r["seconds"], r["requests"]), flush=True)
        summarize(rows, "sequential Python client (urllib)", results)
        for row in args.sugh_concurrency.split(","):
            if row == "default":
                per_host = threads = None
                name = "cloudfilm fetch, default settings"
            else:
                per_host, _, threads = row.partition(":")
                per_host, threads = int(per_host), int(threads or per_host)
                name = "cloudfilm fetch, max_per_host {}, sugh threads {}".format(per_host, threads)
            results = []
            for run in range(args.runs):
                r = run_sugh_cloudfilm(args, replica, workdir, per_host, threads, run)
                results.append(r)
                print("  {} run {}: {:.2f} s, {} requests on {} connections".format(
                    name, run + 1, r["seconds"], r["requests"], r["connections"]), flush=True)
            summarize(rows, name, results)
        base = rows[0]["seconds"]
        print()
        print("| sugh client | seconds (median) | HTTP requests | requests/s | speedup |")
        print("|---|---|---|---|---|")
        for row in rows:
            print("| {} | {:.2f} | {} | {:.0f} | {:.1f}x |".format(
                row["name"], row["seconds"], row["requests"], row["rate"], base / row["seconds"]))
        print(flush=True)
    finally:
        replica.stop()


def bench_hinacom(args, workdir, fixtures):
    replica = None
    try:
        replica = hinacom_replica.Replica(workdir, fixtures, args=["--latency-ms", str(args.latency_ms)])
        mode = "raw" if args.raw else "j2k"
        print("hinacom: study {} images {}x{}, replica latency {} ms per response, pixels {}, {} run(s) per row".format(
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
        print(flush=True)
    finally:
        if replica is not None:
            replica.stop()


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=os.path.join(k_here, "..", "build", "cloudfilm"))
    parser.add_argument("--platform", choices=["hinacom", "sugh"], help="one replica only (default: both)")
    parser.add_argument("--replica", help="Hinacom replica binary (default: next to --bin)")
    parser.add_argument("--replica-cdn", help="sugh replica binary cloudfilm_replica_cdn (default: next to --bin)")
    parser.add_argument("--count", type=int, default=300, help="images in the study")
    parser.add_argument("--size", type=int, default=512, help="rows = columns")
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3, help="runs per cloudfilm row (median)")
    parser.add_argument("--baseline-runs", type=int, help="runs of the sequential client (default: --runs)")
    parser.add_argument("--concurrency", default="4,16",
                        help="hinacom cloudfilm rows: N (max_per_host = threads = N) or H:T (max_per_host H, threads T)")
    parser.add_argument("--sugh-concurrency", default="default,16",
                        help="sugh cloudfilm rows: 'default' (no fetch keys), N or H:T")
    parser.add_argument("--raw", action="store_true", help="hinacom: native pixels instead of JPEG 2000")
    parser.add_argument("--workdir", help="keep data and logs here")
    args = parser.parse_args(argv)
    args.bin = os.path.abspath(args.bin)
    platforms = [args.platform] if args.platform else ["hinacom", "sugh"]
    if "hinacom" in platforms:
        os.environ["CLOUDFILM_REPLICA"] = os.path.abspath(args.replica or hinacom_replica.replica_bin(args.bin))
        if not hinacom_replica.have_replica():
            raise SystemExit("no replica binary at {}".format(os.environ["CLOUDFILM_REPLICA"]))
    if "sugh" in platforms:
        os.environ["CLOUDFILM_REPLICA_CDN"] = os.path.abspath(args.replica_cdn or os.path.join(
            os.path.dirname(args.bin), "tests", "replica", "cloudfilm_replica_cdn"))
        if not cdn_replica.have_replica():
            raise SystemExit("no replica binary at {}".format(os.environ["CLOUDFILM_REPLICA_CDN"]))

    workdir = args.workdir or tempfile.mkdtemp(prefix="fetch-bench-")
    os.makedirs(workdir, exist_ok=True)
    try:
        fixtures = os.path.join(workdir, "study")
        if not os.path.isdir(fixtures) or len(os.listdir(fixtures)) != args.count:
            shutil.rmtree(fixtures, ignore_errors=True)
            make_ct_series.make_series(fixtures, count=args.count, seed=k_seed, size=args.size)
        if "hinacom" in platforms:
            bench_hinacom(args, workdir, fixtures)
        if "sugh" in platforms:
            bench_sugh(args, workdir, fixtures)
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
