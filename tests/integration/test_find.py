# SPDX-License-Identifier: MIT
"""C-FIND SCP: matching (PS3.4 C.2.2.2), levels and models (C.6.1-C.6.3), hierarchical
baseline checks (C.4.1.2.1), computed keys (C.3.4), character sets, C-CANCEL.

One node per module holds a known set of studies:
- six generated studies (A-F) from pydicom's CT_small/MR_small with chosen names, dates,
  times, modalities and character sets (F is stored in GB18030);
- pydicom's CT_small.dcm, MR_small.dcm and the charset files chrX1.dcm (ISO_IR 192,
  Wang^XiaoDong=王^小東) and chrX2.dcm (GB18030, Wang^XiaoDong=王^小东);
- a generated 1000-slice CT series (for C-CANCEL, which needs many matches).

Expected results are computed from the stored files themselves (read back with pydicom),
so every value a response carries is compared with the truth, not with a hand-typed copy.
Queries go through DCMTK's findscu (-X writes each pending identifier to a file that
pydicom reads), through dimse.py where findscu cannot (extended negotiation, a cancel
before the first response), and through odil's `odil find` as an independent client.
"""

import collections
import os
import re
import shutil
import subprocess

import pydicom
import pytest

import dimse
import make_ct_series
import qr
from conftest import NodeFactory, rename_status, stage

# pydicom splits GB18030 values at a 0x5C trail byte before decoding and warns about it
# (study G); those values are checked on raw bytes or taken from the spec instead.
pytestmark = pytest.mark.filterwarnings("ignore:Failed to decode byte string with encoding 'GB18030'")

k_gb_ae = "GBVIEWER"  # configured with node.response_charsets: {GBVIEWER: GB18030}
k_seed = 4242
k_big_series_count = 1000  # enough matches (~25 ms of responses) for a cancel to land in time

# Requested at STUDY level in most cases (besides the filter keys).
k_study_keys = ("StudyInstanceUID", "PatientName", "PatientID", "StudyDate", "StudyTime",
                "AccessionNumber", "StudyDescription", "ModalitiesInStudy",
                "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances")

# Generated studies: key -> patient, charset, study attributes, series
# [(template modality, series number, description, instance count)].
Spec = collections.namedtuple("Spec", "name pid birth sex charset date time accession study_id description referring series")
k_specs = {
    "A": Spec("Doe^John", "PID-A", "19600101", "M", "ISO_IR 192", "20030101", "101500", "ACC-A", "SA",
              "Head CT", "Welby^Marcus", [("CT", 1, "Axial", 3), ("MR", 2, "T1", 2)]),
    "B": Spec("Doe^Jane", "PID-B", "19700202", "F", "ISO_IR 192", "20040615", "235900", "ACC-B", "SB",
              "Chest", "House^Gregory", [("CT", 1, "Chest", 2)]),
    "C": Spec("DOE^JIM", "PID-C", "19800303", "M", "ISO_IR 192", "20041231", "000000", "ACC-C", "SC",
              "head MR", "House^Gregory", [("MR", 1, "FLAIR", 1)]),
    "D": Spec("Doe^John", "PID-A", "19600101", "M", "ISO_IR 192", "20050301", "120000", "ACC-D", "SD",
              "Knee", "", [("MR", 1, "PD", 2), ("MR", 2, "T2", 1)]),
    "E": Spec("Zhang^San=\u5f20^\u4e09", "PID-E", "19900404", "M", "ISO_IR 192", "20040101", "080000",
              "ACC-E", "SE", "\u8179\u90e8CT", "", [("CT", 1, "Abdomen", 1)]),  # 张^三, 腹部CT
    "F": Spec("Li^Si=\u674e^\u56db", "PID-F", "19910505", "F", "GB18030", "20040301", "093000",
              "ACC-F", "SF", "\u5934\u90e8MR", "", [("MR", 1, "Brain", 1)]),  # 李^四, 头部MR
    # GB18030 with 0x5C trail bytes: 誠 is D5 5C, 淺 is 9C 5C (a reader splitting values at
    # the backslash byte before decoding breaks these).
    "G": Spec("Zhang^ChengWei=\u5f35^\u8aa0\u5049", "PID-G", "19920606", "M", "GB18030", "20060606",
              "130000", "ACC-G", "SG", "\u6dfa\u8868CT", "", [("CT", 1, "Thyroid", 1)]),  # 張^誠偉, 淺表CT
    "H": Spec("M\u00fcller^Hans", "PID-H", "19500101", "M", "ISO_IR 100", "19990101", "235959",
              "ACC-H", "SH", "Kopf", "", [("MR", 1, "T2", 1)]),  # Latin-1
}
k_pydicom_files = {
    "CT_small": os.path.join(qr.k_test_files, "CT_small.dcm"),
    "MR_small": os.path.join(qr.k_test_files, "MR_small.dcm"),
    "X1": os.path.join(qr.k_charset_files, "chrX1.dcm"),
    "X2": os.path.join(qr.k_charset_files, "chrX2.dcm"),
}
k_x1_name = "Wang^XiaoDong=\u738b^\u5c0f\u6771"  # 王^小東
k_x2_name = "Wang^XiaoDong=\u738b^\u5c0f\u4e1c"  # 王^小东

# Attributes kept per instance for the truth tables.
k_record_keys = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyInstanceUID",
                 "StudyDate", "StudyTime", "AccessionNumber", "StudyID", "StudyDescription",
                 "ReferringPhysicianName", "SeriesInstanceUID", "Modality", "SeriesNumber",
                 "SeriesDescription", "SOPInstanceUID", "SOPClassUID", "InstanceNumber")


def _generate(out_dir):
    """Write the generated studies; returns {study key: [paths]}."""
    out = {}
    templates = {"CT": "CT_small.dcm", "MR": "MR_small.dcm"}
    for key, spec in k_specs.items():
        study_uid = make_ct_series.make_uid(k_seed, "find-study", key)
        paths = []
        for modality, number, description, count in spec.series:
            series_uid = make_ct_series.make_uid(k_seed, "find-series", key, number)
            for index in range(count):
                ds = qr.template(templates[modality])
                sop = make_ct_series.make_uid(k_seed, "find-sop", key, number, index)
                qr.restamp(ds, study_uid, series_uid, sop, SpecificCharacterSet=spec.charset,
                           PatientName=spec.name, PatientID=spec.pid, PatientBirthDate=spec.birth,
                           PatientSex=spec.sex, StudyDate=spec.date, StudyTime=spec.time,
                           SeriesDate=spec.date, SeriesTime=spec.time,
                           AccessionNumber=spec.accession, StudyID=spec.study_id,
                           StudyDescription=spec.description, ReferringPhysicianName=spec.referring,
                           SeriesNumber=number, SeriesDescription=description,
                           InstanceNumber=index + 1, OtherPatientIDs=None,
                           InstitutionName=None)
                paths.append(qr.save(ds, os.path.join(out_dir, key, "{}_{}.dcm".format(number, index))))
        out[key] = paths
    big = make_ct_series.make_series(os.path.join(out_dir, "big"), count=k_big_series_count, seed=k_seed)
    out["BIG"] = big
    return out


def _text(ds, keyword):
    if keyword not in ds:
        return ""
    value = ds.data_element(keyword).value
    if value is None:
        return ""
    if isinstance(value, pydicom.multival.MultiValue):
        return "\\".join(str(v) for v in value)
    return str(value)


class Truth:
    """Patients, studies, series and images of everything stored, from the files."""

    def __init__(self, paths_by_key):
        self.records = []
        self.study_key = {}  # study uid -> A..F / CT_small / ... / BIG
        for key, paths in paths_by_key.items():
            for path in paths:
                ds = pydicom.dcmread(path, stop_before_pixels=True)
                rec = {k: _text(ds, k) for k in k_record_keys}
                spec = k_specs.get(key)
                if spec is not None:
                    # pydicom splits GB18030 values at 0x5C before decoding (a trail byte
                    # of 誠 and 淺), so the text of the generated studies comes from the spec.
                    rec.update(PatientName=spec.name, StudyDescription=spec.description,
                               ReferringPhysicianName=spec.referring)
                self.records.append(rec)
                self.study_key[rec["StudyInstanceUID"]] = key
        self.uid_of = {key: uid for uid, key in self.study_key.items()}

    def studies(self):
        out = {}
        for rec in self.records:
            s = out.setdefault(rec["StudyInstanceUID"], dict(
                (k, rec[k]) for k in ("StudyInstanceUID", "PatientName", "PatientID", "PatientBirthDate",
                                      "PatientSex", "StudyDate", "StudyTime", "AccessionNumber", "StudyID",
                                      "StudyDescription", "ReferringPhysicianName")))
            s.setdefault("_series", set()).add(rec["SeriesInstanceUID"])
            s.setdefault("_instances", set()).add(rec["SOPInstanceUID"])
            s.setdefault("ModalitiesInStudy", set()).add(rec["Modality"])
            s.setdefault("SOPClassesInStudy", set()).add(rec["SOPClassUID"])
        for s in out.values():
            s["NumberOfStudyRelatedSeries"] = len(s["_series"])
            s["NumberOfStudyRelatedInstances"] = len(s["_instances"])
        return out

    def patients(self):
        out = {}
        for rec in self.records:
            p = out.setdefault(rec["PatientID"], dict(
                (k, rec[k]) for k in ("PatientID", "PatientName", "PatientBirthDate", "PatientSex")))
            p.setdefault("_studies", set()).add(rec["StudyInstanceUID"])
            p.setdefault("_series", set()).add(rec["SeriesInstanceUID"])
            p.setdefault("_instances", set()).add(rec["SOPInstanceUID"])
        for p in out.values():
            p["NumberOfPatientRelatedStudies"] = len(p["_studies"])
            p["NumberOfPatientRelatedSeries"] = len(p["_series"])
            p["NumberOfPatientRelatedInstances"] = len(p["_instances"])
        return out

    def series(self):
        out = {}
        for rec in self.records:
            s = out.setdefault(rec["SeriesInstanceUID"], dict(
                (k, rec[k]) for k in ("SeriesInstanceUID", "StudyInstanceUID", "Modality", "SeriesNumber",
                                      "SeriesDescription", "PatientID")))
            s.setdefault("_instances", set()).add(rec["SOPInstanceUID"])
        for s in out.values():
            s["NumberOfSeriesRelatedInstances"] = len(s["_instances"])
        return out

    def images(self):
        return {rec["SOPInstanceUID"]: dict(rec) for rec in self.records}

    def series_of(self, key):
        uid = self.uid_of[key]
        return sorted((s for s in self.series().values() if s["StudyInstanceUID"] == uid),
                      key=lambda s: int(s["SeriesNumber"] or 0))


@pytest.fixture(scope="module")
def qr_node(tmp_path_factory):
    base = tmp_path_factory.mktemp("find")
    factory = NodeFactory(base)
    node = factory("find", config={"node": {"response_charsets": {k_gb_ae: "GB18030"}}}).start()
    generated = _generate(str(base / "data"))
    paths = dict(generated)
    for key, path in k_pydicom_files.items():
        paths[key] = [path]
    everything = [p for group in paths.values() for p in group]
    staged = stage(everything, str(base / "stage"))
    proc = node.storescu(staged, ts_option="-xe")
    unsent = [p for p in staged if rename_status(p) != "done"]
    assert not unsent, "storing the test set failed for {}:\n{}{}".format(unsent[:5], proc.stdout[-3000:], proc.stderr[-3000:])
    node.truth = Truth(paths)
    yield node
    factory.close()


# -- comparison helpers ------------------------------------------------------------------

def _norm(keyword, value):
    if keyword in ("ModalitiesInStudy", "SOPClassesInStudy"):
        if isinstance(value, set):
            return value
        return set(v for v in str(value).split("\\") if v)
    if keyword.startswith("NumberOf") or keyword in ("SeriesNumber", "InstanceNumber"):
        return int(str(value)) if str(value).strip() else None
    if keyword in ("StudyTime", "SeriesTime"):
        return str(value).replace(":", "").split(".")[0].strip()
    if keyword in ("PatientName", "ReferringPhysicianName"):
        return str(value).rstrip("=").strip()
    return str(value).strip()


def _response_value(ds, keyword):
    elem = ds.data_element(keyword)
    if elem is None or elem.value is None or elem.value == "":
        return ""
    if isinstance(elem.value, pydicom.multival.MultiValue):
        return "\\".join(str(v) for v in elem.value)
    return str(elem.value)


def check_values(responses, truth_table, unique_keyword):
    """Every returned key that the truth table knows must carry the true value."""
    for ds in responses:
        uid = _response_value(ds, unique_keyword)
        assert uid in truth_table, "response for an unknown {} {}".format(unique_keyword, uid)
        entity = truth_table[uid]
        for elem in ds:
            keyword = elem.keyword
            if keyword not in entity or keyword.startswith("_"):
                continue
            got = _norm(keyword, _response_value(ds, keyword))
            want = _norm(keyword, entity[keyword])
            assert got == want, "{} {}: {} is {!r}, expected {!r}".format(
                unique_keyword, uid, keyword, got, want)


def check_keys(responses, requested):
    """A response holds exactly the requested keys plus SpecificCharacterSet."""
    want = set(requested) | {"QueryRetrieveLevel", "SpecificCharacterSet"}
    for ds in responses:
        got = {elem.keyword or str(elem.tag) for elem in ds}
        assert got == want, "response keys differ: extra {}, missing {}".format(
            sorted(got - want), sorted(want - got))
        assert _response_value(ds, "SpecificCharacterSet") == "ISO_IR 192"


def uids(responses, keyword):
    return sorted(_response_value(ds, keyword) for ds in responses)


def find(node, model, level, keys, **kwargs):
    """findscu with QueryRetrieveLevel=level plus `keys` ({name: value or None})."""
    items = [("QueryRetrieveLevel", level)] + list(keys.items())
    return qr.findscu(node.port, model, items, called=node.ae_title, **kwargs)


def assert_success(result, count=None):
    assert result.final == qr.SUCCESS, "final status {}; statuses {}\n{}".format(
        result.final if result.final is None else hex(result.final),
        [hex(s) for s in result.statuses], result.output[-4000:])
    pending = [s for s in result.statuses if s in (qr.PENDING, qr.PENDING_WARNING)]
    assert len(pending) == len(result.responses), "{} pending statuses, {} response files".format(
        len(pending), len(result.responses))
    if count is not None:
        assert len(result.responses) == count


def study_keys(truth, *names):
    return sorted(truth.uid_of[n] for n in names)


# -- STUDY level, Study Root: the matching rules -------------------------------------------

k_all_studies = ("A", "B", "C", "D", "E", "F", "G", "H", "CT_small", "MR_small", "X1", "X2", "BIG")
k_no_date = ("X1", "X2")  # chrX1/chrX2 have empty StudyDate and StudyTime

# id -> (filter keys, expected study keys, study keys whose match does not matter)
k_study_cases = {
    "universal": ({}, k_all_studies, ()),
    "star-alone": ({"PatientName": "*"}, k_all_studies, ()),
    "name-exact": ({"PatientName": "Doe^John"}, ("A", "D"), ()),
    "name-case-insensitive": ({"PatientName": "doe^john"}, ("A", "D"), ()),
    "name-prefix": ({"PatientName": "Doe*"}, ("A", "B", "C", "D"), ()),
    "name-question-mark": ({"PatientName": "Doe^Ja?e"}, ("B",), ()),
    "wang-prefix": ({"PatientName": "Wang*"}, ("X1", "X2"), ()),
    "wang-prefix-lower": ({"PatientName": "wang*"}, ("X1", "X2"), ()),
    "wang-exact-lower": ({"PatientName": "wang^xiaodong"}, ("X1", "X2"), ()),
    "chinese-family-prefix": ({"PatientName": "\u738b*"}, ("X1", "X2"), ()),  # 王*
    "chinese-given-prefix": ({"PatientName": "\u738b^\u5c0f*"}, ("X1", "X2"), ()),  # 王^小*
    "chinese-question-mark": ({"PatientName": "\u738b^\u5c0f?"}, ("X1", "X2"), ()),  # 王^小?
    "chinese-exact-traditional": ({"PatientName": "\u738b^\u5c0f\u6771"}, ("X1",), ()),  # 王^小東
    "chinese-exact-simplified": ({"PatientName": "\u738b^\u5c0f\u4e1c"}, ("X2",), ()),  # 王^小东
    "both-groups": ({"PatientName": k_x1_name}, ("X1",), ()),
    "zhang-chinese": ({"PatientName": "\u5f20*"}, ("E",), ()),  # 张*
    "li-stored-gb18030": ({"PatientName": "\u674e*"}, ("F",), ()),  # 李*
    "gb18030-5c-name": ({"PatientName": "\u5f35^\u8aa0*"}, ("G",), ()),  # 張^誠*
    "latin1-stored": ({"PatientName": "M\u00fcller*"}, ("H",), ()),
    "question-mark-is-one-character": ({"PatientName": "M?ller^Hans"}, ("H",), ()),  # ü is 2 bytes in UTF-8
    "patient-id": ({"PatientID": "PID-A"}, ("A", "D"), ()),
    "patient-id-wildcard": ({"PatientID": "PID-?"}, ("A", "B", "C", "D", "E", "F", "G", "H"), ()),
    "patient-id-case-sensitive": ({"PatientID": "pid-a"}, (), ()),
    "description-case-sensitive-upper": ({"StudyDescription": "Head*"}, ("A",), ()),
    "description-case-sensitive-lower": ({"StudyDescription": "head*"}, ("C",), ()),
    "description-suffix-chinese": ({"StudyDescription": "*CT"}, ("A", "E", "G"), ()),
    "description-gb18030-5c": ({"StudyDescription": "\u6dfa*"}, ("G",), ()),  # 淺*
    "description-chinese-prefix": ({"StudyDescription": "\u5934*"}, ("F",), ()),  # 头*
    "accession": ({"AccessionNumber": "ACC-B"}, ("B",), ()),
    "referring-pn-insensitive": ({"ReferringPhysicianName": "welby*"}, ("A",), ()),
    "date-single": ({"StudyDate": "20040615"}, ("B",), ()),
    "date-range": ({"StudyDate": "20040101-20041231"},
                   ("B", "C", "E", "F", "CT_small", "MR_small", "BIG"), k_no_date),
    "date-open-end": ({"StudyDate": "20040101-"},
                      ("B", "C", "D", "E", "F", "G", "CT_small", "MR_small", "BIG"), k_no_date),
    "date-open-start": ({"StudyDate": "-20041231"},
                        ("A", "B", "C", "E", "F", "H", "CT_small", "MR_small", "BIG"), k_no_date),
    "time-range": ({"StudyTime": "080000-120000"}, ("A", "D", "E", "F"), k_no_date),
    "date-and-time-independent": ({"StudyDate": "20040101-20041231", "StudyTime": "090000-120000"},
                                  ("F",), k_no_date),
    "uid-list": (None, ("A", "B"), ()),  # filled in by the test (UIDs are generated)
    "modalities-ct-or-mr": ({"ModalitiesInStudy": "CT\\MR"},
                            ("A", "B", "C", "D", "E", "F", "G", "H", "CT_small", "MR_small", "BIG"), ()),
    "modalities-mr": ({"ModalitiesInStudy": "MR"}, ("A", "C", "D", "F", "H", "MR_small"), ()),
    "modalities-ot": ({"ModalitiesInStudy": "OT"}, ("X1", "X2"), ()),
    "name-and-date": ({"PatientName": "Doe*", "StudyDate": "-20041231"}, ("A", "B", "C"), ()),
}


@pytest.mark.parametrize("case", sorted(k_study_cases))
def test_study_level_matching(qr_node, case):
    truth = qr_node.truth
    filters, expected, dont_care = k_study_cases[case]
    if filters is None:
        filters = {"StudyInstanceUID": "\\".join(study_keys(truth, *expected))}
    keys = {k: None for k in k_study_keys}
    keys.update(filters)
    result = find(qr_node, "study", "STUDY", keys)
    assert_success(result)
    got = set(uids(result.responses, "StudyInstanceUID"))
    ignore = set(study_keys(truth, *dont_care))
    want = set(study_keys(truth, *expected))
    names = {uid: truth.study_key.get(uid, uid) for uid in got | want}
    assert got - ignore == want - ignore, "{}: got {}, expected {}".format(
        case, sorted(names[u] for u in got), sorted(names[u] for u in want))
    check_keys(result.responses, keys)
    check_values(result.responses, truth.studies(), "StudyInstanceUID")


def test_study_level_computed_keys(qr_node):
    truth = qr_node.truth
    keys = {"StudyInstanceUID": truth.uid_of["A"], "ModalitiesInStudy": None, "SOPClassesInStudy": None,
            "NumberOfStudyRelatedSeries": None, "NumberOfStudyRelatedInstances": None,
            "PatientBirthDate": None, "PatientSex": None, "StudyID": None, "ReferringPhysicianName": None}
    result = find(qr_node, "study", "STUDY", keys)
    assert_success(result, 1)
    ds = result.responses[0]
    assert set(ds.ModalitiesInStudy) == {"CT", "MR"}
    assert set(ds.SOPClassesInStudy) == {qr.k_ct_storage, qr.k_mr_storage}
    assert int(ds.NumberOfStudyRelatedSeries) == 2
    assert int(ds.NumberOfStudyRelatedInstances) == 5
    check_keys(result.responses, keys)
    check_values(result.responses, truth.studies(), "StudyInstanceUID")


def test_unsupported_key_comes_back_empty_with_ff01(qr_node):
    # EthnicGroup (0010,2160) is not in the node's index.
    keys = {"StudyInstanceUID": qr_node.truth.uid_of["B"], "PatientName": None, "EthnicGroup": None}
    result = find(qr_node, "study", "STUDY", keys)
    assert_success(result, 1)
    assert result.statuses[0] == qr.PENDING_WARNING, [hex(s) for s in result.statuses]
    ds = result.responses[0]
    assert "EthnicGroup" in ds and _response_value(ds, "EthnicGroup") == ""
    assert str(ds.PatientName) == "Doe^Jane"
    check_keys(result.responses, keys)


# -- the other levels and models ---------------------------------------------------------

def test_patient_root_patient_level_counts(qr_node):
    truth = qr_node.truth
    keys = {"PatientID": None, "PatientName": None, "PatientBirthDate": None, "PatientSex": None,
            "NumberOfPatientRelatedStudies": None, "NumberOfPatientRelatedSeries": None,
            "NumberOfPatientRelatedInstances": None}
    result = find(qr_node, "patient", "PATIENT", keys)
    assert_success(result)
    patients = truth.patients()
    assert sorted(uids(result.responses, "PatientID")) == sorted(patients)
    check_keys(result.responses, keys)
    check_values(result.responses, patients, "PatientID")
    by_id = {str(ds.PatientID): ds for ds in result.responses}
    assert int(by_id["PID-A"].NumberOfPatientRelatedStudies) == 2
    assert int(by_id["PID-A"].NumberOfPatientRelatedSeries) == 4
    assert int(by_id["PID-A"].NumberOfPatientRelatedInstances) == 8


@pytest.mark.parametrize("name,expected", [
    ("\u738b*", ["X1EXAMPLE", "X2EXAMPLE"]),
    ("wang*", ["X1EXAMPLE", "X2EXAMPLE"]),
    ("Doe^John", ["PID-A"]),
    ("\u674e^\u56db", ["PID-F"]),
])
def test_patient_root_patient_level_names(qr_node, name, expected):
    result = find(qr_node, "patient", "PATIENT", {"PatientName": name, "PatientID": None})
    assert_success(result)
    assert uids(result.responses, "PatientID") == expected
    check_values(result.responses, qr_node.truth.patients(), "PatientID")


def test_patient_root_study_level(qr_node):
    truth = qr_node.truth
    keys = {"PatientID": "PID-A", "StudyInstanceUID": None, "StudyDate": None, "ModalitiesInStudy": None,
            "NumberOfStudyRelatedInstances": None}
    result = find(qr_node, "patient", "STUDY", keys)
    assert_success(result, 2)
    assert uids(result.responses, "StudyInstanceUID") == study_keys(truth, "A", "D")
    check_keys(result.responses, keys)
    check_values(result.responses, truth.studies(), "StudyInstanceUID")
    keys["StudyDate"] = "20050101-"
    result = find(qr_node, "patient", "STUDY", keys)
    assert_success(result, 1)
    assert uids(result.responses, "StudyInstanceUID") == study_keys(truth, "D")


def test_patient_root_series_and_image_levels(qr_node):
    truth = qr_node.truth
    study = truth.uid_of["A"]
    keys = {"PatientID": "PID-A", "StudyInstanceUID": study, "SeriesInstanceUID": None, "Modality": None,
            "SeriesNumber": None, "SeriesDescription": None, "NumberOfSeriesRelatedInstances": None}
    result = find(qr_node, "patient", "SERIES", keys)
    assert_success(result, 2)
    want = [s["SeriesInstanceUID"] for s in truth.series_of("A")]
    assert uids(result.responses, "SeriesInstanceUID") == sorted(want)
    check_keys(result.responses, keys)
    check_values(result.responses, truth.series(), "SeriesInstanceUID")

    mr = truth.series_of("A")[1]
    keys = {"PatientID": "PID-A", "StudyInstanceUID": study, "SeriesInstanceUID": mr["SeriesInstanceUID"],
            "SOPInstanceUID": None, "SOPClassUID": None, "InstanceNumber": None}
    result = find(qr_node, "patient", "IMAGE", keys)
    assert_success(result, 2)
    want = sorted(uid for uid, rec in truth.images().items() if rec["SeriesInstanceUID"] == mr["SeriesInstanceUID"])
    assert uids(result.responses, "SOPInstanceUID") == want
    check_keys(result.responses, keys)
    check_values(result.responses, truth.images(), "SOPInstanceUID")


def test_study_root_series_level(qr_node):
    truth = qr_node.truth
    keys = {"StudyInstanceUID": truth.uid_of["A"], "SeriesInstanceUID": None, "Modality": None,
            "SeriesNumber": None, "NumberOfSeriesRelatedInstances": None}
    result = find(qr_node, "study", "SERIES", keys)
    assert_success(result, 2)
    check_keys(result.responses, keys)
    check_values(result.responses, truth.series(), "SeriesInstanceUID")
    counts = sorted(int(ds.NumberOfSeriesRelatedInstances) for ds in result.responses)
    assert counts == [2, 3]

    keys["Modality"] = "MR"
    result = find(qr_node, "study", "SERIES", keys)
    assert_success(result, 1)
    assert str(result.responses[0].Modality) == "MR"

    both = truth.series_of("D")
    keys = {"StudyInstanceUID": truth.uid_of["D"],
            "SeriesInstanceUID": "\\".join(s["SeriesInstanceUID"] for s in both), "SeriesNumber": None}
    result = find(qr_node, "study", "SERIES", keys)
    assert_success(result, 2)
    keys["SeriesInstanceUID"] = both[1]["SeriesInstanceUID"]
    result = find(qr_node, "study", "SERIES", keys)
    assert_success(result, 1)
    assert int(result.responses[0].SeriesNumber) == 2


def test_study_root_image_level(qr_node):
    truth = qr_node.truth
    ct = truth.series_of("A")[0]
    images = sorted(uid for uid, rec in truth.images().items() if rec["SeriesInstanceUID"] == ct["SeriesInstanceUID"])
    assert len(images) == 3
    keys = {"StudyInstanceUID": truth.uid_of["A"], "SeriesInstanceUID": ct["SeriesInstanceUID"],
            "SOPInstanceUID": None, "InstanceNumber": None, "SOPClassUID": None}
    result = find(qr_node, "study", "IMAGE", keys)
    assert_success(result, 3)
    assert uids(result.responses, "SOPInstanceUID") == images
    check_keys(result.responses, keys)
    check_values(result.responses, truth.images(), "SOPInstanceUID")

    keys["SOPInstanceUID"] = "\\".join(images[:2])
    result = find(qr_node, "study", "IMAGE", keys)
    assert_success(result, 2)
    assert uids(result.responses, "SOPInstanceUID") == images[:2]

    keys["SOPInstanceUID"] = None
    keys["InstanceNumber"] = "3"
    result = find(qr_node, "study", "IMAGE", keys)
    assert_success(result, 1)
    assert int(result.responses[0].InstanceNumber) == 3


def test_big_series_image_level(qr_node):
    truth = qr_node.truth
    series = truth.series_of("BIG")[0]
    keys = {"StudyInstanceUID": truth.uid_of["BIG"], "SeriesInstanceUID": series["SeriesInstanceUID"],
            "SOPInstanceUID": None, "InstanceNumber": None}
    result = find(qr_node, "study", "IMAGE", keys)
    assert_success(result, k_big_series_count)
    assert sorted(int(ds.InstanceNumber) for ds in result.responses) == list(range(1, k_big_series_count + 1))


def test_patient_study_only_model(qr_node):
    truth = qr_node.truth
    result = find(qr_node, "psonly", "PATIENT", {"PatientID": "PID-A", "PatientName": None,
                                                  "NumberOfPatientRelatedStudies": None})
    assert_success(result, 1)
    assert int(result.responses[0].NumberOfPatientRelatedStudies) == 2
    result = find(qr_node, "psonly", "STUDY", {"PatientID": "PID-A", "StudyInstanceUID": None, "StudyDate": None})
    assert_success(result, 2)
    assert uids(result.responses, "StudyInstanceUID") == study_keys(truth, "A", "D")
    check_values(result.responses, truth.studies(), "StudyInstanceUID")


# -- failures ----------------------------------------------------------------------------

def _failure_cases(truth):
    a = truth.uid_of["A"]
    b = truth.uid_of["B"]
    series_a = truth.series_of("A")[0]["SeriesInstanceUID"]
    return {
        "study-root-series-without-study-uid": ("study", [("QueryRetrieveLevel", "SERIES"), ("SeriesInstanceUID", None)]),
        "study-root-series-with-study-uid-list": ("study", [("QueryRetrieveLevel", "SERIES"),
                                                            ("StudyInstanceUID", a + "\\" + b),
                                                            ("SeriesInstanceUID", None)]),
        "study-root-series-with-wildcard-study-uid": ("study", [("QueryRetrieveLevel", "SERIES"),
                                                                ("StudyInstanceUID", "2.25.*"),
                                                                ("SeriesInstanceUID", None)]),
        "study-root-image-without-series-uid": ("study", [("QueryRetrieveLevel", "IMAGE"), ("StudyInstanceUID", a),
                                                          ("SOPInstanceUID", None)]),
        "study-root-patient-level": ("study", [("QueryRetrieveLevel", "PATIENT"), ("PatientID", None)]),
        "patient-root-study-without-patient-id": ("patient", [("QueryRetrieveLevel", "STUDY"),
                                                              ("StudyInstanceUID", None)]),
        "patient-root-study-with-wildcard-patient-id": ("patient", [("QueryRetrieveLevel", "STUDY"),
                                                                    ("PatientID", "PID-*"),
                                                                    ("StudyInstanceUID", None)]),
        "patient-root-series-without-study-uid": ("patient", [("QueryRetrieveLevel", "SERIES"), ("PatientID", "PID-A"),
                                                              ("SeriesInstanceUID", None)]),
        "patient-root-image-without-patient-id": ("patient", [("QueryRetrieveLevel", "IMAGE"), ("StudyInstanceUID", a),
                                                              ("SeriesInstanceUID", series_a), ("SOPInstanceUID", None)]),
        "psonly-series-level": ("psonly", [("QueryRetrieveLevel", "SERIES"), ("PatientID", "PID-A"),
                                           ("StudyInstanceUID", a), ("SeriesInstanceUID", None)]),
        "unknown-level": ("study", [("QueryRetrieveLevel", "FOO"), ("StudyInstanceUID", None)]),
        "missing-level": ("study", [("StudyInstanceUID", None), ("PatientName", "Doe*")]),
    }


# Still A900 without relational queries: lists and wildcards in a unique key above the
# level, a wildcard in a UID, levels the model does not have.
k_failure_cases = (
    "study-root-series-with-study-uid-list", "study-root-series-with-wildcard-study-uid",
    "study-root-patient-level", "patient-root-study-with-wildcard-patient-id",
    "psonly-series-level", "unknown-level", "missing-level")


def _lenient_cases(truth):
    """Missing unique keys above the level, answered as Orthanc and dcmqrscp do
    (PS3.4 C.4.1.2.2 semantics): case -> (model, level, keys, unique keyword, expected UIDs)."""
    a = truth.uid_of["A"]
    series_a = truth.series_of("A")[0]["SeriesInstanceUID"]
    images = truth.images().values()
    studies_of_a = sorted(u for u, s in truth.studies().items() if s["PatientID"] == "PID-A")
    return {
        "study-root-series-without-study-uid": (
            "study", "SERIES", {"SeriesInstanceUID": None}, "SeriesInstanceUID",
            sorted(truth.series())),
        "study-root-image-without-series-uid": (
            "study", "IMAGE", {"StudyInstanceUID": a, "SOPInstanceUID": None}, "SOPInstanceUID",
            sorted(r["SOPInstanceUID"] for r in images if r["StudyInstanceUID"] == a)),
        "patient-root-study-without-patient-id": (
            "patient", "STUDY", {"StudyInstanceUID": None}, "StudyInstanceUID",
            sorted(truth.studies())),
        "patient-root-series-without-study-uid": (
            "patient", "SERIES", {"PatientID": "PID-A", "SeriesInstanceUID": None}, "SeriesInstanceUID",
            sorted(u for u, s in truth.series().items() if s["StudyInstanceUID"] in studies_of_a)),
        "patient-root-image-without-patient-id": (
            "patient", "IMAGE", {"StudyInstanceUID": a, "SeriesInstanceUID": series_a, "SOPInstanceUID": None},
            "SOPInstanceUID", sorted(r["SOPInstanceUID"] for r in images if r["SeriesInstanceUID"] == series_a)),
    }


k_lenient_cases = ("study-root-series-without-study-uid", "study-root-image-without-series-uid",
                   "patient-root-study-without-patient-id", "patient-root-series-without-study-uid",
                   "patient-root-image-without-patient-id")


@pytest.mark.parametrize("case", k_lenient_cases)
def test_missing_higher_unique_keys_are_answered(qr_node, case):
    """An IMAGE query with StudyInstanceUID and no SeriesInstanceUID (Weasis, scripts,
    gateways) gets the study's instances, not A900."""
    model, level, keys, unique, want = _lenient_cases(qr_node.truth)[case]
    result = find(qr_node, model, level, keys)
    assert_success(result, len(want))
    assert uids(result.responses, unique) == want


@pytest.mark.parametrize("case", k_failure_cases)
def test_identifier_failures_a900(qr_node, case):
    model, keys = _failure_cases(qr_node.truth)[case]
    result = qr.findscu(qr_node.port, model, keys, called=qr_node.ae_title)
    assert result.final == qr.IDENTIFIER_MISMATCH, "{}: statuses {}\n{}".format(
        case, [hex(s) for s in result.statuses], result.output[-3000:])
    assert result.responses == [], "no pending response before a failure"
    assert qr_node.running()


def test_undecodable_charset_is_c000(qr_node):
    keys = [("QueryRetrieveLevel", "STUDY"), ("SpecificCharacterSet", "ISO_IR 999"),
            ("PatientName", "\u738b*".encode("utf-8")), ("StudyInstanceUID", None)]
    result = qr.findscu(qr_node.port, "study", keys, called=qr_node.ae_title)
    assert result.final == qr.UNABLE_TO_PROCESS, "statuses {}\n{}".format(
        [hex(s) for s in result.statuses], result.output[-3000:])
    assert result.responses == []
    assert qr_node.running()


# -- character sets ----------------------------------------------------------------------

@pytest.mark.parametrize("name,expected", [
    ("\u738b*", ("X1", "X2")),
    ("\u738b^\u5c0f\u6771", ("X1",)),
    ("\u674e*", ("F",)),
    ("\u5f35^\u8aa0\u5049", ("G",)),  # 張^誠偉: D5 5C inside
    ("Wang*", ("X1", "X2")),
])
def test_query_in_gb18030_raw_bytes(qr_node, name, expected):
    """findscu passes -k values as raw bytes: a GB18030 query."""
    keys = [("QueryRetrieveLevel", "STUDY"), ("SpecificCharacterSet", "GB18030"),
            ("PatientName", name.encode("gb18030")), ("StudyInstanceUID", None)]
    result = qr.findscu(qr_node.port, "study", keys, called=qr_node.ae_title)
    assert_success(result)
    assert uids(result.responses, "StudyInstanceUID") == study_keys(qr_node.truth, *expected)
    # The response is UTF-8 for an AE without a configured charset.
    for ds in result.responses:
        assert ds.SpecificCharacterSet == "ISO_IR 192"
    check_values(result.responses, qr_node.truth.studies(), "StudyInstanceUID")


def test_query_file_in_gb18030(qr_node, tmp_path):
    """A query file written by pydicom in GB18030, with 0x5C trail bytes in the value."""
    path = qr.query_file(str(tmp_path / "q.dcm"), [("QueryRetrieveLevel", "STUDY"),
                                                  ("PatientName", "\u738b^\u5c0f\u4e1c"),  # 王^小东
                                                  ("StudyInstanceUID", ""), ("StudyDescription", "")],
                         charset="GB18030")
    assert "\u738b^\u5c0f\u4e1c".encode("gb18030") in open(path, "rb").read()
    result = qr.findscu(qr_node.port, "study", [], called=qr_node.ae_title, query_file=path)
    assert_success(result, 1)
    assert uids(result.responses, "StudyInstanceUID") == study_keys(qr_node.truth, "X2")

    # 誠 is D5 5C in GB18030: the backslash byte must not split the value.
    path = qr.query_file(str(tmp_path / "q2.dcm"), [("QueryRetrieveLevel", "STUDY"),
                                                   ("PatientName", "\u5f35^\u8aa0*"), ("StudyInstanceUID", ""),
                                                   ("StudyDescription", "")],
                         charset="GB18030")
    assert b"\xd5\\" in open(path, "rb").read()
    result = qr.findscu(qr_node.port, "study", [], called=qr_node.ae_title, query_file=path)
    assert_success(result, 1)
    assert uids(result.responses, "StudyInstanceUID") == study_keys(qr_node.truth, "G")
    assert str(result.responses[0].StudyDescription) == k_specs["G"].description


def test_query_in_latin1(qr_node):
    keys = [("QueryRetrieveLevel", "STUDY"), ("SpecificCharacterSet", "ISO_IR 100"),
            ("PatientName", "M\u00fcller*".encode("latin-1")), ("StudyInstanceUID", None)]
    result = qr.findscu(qr_node.port, "study", keys, called=qr_node.ae_title)
    assert_success(result, 1)
    assert uids(result.responses, "StudyInstanceUID") == study_keys(qr_node.truth, "H")


def test_query_in_utf8(qr_node):
    keys = [("QueryRetrieveLevel", "STUDY"), ("SpecificCharacterSet", "ISO_IR 192"),
            ("PatientName", "\u738b^\u5c0f*"), ("StudyInstanceUID", None)]
    result = qr.findscu(qr_node.port, "study", keys, called=qr_node.ae_title)
    assert_success(result, 2)
    names = sorted(str(ds.PatientName).rstrip("=") for ds in result.responses)
    assert names == sorted([k_x1_name, k_x2_name])
    for ds in result.responses:
        assert ds.SpecificCharacterSet == "ISO_IR 192"


def test_response_charset_per_calling_ae(qr_node, tmp_path):
    """node.response_charsets: {GBVIEWER: GB18030}: responses in GB18030 for that AE."""
    keys = [("QueryRetrieveLevel", "STUDY"), ("PatientName", "Wang*"), ("StudyInstanceUID", None),
            ("StudyDescription", None)]
    out = str(tmp_path / "gb")
    os.makedirs(out)
    result = qr.findscu(qr_node.port, "study", keys, called=qr_node.ae_title, calling=k_gb_ae, workdir=out)
    assert_success(result, 2)
    names = sorted(str(ds.PatientName).rstrip("=") for ds in result.responses)
    assert names == sorted([k_x1_name, k_x2_name])
    raw = b"".join(open(os.path.join(out, f), "rb").read() for f in sorted(os.listdir(out)))
    for ds in result.responses:
        assert ds.SpecificCharacterSet == "GB18030"
    assert k_x1_name.encode("gb18030") in raw
    assert k_x1_name.encode("utf-8") not in raw

    # Chinese description of study F, stored in GB18030, back in GB18030.
    keys = [("QueryRetrieveLevel", "STUDY"), ("PatientID", "PID-F"), ("StudyDescription", None),
            ("PatientName", None)]
    result = qr.findscu(qr_node.port, "study", keys, called=qr_node.ae_title, calling=k_gb_ae)
    assert_success(result, 1)
    assert str(result.responses[0].StudyDescription) == k_specs["F"].description
    assert str(result.responses[0].PatientName).rstrip("=") == k_specs["F"].name

    # 0x5C trail bytes in a GB18030 response: the bytes must be the GB18030 encoding
    # (checked on the raw file: pydicom itself splits such values at the 0x5C byte).
    keys = [("QueryRetrieveLevel", "STUDY"), ("PatientID", "PID-G"), ("StudyDescription", None),
            ("PatientName", None)]
    out = str(tmp_path / "gb5c")
    os.makedirs(out)
    result = qr.findscu(qr_node.port, "study", keys, called=qr_node.ae_title, calling=k_gb_ae, workdir=out)
    assert_success(result, 1)
    assert result.responses[0].SpecificCharacterSet == "GB18030"
    raw = open(os.path.join(out, sorted(os.listdir(out))[0]), "rb").read()
    assert k_specs["G"].name.encode("gb18030") in raw
    assert k_specs["G"].description.encode("gb18030") in raw

    # Any other AE still gets UTF-8 (pydicom decodes UTF-8 with 0x5C-free bytes fine).
    result = qr.findscu(qr_node.port, "study", keys, called=qr_node.ae_title, calling="OTHERAE")
    assert_success(result, 1)
    assert result.responses[0].SpecificCharacterSet == "ISO_IR 192"
    assert str(result.responses[0].StudyDescription) == k_specs["G"].description
    assert str(result.responses[0].PatientName).rstrip("=") == k_specs["G"].name


# -- C-CANCEL ----------------------------------------------------------------------------

def _big_image_keys(truth):
    series = truth.series_of("BIG")[0]
    return {"StudyInstanceUID": truth.uid_of["BIG"], "SeriesInstanceUID": series["SeriesInstanceUID"],
            "SOPInstanceUID": None, "InstanceNumber": None}


def test_findscu_cancel(qr_node):
    result = find(qr_node, "study", "IMAGE", _big_image_keys(qr_node.truth), extra=["--cancel", "1"])
    assert result.final == qr.CANCEL, "statuses {}".format([hex(s) for s in result.statuses][-5:])
    assert 1 <= len(result.responses) < k_big_series_count
    # The association is still usable afterwards: a second query on a new one works.
    assert qr_node.echo().returncode == 0


def test_cancel_before_first_response(qr_node):
    """C-CANCEL sent right behind the C-FIND-RQ (dimse.py): the node stops and answers
    0xFE00 on the same association, which then still serves a C-FIND."""
    ds = pydicom.Dataset()
    ds.QueryRetrieveLevel = "IMAGE"
    for name, value in _big_image_keys(qr_node.truth).items():
        setattr(ds, name, value or "")
    with dimse.Association("127.0.0.1", qr_node.port, qr_node.ae_title, "CANCELSCU",
                           contexts=[(dimse.k_study_root_find, [dimse.k_explicit_le])]) as assoc:
        ctx, _ = assoc.context_for(dimse.k_study_root_find)
        responses = assoc.find(dimse.k_study_root_find, ds, cancel_after=0)
        assert responses[-1].status == qr.CANCEL, [hex(r.status) for r in responses[-3:]]
        assert len(responses) - 1 < k_big_series_count
        again = pydicom.Dataset()
        again.QueryRetrieveLevel = "STUDY"
        again.StudyInstanceUID = qr_node.truth.uid_of["B"]
        again.PatientName = ""
        responses = assoc.find(dimse.k_study_root_find, again)
        assert [r.status for r in responses] == [qr.PENDING, qr.SUCCESS]
        assert str(responses[0].identifier.PatientName) == "Doe^Jane"


# -- extended negotiation: combined date-time matching -----------------------------------

def _find_py(node, ds, ext_neg=None, model=dimse.k_study_root_find, calling="PYFIND"):
    with dimse.Association("127.0.0.1", node.port, node.ae_title, calling,
                           contexts=[(model, [dimse.k_explicit_le])], ext_neg=ext_neg) as assoc:
        responses = assoc.find(model, ds)
        return assoc.accepted_ext_neg, responses


def test_combined_datetime_matching(qr_node):
    """PS3.4 C.2.2.2.5 / C.5.1.1.2: with combined date-time matching negotiated, StudyDate
    20040101-20041231 and StudyTime 090000-120000 mean 2004-01-01 09:00 .. 2004-12-31
    12:00; without it, both ranges apply separately."""
    truth = qr_node.truth
    ds = pydicom.Dataset()
    ds.QueryRetrieveLevel = "STUDY"
    ds.StudyDate = "20040101-20041231"
    ds.StudyTime = "090000-120000"
    ds.StudyInstanceUID = ""
    accepted, responses = _find_py(qr_node, ds, ext_neg={dimse.k_study_root_find: bytes([0, 1])})
    info = accepted.get(dimse.k_study_root_find, b"")
    if len(info) < 2 or info[1] != 1:
        pytest.skip("the node did not accept combined date-time matching: {!r}".format(info))
    assert responses[-1].status == qr.SUCCESS
    got = sorted(str(r.identifier.StudyInstanceUID) for r in responses[:-1])
    assert got == study_keys(truth, "B", "C", "F", "CT_small", "MR_small", "BIG")

    accepted, responses = _find_py(qr_node, ds)
    assert responses[-1].status == qr.SUCCESS
    got = sorted(str(r.identifier.StudyInstanceUID) for r in responses[:-1])
    assert got == study_keys(truth, "F")



def test_relational_queries(qr_node):
    """PS3.4 C.4.1.2.2 / C.5.1.1.2 byte 0: once relational queries are agreed, a unique key
    above the level may hold a list of UIDs or (PatientID) a wildcard; without the
    agreement the same identifiers are A900."""
    truth = qr_node.truth
    a, b = truth.uid_of["A"], truth.uid_of["B"]
    ds = pydicom.Dataset()
    ds.QueryRetrieveLevel = "SERIES"
    ds.StudyInstanceUID = a + "\\" + b
    ds.SeriesInstanceUID = ""
    want = sorted(u for u, s in truth.series().items() if s["StudyInstanceUID"] in (a, b))
    accepted, responses = _find_py(qr_node, ds, ext_neg={dimse.k_study_root_find: bytes([1, 0])})
    assert accepted.get(dimse.k_study_root_find, b"")[:2] == b"\x01\x00"
    assert responses[-1].status == qr.SUCCESS
    assert sorted(str(r.identifier.SeriesInstanceUID) for r in responses[:-1]) == want

    accepted, responses = _find_py(qr_node, ds)
    assert [r.status for r in responses] == [qr.IDENTIFIER_MISMATCH]

    pr = pydicom.Dataset()
    pr.QueryRetrieveLevel = "STUDY"
    pr.PatientID = "PID-*"
    pr.StudyInstanceUID = ""
    want = sorted(u for u, s in truth.studies().items() if s["PatientID"].startswith("PID-"))
    accepted, responses = _find_py(qr_node, pr, ext_neg={dimse.k_patient_root_find: bytes([1])},
                                   model=dimse.k_patient_root_find)
    assert accepted.get(dimse.k_patient_root_find, b"") == b"\x01"
    assert responses[-1].status == qr.SUCCESS
    assert sorted(str(r.identifier.StudyInstanceUID) for r in responses[:-1]) == want

    # A wildcard in a UID is never a match (UI has no wildcards, C.2.2.2.2).
    ds.StudyInstanceUID = "2.25.*"
    accepted, responses = _find_py(qr_node, ds, ext_neg={dimse.k_study_root_find: bytes([1, 0])})
    assert [r.status for r in responses] == [qr.IDENTIFIER_MISMATCH]


# -- an independent client: odil ---------------------------------------------------------

def _odil_find(node, root, keys):
    cmd = ["odil", "find", "127.0.0.1", str(node.port), "ODILSCU", node.ae_title, root] + keys
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
                          encoding="utf-8", errors="replace")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def _odil_values(output, label):
    return sorted(re.findall(r"^{}\s+\S+ \S\S \['([^']*)'\]".format(re.escape(label)), output, re.M))


@pytest.mark.skipif(shutil.which("odil") is None, reason="odil CLI not installed (apt-get install odil)")
def test_odil_find_gives_the_same_studies(qr_node):
    truth = qr_node.truth
    out = _odil_find(qr_node, "study", ["QueryRetrieveLevel=STUDY", "StudyInstanceUID", "PatientName",
                                        "NumberOfStudyRelatedInstances"])
    assert _odil_values(out, "Study Instance UID") == sorted(truth.studies())
    count = int(re.match(r"(\d+) answers?", out).group(1))
    assert count == len(truth.studies())
    names = _odil_values(out, "Patient's Name")
    assert sum(1 for n in names if n.rstrip("=") in (k_x1_name, k_x2_name)) == 2

    fcu = qr.findscu(qr_node.port, "study", [("QueryRetrieveLevel", "STUDY"), ("StudyInstanceUID", None)],
                     called=qr_node.ae_title)
    assert_success(fcu)
    assert uids(fcu.responses, "StudyInstanceUID") == _odil_values(out, "Study Instance UID")

    out = _odil_find(qr_node, "patient", ["QueryRetrieveLevel=PATIENT", "PatientID", "PatientName=Wang*"])
    assert _odil_values(out, "Patient ID") == ["X1EXAMPLE", "X2EXAMPLE"]
