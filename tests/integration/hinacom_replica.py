# SPDX-License-Identifier: MIT
"""The Hinacom replica (tests/replica, platforms.md 8.3.1-8.3.3) as a test helper, and a
plain sequential Python client that walks the viewer the way the public Python downloader
does (L1-L5, listing, then tags + pixels per image, one request at a time). The client
checks the replica on its own and is the baseline of bench/fetch_bench.py.

Environment:
  CLOUDFILM_REPLICA  the replica binary (default: <dir of CLOUDFILM_BIN>/tests/replica/
                     cloudfilm_replica)
"""

import http.client
import json
import os
import re
import signal
import subprocess
import time
import urllib.parse

k_hosts = {
    "hinacom": "test.medicalimagecloud.com",
    "cq12320": "mdmis.cq12320.cn",
    "jdyfy": "cloudpacs.jdyfy.com",
}
k_start_timeout = 120.0  # seconds; the replica encodes every distinct frame at start-up


def replica_bin(cloudfilm_bin=None):
    explicit = os.environ.get("CLOUDFILM_REPLICA")
    if explicit:
        return explicit
    base = cloudfilm_bin or os.environ.get("CLOUDFILM_BIN", "/work/main/build/cloudfilm")
    return os.path.join(os.path.dirname(os.path.abspath(base)), "tests", "replica", "cloudfilm_replica")


def have_replica():
    path = replica_bin()
    return os.path.isfile(path) and os.access(path, os.X_OK)


class Replica:
    """One `cloudfilm_replica` process serving `fixtures` through `door`."""

    def __init__(self, workdir, fixtures, door="hinacom", password="Pw=1/2", args=()):
        os.makedirs(workdir, exist_ok=True)
        self.door = door
        self.host = k_hosts[door]
        self.ports_file = os.path.join(workdir, "replica-{}.json".format(door))
        self.log_path = os.path.join(workdir, "replica-{}.log".format(door))
        if os.path.exists(self.ports_file):
            os.remove(self.ports_file)
        cmd = [replica_bin(), "--fixtures", fixtures, "--host", self.host, "--password", password,
               "--ports-file", self.ports_file, "--door", door] + list(args)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log)
        deadline = time.monotonic() + k_start_timeout
        while not os.path.exists(self.ports_file):
            if self.proc.poll() is not None:
                raise AssertionError("cloudfilm_replica exited with {}:\n{}".format(self.proc.returncode, self.output()))
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError("cloudfilm_replica wrote no ports file within {} s".format(k_start_timeout))
            time.sleep(0.05)
        with open(self.ports_file, encoding="utf-8") as f:
            self.info = json.load(f)
        self.report = self.info["report"]
        self.viewer = self.info["viewer"]
        self.share_url = self.info["share_url"]
        self.password = self.info["password"]

    def output(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")[-5000:]
        except OSError:
            return ""

    def resolve_args(self):
        """`cloudfilm fetch` arguments that point the host names at the replica."""
        return ["--resolve", "{}:{}:127.0.0.1".format(self.host, self.report),
                "--resolve", "{}:{}:127.0.0.1".format(self.host, self.viewer)]

    def _control(self, path):
        conn = http.client.HTTPConnection("127.0.0.1", self.report, timeout=30)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200:
                raise AssertionError("replica {}: HTTP {} {}".format(path, resp.status, body[:200]))
            return json.loads(body.decode("utf-8"))
        finally:
            conn.close()

    def log(self):
        """The request log: [{server, method, path, query, cookies, headers, route, number,
        connection, time}], oldest first."""
        return self._control("/__control/log")

    def requests(self, route):
        return [r for r in self.log() if r["route"] == route]

    def stats(self):
        return self._control("/__control/stats")

    def reset(self):
        """Forget the log and the per-route counters (faults given on the command line stay)."""
        return self._control("/__control/reset")

    def add_fault(self, spec):
        return self._control("/__control/fault?spec=" + urllib.parse.quote(spec, safe=""))

    def running(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)
                raise AssertionError("cloudfilm_replica ignored SIGTERM")
        self._log.close()
        return self.proc.returncode


# --- a sequential client, as the public Python downloader works ------------------------


class _Session:
    """Cookies by name (one host), one keep-alive connection per port, redirects followed."""

    def __init__(self, host, ports, timeout=300):
        self.host = host
        self.ports = ports
        self.timeout = timeout
        self.cookies = {}
        self.conns = {}
        self.requests = 0
        self.bytes = 0

    def _conn(self, port):
        conn = self.conns.get(port)
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=self.timeout)
            self.conns[port] = conn
        return conn

    def request(self, method, url, body=None, headers=None, follow=True):
        for _ in range(10):
            parts = urllib.parse.urlsplit(url)
            assert parts.hostname == self.host, "unexpected host in " + url
            port = parts.port or 80
            target = parts.path + ("?" + parts.query if parts.query else "")
            h = {"Host": "{}:{}".format(self.host, port), "Accept": "*/*",
                 "User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/143.0"}
            if self.cookies:
                h["Cookie"] = "; ".join("{}={}".format(k, v) for k, v in self.cookies.items())
            h.update(headers or {})
            conn = self._conn(port)
            try:
                conn.request(method, target, body=body, headers=h)
                resp = conn.getresponse()
                data = resp.read()
            except (http.client.HTTPException, OSError):
                conn.close()
                self.conns.pop(port, None)
                raise
            self.requests += 1
            self.bytes += len(data)
            for value in resp.msg.get_all("Set-Cookie") or []:
                pair = value.split(";", 1)[0]
                name, _, val = pair.partition("=")
                self.cookies[name.strip()] = val
            if follow and resp.status in (301, 302, 303, 307, 308):
                url = urllib.parse.urljoin(url, resp.getheader("Location"))
                if resp.status in (301, 302, 303):
                    method, body = "GET", None
                continue
            if resp.status >= 400:
                raise RuntimeError("HTTP {} for {}".format(resp.status, url))
            return url, resp, data
        raise RuntimeError("too many redirects")

    def get(self, url, **kw):
        return self.request("GET", url, **kw)

    def close(self):
        for conn in self.conns.values():
            conn.close()


def _js_var(html, name):
    m = re.search(r'var {} = "([^"]*)"'.format(name), html)
    return m.group(1) if m else None


def _origin(url):
    p = urllib.parse.urlsplit(url)
    return "{}://{}".format(p.scheme, p.netloc)


def sequential_download(replica, raw=False, keep=None):
    """Download the replica's study one request at a time. Returns a dict: images,
    skipped, requests, bytes, seconds. `keep(index, tags_json, pixels)` may store bodies."""
    start = time.monotonic()
    s = _Session(replica.host, (replica.report, replica.viewer))
    q = lambda v: urllib.parse.quote(v, safe="")  # noqa: E731
    if replica.door == "hinacom":
        report, _, _ = s.get(replica.share_url)
        uuid = report.rsplit("/", 1)[1]
        _, _, page = s.request("POST", report, body="id={}&Password={}".format(q(uuid), q(replica.password)),
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
        m = re.search(r"/Study/ViewImage\?studyId=[A-Za-z0-9_-]+", page.decode("utf-8"))
        if not m:
            raise RuntimeError("link does not exist, maybe sharing was cancelled")
        view = _origin(report) + m.group(0)
    elif replica.door == "jdyfy":
        url, _, page = s.get(replica.share_url)
        sid = re.search(r'id="StudyId" name="StudyId" value="([^"]*)"', page.decode("utf-8")).group(1)
        view = _origin(url) + "/Study/ViewImage?studyId=" + sid
    else:
        base = _origin(replica.share_url) + "/wcs1/mdmis-app/h5"
        params = urllib.parse.parse_qs(replica.share_url.rsplit("?", 1)[1])
        s.get(base + "/")
        _, _, answer = s.request("POST", base + "/api/share/check/time",
                                 body=json.dumps({"content": params["content"][0], "share_id": params["share_id"][0]}),
                                 headers={"Content-Type": "application/json"})
        answer = json.loads(answer)
        if answer["code"] != 200:
            raise RuntimeError(answer["message"])
        extend = json.loads(answer["data"]["extend"])
        url, _, page = s.get(base + "/api/qinming_h5/api/ch/report/PacsEntry.aspx?hospitalCode={}&studyPrimaryId={}".format(
            q(extend["hospital_code"]), q(extend["study_primary_id"])))
        viewer_url = _origin(url) + _js_var(page.decode("utf-8"), "TARGET_URL")
        view = None
    if view is not None:
        url, _, page = s.get(view)
        entry = re.search(r"window\.location\.href = '([^']*)'", page.decode("utf-8")).group(1)
        url, _, page = s.get(urllib.parse.urljoin(url, entry))
        viewer_url = urllib.parse.urljoin(_origin(url) + "/", _js_var(page.decode("utf-8"), "TARGET_PATH"))
    url, _, page = s.get(viewer_url)
    html = page.decode("utf-8")
    study_id, accession, exam, ck = (_js_var(html, n) for n in
                                     ("STUDY_ID", "ACCESSION_NUMBER", "STUDY_EXAM_UID", "LOAD_IMAGE_CACHE_KEY"))
    base = url[:url.index("/ImageViewer/StudyView") + 1]
    _, _, listing = s.get("{}ImageViewer/GetImageSet?studyId={}&accessionNumber={}&examuid={}&minThickness=5".format(
        base, q(study_id), q(accession), q(exam)))
    listing = json.loads(listing)
    nodes = q(listing.get("storageNode") or "")
    last_renew = time.monotonic()
    images = skipped = 0
    for ds in listing["displaySets"]:
        for index, image in enumerate(ds["images"]):
            if time.monotonic() - last_renew >= 60:
                s.get(base + "ImageViewer/renewcacauth")
                last_renew = time.monotonic()
            _, _, tags = s.get("{}ImageViewer/GetImageDicomTags?studyId={}&imageId={}&frame=0&storageNodes={}".format(
                base, q(image["studyId"]), q(image["imageId"]), nodes))
            if json.loads(tags) == []:
                skipped += 1
                continue
            kind, tail = ("dicom", "0/0") if raw else ("j2k", "0/3")
            _, resp, pixels = s.get("{}imageservice/api/image/{}/{}/{}/{}?storageNodes={}&ck={}".format(
                base, kind, q(image["studyId"]), q(image["imageId"]), tail, nodes, q(ck)))
            if resp.getheader("X-ImageFrame") is None:
                raise RuntimeError("no X-ImageFrame header")
            if keep is not None:
                keep(images, tags, pixels)
            images += 1
    s.close()
    return {"images": images, "skipped": skipped, "requests": s.requests, "bytes": s.bytes,
            "seconds": time.monotonic() - start}
