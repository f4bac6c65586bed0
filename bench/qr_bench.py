#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Query/Retrieve latency: cloudfilm against a real Orthanc holding the same data.

Generates 400+ small studies (3,000+ instances: 64x64 MR and 128x128 CT slices from
pydicom's test files; Latin and Chinese names, half of the Chinese ones stored in
GB18030; dates 2000-2023; CT/MR) plus one 300-instance CT study (512x512, ~160 MB),
stores everything into both servers with DCMTK's storescu, then:

- C-FIND: one association per server (tests/integration/dimse.py, the same client for
  both), each query timed from the request to the final response, N runs after 2
  warm-up runs; median and p95 per query: exact StudyInstanceUID, PatientName Wang*,
  PatientName 王*, a StudyDate range, all studies, the series of a study, the images of
  the 300-instance study.
- C-GET (getscu) and C-MOVE (movescu with its own storage SCP) of the 300-instance study,
  median of --retrieve-runs runs.
Prints each figure, the match counts, and the ratio cloudfilm/Orthanc (time: below 1 means
cloudfilm is faster).

    bench/qr_bench.py --bin build/cloudfilm
    bench/qr_bench.py --bin build/cloudfilm --studies 1000 --instances 8000 --runs 100
    bench/qr_bench.py --bin build/cloudfilm --no-orthanc       # cloudfilm only

Needs Debian's dcmtk, python3-pydicom, python3-numpy and orthanc. Every wait is bounded.
"""

import argparse
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata

k_here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(k_here, "..", "tests", "fixtures"))
sys.path.insert(0, os.path.join(k_here, "..", "tests", "integration"))

import pydicom  # noqa: E402
from pydicom.dataset import Dataset  # noqa: E402

import dimse  # noqa: E402
import make_ct_series  # noqa: E402
import orthanc  # noqa: E402
import qr  # noqa: E402

k_cf_ae = "CLOUDFILM"
k_find_ae = "QRBENCH"
k_store_ae = "STORESCU"
k_get_ae = "GETSCU"
k_move_ae = "MOVESCU"
k_dest_ae = "BENCHDEST"
k_ready_timeout = 30.0
k_stop_timeout = 60.0
k_store_timeout = 1800
k_retrieve_timeout = 600
k_query_budget = 120.0  # seconds of timed runs per query and server at most
k_big_seed = 9000

k_families = [("Wang", "\u738b"), ("Li", "\u674e"), ("Zhang", "\u5f20"), ("Liu", "\u5218"), ("Chen", "\u9648"),
              ("Yang", "\u6768"), ("Zhao", "\u8d75"), ("Huang", "\u9ec4"), ("Zhou", "\u5468"), ("Wu", "\u5434")]
k_given = [("Wei", "\u4f1f"), ("Fang", "\u82b3"), ("Na", "\u5a1c"), ("Min", "\u654f"), ("Jing", "\u9759"),
           ("Lei", "\u78ca"), ("Yang", "\u6d0b"), ("Yong", "\u52c7"), ("Jun", "\u519b"), ("Jie", "\u6770")]
k_latin = ["Smith^John", "Garcia^Maria", "M\u00fcller^Hans", "Doe^Jane", "Brown^Emma", "Martin^Louis",
           "Rossi^Marco", "Novak^Eva", "Silva^Ana", "Kowalski^Jan"]
k_study_keys = ("PatientName", "PatientID", "AccessionNumber", "PatientBirthDate", "StudyDescription",
                "StudyDate", "StudyTime", "StudyInstanceUID", "StudyID", "NumberOfStudyRelatedInstances",
                "ModalitiesInStudy", "ReferringPhysicianName")


def env():
    out = dict(os.environ)
    out["TCP_NODELAY"] = "1"
    return out


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- data --------------------------------------------------------------------------------

def patient(index):
    """(name, charset) of patient `index`: two in three Chinese (half of them in GB18030)."""
    if index % 3 == 2:
        return k_latin[index % len(k_latin)], "ISO_IR 192"
    fam = k_families[index % len(k_families)]
    giv = k_given[(index // len(k_families)) % len(k_given)]
    name = "{}^{}={}^{}".format(fam[0], giv[0], fam[1], giv[1])
    return name, ("GB18030" if index % 2 else "ISO_IR 192")


def generate(out_dir, studies, instances, seed):
    """Small studies; returns (paths, [study uids], {study uid: [series uids]})."""
    rng = random.Random(seed)
    layout = []  # (study index, series index, modality)
    for s in range(studies):
        for k in range(rng.randint(1, 3)):
            layout.append((s, k, rng.choice(("CT", "MR"))))
    counts = [1] * len(layout)
    for _ in range(max(0, instances - len(layout))):
        counts[rng.randrange(len(layout))] += 1
    templates = {"CT": "CT_small.dcm", "MR": "MR_small.dcm"}
    study_info = {}
    paths = []
    series_of = {}
    for (s, k, modality), count in zip(layout, counts):
        if s not in study_info:
            pid = rng.randrange(max(1, studies * 3 // 4))
            day = rng.randrange(24 * 365)
            date = time.strftime("%Y%m%d", time.gmtime(946684800 + day * 86400))
            study_info[s] = (pid, date, "{:02d}{:02d}{:02d}".format(rng.randrange(24), rng.randrange(60),
                                                                     rng.randrange(60)))
        pid, date, tm = study_info[s]
        name, charset = patient(pid)
        study_uid = make_ct_series.make_uid(seed, "bench-study", s)
        series_uid = make_ct_series.make_uid(seed, "bench-series", s, k)
        series_of.setdefault(study_uid, []).append(series_uid)
        for i in range(count):
            ds = qr.restamp(
                qr.template(templates[modality]),
                study_uid, series_uid, make_ct_series.make_uid(seed, "bench-sop", s, k, i),
                SpecificCharacterSet=charset, PatientName=name, PatientID="BP{:05d}".format(pid),
                StudyDate=date, StudyTime=tm, SeriesDate=date, SeriesTime=tm,
                AccessionNumber="BA{:06d}".format(s), StudyID="S{}".format(s),
                StudyDescription="Bench {} {}".format(modality, s), SeriesNumber=k + 1,
                SeriesDescription="{} series {}".format(modality, k + 1), InstanceNumber=i + 1,
                OtherPatientIDs=None)
            paths.append(qr.save(ds, os.path.join(out_dir, "s{:05d}".format(s), "{}_{:04d}.dcm".format(k, i))))
    study_uids = sorted(series_of)
    return paths, study_uids, series_of


# -- servers -----------------------------------------------------------------------------

def echo_ok(port, called):
    try:
        proc = subprocess.run(["echoscu", "-aec", called, "-to", "3", "127.0.0.1", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env(), timeout=20)
        return proc.returncode == 0
    except subprocess.TimeoutExpired:
        return False


def start_cloudfilm(binary, workdir, dest_port):
    port = free_port()
    data = os.path.join(workdir, "cloudfilm-data")
    config = os.path.join(workdir, "cloudfilm.yaml")
    with open(config, "w") as f:
        f.write("node:\n  ae_title: {}\n  bind: 127.0.0.1\n  port: {}\n"
                "storage:\n  path: \"{}\"\n"
                "modalities:\n  dest: {{ae: {}, host: 127.0.0.1, port: {}}}\n"
                "log:\n  level: warn\n".format(k_cf_ae, port, data, k_dest_ae, dest_port))
    log_path = os.path.join(workdir, "cloudfilm.log")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([binary, "serve", "--config", config], stdin=subprocess.DEVNULL,
                                stdout=log, stderr=log, env=env())
    deadline = time.monotonic() + k_ready_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("cloudfilm exited with {}; see {}".format(proc.returncode, log_path))
        if echo_ok(port, k_cf_ae):
            return proc, port
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("cloudfilm did not answer C-ECHO within {} s".format(k_ready_timeout))


def stop_cloudfilm(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=k_stop_timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def start_orthanc(workdir, dest_port):
    peers = {"find": (k_find_ae, 0), "store": (k_store_ae, 0), "get": (k_get_ae, 0),
             "move": (k_move_ae, 0), "dest": (k_dest_ae, dest_port), "echo": ("ECHOSCU", 0)}
    server = orthanc.Orthanc(os.path.join(workdir, "orthanc"), peers=peers)
    server.start(timeout=k_ready_timeout)
    return server


def store(files, port, called, parallel=2):
    """storescu over `parallel` associations; returns seconds."""
    lists = [files[i::parallel] for i in range(parallel)]
    started = time.monotonic()
    procs = []
    for chunk in lists:
        if chunk:
            procs.append(subprocess.Popen(["storescu", "-R", "-aet", k_store_ae, "-aec", called, "-to", "10",
                                           "-ta", "30", "-td", "120", "127.0.0.1", str(port)] + chunk,
                                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.PIPE, env=env()))
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
    if errors:
        raise RuntimeError("; ".join(errors))
    return time.monotonic() - started


# -- C-FIND ------------------------------------------------------------------------------

def identifier(level, keys, charset="ISO_IR 192"):
    ds = Dataset()
    ds.SpecificCharacterSet = charset
    ds.QueryRetrieveLevel = level
    for name, value in keys.items():
        setattr(ds, name, value)
    return dimse.encode_dataset(ds)


def queries(study_uids, series_of, big_study, big_series, rng):
    study = {k: "" for k in k_study_keys}
    probe = study_uids[rng.randrange(len(study_uids))]
    multi = max(study_uids, key=lambda u: (len(series_of[u]), u))
    return [
        ("exact StudyInstanceUID", identifier("STUDY", dict(study, StudyInstanceUID=probe))),
        ("PatientName Wang*", identifier("STUDY", dict(study, PatientName="Wang*"))),
        ("PatientName \u738b*", identifier("STUDY", dict(study, PatientName="\u738b*"))),
        ("StudyDate 2010-2012", identifier("STUDY", dict(study, StudyDate="20100101-20121231"))),
        ("all studies", identifier("STUDY", study)),
        ("series of a study", identifier("SERIES", {
            "StudyInstanceUID": multi, "SeriesInstanceUID": "", "Modality": "", "SeriesNumber": "",
            "SeriesDescription": "", "NumberOfSeriesRelatedInstances": "", "SeriesDate": "", "SeriesTime": ""})),
        ("images of the 300 study", identifier("IMAGE", {
            "StudyInstanceUID": big_study, "SeriesInstanceUID": big_series, "SOPInstanceUID": "",
            "InstanceNumber": "", "SOPClassUID": ""})),
    ]


def time_queries(port, called, query_list, runs):
    """{name: (median ms, p95 ms, matches, runs done)} over one association."""
    out = {}
    with dimse.Association("127.0.0.1", port, called, k_find_ae, timeout=120, max_pdu=65536,
                           contexts=[(dimse.k_study_root_find, [dimse.k_explicit_le])]) as assoc:
        for name, raw in query_list:
            samples = []
            matches = None
            budget_end = time.monotonic() + k_query_budget
            for run in range(runs + 2):
                started = time.perf_counter()
                responses = assoc.find(dimse.k_study_root_find, raw, decode=False)
                elapsed = time.perf_counter() - started
                final = responses[-1].status
                if final != 0x0000:
                    raise RuntimeError("{} on {}: final status {:#06x}".format(name, called, final))
                matches = len(responses) - 1
                if run >= 2:  # two warm-up runs
                    samples.append(elapsed * 1000.0)
                if time.monotonic() > budget_end and len(samples) >= 5:
                    break
            samples.sort()
            p95 = samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))]
            out[name] = (statistics.median(samples), p95, matches, len(samples))
    return out


# -- C-GET / C-MOVE ----------------------------------------------------------------------

def time_retrieve(tool, port, called, study_uid, expect, workdir, dest_port, runs):
    samples = []
    for run in range(runs):
        out = os.path.join(workdir, "{}-{}-{}".format(tool, called, run))
        os.makedirs(out)
        keys = ["-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID=" + study_uid]
        if tool == "getscu":
            cmd = ["getscu", "-S", "-aet", k_get_ae, "-aec", called, "-to", "10", "-ta", "30", "-td", "120",
                   "-od", out] + keys + ["127.0.0.1", str(port)]
        else:
            cmd = ["movescu", "-S", "-aet", k_move_ae, "-aec", called, "-aem", k_dest_ae, "+P", str(dest_port),
                   "-to", "10", "-ta", "30", "-td", "120", "-od", out] + keys + ["127.0.0.1", str(port)]
        started = time.monotonic()
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env(),
                              timeout=k_retrieve_timeout)
        elapsed = time.monotonic() - started
        got = len(os.listdir(out))
        shutil.rmtree(out, ignore_errors=True)
        if proc.returncode != 0 or got != expect:
            raise RuntimeError("{} from {}: exit {}, {} of {} files\n{}".format(
                tool, called, proc.returncode, got, expect, proc.stdout.decode("utf-8", "replace")[-2000:]))
        samples.append(elapsed)
    return statistics.median(samples)


# -- main --------------------------------------------------------------------------------

def ljust(text, width):
    """Left-justify by terminal columns (CJK characters take two)."""
    columns = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - columns)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=os.environ.get("CLOUDFILM_BIN", os.path.join(k_here, "..", "build", "cloudfilm")))
    parser.add_argument("--studies", type=int, default=410)
    parser.add_argument("--instances", type=int, default=3100, help="instances over the small studies")
    parser.add_argument("--big", type=int, default=300, help="instances of the retrieved CT study")
    parser.add_argument("--size", type=int, default=512, help="rows = columns of that CT study")
    parser.add_argument("--runs", type=int, default=50, help="timed runs per query")
    parser.add_argument("--retrieve-runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-orthanc", action="store_true", help="measure cloudfilm only")
    parser.add_argument("--workdir", help="keep data, stores and logs here instead of a removed temp dir")
    args = parser.parse_args(argv)
    if not (1 <= args.studies <= 100000 and args.studies <= args.instances <= 1000000):
        parser.error("--studies must be 1..100000 and --instances at least --studies")
    if not (1 <= args.runs <= 10000 and 1 <= args.retrieve_runs <= 20 and 1 <= args.big <= 10000):
        parser.error("--runs 1..10000, --retrieve-runs 1..20, --big 1..10000")
    binary = os.path.abspath(args.bin)
    tools = ("storescu", "echoscu", "getscu", "movescu")
    if any(shutil.which(t) is None for t in tools):
        print("DCMTK tools missing: apt-get install dcmtk", file=sys.stderr)
        return 125
    with_orthanc = not args.no_orthanc
    if with_orthanc and not orthanc.installed():
        print("Orthanc missing (apt-get install orthanc); use --no-orthanc", file=sys.stderr)
        return 125
    if not os.access(binary, os.X_OK):
        print("no cloudfilm binary at {}".format(binary), file=sys.stderr)
        return 2

    root = args.workdir or tempfile.mkdtemp(prefix="cf-qrbench-")
    os.makedirs(root, exist_ok=True)
    servers = {}
    cf_proc = None
    orthanc_server = None
    try:
        started = time.monotonic()
        small, study_uids, series_of = generate(os.path.join(root, "small"), args.studies, args.instances, args.seed)
        big = make_ct_series.make_series(os.path.join(root, "big"), count=args.big, seed=k_big_seed, size=args.size)
        big_study = make_ct_series.make_uid(k_big_seed, "study")
        big_series = make_ct_series.make_uid(k_big_seed, "series")
        megabytes = sum(os.path.getsize(p) for p in small + big) / 1e6
        print("data: {} small studies / {} instances + 1 study of {} CT {}x{}; {:.0f} MB; generated in {:.1f} s".format(
            len(study_uids), len(small), len(big), args.size, args.size, megabytes, time.monotonic() - started))
        os.sync()

        dest_port = free_port()
        cf_proc, cf_port = start_cloudfilm(binary, root, dest_port)
        servers["cloudfilm"] = (cf_port, k_cf_ae)
        if with_orthanc:
            orthanc_server = start_orthanc(root, dest_port)
            servers["orthanc"] = (orthanc_server.dicom_port, orthanc_server.ae_title)

        for name, (port, ae) in servers.items():
            seconds = store(small + big, port, ae)
            print("stored into {:<9}: {:.1f} s ({:.0f} instances/s, 2 associations)".format(
                name, seconds, (len(small) + len(big)) / seconds))
        os.sync()

        rng = random.Random(args.seed)
        query_list = queries(study_uids, series_of, big_study, big_series, rng)
        results = {name: time_queries(port, ae, query_list, args.runs) for name, (port, ae) in servers.items()}
        print()
        print("C-FIND, one association, {} runs after 2 warm-up runs (ms):".format(args.runs))
        header = "{:<26}".format("query")
        for name in servers:
            header += " {:>10} {:>8} {:>7}".format(name + " med", "p95", "matches")
        if with_orthanc:
            header += " {:>12}".format("ratio cf/or")
        print(header)
        for qname, _ in query_list:
            line = ljust(qname, 26)
            for name in servers:
                med, p95, matches, _ = results[name][qname]
                line += " {:>10.2f} {:>8.2f} {:>7}".format(med, p95, matches)
            if with_orthanc:
                line += " {:>12.2f}".format(results["cloudfilm"][qname][0] / results["orthanc"][qname][0])
            print(line)

        print()
        print("Retrieve of the {}-instance study, median of {} runs (s):".format(len(big), args.retrieve_runs))
        retrieve = {}
        for tool in ("getscu", "movescu"):
            for name, (port, ae) in servers.items():
                retrieve[(tool, name)] = time_retrieve(tool, port, ae, big_study, len(big), root, dest_port,
                                                       args.retrieve_runs)
            line = "{:<8}".format(tool)
            for name in servers:
                seconds = retrieve[(tool, name)]
                line += "  {} {:.2f} s ({:.0f} inst/s)".format(name, seconds, len(big) / seconds)
            if with_orthanc:
                line += "  ratio cf/or {:.2f}".format(retrieve[(tool, "cloudfilm")] / retrieve[(tool, "orthanc")])
            print(line)
    finally:
        if cf_proc is not None:
            stop_cloudfilm(cf_proc)
        if orthanc_server is not None:
            orthanc_server.stop()
        if not args.workdir:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
