# SPDX-License-Identifier: MIT
"""cloudfilm as a DICOMweb origin server (PS3.18) against pydicom's test files: QIDO-RS
(matching, paging, 204, includefield, Chinese names in the Alphabetic group), WADO-RS
instances (stored syntax byte for byte with transfer-syntax=*, Explicit VR Little Endian
pixel for pixel by default, 406), metadata (DICOM JSON that pydicom reads back), frames
(native and compressed, bare codestreams), and a real Orthanc pulling a study through its
DICOMweb client plugin."""

import email.parser
import email.policy
import http.client
import io
import json
import os
import time
import urllib.request

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.encaps import generate_pixel_data_frame

import orthanc as orthanc_mod
from test_api import Api, chinese_copy

k_plugin = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"
k_files = ["CT_small.dcm", "MR_small_jp2klossless.dcm", "rtdose_rle.dcm", "MR_small_RLE.dcm", "rtdose.dcm"]
k_j2k = "1.2.840.10008.1.2.4.90"
k_ele = "1.2.840.10008.1.2.1"


def get(api, path, accept=None):
    headers = {"Accept": accept} if accept else {}
    return api.request("GET", path, headers=headers)


def parts(headers, body):
    """[(part headers, payload)] of a multipart/related answer."""
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + headers["content-type"].encode() + b"\r\n\r\n" + body)
    assert msg.is_multipart(), headers["content-type"]
    return [(p, p.get_payload(decode=True)) for p in msg.iter_parts()]


@pytest.fixture
def web(node_factory, tmp_path):
    node = node_factory("dicomweb-origin").start()
    api = Api(node.http_port)
    zh = chinese_copy(get_testdata_file("CT_small.dcm"), str(tmp_path / "zh.dcm"), name="王^伟", uid_seed="31")
    files = {}
    for i, name in enumerate(k_files):
        # Copies with a meta header that agrees with the data set (rtdose_rle.dcm's does not)
        # and UIDs of their own.
        d = pydicom.dcmread(get_testdata_file(name))
        if name != "CT_small.dcm":  # the MR_small and the rtdose files share their UIDs
            d.SOPInstanceUID = "1.2.826.0.1.3680043.9.9999.81.{}".format(i)
            d.SeriesInstanceUID = "1.2.826.0.1.3680043.9.9999.82.{}".format(i)
        d.file_meta.MediaStorageSOPInstanceUID = d.SOPInstanceUID
        files[name] = str(tmp_path / name)
        d.save_as(files[name], write_like_original=True)
    files["zh"] = zh
    for path in files.values():
        with open(path, "rb") as f:
            doc = api.json("POST", "/api/instances", body=f.read(), headers={"Content-Type": "application/dicom"})
        assert doc["imported"] == 1, (path, doc)
    return node, api, {k: pydicom.dcmread(v) for k, v in files.items()}, files


def uids(ds):
    return str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID), str(ds.SOPInstanceUID)


def test_qido_studies_match_page_and_keep_chinese(web):
    node, api, ds, _ = web
    status, headers, body = get(api, "/dicom-web/studies", "application/dicom+json")
    assert status == 200 and headers["content-type"] == "application/dicom+json"
    studies = json.loads(body)
    assert len(studies) == len({str(d.StudyInstanceUID) for d in ds.values()})
    zh = [s for s in studies if s["0020000D"]["Value"][0] == str(ds["zh"].StudyInstanceUID)][0]
    assert zh["00100010"] == {"vr": "PN", "Value": [{"Alphabetic": "王^伟"}]}  # Annex F.2.2
    assert zh["00080005"]["Value"] == ["ISO_IR 192"]
    assert zh["00201208"]["Value"] == [1] and zh["00081190"]["Value"][0].endswith(str(ds["zh"].StudyInstanceUID))
    # Matching like C-FIND, by keyword or tag; UID lists with commas.
    assert len(json.loads(get(api, "/dicom-web/studies?PatientName=%E7%8E%8B*")[2])) == 1
    assert len(json.loads(get(api, "/dicom-web/studies?00100010=%E7%8E%8B*")[2])) == 1
    two = "{},{}".format(ds["zh"].StudyInstanceUID, ds["CT_small.dcm"].StudyInstanceUID)
    assert len(json.loads(get(api, "/dicom-web/studies?StudyInstanceUID=" + two)[2])) == 2
    # Paging (8.3.4.4): limit with a Warning, offset, and 204 when nothing matches.
    status, headers, body = get(api, "/dicom-web/studies?limit=1")
    assert status == 200 and len(json.loads(body)) == 1 and "additional results" in headers["warning"]
    assert get(api, "/dicom-web/studies?PatientName=Nobody*")[0] == 204
    assert get(api, "/dicom-web/studies?offset=1000")[0] == 204
    assert get(api, "/dicom-web/studies?NoSuchKeyword=1")[0] == 400
    # includefield: asked attributes come back (8.3.4.3), all with "all".
    one = json.loads(get(api, "/dicom-web/studies?includefield=00081030&StudyInstanceUID={}".format(
        ds["zh"].StudyInstanceUID))[2])[0]
    assert one["00081030"]["Value"] == ["胸部CT 平扫"]
    allf = json.loads(get(api, "/dicom-web/studies?includefield=all&limit=1")[2])[0]
    assert "00080062" in allf


def test_qido_series_and_instances(web):
    node, api, ds, _ = web
    d = ds["rtdose_rle.dcm"]
    study, series, sop = uids(d)
    got = json.loads(get(api, "/dicom-web/studies/{}/series".format(study))[2])
    assert sorted(s["0020000E"]["Value"][0] for s in got) == sorted(
        {str(x.SeriesInstanceUID) for x in ds.values() if str(x.StudyInstanceUID) == study})
    assert [s for s in got if s["0020000E"]["Value"][0] == series][0]["00080060"]["Value"] == [d.Modality]
    inst = json.loads(get(api, "/dicom-web/studies/{}/series/{}/instances".format(study, series))[2])
    mine = [i for i in inst if i["00080018"]["Value"][0] == sop]
    assert len(mine) == 1
    assert mine[0]["00280008"]["Value"] == [int(d.NumberOfFrames)]
    assert mine[0]["00280010"]["Value"] == [d.Rows]
    every = json.loads(get(api, "/dicom-web/instances")[2])
    assert len(every) == len(ds)
    assert len(json.loads(get(api, "/dicom-web/series?Modality=CT")[2])) == 2
    assert get(api, "/dicom-web/studies/../series")[0] == 400


def test_wado_instances_as_stored_and_as_explicit_le(web):
    node, api, ds, files = web
    for name in ("CT_small.dcm", "MR_small_jp2klossless.dcm", "MR_small_RLE.dcm"):
        study, series, sop = uids(ds[name])
        path = "/dicom-web/studies/{}/series/{}/instances/{}".format(study, series, sop)
        status, headers, body = get(api, path, 'multipart/related; type="application/dicom"; transfer-syntax=*')
        assert status == 200, body[:300]
        (part, payload), = parts(headers, body)
        stored_ts = str(ds[name].file_meta.TransferSyntaxUID)
        assert part.get_content_type() == "application/dicom" and part.get_param("transfer-syntax") == stored_ts
        got = pydicom.dcmread(io.BytesIO(payload))
        assert str(got.SOPInstanceUID) == sop and str(got.file_meta.TransferSyntaxUID) == stored_ts
        assert got.PixelData == ds[name].PixelData  # the stored pixel data, untouched
        # No transfer-syntax parameter: Explicit VR Little Endian (8.7.3.3.1), pixel for pixel.
        status, headers, body = get(api, path, 'multipart/related; type="application/dicom"')
        (part, payload), = parts(headers, body)
        le = pydicom.dcmread(io.BytesIO(payload))
        assert str(le.file_meta.TransferSyntaxUID) == k_ele
        assert np.array_equal(le.pixel_array, ds[name].pixel_array), name
    # A whole study, and a single application/dicom part.
    study, series, sop = uids(ds["CT_small.dcm"])
    status, headers, body = get(api, "/dicom-web/studies/" + study)
    assert status == 200 and len(parts(headers, body)) == 1
    status, headers, body = get(api, "/dicom-web/studies/{}/series/{}/instances/{}".format(study, series, sop),
                                "application/dicom")
    assert status == 200 and headers["content-type"] == "application/dicom"
    assert pydicom.dcmread(io.BytesIO(body)).SOPInstanceUID == sop
    assert get(api, "/dicom-web/studies/" + study, "image/png")[0] == 406
    assert get(api, "/dicom-web/studies/1.2.3.4")[0] == 404


def test_metadata_is_dicom_json_pydicom_reads(web):
    node, api, ds, _ = web
    for name in ("zh", "MR_small_jp2klossless.dcm"):
        study, series, sop = uids(ds[name])
        status, headers, body = get(api, "/dicom-web/studies/{}/series/{}/metadata".format(study, series))
        assert status == 200 and headers["content-type"] == "application/dicom+json"
        doc = json.loads(body.decode("utf-8"))
        assert len(doc) == 1
        keys = list(doc[0])
        assert keys == sorted(keys)  # ascending tags (F.2.2)
        assert doc[0]["7FE00010"]["BulkDataURI"].endswith("/instances/{}/bulk/7FE00010".format(sop))
        back = pydicom.Dataset.from_json(doc[0], bulk_data_uri_handler=lambda *a: b"")
        assert back.SOPInstanceUID == sop and back.Rows == ds[name].Rows
        assert str(back.PatientName) == str(ds[name].PatientName)
    zh = json.loads(get(api, "/dicom-web/studies/{}/metadata".format(ds["zh"].StudyInstanceUID))[2])
    assert zh[0]["00100010"]["Value"] == [{"Alphabetic": "王^伟"}]
    assert zh[0]["00081030"]["Value"] == ["胸部CT 平扫"]


def test_frames_native_and_compressed(web):
    node, api, ds, _ = web
    # Native: frame bytes are the Pixel Data slice.
    d = ds["rtdose.dcm"]
    study, series, sop = uids(d)
    base = "/dicom-web/studies/{}/series/{}/instances/{}".format(study, series, sop)
    status, headers, body = get(api, base + "/frames/2,3",
                                "multipart/related; type=application/octet-stream; transfer-syntax=*")
    assert status == 200, body[:200]
    got = parts(headers, body)
    size = d.Rows * d.Columns * d.BitsAllocated // 8
    assert [p for _, p in got] == [d.PixelData[size:2 * size], d.PixelData[2 * size:3 * size]]
    assert got[0][0].get_content_type() == "application/octet-stream"
    assert got[0][0].get_param("transfer-syntax") == str(d.file_meta.TransferSyntaxUID)
    assert get(api, base + "/frames/99")[0] == 404
    assert get(api, base + "/frames/0")[0] == 400
    # Compressed, multi-frame: one frame per part, without fragment delimiters, typed for the
    # decoder (OHIF reads the part's transfer-syntax).
    d = ds["rtdose_rle.dcm"]
    study, series, sop = uids(d)
    base = "/dicom-web/studies/{}/series/{}/instances/{}".format(study, series, sop)
    status, headers, body = get(api, base + "/frames/1,4",
                                "multipart/related; type=application/octet-stream; transfer-syntax=*")
    got = parts(headers, body)
    stored = list(generate_pixel_data_frame(d.PixelData, int(d.NumberOfFrames)))
    assert got[0][0].get_content_type() == "image/dicom-rle"
    assert got[0][0].get_param("transfer-syntax") == "1.2.840.10008.1.2.5"
    assert [p for _, p in got] == [stored[0], stored[3]]
    # Without transfer-syntax=*: decoded to native frames, pixel for pixel.
    status, headers, body = get(api, base + "/frames/4", "multipart/related; type=application/octet-stream")
    (part, payload), = parts(headers, body)
    assert part.get_content_type() == "application/octet-stream" and part.get_param("transfer-syntax") == k_ele
    assert payload == d.pixel_array[3].astype(d.pixel_array.dtype.newbyteorder("<")).tobytes()
    # Bulk data of the whole Pixel Data: every frame.
    status, headers, body = get(api, base + "/bulk/7FE00010", "multipart/related; type=application/octet-stream; "
                                "transfer-syntax=*")
    assert status == 200 and len(parts(headers, body)) == int(d.NumberOfFrames)
    # JPEG 2000: a bare codestream (SOC first), what the stored fragment holds.
    d = ds["MR_small_jp2klossless.dcm"]
    study, series, sop = uids(d)
    status, headers, body = get(api, "/dicom-web/studies/{}/series/{}/instances/{}/frames/1".format(study, series, sop),
                                "multipart/related; type=application/octet-stream; transfer-syntax=*")
    (part, payload), = parts(headers, body)
    assert part.get_content_type() == "image/jp2" and part.get_param("transfer-syntax") == k_j2k
    assert payload[:2] == b"\xff\x4f"
    frame = next(generate_pixel_data_frame(d.PixelData, 1))
    assert payload == frame or payload == frame[:-1]


def test_orthanc_pulls_a_study_through_dicomweb(web, tmp_path):
    if not orthanc_mod.installed() or not os.path.isfile(k_plugin):
        pytest.skip("orthanc and orthanc-dicomweb are needed")
    node, api, ds, _ = web
    server = orthanc_mod.Orthanc(str(tmp_path / "orthanc"), extra={
        "Plugins": [k_plugin],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/",
                     "Servers": {"cf": ["http://127.0.0.1:{}/dicom-web/".format(node.http_port)]}},
    }).start()
    try:
        study = str(ds["rtdose_rle.dcm"].StudyInstanceUID)
        found = server.post("/dicom-web/servers/cf/qido", {"Uri": "/studies", "Arguments": {}})
        assert study in json.dumps(found)
        server.post("/dicom-web/servers/cf/retrieve", {"Resources": [{"Study": study}]})
        instances = server.get("/instances?expand")
        got = {i["MainDicomTags"]["SOPInstanceUID"] for i in instances}
        want = {str(x.SOPInstanceUID) for x in ds.values() if str(x.StudyInstanceUID) == study}
        assert want <= got, (want, got)
    finally:
        server.stop()


# -- the viewer in headless Chromium -------------------------------------------------------

def test_viewer_renders_stored_studies(node_factory, tmp_path):
    """OHIF (scripts/fetch-viewer.sh puts it beside the binary) opens a generated CT series and a
    JPEG 2000 MR with a Chinese name over this node's DICOMweb, and draws real pixels."""
    import shutil
    import subprocess
    import make_ct_series
    from conftest import cloudfilm_bin
    viewer = os.path.join(os.path.dirname(os.path.abspath(cloudfilm_bin())), "ohif")
    browser_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "browser")
    if not os.path.isfile(os.path.join(viewer, "index.html")):
        if os.environ.get("CF_ALLOW_MISSING_VIEWER") == "1":
            pytest.skip("no viewer at {} (scripts/fetch-viewer.sh)".format(viewer))
        pytest.fail("no viewer at {}: run scripts/fetch-viewer.sh (scripts/test.sh does)".format(viewer))
    if not shutil.which("chromium") or not shutil.which("node"):
        pytest.fail("chromium or node missing (scripts/setup-deps.sh --test installs them)")
    if not os.path.isdir(os.path.join(browser_dir, "node_modules", "playwright-core")):
        r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=browser_dir, timeout=300,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert r.returncode == 0, r.stdout.decode("utf-8", "replace")
    node = node_factory("viewer").start()
    api = Api(node.http_port)
    assert api.json("GET", "/api/system")["viewer"] is True
    status, headers, body = api.request("GET", "/app-config.js")
    assert status == 200 and b"/dicom-web" in body
    assert api.request("GET", "/viewer")[0] == 200  # OHIF's route: its index.html
    wasm = [f for f in os.listdir(viewer) if f.endswith(".wasm")][0]
    assert api.request("GET", "/" + wasm)[1]["content-type"] == "application/wasm"
    assert api.request("GET", "/.version")[0] == 404
    series = make_ct_series.make_series(str(tmp_path / "ct"), count=12, seed=41, size=128)
    for path in series:
        with open(path, "rb") as f:
            api.json("POST", "/api/instances", body=f.read(), headers={"Content-Type": "application/dicom"})
    mr = pydicom.dcmread(get_testdata_file("MR_small_jp2klossless.dcm"))
    mr.PatientName = "Li^Si=李^四"
    mr.SpecificCharacterSet = "ISO_IR 192"
    mr.StudyInstanceUID = "1.2.826.0.1.3680043.9.9999.91.1"
    mr.SeriesInstanceUID = "1.2.826.0.1.3680043.9.9999.92.1"
    mr.SOPInstanceUID = "1.2.826.0.1.3680043.9.9999.93.1"
    mr.file_meta.MediaStorageSOPInstanceUID = mr.SOPInstanceUID
    mr_path = str(tmp_path / "mr.dcm")
    mr.save_as(mr_path, write_like_original=False)
    with open(mr_path, "rb") as f:
        api.json("POST", "/api/instances", body=f.read(), headers={"Content-Type": "application/dicom"})
    ct_study = str(pydicom.dcmread(series[0], stop_before_pixels=True).StudyInstanceUID)
    shots = tmp_path / "screenshots"
    env = dict(os.environ, CF_HTTP_URL="http://127.0.0.1:{}".format(node.http_port),
               CF_STUDY_UIDS="{},{}".format(ct_study, mr.StudyInstanceUID), CF_SCREENSHOTS=str(shots))
    r = subprocess.run(["node", "--test", "viewer.test.js"], cwd=browser_dir, env=env, timeout=600,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = r.stdout.decode("utf-8", "replace")
    assert r.returncode == 0 and "# fail 0" in out, out[-6000:] + "\n--- node log ---\n" + node.log()[-3000:]
    assert sorted(os.listdir(shots)) == ["viewer-1.png", "viewer-2.png"]


# -- STOW-RS --------------------------------------------------------------------------------

def multipart_body(payloads, boundary="cfSTOWboundary"):
    out = b""
    for content_type, payload in payloads:
        out += b"--" + boundary.encode() + b"\r\nContent-Type: " + content_type.encode() + b"\r\n\r\n"
        out += payload + b"\r\n"
    return out + b"--" + boundary.encode() + b"--\r\n", \
        'multipart/related; type="application/dicom"; boundary=' + boundary


def test_stow_stores_parts_and_reports_failures(node_factory, tmp_path):
    node = node_factory("stow").start()
    api = Api(node.http_port)
    ct = open(get_testdata_file("CT_small.dcm"), "rb").read()
    mr = open(get_testdata_file("MR_small.dcm"), "rb").read()
    body, ctype = multipart_body([("application/dicom", ct), ("application/dicom", mr),
                                  ("application/dicom", b"not a dicom file at all")])
    status, headers, data = api.request("POST", "/dicom-web/studies", body=body, headers={"Content-Type": ctype})
    assert status == 202, data  # PS3.18 Table 10.5.3-1: some failed
    doc = json.loads(data)
    refs = doc["00081199"]["Value"]
    assert sorted(r["00081155"]["Value"][0] for r in refs) == sorted(
        [uids(pydicom.dcmread(get_testdata_file(n)))[2] for n in ("CT_small.dcm", "MR_small.dcm")])
    assert refs[0]["00081190"]["Value"][0].startswith("/dicom-web/studies/")
    assert [f["00081197"]["Value"] for f in doc["00081198"]["Value"]] == [[0xC000]]
    assert len(node.index()) == 2
    # Into a named study: an instance of another study is refused with A900 and not stored.
    other = chinese_copy(get_testdata_file("CT_small.dcm"), str(tmp_path / "zh.dcm"), uid_seed="55")
    body, ctype = multipart_body([("application/dicom", open(other, "rb").read())])
    status, _, data = api.request("POST", "/dicom-web/studies/1.2.3.4", body=body, headers={"Content-Type": ctype})
    assert status == 409 and json.loads(data)["00081198"]["Value"][0]["00081197"]["Value"] == [0xA900]
    assert len(node.index()) == 2
    status, _, _ = api.request("POST", "/dicom-web/studies", body=b"x", headers={"Content-Type": "application/json"})
    assert status == 415
    assert api.request("POST", "/dicom-web/studies", body=b"--x--\r\n",
                       headers={"Content-Type": "multipart/related; boundary=nothere"})[0] == 400


def test_orthanc_stores_a_study_here_with_stow(node_factory, tmp_path):
    if not orthanc_mod.installed() or not os.path.isfile(k_plugin):
        pytest.skip("orthanc and orthanc-dicomweb are needed")
    node = node_factory("stow-orthanc").start()
    server = orthanc_mod.Orthanc(str(tmp_path / "orthanc"), extra={
        "Plugins": [k_plugin],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/",
                     "Servers": {"cf": ["http://127.0.0.1:{}/dicom-web/".format(node.http_port)]}},
    }).start()
    try:
        for name in ("CT_small.dcm", "MR_small_jp2klossless.dcm"):
            with open(get_testdata_file(name), "rb") as f:
                req = urllib.request.Request(server.url("/instances"), data=f.read(), method="POST",
                                             headers={"Content-Type": "application/dicom"})
                with urllib.request.urlopen(req, timeout=60) as resp:
                    assert resp.status == 200
        studies = server.get("/studies")
        server.post("/dicom-web/servers/cf/stow", {"Resources": studies})
        want = {uids(pydicom.dcmread(get_testdata_file(n)))[2] for n in ("CT_small.dcm", "MR_small_jp2klossless.dcm")}
        assert set(node.index()) == want
    finally:
        server.stop()
