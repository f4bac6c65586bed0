# SPDX-License-Identifier: MIT
"""A real Orthanc (Debian's `orthanc`, /usr/sbin/Orthanc) as a plain child process.

Used by test_orthanc.py (C-MOVE destination) and bench/qr_bench.py (reference server).
Every wait is bounded; the REST API is read with urllib on 127.0.0.1.

Orthanc 1.10 has no option to bind its DICOM or HTTP listener to one address: it listens
on all interfaces. To keep it loopback-only in effect, HTTP refuses remote clients
(RemoteAccessAllowed: false) and DICOM serves only the AE titles listed in `peers`, each
pinned to 127.0.0.1 (DicomAlwaysAllow*: false, DicomCheckModalityHost: true).
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

k_binary = "/usr/sbin/Orthanc"
k_start_timeout = 60.0  # seconds until REST and C-ECHO answer
k_stop_timeout = 30.0  # seconds after SIGTERM
k_http_timeout = 60.0  # seconds per REST request


def installed():
    return os.path.isfile(k_binary) and os.access(k_binary, os.X_OK)


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env():
    out = dict(os.environ)
    out["TCP_NODELAY"] = "1"  # Debian's DCMTK inside Orthanc leaves Nagle on otherwise
    return out


class Orthanc:
    """One Orthanc with its own storage, index and config under `workdir`.

    peers: {name: (ae_title, port)} of DICOM nodes on 127.0.0.1 that may talk to it (any
    service) and that it may send to (C-MOVE destinations). A port of 0 is fine for SCUs
    that never receive."""

    def __init__(self, workdir, peers=None, ae_title="ORTHANC", extra=None):
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.ae_title = ae_title
        self.dicom_port = _free_port()
        self.http_port = _free_port()
        self.storage = os.path.join(workdir, "storage")
        self.config_path = os.path.join(workdir, "orthanc.json")
        self.log_path = os.path.join(workdir, "orthanc.log")
        self.proc = None
        self._log = None
        modalities = {}
        for name, (aet, port) in (peers or {}).items():
            modalities[name] = {"AET": aet, "Host": "127.0.0.1", "Port": int(port) or 104,
                                "AllowEcho": True, "AllowFind": True, "AllowGet": True,
                                "AllowMove": True, "AllowStore": True}
        self.config = {
            "Name": "cloudfilm-test",
            "StorageDirectory": self.storage,
            "IndexDirectory": self.storage,
            "StorageCompression": False,
            "Plugins": [],
            "HttpServerEnabled": True,
            "HttpPort": self.http_port,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False,
            "DicomServerEnabled": True,
            "DicomAet": ae_title,
            "DicomPort": self.dicom_port,
            "DicomCheckCalledAet": False,
            "DefaultEncoding": "Utf8",
            "DicomModalities": modalities,
            "DicomAlwaysAllowEcho": False,
            "DicomAlwaysAllowStore": False,
            "DicomAlwaysAllowFind": False,
            "DicomAlwaysAllowGet": False,
            "DicomAlwaysAllowMove": False,
            "DicomCheckModalityHost": True,
            "DicomScuTimeout": 30,
            "DicomScpTimeout": 60,
            "SaveJobs": False,
            "SynchronousCMove": True,
            "OverwriteInstances": False,
            "LimitFindResults": 0,
            "LimitFindInstances": 0,
            "DicomAssociationCloseDelay": 0,
            "HttpCompressionEnabled": False,
            "StorageAccessOnFind": "Never",
        }
        self.config.update(extra or {})
        with open(self.config_path, "w", encoding="utf-8") as f:
            json.dump(self.config, f, indent=2, ensure_ascii=False)

    def start(self, timeout=k_start_timeout):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([k_binary, self.config_path], cwd=self.workdir,
                                     stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
                                     env=_env())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("Orthanc exited with {} during start-up:\n{}".format(
                    self.proc.returncode, self.log()))
            try:
                self.get("/system", timeout=2)
                return self
            except (OSError, urllib.error.URLError, ValueError):
                time.sleep(0.2)
        self.kill()
        raise AssertionError("Orthanc did not answer within {} s:\n{}".format(timeout, self.log()))

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=k_stop_timeout)
        except subprocess.TimeoutExpired:
            code = self.kill()
        self._close_log()
        return code

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        code = self.proc.wait(timeout=30) if self.proc is not None else None
        self._close_log()
        return code

    def _close_log(self):
        if self._log is not None:
            self._log.close()
            self._log = None

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")[-20000:]
        except OSError:
            return ""

    def remove_storage(self):
        shutil.rmtree(self.storage, ignore_errors=True)

    # -- REST ----------------------------------------------------------------------------

    def url(self, path):
        return "http://127.0.0.1:{}{}".format(self.http_port, path)

    def get_raw(self, path, timeout=k_http_timeout):
        with urllib.request.urlopen(self.url(path), timeout=timeout) as rsp:
            return rsp.read()

    def get(self, path, timeout=k_http_timeout):
        return json.loads(self.get_raw(path, timeout).decode("utf-8"))

    def post(self, path, body, timeout=k_http_timeout):
        data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(self.url(path), data=data, method="POST")
        with urllib.request.urlopen(req, timeout=timeout) as rsp:
            raw = rsp.read()
        return json.loads(raw.decode("utf-8")) if raw else None

    def statistics(self):
        return self.get("/statistics")
