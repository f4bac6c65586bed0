# SPDX-License-Identifier: MIT
"""Helpers for the Query/Retrieve tests (test_find.py, test_retrieve.py, test_orthanc.py)
and bench/qr_bench.py: test data generators, DCMTK findscu/getscu/movescu wrappers that
return parsed results, and pixel-data comparison.

DCMTK clients (Debian's `dcmtk`):
- findscu -X -od DIR writes every pending response's identifier as DIR/rsp0001.dcm ...;
  they are read back with pydicom. The DIMSE status of every response comes from `-d`
  (the "DIMSE Status : 0x...." lines of the incoming messages).
- getscu -od DIR / movescu +P PORT -od DIR write each received instance as a file.
Every run has a hard timeout (subprocess timeout) besides DCMTK's own network timeouts.
"""

import collections
import copy
import glob
import os
import re
import shutil
import subprocess
import tempfile

import numpy as np
import pydicom
import pydicom.data
from pydicom.dataset import Dataset

import make_ct_series

k_pydicom_data = os.path.dirname(os.path.abspath(pydicom.data.__file__))
k_test_files = os.path.join(k_pydicom_data, "test_files")
k_charset_files = os.path.join(k_pydicom_data, "charset_files")

k_explicit_le = "1.2.840.10008.1.2.1"
k_implicit_le = "1.2.840.10008.1.2"
k_big_endian = "1.2.840.10008.1.2.2"
k_uncompressed = (k_explicit_le, k_implicit_le, k_big_endian)
k_rle = "1.2.840.10008.1.2.5"
k_jpeg_lossless_sv1 = "1.2.840.10008.1.2.4.70"
k_jpeg_ls_lossless = "1.2.840.10008.1.2.4.80"
k_j2k_lossless = "1.2.840.10008.1.2.4.90"

k_ct_storage = "1.2.840.10008.5.1.4.1.1.2"
k_mr_storage = "1.2.840.10008.5.1.4.1.1.4"
k_sc_storage = "1.2.840.10008.5.1.4.1.1.7"

# DCMTK tool that decompresses a syntax pydicom cannot decode without plugins.
k_dcmtk_decoder = {
    k_rle: "dcmdrle",
    k_jpeg_lossless_sv1: "dcmdjpeg",
    "1.2.840.10008.1.2.4.57": "dcmdjpeg",
    k_jpeg_ls_lossless: "dcmdjpls",
    "1.2.840.10008.1.2.4.81": "dcmdjpls",
}

k_status_re = re.compile(r"DIMSE Status\s*:\s*0x([0-9a-fA-F]{4})")
k_tool_timeout = 300  # seconds for one DCMTK client run

SUCCESS = 0x0000
PENDING = 0xFF00
PENDING_WARNING = 0xFF01
CANCEL = 0xFE00
IDENTIFIER_MISMATCH = 0xA900
UNABLE_TO_PROCESS = 0xC000
SUBOPS_FAILED = 0xA702
MOVE_DESTINATION_UNKNOWN = 0xA801
WARNING_SUBOPS = 0xB000


def dcmtk_env():
    env = dict(os.environ)
    env["TCP_NODELAY"] = "1"
    return env


def run_bytes(cmd, timeout=k_tool_timeout, cwd=None):
    """Run `cmd` (str or bytes arguments, so raw GB18030 bytes can be passed) and return
    (returncode, output text). stdout and stderr are merged."""
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
                          env=dcmtk_env(), cwd=cwd)
    return proc.returncode, proc.stdout.decode("utf-8", "replace")


# -- findscu -----------------------------------------------------------------------------

FindResult = collections.namedtuple("FindResult", "returncode statuses final responses output")
k_model_option = {"patient": "-P", "study": "-S", "psonly": "-O"}


def _key_args(keys):
    """keys: dict or list of (name, value); value None = empty (return key). Values may be
    bytes (passed raw to findscu)."""
    items = keys.items() if isinstance(keys, dict) else keys
    out = []
    for name, value in items:
        out.append(b"-k" if isinstance(value, bytes) else "-k")
        if value is None:
            out.append(name)
        elif isinstance(value, bytes):
            out.append(name.encode("ascii") + b"=" + value)
        else:
            out.append("{}={}".format(name, value))
    return out


def findscu(port, model, keys, called="CLOUDFILM", calling="FINDSCU", query_file=None,
            extra=(), workdir=None, timeout=k_tool_timeout):
    """Run findscu once; returns FindResult(returncode, [statuses], final status,
    [pydicom Datasets of the pending responses in order], log)."""
    own_dir = workdir is None
    out_dir = tempfile.mkdtemp(prefix="findscu-") if own_dir else workdir
    try:
        cmd = ["findscu", "-d", k_model_option[model], "-aet", calling, "-aec", called,
               "-to", "10", "-ta", "30", "-td", "60", "-X", "-od", out_dir] + list(extra)
        cmd += _key_args(keys)
        cmd += ["127.0.0.1", str(port)]
        if query_file:
            cmd.append(query_file)
        cmd = [c if isinstance(c, bytes) else c.encode("utf-8") for c in cmd]
        code, output = run_bytes(cmd, timeout=timeout)
        statuses = [int(s, 16) for s in k_status_re.findall(output)]
        files = sorted(glob.glob(os.path.join(out_dir, "rsp*.dcm")))
        responses = [pydicom.dcmread(f) for f in files]
        final = statuses[-1] if statuses else None
        return FindResult(code, statuses, final, responses, output)
    finally:
        if own_dir:
            shutil.rmtree(out_dir, ignore_errors=True)


def query_file(path, keys, charset=None):
    """Write a findscu query file (a bare data set in a Part 10 file) with pydicom; text
    is encoded in `charset` (pydicom encodes PN/LO/... by SpecificCharacterSet)."""
    ds = Dataset()
    if charset:
        ds.SpecificCharacterSet = charset
    for name, value in keys.items() if isinstance(keys, dict) else keys:
        setattr(ds, name, "" if value is None else value)
    meta = pydicom.dataset.FileMetaDataset()
    meta.TransferSyntaxUID = k_explicit_le
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.2.2.1"
    meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    fds = pydicom.dataset.FileDataset(path, ds, file_meta=meta, preamble=b"\0" * 128)
    fds.is_little_endian = True
    fds.is_implicit_VR = False
    fds.save_as(path, write_like_original=False)
    return path


# -- getscu / movescu --------------------------------------------------------------------

RetrieveResult = collections.namedtuple("RetrieveResult", "returncode statuses final files output")


def _received(out_dir):
    """{SOP Instance UID: path} of every DICOM file below out_dir."""
    got = {}
    for path in sorted(glob.glob(os.path.join(out_dir, "**", "*"), recursive=True)):
        if not os.path.isfile(path):
            continue
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            got[str(ds.SOPInstanceUID)] = path
        except Exception:
            continue
    return got


def getscu(port, model, keys, out_dir, called="CLOUDFILM", calling="GETSCU", extra=(),
           timeout=k_tool_timeout):
    os.makedirs(out_dir, exist_ok=True)
    cmd = ["getscu", "-d", k_model_option[model], "-aet", calling, "-aec", called,
           "-to", "10", "-ta", "30", "-td", "60", "-od", out_dir] + list(extra)
    cmd += _key_args(keys) + ["127.0.0.1", str(port)]
    code, output = run_bytes(cmd, timeout=timeout)
    statuses = _retrieve_statuses(output, "C-GET RSP")
    return RetrieveResult(code, statuses, statuses[-1] if statuses else None, _received(out_dir), output)


def movescu(port, model, keys, destination, out_dir=None, listen_port=None, called="CLOUDFILM",
            calling="MOVESCU", extra=(), timeout=k_tool_timeout):
    """movescu; with listen_port it runs its own storage SCP there (+P) writing to out_dir."""
    cmd = ["movescu", "-d", k_model_option[model], "-aet", calling, "-aec", called,
           "-aem", destination, "-to", "10", "-ta", "30", "-td", "60"]
    if listen_port:
        os.makedirs(out_dir, exist_ok=True)
        cmd += ["+P", str(listen_port), "-od", out_dir]
    cmd += list(extra) + _key_args(keys) + ["127.0.0.1", str(port)]
    code, output = run_bytes(cmd, timeout=timeout)
    statuses = _retrieve_statuses(output, "C-MOVE RSP")
    files = _received(out_dir) if out_dir and os.path.isdir(out_dir) else {}
    return RetrieveResult(code, statuses, statuses[-1] if statuses else None, files, output)


def _retrieve_statuses(output, message_type):
    """Statuses of the C-GET/C-MOVE responses only (not of the C-STORE sub-operations),
    from DCMTK's -d dump of incoming DIMSE messages."""
    statuses = []
    for block in output.split("INCOMING DIMSE MESSAGE")[1:]:
        head = block.split("END DIMSE MESSAGE")[0]
        if re.search(r"Message Type\s*:\s*" + re.escape(message_type), head):
            found = k_status_re.search(head)
            if found:
                statuses.append(int(found.group(1), 16))
    return statuses


def response_counts(output, message_type="C-MOVE RSP"):
    """[(remaining, completed, failed, warning)] of each C-GET/C-MOVE response in a DCMTK
    -d dump (None where a count is absent)."""
    out = []
    for block in output.split("INCOMING DIMSE MESSAGE")[1:]:
        head = block.split("END DIMSE MESSAGE")[0]
        if not re.search(r"Message Type\s*:\s*" + re.escape(message_type), head):
            continue
        counts = []
        for label in ("Remaining", "Completed", "Failed", "Warning"):
            found = re.search(r"{} Suboperations\s*:\s*(\d+)".format(label), head)
            counts.append(int(found.group(1)) if found else None)
        out.append(tuple(counts))
    return out


# -- pixel data --------------------------------------------------------------------------

def pixels(path, workdir=None):
    """Decoded pixel array of a file; JPEG(-LS)/RLE go through DCMTK's decompressors first,
    since python3-pydicom has no plugin for them on Debian."""
    ds = pydicom.dcmread(path)
    ts = str(ds.file_meta.TransferSyntaxUID)
    tool = k_dcmtk_decoder.get(ts)
    if tool is None:
        return ds.pixel_array
    tmp = tempfile.mkdtemp(prefix="decode-", dir=workdir)
    try:
        out = os.path.join(tmp, "decoded.dcm")
        proc = subprocess.run([tool, path, out], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=120)
        if proc.returncode != 0:
            raise AssertionError("{} {} failed: {}".format(tool, path, proc.stdout.decode("utf-8", "replace")))
        return pydicom.dcmread(out).pixel_array
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# -- test data ---------------------------------------------------------------------------

def _template(name):
    return pydicom.dcmread(os.path.join(k_test_files, name))


_templates = {}


def template(name):
    """A cached pristine copy of a pydicom test file (deep-copied per use)."""
    if name not in _templates:
        _templates[name] = _template(name)
    return copy.deepcopy(_templates[name])


def restamp(ds, study_uid, series_uid, sop_uid, **attrs):
    """Give a data set new UIDs (and other attributes) without touching its pixel data or
    transfer syntax, so an encapsulated file stays byte-identical in its pixel data."""
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.SOPInstanceUID = sop_uid
    ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
    for name, value in attrs.items():
        if value is None:
            if name in ds:
                delattr(ds, name)
        else:
            setattr(ds, name, value)
    return ds


def save(ds, path):
    """Save keeping the file's transfer syntax (encapsulated pixel data is copied as is)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    ds.save_as(path, write_like_original=False)
    return path


MixedSeries = collections.namedtuple("MixedSeries", "label source ts sop_class series_uid files")

# label, pydicom source file, its transfer syntax, instances per series
k_mixed_layout = (
    ("uncompressed", "MR_small.dcm", k_explicit_le, 3),
    ("rle", "MR_small_RLE.dcm", k_rle, 3),
    ("jpeg-ls", "MR_small_jpeg_ls_lossless.dcm", k_jpeg_ls_lossless, 3),
    ("j2k", "MR_small_jp2klossless.dcm", k_j2k_lossless, 3),
    ("big-endian", "MR_small_bigendian.dcm", k_big_endian, 2),
    ("jpeg-lossless", "SC_rgb_jpeg_gdcm.dcm", k_jpeg_lossless_sv1, 2),
)


def make_mixed_study(out_dir, seed, patient_id="MIXED{}", patient_name="Mixed^Syntaxes{}",
                     ct_count=4):
    """One study of several series, each in its own transfer syntax, from pydicom's
    MR_small variants (the same 64x64 image), an RGB JPEG Lossless SC image and a small
    uncompressed CT series. New Study/Series/SOP UIDs; pixel data left as is.
    Returns (study_uid, [MixedSeries])."""
    study_uid = make_ct_series.make_uid(seed, "mixed-study")
    pid = patient_id.format(seed)
    pname = patient_name.format(seed)
    out = []
    for number, (label, source, ts, count) in enumerate(k_mixed_layout, start=1):
        series_uid = make_ct_series.make_uid(seed, "mixed-series", label)
        files = []
        for index in range(count):
            ds = template(source)
            assert str(ds.file_meta.TransferSyntaxUID) == ts, source
            restamp(ds, study_uid, series_uid, make_ct_series.make_uid(seed, "mixed", label, index),
                    PatientID=pid, PatientName=pname, SeriesNumber=number, InstanceNumber=index + 1,
                    StudyID="MIX{}".format(seed), AccessionNumber="MIXACC{}".format(seed),
                    StudyDate="20200202", StudyTime="101010", SeriesDescription=label)
            files.append(save(ds, os.path.join(out_dir, label, "{:02d}.dcm".format(index))))
        out.append(MixedSeries(label, source, ts, str(ds.SOPClassUID), series_uid, files))
    if ct_count:
        ct_dir = os.path.join(out_dir, "ct")
        files = make_ct_series.make_series(ct_dir, count=ct_count, seed=seed, size=128)
        series_uid = make_ct_series.make_uid(seed, "series")
        fixed = []
        for path in files:
            ds = pydicom.dcmread(path)
            restamp(ds, study_uid, series_uid, str(ds.SOPInstanceUID), PatientID=pid, PatientName=pname,
                    SeriesNumber=len(k_mixed_layout) + 1, StudyID="MIX{}".format(seed),
                    AccessionNumber="MIXACC{}".format(seed), StudyDate="20200202", StudyTime="101010")
            fixed.append(save(ds, path))
        out.append(MixedSeries("ct", "CT_small.dcm", k_explicit_le, k_ct_storage, series_uid, fixed))
    return study_uid, out


def reference_pixels(series):
    """{SOP Instance UID: decoded reference pixels} for a mixed study: the DCMTK/pydicom
    decode of each original file."""
    out = {}
    for s in series:
        for path in s.files:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            out[str(ds.SOPInstanceUID)] = pixels(path)
    return out


def same_pixels(a, b):
    return a.shape == b.shape and np.array_equal(np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64))


def store_mixed(node, series, workdir):
    """Store every series of a mixed study in its own transfer syntax (one storescu run per
    syntax, the file's own syntax proposed). Returns {label: storescu log} of failures."""
    from conftest import k_storescu_ts_option, rename_status, stage
    failures = {}
    for s in series:
        staged = stage(s.files, os.path.join(workdir, "stage-" + s.label))
        option = k_storescu_ts_option[s.ts]
        proc = node.storescu(staged, ts_option=option)
        if any(rename_status(p) != "done" for p in staged):
            failures[s.label] = proc.stdout + proc.stderr
    return failures
