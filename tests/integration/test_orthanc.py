# SPDX-License-Identifier: MIT
"""Interoperability with a real Orthanc (Debian's `orthanc`, run as a plain process).

- movescu asks cloudfilm to C-MOVE the mixed-syntax study (test_retrieve.py's) to ORTHANC;
  Orthanc's REST API must then list every instance, and each file Orthanc stored must
  have the original's pixels (and, for compressed syntaxes Orthanc accepts, the very same
  PixelData bytes: cloudfilm sends what it stored).
- Orthanc as the SCU: its REST API queries cloudfilm (C-FIND, with a Chinese name in
  GB18030 stored data) and retrieves the result (C-MOVE to itself).

Skipped when /usr/sbin/Orthanc is missing (apt-get install orthanc).
"""

import os

import pydicom
import pytest

import orthanc
import qr
from conftest import NodeFactory, rename_status, stage

pytestmark = pytest.mark.skipif(not orthanc.installed(), reason="Orthanc not installed (apt-get install orthanc)")

k_seed = 77
k_chr_x2 = os.path.join(qr.k_charset_files, "chrX2.dcm")
k_chr_x2_name = "Wang^XiaoDong=\u738b^\u5c0f\u4e1c"  # 王^小东


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """(cloudfilm node, Orthanc), each knowing the other as a DICOM peer."""
    base = tmp_path_factory.mktemp("orthanc")
    factory = NodeFactory(base)
    node = factory("cf")
    peer = orthanc.Orthanc(str(base / "orthanc"), peers={"cloudfilm": (node.ae_title, node.port)})
    node.config["modalities"] = {"orthanc": {"ae": peer.ae_title, "host": "127.0.0.1", "port": peer.dicom_port}}
    node.write_config()
    node.start()
    try:
        peer.start()
    except AssertionError:
        factory.close()
        raise
    yield node, peer
    peer.stop()
    factory.close()


@pytest.fixture(scope="module")
def stored(pair, tmp_path_factory):
    node, _ = pair
    out = str(tmp_path_factory.mktemp("mixed-orthanc"))
    study_uid, series = qr.make_mixed_study(out, k_seed)
    failures = qr.store_mixed(node, series, out)
    assert not failures, failures
    staged = stage([k_chr_x2], os.path.join(out, "stage-x2"))
    proc = node.storescu(staged, ts_option="-xe")
    assert rename_status(staged[0]) == "done", proc.stdout + proc.stderr
    originals = {}
    for s in series:
        for path in s.files:
            originals[str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)] = path
    return study_uid, series, qr.reference_pixels(series), originals


def _orthanc_study(peer, study_uid):
    for sid in peer.get("/studies"):
        info = peer.get("/studies/{}".format(sid))
        if info["MainDicomTags"].get("StudyInstanceUID") == study_uid:
            return sid, info
    return None, None


def test_move_mixed_study_to_orthanc(pair, stored, tmp_path):
    node, peer = pair
    study_uid, series, reference, originals = stored
    keys = [("QueryRetrieveLevel", "STUDY"), ("StudyInstanceUID", study_uid)]
    result = qr.movescu(node.port, "study", keys, peer.ae_title, called=node.ae_title)
    assert result.final == qr.SUCCESS, "statuses {}\n{}\n--- Orthanc log ---\n{}".format(
        [hex(s) for s in result.statuses][-5:], result.output[-3000:], peer.log()[-3000:])
    counts = qr.response_counts(result.output, "C-MOVE RSP")
    assert counts[-1][1:3] == (len(reference), 0), counts[-1]

    sid, info = _orthanc_study(peer, study_uid)
    assert sid is not None, "Orthanc has no study {}".format(study_uid)
    assert len(info["Series"]) == len(series)
    instances = peer.get("/studies/{}/instances".format(sid))
    by_sop = {i["MainDicomTags"]["SOPInstanceUID"]: i["ID"] for i in instances}
    assert set(by_sop) == set(reference), "missing in Orthanc: {}".format(sorted(set(reference) - set(by_sop))[:5])
    assert peer.get("/statistics")["CountInstances"] >= len(reference)

    out = tmp_path / "from-orthanc"
    out.mkdir()
    for sop, oid in by_sop.items():
        raw = peer.get_raw("/instances/{}/file".format(oid))
        path = str(out / (sop + ".dcm"))
        with open(path, "wb") as f:
            f.write(raw)
        received = pydicom.dcmread(path)
        original = pydicom.dcmread(originals[sop])
        assert str(received.SOPInstanceUID) == sop
        original_ts = str(original.file_meta.TransferSyntaxUID)
        if original_ts not in qr.k_uncompressed:
            # Orthanc accepts every compressed syntax here, so nothing was transcoded.
            assert str(received.file_meta.TransferSyntaxUID) == original_ts, sop
            assert bytes(received.PixelData) == bytes(original.PixelData), sop
        assert qr.same_pixels(qr.pixels(path), reference[sop]), "{}: pixels differ in Orthanc's copy".format(sop)


def test_orthanc_queries_and_retrieves_from_cloudfilm(pair, stored):
    """Orthanc's own SCU against cloudfilm: C-FIND of a name stored in GB18030, then a
    C-MOVE of the answer to Orthanc itself."""
    node, peer = pair
    query = peer.post("/modalities/cloudfilm/query", {
        "Level": "Study", "Query": {"PatientName": "Wang*", "StudyInstanceUID": "", "ModalitiesInStudy": ""}})
    answers = peer.get("/queries/{}/answers?expand".format(query["ID"]))
    names = [a.get("0010,0010", {}).get("Value", "") for a in answers]
    assert [n.rstrip("=") for n in names] == [k_chr_x2_name], answers
    study_uid = answers[0]["0020,000d"]["Value"]
    assert study_uid == str(pydicom.dcmread(k_chr_x2, stop_before_pixels=True).StudyInstanceUID)

    peer.post("/queries/{}/retrieve".format(query["ID"]), peer.ae_title.encode("ascii"), timeout=120)
    sid, info = _orthanc_study(peer, study_uid)
    assert sid is not None, "retrieved study not in Orthanc:\n" + peer.log()[-3000:]
    patient = peer.get("/studies/{}/patient".format(sid))
    assert patient["MainDicomTags"]["PatientName"].rstrip("=") == k_chr_x2_name
    assert patient["MainDicomTags"]["PatientID"] == "X2EXAMPLE"
