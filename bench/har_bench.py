#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Import a large HAR capture with `cloudfilm import-har` and report time and peak memory.

The HAR is written streaming (never held in memory here either): mostly non-DICOM
entries (base64 bodies of junk, as a browser capture of a web viewer is), plus the real
DICOM files of a generated CT series, each base64-encoded as Chrome saves binary
responses. Peak RSS of cloudfilm must stay flat: bounded by the largest single body, not
by the size of the file.

    bench/har_bench.py --bin build/cloudfilm --gigabytes 2
"""

import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

k_here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(k_here, "..", "tests", "fixtures"))
import make_ct_series  # noqa: E402


def write_har(path, dicom_files, gigabytes, junk_size=4 << 20):
    target = int(gigabytes * (1 << 30))
    junk = base64.b64encode(os.urandom(junk_size)).decode("ascii")
    written = 0
    n = 0
    with open(path, "w", encoding="ascii") as f:
        f.write('{"log": {"version": "1.2", "creator": {"name": "bench", "version": "1"}, "entries": [')

        def entry(url, mime, text):
            nonlocal written, n
            e = {"request": {"method": "GET", "url": url, "headers": []},
                 "response": {"status": 200, "headers": [],
                              "content": {"size": len(text) * 3 // 4, "mimeType": mime,
                                          "encoding": "base64", "text": text}}}
            s = ("," if n else "") + json.dumps(e)
            f.write(s)
            written += len(s)
            n += 1

        per_junk = max(1, (target // len(junk)) // max(1, len(dicom_files)))
        for i, dcm in enumerate(dicom_files):
            for k in range(per_junk):
                entry("https://viewer.example/tiles/{}-{}".format(i, k), "image/webp", junk)
            with open(dcm, "rb") as d:
                entry("https://viewer.example/file/{}.dcm".format(i), "application/octet-stream",
                      base64.b64encode(d.read()).decode("ascii"))
        while written < target:
            entry("https://viewer.example/tail/{}".format(n), "image/webp", junk)
        f.write("]}}")
    return n, written


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=os.path.join(k_here, "..", "build", "cloudfilm"))
    parser.add_argument("--gigabytes", type=float, default=2.0)
    parser.add_argument("--count", type=int, default=100, help="DICOM files in the capture")
    args = parser.parse_args(argv)
    if not 0.01 <= args.gigabytes <= 8 or not 1 <= args.count <= 2000:
        parser.error("--gigabytes 0.01..8, --count 1..2000")
    root = tempfile.mkdtemp(prefix="cf-har-bench-")
    try:
        files = make_ct_series.make_series(os.path.join(root, "ct"), count=args.count, seed=3, size=512)
        har = os.path.join(root, "capture.har")
        start = time.monotonic()
        entries, size = write_har(har, files, args.gigabytes)
        print("HAR: {:.2f} GB, {} entries, {} DICOM files; written in {:.1f} s".format(
            size / (1 << 30), entries, len(files), time.monotonic() - start))
        data = os.path.join(root, "data")
        start = time.monotonic()
        proc = subprocess.run(["/usr/bin/time", "-v", os.path.abspath(args.bin), "import-har", har,
                               "--data", data], capture_output=True, text=True, timeout=3600)
        elapsed = time.monotonic() - start
        peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
        print(proc.stdout.strip())
        print("import-har: exit {}, {:.1f} s, {:.0f} MB/s, peak RSS {} MB".format(
            proc.returncode, elapsed, size / (1 << 20) / elapsed,
            int(peak.group(1)) // 1024 if peak else "?"))
        return 0 if proc.returncode == 0 else 1
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
