# SPDX-License-Identifier: MIT
"""cloudfilm fetch from a DICOMweb server: a real Orthanc with Debian's DICOMweb plugin.

A study stored into Orthanc over its REST API must come back through QIDO-RS + WADO-RS
with every instance identical to the original (same dataset, same pixel data).
"""

import os
import urllib.request

import pydicom
import pytest

import orthanc as orthanc_mod

k_plugin = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"
k_data = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")


def _dicomweb_orthanc(tmp_path):
    if not orthanc_mod.installed() or not os.path.isfile(k_plugin):
        pytest.skip("orthanc and orthanc-dicomweb are needed (apt-get install orthanc orthanc-dicomweb)")
    server = orthanc_mod.Orthanc(str(tmp_path / "orthanc"), extra={
        "Plugins": [k_plugin],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "StudiesMetadata": "Full"},
    })
    return server.start()


def _upload(server, path):
    with open(path, "rb") as f:
        body = f.read()
    req = urllib.request.Request(server.url("/instances"), data=body, method="POST",
                                 headers={"Content-Type": "application/dicom"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        assert resp.status == 200


def _same_instance(original, stored):
    a = pydicom.dcmread(original)
    b = pydicom.dcmread(stored)
    assert a.SOPInstanceUID == b.SOPInstanceUID
    assert a.file_meta.TransferSyntaxUID == b.file_meta.TransferSyntaxUID
    for elem in a:
        assert elem.tag in b, "{} lost".format(elem.tag)
        assert b[elem.tag].value == elem.value, "{} differs".format(elem.tag)


@pytest.fixture
def dicomweb(tmp_path):
    server = _dicomweb_orthanc(tmp_path)
    yield server
    server.stop()


def test_a_study_comes_back_identical(node_factory, dicomweb):
    # Three real files of one study, one of them compressed (JPEG 2000 lossless).
    originals = [os.path.join(k_data, name) for name in
                 ("MR_small.dcm", "MR_small_jp2klossless.dcm", "MR_small_RLE.dcm")]
    # pydicom ships them as the same instance in three syntaxes: give each its own UIDs.
    staged = []
    for k, path in enumerate(originals):
        ds = pydicom.dcmread(path)
        ds.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.77"
        ds.SeriesInstanceUID = "1.2.826.0.1.3680043.8.498.77.{}".format(k + 1)
        ds.SOPInstanceUID = "1.2.826.0.1.3680043.8.498.77.{}.1".format(k + 1)
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        out = os.path.join(dicomweb.workdir, "in{}.dcm".format(k))
        ds.save_as(out, write_like_original=True)
        staged.append(out)
        _upload(dicomweb, out)

    node = node_factory("dicomweb")
    url = "dicomweb+http://127.0.0.1:{}/dicom-web".format(dicomweb.http_port)
    result = node.cli("fetch", url, "--study", "1.2.826.0.1.3680043.8.498.77")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 stored" in result.stdout, result.stdout

    index = node.index()
    for path in staged:
        uid = str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)
        assert uid in index, "{} not fetched".format(uid)
        _same_instance(path, index[uid]["path"])

    # Fetching again finds everything already stored (resume).
    again = node.cli("fetch", url, "--study", "1.2.826.0.1.3680043.8.498.77")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 stored, 3 already stored" in again.stdout, again.stdout

    # A QIDO-RS query in the link finds the study too.
    query = node.cli("fetch", url + "?StudyInstanceUID=1.2.826.0.1.3680043.8.498.77")
    assert query.returncode == 0, query.stdout + query.stderr


def test_an_unknown_study_is_one_clear_error(node_factory, dicomweb):
    node = node_factory("dicomweb-missing")
    url = "dicomweb+http://127.0.0.1:{}/dicom-web".format(dicomweb.http_port)
    result = node.cli("fetch", url, "--study", "1.2.3.4.5.6.7")
    assert result.returncode == 1
    errors = [l for l in result.stderr.splitlines() if l.startswith("cloudfilm: fetch:")]
    assert len(errors) == 1, result.stderr
    assert "not on the server" in errors[0], errors[0]


def test_unsupported_links_list_the_platforms(node_factory):
    node = node_factory("unsupported")
    result = node.cli("fetch", "https://example.com/share/123")
    assert result.returncode == 2
    assert "supported platforms" in result.stderr and "hinacom" in result.stderr
    listing = node.cli("fetch", "--list-platforms")
    assert listing.returncode == 0
    for name in ("hinacom", "cq12320", "jdyfy", "dicomweb"):
        assert name in listing.stdout
