# SPDX-License-Identifier: MIT
"""The HTTP side of `cloudfilm serve` (docs/api.md) against the real binary: every documented
route answered, the study list matched like C-FIND, files and zip exports byte for byte, delete,
uploads (DICOM, zip, too large, truncated), fetch jobs against the Hinacom replica with their
events, forwarding to a storage SCP, the security defaults (Host, Origin, auth), and the page
in headless Chromium (tests/browser) when chromium and the npm packages are there."""

import http.client
import io
import json
import os
import re
import shutil
import socket
import subprocess
import time
import zipfile

import pydicom
import pytest
from pydicom.data import get_testdata_file

from conftest import cloudfilm_bin, files_under, free_port, run
import hinacom_replica
import make_hinacom_study
import store_scp

k_here = os.path.dirname(os.path.abspath(__file__))
k_root = os.path.abspath(os.path.join(k_here, "..", ".."))
k_ct = "CT_small.dcm"
k_mr = "MR_small.dcm"


# -- a small HTTP client -------------------------------------------------------------------

class Api:
    def __init__(self, port, host_header=None):
        self.port = port
        self.host_header = host_header or "127.0.0.1:{}".format(port)
        self.cookie = None

    def request(self, method, path, body=None, headers=None, timeout=60):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = {"Host": self.host_header}
        if self.cookie:
            h["Cookie"] = self.cookie
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode("utf-8")
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data

    def json(self, method, path, body=None, headers=None, expect=200):
        status, hdrs, data = self.request(method, path, body, headers)
        assert status == expect, "{} {} -> {} {}".format(method, path, status, data[:500])
        return json.loads(data.decode("utf-8")) if data else None

    def error(self, method, path, body=None, headers=None):
        status, hdrs, data = self.request(method, path, body, headers)
        doc = json.loads(data.decode("utf-8"))
        assert set(doc) == {"error"} and set(doc["error"]) == {"code", "message"}, doc
        return status, doc["error"]["code"]


def api_of(node):
    return Api(node.http_port)


def wait_for(predicate, timeout=60, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def chinese_copy(path, out, name="张三", charset="ISO_IR 192", uid_seed="7"):
    """A copy of a pydicom test file as another study with a Chinese patient name."""
    ds = pydicom.dcmread(path)
    ds.SpecificCharacterSet = charset
    ds.PatientName = name
    ds.StudyDescription = "胸部CT 平扫"
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.9.9999.71." + uid_seed
    ds.SeriesInstanceUID = "1.2.826.0.1.3680043.9.9999.72." + uid_seed
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.9.9999.73." + uid_seed
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.save_as(out, write_like_original=False)
    return out


@pytest.fixture
def web_node(node_factory):
    return node_factory("web").start()


@pytest.fixture
def stored(web_node, tmp_path):
    """The node with CT_small, MR_small and a Chinese-named study stored by C-STORE."""
    zh = chinese_copy(get_testdata_file(k_ct), str(tmp_path / "zh.dcm"))
    files = staged(tmp_path, k_ct, k_mr) + [zh]
    out = web_node.storescu(files)
    assert out.returncode == 0, out.stderr
    return web_node


def staged(tmp_path, *names):
    """Copies of pydicom's test files: storescu renames what it sent (.done)."""
    out = []
    for name in names:
        dest = str(tmp_path / ("staged-" + name))
        shutil.copyfile(get_testdata_file(name), dest)
        out.append(dest)
    return out


def uid_of(path, keyword):
    return str(getattr(pydicom.dcmread(path, stop_before_pixels=True), keyword))


# -- the documented routes ----------------------------------------------------------------

def documented_routes():
    with open(os.path.join(k_root, "docs", "api.md"), encoding="utf-8") as f:
        text = f.read()
    return re.findall(r"^\| (GET|POST|DELETE) \| `([^`]+)` \|", text, re.M)


def test_every_documented_route_is_served(stored):
    api = api_of(stored)
    ct = get_testdata_file(k_ct)
    values = {"study": uid_of(ct, "StudyInstanceUID"), "series": uid_of(ct, "SeriesInstanceUID"),
              "instance": uid_of(ct, "SOPInstanceUID"), "id": "0", "name": "nowhere"}
    routes = documented_routes()
    assert len(routes) >= 25, routes
    for method, template in routes:
        if method == "DELETE" or template in ("/api/events", "/api/logout", "/api/login"):
            continue  # exercised below; deleting here would empty the store
        path = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)
        status, headers, body = api.request(method, path, body={} if method == "POST" else None)
        assert status not in (404, 405) or (b"no such API route" not in body and b"not allowed" not in body), \
            "{} {} is documented but not served: {} {}".format(method, path, status, body[:200])
        assert status < 500, "{} {} -> {} {}".format(method, path, status, body[:300])


def test_study_list_matches_like_c_find_and_keeps_chinese(stored):
    api = api_of(stored)
    doc = api.json("GET", "/api/studies")
    assert doc["total"] == 3 and len(doc["studies"]) == 3
    names = {s["patient_name"] for s in doc["studies"]}
    assert "张三" in names, names
    zh = [s for s in doc["studies"] if s["patient_name"] == "张三"][0]
    assert zh["description"] == "胸部CT 平扫" and zh["modalities"] == ["CT"] and zh["instance_count"] == 1
    # PN wildcards, case-insensitive, as C-FIND (PS3.4 C.2.2.2.4).
    assert [s["patient_name"] for s in api.json("GET", "/api/studies?PatientName=%E5%BC%A0*")["studies"]] == ["张三"]
    got = api.json("GET", "/api/studies?PatientName=*ct1*")["studies"]
    assert [s["patient_id"] for s in got] == ["1CT1"]
    assert api.json("GET", "/api/studies?ModalitiesInStudy=MR")["total"] == 1
    assert api.json("GET", "/api/studies?StudyDate=20040119-20040119")["total"] >= 1
    assert api.json("GET", "/api/studies?StudyDate=19000101-19000102")["total"] == 0
    page = api.json("GET", "/api/studies?limit=2&offset=2")
    assert page["total"] == 3 and len(page["studies"]) == 1
    assert api.error("GET", "/api/studies?limit=0") == (400, "bad_request")
    status, headers, _ = api.request("GET", "/api/studies")
    assert headers["content-type"].startswith("application/json") and headers["cache-control"] == "no-store"
    assert headers["x-content-type-options"] == "nosniff"


def test_study_series_instance_and_file(stored):
    api = api_of(stored)
    ct = get_testdata_file(k_ct)
    study = api.json("GET", "/api/studies/" + uid_of(ct, "StudyInstanceUID"))
    assert [s["series_uid"] for s in study["series"]] == [uid_of(ct, "SeriesInstanceUID")]
    series = api.json("GET", "/api/series/" + uid_of(ct, "SeriesInstanceUID"))
    assert [i["sop_instance_uid"] for i in series["instances"]] == [uid_of(ct, "SOPInstanceUID")]
    inst = api.json("GET", "/api/instances/" + uid_of(ct, "SOPInstanceUID"))
    assert inst["study_uid"] == uid_of(ct, "StudyInstanceUID")
    status, headers, data = api.request("GET", "/api/instances/{}/file".format(uid_of(ct, "SOPInstanceUID")))
    assert status == 200 and headers["content-type"] == "application/dicom"
    stored_file = stored.study(uid_of(ct, "StudyInstanceUID"))
    with open(get_testdata_file(k_ct), "rb") as f:
        original = f.read()
    assert pydicom.dcmread(io.BytesIO(data)).SOPInstanceUID == uid_of(ct, "SOPInstanceUID")
    assert len(data) >= len(original) - 200  # the file as received (meta header may differ)
    assert api.error("GET", "/api/studies/1.2.3.4") == (404, "not_found")
    assert api.error("GET", "/api/instances/1.2.3.4/file") == (404, "not_found")
    assert api.error("GET", "/api/studies/..%2F..%2Fetc") == (400, "bad_request")
    assert api.error("GET", "/api/studies/1.2.3/../../etc/passwd")[0] == 400
    assert api.error("PUT", "/api/studies") == (405, "method_not_allowed")
    del stored_file


def test_zip_export_opens_and_reimports_to_the_same_instances(stored, node_factory, tmp_path):
    api = api_of(stored)
    zh_study = "1.2.826.0.1.3680043.9.9999.71.7"
    status, headers, data = api.request("GET", "/api/studies/{}/archive".format(zh_study))
    assert status == 200 and headers["content-type"] == "application/zip", data[:300]
    assert "filename*=UTF-8''" in headers["content-disposition"]
    z = zipfile.ZipFile(io.BytesIO(data))
    assert z.testzip() is None
    names = z.namelist()
    assert names[0] == "DICOMDIR" and all(re.fullmatch(r"DICOM/S\d{4}/I\d{5}", n) for n in names[1:])
    out = tmp_path / "media"
    z.extractall(out)
    dump = run(["dcmdump", str(out / "DICOMDIR")])
    assert dump.returncode == 0, dump.stderr
    referenced = re.findall(r"\(0004,1500\) CS \[([^\]]+)\]", dump.stdout)
    assert sorted(r.replace("\\", "/") for r in referenced) == sorted(names[1:])
    for name in names[1:]:
        assert run(["dcmdump", "-q", str(out / name)]).returncode == 0
    # The same zip uploaded to another node gives the same SOP Instance UIDs.
    other = node_factory("reimport").start()
    summary = api_of(other).json("POST", "/api/instances", body=data,
                                 headers={"Content-Type": "application/zip"})
    assert summary["imported"] == len(names) - 1 and summary["failed"] == 0, summary
    assert summary["study_uids"] == [zh_study]
    assert set(other.index()) == {pydicom.dcmread(str(out / n)).SOPInstanceUID for n in names[1:]}
    # CLI parity: cloudfilm export writes the same entries.
    stored.stop()
    cli_zip = tmp_path / "cli.zip"
    r = stored.cli("export", zh_study, "--zip", str(cli_zip))
    assert r.returncode == 0, r.stderr
    assert zipfile.ZipFile(cli_zip).namelist() == names
    assert stored.cli("export", "1.2.3.4", "--zip", str(tmp_path / "none.zip")).returncode != 0
    assert not os.path.exists(tmp_path / "none.zip") and not os.path.exists(str(tmp_path / "none.zip") + ".part")


def test_delete_removes_files_and_rows(stored):
    api = api_of(stored)
    ct = get_testdata_file(k_ct)
    mr = get_testdata_file(k_mr)
    before = len(files_under(stored.objects_dir))
    assert api.json("DELETE", "/api/studies/" + uid_of(ct, "StudyInstanceUID")) == {"deleted": 1}
    assert api.error("GET", "/api/studies/" + uid_of(ct, "StudyInstanceUID")) == (404, "not_found")
    assert api.error("DELETE", "/api/studies/" + uid_of(ct, "StudyInstanceUID")) == (404, "not_found")
    assert api.json("DELETE", "/api/instances/" + uid_of(mr, "SOPInstanceUID")) == {"deleted": 1}
    assert len(files_under(stored.objects_dir)) == before - 2
    assert set(stored.index()) == {"1.2.826.0.1.3680043.9.9999.73.7"}
    assert api.json("GET", "/api/studies")["total"] == 1


def test_uploads_store_dicom_and_refuse_the_rest(node_factory, tmp_path):
    node = node_factory("upload", config={"http": {"max_upload_mb": 1}}).start()
    api = api_of(node)
    with open(get_testdata_file(k_ct), "rb") as f:
        ct = f.read()
    doc = api.json("POST", "/api/instances", body=ct, headers={"Content-Type": "application/dicom"})
    assert doc["imported"] == 1 and doc["study_uids"] == [uid_of(get_testdata_file(k_ct), "StudyInstanceUID")]
    doc = api.json("POST", "/api/instances", body=ct, headers={"Content-Type": "application/dicom"})
    assert doc["imported"] == 0 and doc["duplicates"] == 1
    assert api.error("POST", "/api/instances", body=b"<html>not dicom</html>",
                     headers={"Content-Type": "application/octet-stream"}) == (400, "bad_request")
    assert api.error("POST", "/api/instances", body=b"",
                     headers={"Content-Type": "application/octet-stream"}) == (400, "bad_request")
    # Over http.max_upload_mb: 413 before the body is read, nothing kept.
    big = b"\0" * (2 << 20)
    status, _, data = api.request("POST", "/api/instances", body=big, headers={"Content-Type": "application/zip"})
    assert status == 413 and json.loads(data)["error"]["code"] == "too_large"
    # Truncated: the connection closes before Content-Length bytes came; nothing kept.
    s = socket.create_connection(("127.0.0.1", node.http_port))
    s.sendall("POST /api/instances HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 100000\r\n"
              "Content-Type: application/dicom\r\n\r\n".format(node.http_port).encode() + ct[:5000])
    s.close()
    time.sleep(0.5)
    assert len(node.index()) == 1
    def spool():
        return [f for f in files_under(node.spool_dir) if not f.endswith("/.lock")]
    wait_for(lambda: not spool(), 10, "an empty spool")


def test_bad_json_and_wrong_content_type(web_node):
    api = api_of(web_node)
    assert api.error("POST", "/api/fetch", body=b"{not json", headers={"Content-Type": "application/json"}) == \
        (400, "bad_json")
    assert api.error("POST", "/api/fetch", body=b'{"url": "x"}', headers={"Content-Type": "text/plain"})[0] == 415
    assert api.error("POST", "/api/fetch", body={"url": "https://example.com/share/1"}) == (400, "unsupported_link")
    assert api.error("POST", "/api/fetch", body={"url": "file:///etc/passwd"}) == (400, "unsupported_link")
    assert api.error("POST", "/api/fetch", body={"url": 7}) == (400, "bad_json")
    assert api.error("POST", "/api/studies/1.2.3/send", body={"to": "nowhere"}) == (400, "unknown_modality")
    assert api.error("GET", "/api/fetch/doesnotexist") == (404, "not_found")
    assert api.error("POST", "/api/queue/abc/retry", body={}) == (400, "bad_request")
    assert api.error("POST", "/api/modalities/none/echo", body={}) == (404, "unknown_modality")
    status, _, _ = api.request("POST", "/api/fetch", body=b"x" * (2 << 20), headers={"Content-Type": "application/json"})
    assert status == 413
    assert api.json("GET", "/api/fetch") == {"jobs": []}


def test_host_and_origin_checks(web_node):
    evil = Api(web_node.http_port, host_header="attacker.example:{}".format(web_node.http_port))
    assert evil.error("GET", "/api/studies") == (421, "bad_host")
    api = api_of(web_node)
    assert api.error("POST", "/api/fetch", body={"url": "https://example.com/"},
                     headers={"Origin": "http://attacker.example"}) == (403, "bad_origin")
    ok = "http://127.0.0.1:{}".format(web_node.http_port)
    assert api.error("POST", "/api/fetch", body={"url": "https://example.com/"}, headers={"Origin": ok})[1] == \
        "unsupported_link"
    status, headers, body = api.request("GET", "/ui/")
    assert status == 200 and "default-src 'self'" in headers["content-security-policy"]
    assert b"<html" in body.lower()
    assert api.request("GET", "/")[0] == 302
    assert api.request("GET", "/ui/nothere.js")[0] == 404


def test_non_loopback_bind_needs_accounts(node_factory):
    node = node_factory("exposed", config={"http": {"bind": "0.0.0.0"}})
    out = run([cloudfilm_bin(), "serve", "--config", node.config_path], timeout=15)
    assert out.returncode != 0
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "http.bind" in lines[0] and "http.users" in lines[0], out.stderr


def test_accounts_sessions_and_tokens(node_factory):
    hashed = subprocess.run([cloudfilm_bin(), "hash-password"], input="s3cret\n", capture_output=True,
                            text=True, timeout=30)
    token = subprocess.run([cloudfilm_bin(), "hash-password", "--token"], input="", capture_output=True,
                           text=True, timeout=30)
    assert hashed.returncode == 0 and token.returncode == 0
    plain_token = token.stdout.split("token: ")[1].split()[0]
    node = node_factory("auth", config={"http": {"users": {"clinic": hashed.stdout.strip()},
                                                 "tokens": [token.stdout.strip().splitlines()[-1]]}})
    node.start()
    api = api_of(node)
    assert api.error("GET", "/api/studies") == (401, "auth_required")
    assert api.request("GET", "/ui/")[0] == 200  # the page itself, to show the login form
    assert api.json("GET", "/api/me") == {"auth": True, "user": None}
    assert api.error("POST", "/api/login", body={"user": "clinic", "password": "wrong"}) == (401, "auth_required")
    status, headers, _ = api.request("POST", "/api/login", body={"user": "clinic", "password": "s3cret"})
    assert status == 204
    cookie = headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    api.cookie = cookie.split(";")[0]
    assert api.json("GET", "/api/studies")["total"] == 0
    assert api.json("GET", "/api/me")["user"] == "clinic"
    api.request("POST", "/api/logout", body={})
    assert api.error("GET", "/api/studies") == (401, "auth_required")
    bearer = Api(node.http_port)
    assert bearer.json("GET", "/api/studies", headers={"Authorization": "Bearer " + plain_token})["total"] == 0
    assert bearer.error("GET", "/api/studies", headers={"Authorization": "Bearer nope"}) == (401, "auth_required")
    assert "s3cret" not in node.log() and plain_token not in node.log()


def test_send_a_study_through_the_queue(node_factory, tmp_path):
    scp = store_scp.StoreSCP()
    try:
        node = node_factory("send", config={"modalities": {"pacs": {"ae": scp.ae_title, "host": "127.0.0.1",
                                                                     "port": scp.port}}}).start()
        assert node.storescu(staged(tmp_path, k_ct)).returncode == 0
        api = api_of(node)
        mods = api.json("GET", "/api/modalities")["modalities"]
        assert [m["name"] for m in mods] == ["pacs"]
        assert api.json("POST", "/api/modalities/pacs/echo", body={}) == {"ok": True}
        study = uid_of(get_testdata_file(k_ct), "StudyInstanceUID")
        job = api.json("POST", "/api/studies/{}/send".format(study), body={"to": "pacs"}, expect=202)["job"]
        done = wait_for(lambda: [j for j in api.json("GET", "/api/queue")["jobs"]
                                 if j["id"] == job["id"] and j["state"] == "done"], 60, "the queue job")
        assert done[0]["done"] == 1
        assert set(scp.deliveries()) == {uid_of(get_testdata_file(k_ct), "SOPInstanceUID")}
    finally:
        scp.close()


# -- fetch jobs against the Hinacom replica -----------------------------------------------

@pytest.fixture(scope="module")
def hinacom_study(tmp_path_factory):
    if not hinacom_replica.have_replica():
        pytest.skip("no replica binary")
    out = str(tmp_path_factory.mktemp("web-hinacom"))
    paths = make_hinacom_study.make_study(out)
    return {"dir": out, "sops": {uid_of(p, "SOPInstanceUID") for p in paths}}


def read_events(port, last_id, count, timeout=30):
    """The first `count` events of GET /api/events after `last_id`."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall("GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nLast-Event-ID: {}\r\n\r\n"
              .format(port, last_id).encode())
    data = b""
    deadline = time.monotonic() + timeout
    while data.count(b"\nevent: ") < count and time.monotonic() < deadline:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return data.decode("utf-8", "replace")


def test_fetch_job_runs_to_done_with_events(node_factory, hinacom_study, tmp_path):
    replica = hinacom_replica.Replica(str(tmp_path / "replica"), hinacom_study["dir"])
    try:
        resolve = ["{}:{}:127.0.0.1".format(replica.host, replica.report),
                   "{}:{}:127.0.0.1".format(replica.host, replica.viewer)]
        node = node_factory("webfetch", config={"fetch": {"resolve": resolve}}).start()
        api = api_of(node)
        wrong = api.json("POST", "/api/fetch", body={"url": replica.share_url, "password": "nope"}, expect=202)
        failed = wait_for(lambda: [j for j in [api.json("GET", "/api/fetch/" + wrong["job"]["id"])]
                                   if j["state"] not in ("queued", "running")], 60, "the wrong-password job")[0]
        assert failed["state"] == "failed" and failed["error"]["code"] == "wrong_password", failed
        job = api.json("POST", "/api/fetch", body={"url": replica.share_url, "password": replica.password},
                       expect=202)["job"]
        assert job["platform"] == "hinacom" and "?" not in job["link"]
        done = wait_for(lambda: [j for j in [api.json("GET", "/api/fetch/" + job["id"])]
                                 if j["state"] not in ("queued", "running")], 240, "the fetch job")[0]
        assert done["state"] == "done", done
        assert done["stored"] == len(hinacom_study["sops"]) and done["failed"] == 0
        assert done["stored"] + done["already"] + done["skipped"] == done["instances"]
        assert set(node.index()) == hinacom_study["sops"]
        assert len(done["study_uids"]) == 1
        events = read_events(node.http_port, 1, 3)
        assert "event: fetch" in events and '"state":"done"' in events, events[:2000]
        assert replica.password not in node.log()
        # A retry of a finished job downloads nothing again.
        again = api.json("POST", "/api/fetch/{}/retry".format(job["id"]), body={"password": replica.password},
                         expect=202)["job"]
        second = wait_for(lambda: [j for j in [api.json("GET", "/api/fetch/" + again["id"])]
                                   if j["state"] not in ("queued", "running")], 240, "the retry")[0]
        assert second["state"] == "done" and second["stored"] == 0
        assert second["already"] == done["stored"] + done["already"]
        # A restart keeps the job record; its password is gone, so a retry asks for it.
        node.stop()
        node.start()
        kept = api.json("GET", "/api/fetch/" + job["id"])
        assert kept["state"] == "done" and kept["needs_password"] is True
        assert api.error("POST", "/api/fetch/{}/retry".format(job["id"]), body={}) == (409, "needs_password")
        records = files_under(os.path.join(node.data_dir, "web", "fetch-jobs"))
        for r in records:
            assert oct(os.stat(r).st_mode & 0o777) == "0o600"
            with open(r, encoding="utf-8") as f:
                assert replica.password not in f.read()
        assert api.json("DELETE", "/api/fetch/" + job["id"]) == {}
        assert api.error("GET", "/api/fetch/" + job["id"]) == (404, "not_found")
    finally:
        replica.stop()


# -- the page in a real browser ------------------------------------------------------------

def test_page_in_headless_chromium(node_factory, hinacom_study, tmp_path):
    browser_dir = os.path.join(k_root, "tests", "browser")
    if not shutil.which("chromium") or not shutil.which("node"):
        pytest.skip("chromium or node missing (scripts/setup-deps.sh --test installs them)")
    if not os.path.isdir(os.path.join(browser_dir, "node_modules", "playwright-core")):
        r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=browser_dir, timeout=300,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert r.returncode == 0, r.stdout.decode("utf-8", "replace")
    replica = hinacom_replica.Replica(str(tmp_path / "replica"), hinacom_study["dir"])
    scp = store_scp.StoreSCP()
    try:
        resolve = ["{}:{}:127.0.0.1".format(replica.host, replica.report),
                   "{}:{}:127.0.0.1".format(replica.host, replica.viewer)]
        node = node_factory("page", config={
            "fetch": {"resolve": resolve},
            "modalities": {"pacs": {"ae": scp.ae_title, "host": "127.0.0.1", "port": scp.port}}}).start()
        # The zip the page drops: a Chinese-named study exported by another node.
        zh = chinese_copy(get_testdata_file(k_mr), str(tmp_path / "zh.dcm"), name="李四", uid_seed="9")
        zip_path = tmp_path / "upload.zip"
        with zipfile.ZipFile(zip_path, "w") as z:
            z.write(zh, "IMG0001.dcm")
        shots = tmp_path / "screenshots"
        shots.mkdir()
        env = dict(os.environ, CF_HTTP_URL="http://127.0.0.1:{}".format(node.http_port),
                   CF_FETCH_LINK=replica.share_url, CF_FETCH_PASSWORD=replica.password,
                   CF_EXPECT_NAME="王小東 (Wang XiaoDong)", CF_UPLOAD_ZIP=str(zip_path), CF_SCREENSHOTS=str(shots),
                   CF_FORWARD_TO="pacs")
        r = subprocess.run(["node", "--test", "page.test.js"], cwd=browser_dir, env=env, timeout=600,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out = r.stdout.decode("utf-8", "replace")
        assert r.returncode == 0, out[-6000:] + "\n--- node log ---\n" + node.log()[-3000:]
        assert re.search(r"# pass [1-9]", out) and re.search(r"# fail 0", out), out[-3000:]
        pngs = [p for p in os.listdir(shots) if p.endswith(".png")]
        assert pngs, "no screenshots taken"
        # Forwarded by the page: the storage SCP holds what was fetched.
        assert hinacom_study["sops"] <= set(scp.deliveries())
    finally:
        scp.close()
        replica.stop()
