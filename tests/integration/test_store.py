# SPDX-License-Identifier: MIT
"""C-STORE intake, `import`, `ls` and `check` against the real binary.

Test data: python3-pydicom's test_files and charset_files (every storage instance that
DCMTK 3.6.7 can parse, in every transfer syntax they come in), a generated 300-slice CT
series, and hand-made malformed C-STORE requests (dimse.py)."""

import collections
import glob
import os
import re
import shutil
import zipfile

import pydicom
import pydicom.data
import pytest
from pydicom.uid import UID

import dimse
import make_ct_series
import qr
from conftest import NodeFactory, files_under, k_storescu_ts_option, rename_status, run, stage

k_pydicom_data = os.path.dirname(os.path.abspath(pydicom.data.__file__))
k_ct_image_storage = "1.2.840.10008.5.1.4.1.1.2"
k_uncompressed = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2"}
k_chr_x1_name = "Wang^XiaoDong=\u738b^\u5c0f\u6771"  # Wang^XiaoDong=王^小東 (ISO_IR 192)
k_chr_x2_name = "Wang^XiaoDong=\u738b^\u5c0f\u4e1c"  # Wang^XiaoDong=王^小东 (GB18030)
# GB18030 trail bytes may be 0x5C ('\\'): 誠 is D5 5C, 淺 is 9C 5C. A reader that splits
# values at the backslash byte before converting mangles these (INTEROP.md, charset).
k_gb_name = "Zhang^ChengWei=\u5f35^\u8aa0\u5049"  # Zhang^ChengWei=張^誠偉
k_gb_description = "\u6dfa\u8868CT"  # 淺表CT
k_summary = re.compile(r"imported (\d+), duplicates (\d+), skipped (\d+)(?: \(not DICOM\))?, failed (\d+)")

# Storage instances in pydicom's data that storescu cannot send, so they never reach the
# node (storescu skips them before any network traffic).
k_not_sendable = {
    "MR_truncated.dcm": "pixel data cut short; DCMTK cannot read the file",
    "rtplan_truncated.dcm": "data set cut short; DCMTK cannot read the file",
    "SC_rgb_jpeg.dcm": "non-standard VR in (0008,0008); DCMTK cannot read the file",
    "rtdose_rle.dcm": "every element is VR UN, so storescu finds no SOP Class UID",
    "rtdose_rle_1frame.dcm": "every element is VR UN, so storescu finds no SOP Class UID",
}

Candidate = collections.namedtuple("Candidate", "path name ts sop_class sop_uid study_uid series_uid")


def _transfer_syntax(ds):
    meta = getattr(ds, "file_meta", None)
    if meta is not None and "TransferSyntaxUID" in meta:
        return str(meta.TransferSyntaxUID)
    # Data set without meta header (read with force=True): from what pydicom detected.
    if ds.is_implicit_VR:
        return "1.2.840.10008.1.2"
    return "1.2.840.10008.1.2.1" if ds.is_little_endian else "1.2.840.10008.1.2.2"


def storage_candidates():
    """Every file of pydicom's test_files and charset_files (top level) that is a storage
    SOP instance with Study/Series/SOP UIDs, readable by DCMTK: these must all be stored."""
    out = []
    paths = sorted(glob.glob(os.path.join(k_pydicom_data, "test_files", "*")) +
                   glob.glob(os.path.join(k_pydicom_data, "charset_files", "*")))
    for path in paths:
        name = os.path.basename(path)
        if not os.path.isfile(path) or name in k_not_sendable:
            continue
        try:
            ds = pydicom.dcmread(path, force=True, stop_before_pixels=True)
            sop_class = str(ds.SOPClassUID)
            values = (str(ds.SOPInstanceUID), str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID))
        except Exception:
            continue  # not DICOM, or not an instance
        if not UID(sop_class).name.endswith("Storage") or not all(values):
            continue
        ts = _transfer_syntax(ds)
        if ts not in k_storescu_ts_option:
            continue
        out.append(Candidate(path, name, ts, sop_class, *values))
    return out


@pytest.fixture(scope="module")
def store_node(tmp_path_factory):
    factory = NodeFactory(tmp_path_factory.mktemp("store"))
    node = factory("store").start()
    yield node
    factory.close()


@pytest.fixture(scope="module")
def sent_test_files(store_node, tmp_path_factory):
    """Send every candidate with storescu, one association per transfer syntax, each file
    proposed in its own syntax. Returns [(candidate, 'done'|'bad'|'unsent', log)]."""
    candidates = storage_candidates()
    assert len(candidates) > 50, "pydicom's test data looks incomplete"
    staging = str(tmp_path_factory.mktemp("stage"))
    by_ts = collections.defaultdict(list)
    for cand in candidates:
        by_ts[cand.ts].append(cand)
    results = []
    for ts in sorted(by_ts):
        group = by_ts[ts]
        staged = stage([c.path for c in group], os.path.join(staging, ts))
        proc = store_node.storescu(staged, ts_option=k_storescu_ts_option[ts])
        log = "$ storescu {} ...\n{}{}".format(k_storescu_ts_option[ts], proc.stdout, proc.stderr)
        results.extend((cand, rename_status(path), log) for cand, path in zip(group, staged))
    return results


def test_echo(store_node):
    result = store_node.echo()
    assert result.returncode == 0, result.stderr


def test_every_storage_test_file_is_accepted(sent_test_files):
    failed = [(cand.name, cand.ts, status) for cand, status, _ in sent_test_files if status != "done"]
    logs = sorted({log for _, status, log in sent_test_files if status != "done"})
    assert not failed, "not stored: {}\n{}".format(failed, "\n".join(logs)[-8000:])


def test_stored_test_files_are_indexed_with_their_uids(store_node, sent_test_files):
    index = store_node.index()
    expected = {}
    for cand, _, _ in sent_test_files:
        expected.setdefault(cand.sop_uid, cand)
    missing = sorted(c.name for uid, c in expected.items() if uid not in index)
    assert not missing, "acknowledged but not in `ls`: {}".format(missing)
    for uid, cand in expected.items():
        rec = index[uid]
        assert rec["study_uid"] == cand.study_uid, cand.name
        assert rec["series_uid"] == cand.series_uid, cand.name
        assert rec["sop_class_uid"] == cand.sop_class, cand.name
        assert os.path.isabs(rec["path"]), rec["path"]
        assert os.path.isfile(rec["path"]), "{}: stored file missing: {}".format(cand.name, rec["path"])
        assert rec["size"] == os.path.getsize(rec["path"]), cand.name
        stored = pydicom.dcmread(rec["path"], stop_before_pixels=True)
        assert str(stored.SOPInstanceUID) == uid, cand.name
        assert str(stored.file_meta.TransferSyntaxUID) == rec["transfer_syntax"], cand.name


def test_compressed_syntaxes_are_stored_as_received(store_node, sent_test_files):
    # Only SOP instances that occur once in the test data: with keep_first, the first of
    # several files with the same SOP Instance UID wins.
    counts = collections.Counter(cand.sop_uid for cand, _, _ in sent_test_files)
    index = store_node.index()
    checked = 0
    for cand, status, _ in sent_test_files:
        if status != "done" or counts[cand.sop_uid] != 1 or cand.ts in k_uncompressed:
            continue
        assert index[cand.sop_uid]["transfer_syntax"] == cand.ts, cand.name
        checked += 1
    assert checked >= 10


def _pn(value):
    """PN without trailing empty component groups: both files store a third, empty
    (phonetic) group, `...=王^小東=`, which PS3.5 6.2.1.1 lets a writer omit."""
    return value.rstrip("=")


def test_chinese_names_come_out_as_utf8(store_node, sent_test_files):
    names = {}
    for cand, _, _ in sent_test_files:
        if cand.name in ("chrX1.dcm", "chrX2.dcm"):
            names[cand.name] = _pn(store_node.study(cand.study_uid)["patient_name"])
    assert names == {"chrX1.dcm": k_chr_x1_name, "chrX2.dcm": k_chr_x2_name}
    patients = {p["patient_id"]: p for p in store_node.ls_json("patients")}
    assert _pn(patients["X1EXAMPLE"]["patient_name"]) == k_chr_x1_name
    assert _pn(patients["X2EXAMPLE"]["patient_name"]) == k_chr_x2_name


def _pydicom_name(path):
    """PatientName as pydicom decodes it (str after ds.decode()): the expectation for
    every charset file, ISO 2022 code extensions (IR 87, IR 13, IR 149) included."""
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    ds.decode()
    return str(ds.PatientName)


def test_every_charset_file_name_matches_pydicom(store_node, sent_test_files):
    charset_files = [c for c, _, _ in sent_test_files if c.path.startswith(os.path.join(k_pydicom_data, "charset_files"))]
    assert len(charset_files) >= 15, [c.name for c in charset_files]
    studies = {s["study_uid"]: s for s in store_node.ls_json("studies")}
    patients = {}
    for p in store_node.ls_json("patients"):
        patients.setdefault(p["patient_id"], []).append(_pn(p["patient_name"]))
    wrong = []
    for cand in charset_files:
        expected = _pydicom_name(cand.path)
        got = _pn(studies[cand.study_uid]["patient_name"])
        pid = str(pydicom.dcmread(cand.path, stop_before_pixels=True).PatientID)
        if got != expected or expected not in patients.get(pid, []):
            wrong.append((cand.name, expected, got, patients.get(pid)))
    assert not wrong, wrong


def _raw_name_and_charset(path):
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    charset = ds[0x00080005].value  # read before the name: the raw element stays bytes
    raw = ds.get_item(0x00100010).value
    return raw, charset if isinstance(charset, str) else "\\".join(charset)


@pytest.mark.parametrize("file", ["chrH31.dcm", "chrH32.dcm", "chrI2.dcm"])
def test_find_with_an_iso2022_query_matches(store_node, sent_test_files, file):
    """C-FIND whose identifier is in ISO 2022 IR 87 / IR 13 / IR 149 (the file's own raw
    bytes, escape sequences included) finds the study stored from that file."""
    path = os.path.join(k_pydicom_data, "charset_files", file)
    raw, charset = _raw_name_and_charset(path)
    assert b"\x1b" in raw
    keys = [("QueryRetrieveLevel", "STUDY"), ("SpecificCharacterSet", charset),
            ("PatientName", raw), ("StudyInstanceUID", None)]
    result = qr.findscu(store_node.port, "study", keys, called=store_node.ae_title)
    assert result.returncode == 0, result.output
    study_uid = str(pydicom.dcmread(path, stop_before_pixels=True).StudyInstanceUID)
    assert [str(ds.StudyInstanceUID) for ds in result.responses] == [study_uid], result.output
    assert _pn(str(result.responses[0].PatientName)) == _pydicom_name(path)


def test_find_with_a_query_file_pydicom_encoded_in_iso2022_ir87(store_node, sent_test_files, tmp_path):
    name = _pydicom_name(os.path.join(k_pydicom_data, "charset_files", "chrH31.dcm"))
    path = qr.query_file(str(tmp_path / "q.dcm"), [("QueryRetrieveLevel", "STUDY"), ("PatientName", name),
                                                  ("StudyInstanceUID", "")],
                         charset=["", "ISO 2022 IR 87"])
    assert b"\x1b$B" in open(path, "rb").read()
    result = qr.findscu(store_node.port, "study", [], called=store_node.ae_title, query_file=path)
    assert result.returncode == 0, result.output
    assert [str(ds.StudyInstanceUID) for ds in result.responses] == ["1.3.6.1.4.1.5962.1.2.0.1175775771.5702.0"]


def test_300_slice_ct_series(store_node, ct_series, tmp_path):
    staged = stage(ct_series, str(tmp_path / "ct"))
    proc = store_node.storescu(staged)
    statuses = collections.Counter(rename_status(p) for p in staged)
    assert statuses == {"done": 300}, "{}\n{}{}".format(statuses, proc.stdout[-3000:], proc.stderr[-3000:])

    first = pydicom.dcmread(ct_series[0], stop_before_pixels=True)
    study = store_node.study(str(first.StudyInstanceUID))
    assert study["patient_id"] == "CFGEN0"
    assert study["patient_name"] == "Cloudfilm^Generated0"
    assert study["accession_number"] == "ACC0"
    assert study["description"] == "Generated CT 0"
    assert re.sub(r"\D", "", study["study_date"]) == "20040119"
    assert re.sub(r"\D", "", study["study_time"]).startswith("072730")
    assert study["modalities"] == ["CT"]
    assert study["series_count"] == 1
    assert study["instance_count"] == 300

    series = store_node.ls_json("series", study["study_uid"])
    assert len(series) == 1
    assert series[0]["series_uid"] == str(first.SeriesInstanceUID)
    assert series[0]["modality"] == "CT"
    assert str(series[0]["series_number"]) == "2"
    assert series[0]["description"] == "Axial 128"
    assert series[0]["instance_count"] == 300

    instances = store_node.ls_json("instances", series[0]["series_uid"])
    assert len(instances) == 300
    assert sorted(int(i["instance_number"]) for i in instances) == list(range(1, 301))
    expected_uids = {make_ct_series.make_uid(0, "instance", i) for i in range(300)}
    assert {i["sop_instance_uid"] for i in instances} == expected_uids
    for inst in instances:
        assert inst["sop_class_uid"] == k_ct_image_storage
        assert os.path.isfile(inst["path"])


def _gb18030_file(path, seed, keep_charset):
    """A CT whose name and description are GB18030 with 0x5C trail bytes; without
    keep_charset, (0008,0005) is erased afterwards (by dcmodify, which leaves the bytes)."""
    ds = _raw_ct(seed, 0)
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.PatientID = "GB{}".format(seed)
    ds.SpecificCharacterSet = "GB18030"
    ds.PatientName = k_gb_name
    ds.StudyDescription = k_gb_description
    ds.save_as(path, write_like_original=False)
    raw = open(path, "rb").read()
    assert b"\xd5\\" in raw and b"\x9c\\" in raw, "test data lost its 0x5C trail bytes"
    if not keep_charset:
        result = run(["dcmodify", "-nb", "-e", "(0008,0005)", path], timeout=30)
        assert result.returncode == 0, result.stderr
        assert "SpecificCharacterSet" not in pydicom.dcmread(path, stop_before_pixels=True)
    return ds


@pytest.mark.parametrize("keep_charset", [True, False], ids=["GB18030", "fallback"])
def test_gb18030_names_with_backslash_trail_bytes(store_node, tmp_path, keep_charset):
    # Without (0008,0005) the node must apply storage.fallback_charset (GB18030 by default).
    seed = 911 if keep_charset else 912
    path = str(tmp_path / "gb.dcm")
    ds = _gb18030_file(path, seed, keep_charset)
    staged = stage([path], str(tmp_path / "send"))
    proc = store_node.storescu(staged, ts_option="-xe")
    assert rename_status(staged[0]) == "done", proc.stdout + proc.stderr
    study = store_node.study(str(ds.StudyInstanceUID))
    assert study["patient_name"] == k_gb_name
    assert study["description"] == k_gb_description
    patients = {p["patient_id"]: p for p in store_node.ls_json("patients")}
    assert patients[ds.PatientID]["patient_name"] == k_gb_name


def _raw_ct(seed, index):
    """A complete CT data set with fresh UIDs, as a pydicom Dataset."""
    ds = pydicom.dcmread(pydicom.data.get_testdata_file("CT_small.dcm"))
    ds.StudyInstanceUID = make_ct_series.make_uid(seed, "study")
    ds.SeriesInstanceUID = make_ct_series.make_uid(seed, "series")
    ds.SOPInstanceUID = make_ct_series.make_uid(seed, "instance", index)
    ds.PatientID = "RAW{}".format(seed)
    return ds


def _is_failure(status):
    """PS3.4 B.2.3 / PS3.7 C: Refused 0xA7nn, Error 0xA9nn and 0xC000-0xCFFF, or a general failure
    0x01xx/0x02xx other than the two warnings 0x0107 and 0x0116."""
    if (status & 0xF000) in (0xA000, 0xC000):
        return True
    return 0x0100 <= status <= 0x02FF and status not in (0x0107, 0x0116)


def test_bad_payloads_fail_and_the_association_goes_on(store_node):
    seed = 901
    good = _raw_ct(seed, 0)
    no_sop_uid = _raw_ct(seed, 1)
    del no_sop_uid.SOPInstanceUID
    no_study_uid = _raw_ct(seed, 2)
    del no_study_uid.StudyInstanceUID
    no_series_uid = _raw_ct(seed, 3)
    del no_series_uid.SeriesInstanceUID
    truncated = dimse.encode_dataset(_raw_ct(seed, 4))[:700]
    cases = [
        ("garbage", make_ct_series.make_uid(seed, "instance", 5), b"This is not a DICOM data set. " * 40),
        ("no SOP Instance UID", make_ct_series.make_uid(seed, "instance", 1), dimse.encode_dataset(no_sop_uid)),
        ("no Study Instance UID", make_ct_series.make_uid(seed, "instance", 2), dimse.encode_dataset(no_study_uid)),
        ("no Series Instance UID", make_ct_series.make_uid(seed, "instance", 3), dimse.encode_dataset(no_series_uid)),
        ("truncated", make_ct_series.make_uid(seed, "instance", 4), truncated),
    ]
    contexts = [(dimse.k_verification, [dimse.k_implicit_le]),
                (k_ct_image_storage, [dimse.k_explicit_le])]
    statuses = {}
    with dimse.Association("127.0.0.1", store_node.port, called=store_node.ae_title,
                           contexts=contexts) as assoc:
        assert assoc.context_for(k_ct_image_storage)[1] == dimse.k_explicit_le
        for label, sop_uid, payload in cases:
            try:
                statuses[label] = assoc.store(k_ct_image_storage, sop_uid, payload)
            except dimse.AssociationAborted as e:
                pytest.fail("association aborted after the '{}' C-STORE ({}); statuses so far: {}".format(
                    label, e, statuses))
        good_status = assoc.store(k_ct_image_storage, str(good.SOPInstanceUID), dimse.encode_dataset(good))
        echo_status = assoc.echo()
    bad = {label: hex(status) for label, status in statuses.items() if not _is_failure(status)}
    assert not bad, "these malformed C-STOREs did not get a failure status: {}".format(bad)
    assert good_status == 0x0000
    assert echo_status == 0x0000

    index = store_node.index()
    assert str(good.SOPInstanceUID) in index
    for _, sop_uid, _ in cases:
        assert sop_uid not in index
    # Nothing of the malformed requests got in under another UID either.
    in_series = [uid for uid, rec in index.items() if rec["series_uid"] == str(good.SeriesInstanceUID)]
    assert in_series == [str(good.SOPInstanceUID)]


def test_duplicate_resend_is_success_and_changes_nothing(store_node, sent_test_files, tmp_path):
    before = store_node.index()
    picks = [c.path for c, status, _ in sent_test_files if status == "done" and c.name in ("chrX1.dcm", "CT_small.dcm")]
    assert len(picks) == 2
    staged = stage(picks, str(tmp_path / "dup"))
    proc = store_node.storescu(staged, ts_option="-xe")
    assert [rename_status(p) for p in staged] == ["done", "done"], proc.stdout + proc.stderr
    after = store_node.index()
    assert len(after) == len(before)
    for cand_path in picks:
        uid = pydicom.dcmread(cand_path, stop_before_pixels=True).SOPInstanceUID
        assert after[uid]["path"] == before[uid]["path"]
        assert after[uid]["size"] == before[uid]["size"]


@pytest.mark.parametrize("policy", ["replace", "reject"])
def test_duplicate_policies(node_factory, policy):
    node = node_factory("dup", config={"storage": {"duplicates": policy}}).start()
    first = _raw_ct(931, 0)
    first.StudyDescription = "first"
    second = _raw_ct(931, 0)
    second.StudyDescription = "second"
    contexts = [(k_ct_image_storage, [dimse.k_explicit_le])]
    with dimse.Association("127.0.0.1", node.port, called=node.ae_title, contexts=contexts) as assoc:
        status_first = assoc.store(k_ct_image_storage, str(first.SOPInstanceUID), dimse.encode_dataset(first))
        status_second = assoc.store(k_ct_image_storage, str(second.SOPInstanceUID), dimse.encode_dataset(second))
    assert status_first == 0x0000
    if policy == "replace":
        assert status_second == 0x0000
    else:
        assert _is_failure(status_second), hex(status_second)
    index = node.index()
    assert list(index) == [str(first.SOPInstanceUID)]
    stored = pydicom.dcmread(index[str(first.SOPInstanceUID)]["path"], stop_before_pixels=True)
    expected = "second" if policy == "replace" else "first"
    assert stored.StudyDescription == expected
    assert node.study(str(first.StudyInstanceUID))["description"] == expected
    assert len(files_under(node.objects_dir)) == 1, "the replaced file was left behind"
    assert node.stop() == 0
    assert node.cli("check").returncode == 0


def test_ls_tables(store_node, sent_test_files):
    chr_x1 = next(c for c, _, _ in sent_test_files if c.name == "chrX1.dcm")
    for args, needle in [
        ((), chr_x1.study_uid),  # default listing
        (("patients",), "X1EXAMPLE"),
        (("studies",), chr_x1.study_uid),
        (("series", chr_x1.study_uid), chr_x1.series_uid),
        (("instances", chr_x1.series_uid), chr_x1.sop_uid),
    ]:
        result = store_node.cli("ls", *args)
        assert result.returncode == 0, "ls {}: {}".format(args, result.stderr)
        assert needle in result.stdout, "ls {} does not show {}:\n{}".format(args, needle, result.stdout[:2000])


def test_check_is_clean(store_node, sent_test_files):
    result = store_node.cli("check")
    assert result.returncode == 0, result.stdout + result.stderr


# -- import ---------------------------------------------------------------------------------


def _summary(result):
    match = k_summary.search(result.stdout)
    assert match, "no summary line on stdout:\n{}\nstderr:\n{}".format(result.stdout, result.stderr)
    return tuple(int(v) for v in match.groups())


def _non_dicom_files(directory):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "README.txt"), "w") as f:
        f.write("not a DICOM file\n")
    with open(os.path.join(directory, "noise.bin"), "wb") as f:
        f.write(bytes((i * 37 + 11) % 256 for i in range(4096)))
    with open(os.path.join(directory, "empty.dat"), "wb"):
        pass
    return 3


def test_import_folder(node_factory, tmp_path):
    node = node_factory("import")
    src = tmp_path / "folder"
    paths = make_ct_series.make_series(str(src / "a" / "b"), count=12, seed=21)
    paths += make_ct_series.make_series(str(src / "c"), count=8, seed=22)
    skipped = _non_dicom_files(str(src / "a"))

    result = node.cli("import", str(src))
    assert result.returncode == 0, result.stdout + result.stderr
    assert _summary(result) == (20, 0, skipped, 0)

    again = node.cli("import", str(src))
    assert again.returncode == 0, again.stdout + again.stderr
    assert _summary(again) == (0, 20, skipped, 0)

    index = node.index()
    for path in paths:
        assert pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID in index
    assert len(index) == 20
    assert all(p.startswith(os.path.realpath(node.objects_dir)) or p.startswith(node.objects_dir)
               for p in (r["path"] for r in index.values()))
    assert os.path.isfile(paths[0]), "import must not remove its sources"


def test_delete_study_series_instance(node_factory, tmp_path):
    """`cloudfilm delete UID`: files and index together, nothing orphaned; refused while a
    node has the store open; an unknown UID is an error naming it."""
    node = node_factory("delete")
    a = make_ct_series.make_series(str(tmp_path / "a"), count=4, seed=41)
    b = make_ct_series.make_series(str(tmp_path / "b"), count=3, seed=42)
    imported = node.cli("import", str(tmp_path / "a"), str(tmp_path / "b"))
    assert imported.returncode == 0, imported.stdout + imported.stderr
    ds_a = [pydicom.dcmread(p, stop_before_pixels=True) for p in a]
    study_b = str(pydicom.dcmread(b[0], stop_before_pixels=True).StudyInstanceUID)
    index = node.index()
    assert len(index) == 7

    node.start()
    running = node.cli("delete", study_b)
    assert running.returncode == 1
    assert "stop them first" in running.stderr, running.stderr
    assert len(node.index()) == 7
    assert node.stop() == 0

    one = node.cli("delete", str(ds_a[0].SOPInstanceUID))
    assert one.returncode == 0, one.stderr
    assert "deleted instance" in one.stdout and "(1 instances)" in one.stdout
    study = node.cli("delete", study_b)
    assert study.returncode == 0, study.stderr
    assert "deleted study {} (3 instances)".format(study_b) in study.stdout
    left = node.index()
    assert sorted(left) == sorted(str(d.SOPInstanceUID) for d in ds_a[1:])
    assert len(files_under(node.objects_dir)) == 3
    for uid, rec in index.items():
        assert os.path.exists(rec["path"]) == (uid in left), uid
    assert node.cli("check").returncode == 0

    unknown = node.cli("delete", "1.2.3.999")
    assert unknown.returncode == 1
    assert "no study, series or instance 1.2.3.999" in unknown.stderr


def _store_raw(node, datasets):
    contexts = [(k_ct_image_storage, [dimse.k_explicit_le])]
    with dimse.Association("127.0.0.1", node.port, called=node.ae_title, contexts=contexts) as assoc:
        return [assoc.store(k_ct_image_storage, str(ds.SOPInstanceUID), dimse.encode_dataset(ds))
                for ds in datasets]


def test_storage_limit_refuses_with_a700(node_factory):
    """storage.max_studies with when_full: refuse: a new study gets A700 with the limit named
    in the Error Comment; instances of stored studies still come in; nothing is lost."""
    node = node_factory("limit", config={"storage": {"max_studies": 1}}).start()
    assert _store_raw(node, [_raw_ct(951, 0), _raw_ct(951, 1)]) == [0x0000, 0x0000]
    assert _store_raw(node, [_raw_ct(952, 0)]) == [0xA700]
    assert _store_raw(node, [_raw_ct(951, 2)]) == [0x0000]
    assert "storage.max_studies reached" in node.log()
    assert sorted(node.index()) == sorted(str(_raw_ct(951, i).SOPInstanceUID) for i in range(3))
    assert node.stop() == 0
    assert node.cli("check").returncode == 0


def test_storage_limit_recycles_unprotected_studies(node_factory):
    """when_full: recycle removes the least recently stored study that `cloudfilm protect`
    did not protect, files and index together."""
    node = node_factory("recycle", config={"storage": {"max_studies": 2, "when_full": "recycle"}})
    node.start()
    assert _store_raw(node, [_raw_ct(961, 0), _raw_ct(962, 0)]) == [0x0000, 0x0000]
    assert node.stop() == 0
    protect = node.cli("protect", str(_raw_ct(961, 0).StudyInstanceUID))
    assert protect.returncode == 0, protect.stderr
    node.start()
    assert _store_raw(node, [_raw_ct(963, 0)]) == [0x0000]
    assert node.stop() == 0
    studies = sorted(r["study_uid"] for r in node.index().values())
    assert studies == sorted(str(_raw_ct(s, 0).StudyInstanceUID) for s in (961, 963))
    assert len(files_under(node.objects_dir)) == 2
    assert node.cli("check").returncode == 0


def test_import_counts_a_broken_dicom_file_as_failed(node_factory, tmp_path):
    node = node_factory("importbad")
    src = tmp_path / "mixed"
    make_ct_series.make_series(str(src), count=2, seed=25)
    # A Part 10 file whose pixel data is cut short: DICOM, but unreadable.
    shutil.copyfile(os.path.join(k_pydicom_data, "test_files", "MR_truncated.dcm"), str(src / "truncated.dcm"))
    result = node.cli("import", str(src))
    assert _summary(result) == (2, 0, 0, 1)
    assert result.returncode != 0, "import must exit non-zero when a file failed"
    assert len(node.index()) == 2


def test_import_zip(node_factory, tmp_path):
    node = node_factory("importzip")
    src = tmp_path / "zipsrc"
    paths = make_ct_series.make_series(str(src / "series"), count=10, seed=23)
    skipped = _non_dicom_files(str(src / "misc"))
    archive = str(tmp_path / "study.zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in files_under(str(src)):
            zf.write(path, os.path.relpath(path, str(src)))

    result = node.cli("import", archive)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _summary(result) == (10, 0, skipped, 0)
    index = node.index()
    assert {pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID for p in paths} == set(index)


def test_import_dicomdir(node_factory, tmp_path):
    node = node_factory("importdir")
    src_root = os.path.join(k_pydicom_data, "test_files", "dicomdirtests")
    tree = str(tmp_path / "media")
    os.makedirs(tree)
    shutil.copyfile(os.path.join(src_root, "DICOMDIR"), os.path.join(tree, "DICOMDIR"))
    for patient in ("77654033", "98892001", "98892003"):
        shutil.copytree(os.path.join(src_root, patient), os.path.join(tree, patient))
    expected = {}
    for path in files_under(tree):
        if os.path.basename(path) != "DICOMDIR":
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            expected[str(ds.SOPInstanceUID)] = (str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID))
    assert len(expected) == 31

    result = node.cli("import", os.path.join(tree, "DICOMDIR"))
    assert result.returncode == 0, result.stdout + result.stderr
    imported, duplicates, _, failed = _summary(result)
    assert (imported, duplicates, failed) == (31, 0, 0)
    index = node.index()
    assert set(index) == set(expected)
    for uid, (study, series) in expected.items():
        assert (index[uid]["study_uid"], index[uid]["series_uid"]) == (study, series)
    patient_ids = {str(pydicom.dcmread(p, stop_before_pixels=True).PatientID)
                   for p in files_under(tree) if os.path.basename(p) != "DICOMDIR"}
    assert {p["patient_id"] for p in node.ls_json("patients")} == patient_ids


def test_check_indexes_an_unindexed_file_on_repair(node_factory, tmp_path):
    # An object file at its proper place that the index does not know (as after a crash
    # between rename and commit): check reports it, --repair indexes it.
    donor = node_factory("donor")
    make_ct_series.make_series(str(tmp_path / "src"), count=2, seed=26)
    assert donor.cli("import", str(tmp_path / "src")).returncode == 0
    node = node_factory("orphan")
    make_ct_series.make_series(str(tmp_path / "own"), count=1, seed=27)
    assert node.cli("import", str(tmp_path / "own")).returncode == 0
    donated = sorted(donor.index().values(), key=lambda r: r["sop_instance_uid"])[0]
    relative = os.path.relpath(donated["path"], donor.data_dir)
    target = os.path.join(node.data_dir, relative)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.copyfile(donated["path"], target)

    result = node.cli("check")
    assert result.returncode != 0, "check did not notice an unindexed object file"
    assert donated["sop_instance_uid"] in result.stdout + result.stderr or relative in result.stdout + result.stderr
    repaired = node.cli("check", "--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert node.cli("check").returncode == 0
    index = node.index()
    assert donated["sop_instance_uid"] in index
    assert len(index) == 2


def test_check_reports_and_repairs_a_missing_file(node_factory, tmp_path):
    node = node_factory("check")
    make_ct_series.make_series(str(tmp_path / "src"), count=5, seed=24)
    assert node.cli("import", str(tmp_path / "src")).returncode == 0
    assert node.cli("check").returncode == 0
    index = node.index()
    victim = sorted(index.values(), key=lambda r: r["sop_instance_uid"])[0]
    os.remove(victim["path"])

    result = node.cli("check")
    assert result.returncode != 0, "check did not notice a deleted object file"
    problems = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert len(problems) >= 1
    assert any(victim["sop_instance_uid"] in line or os.path.basename(victim["path"]) in line for line in problems), problems

    repaired = node.cli("check", "--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    final = node.cli("check")
    assert final.returncode == 0, final.stdout + final.stderr
    after = node.index()
    assert len(after) == 4 and victim["sop_instance_uid"] not in after
