# SPDX-License-Identifier: MIT
"""The whole-file replica (tests/replica/cloudfilm_replica_whole: shdc, zscloud, mtywcloud;
platforms.md 8.3.4, 8.3.5, 8.3.8) as a test helper.

Environment:
  CLOUDFILM_REPLICA_WHOLE  the replica binary (default: <dir of CLOUDFILM_BIN>/tests/replica/
                           cloudfilm_replica_whole)
"""

import http.client
import json
import os
import signal
import subprocess
import time
import urllib.parse

k_start_timeout = 120.0  # seconds; the corpus loader renders every frame at start-up


def replica_bin(cloudfilm_bin=None):
    explicit = os.environ.get("CLOUDFILM_REPLICA_WHOLE")
    if explicit:
        return explicit
    base = cloudfilm_bin or os.environ.get("CLOUDFILM_BIN", "/work/main/build/cloudfilm")
    return os.path.join(os.path.dirname(os.path.abspath(base)), "tests", "replica", "cloudfilm_replica_whole")


def have_replica():
    path = replica_bin()
    return os.path.isfile(path) and os.access(path, os.X_OK)


class Replica:
    """One `cloudfilm_replica_whole` process serving `fixtures` as `platform`."""

    def __init__(self, workdir, fixtures, platform, args=()):
        os.makedirs(workdir, exist_ok=True)
        self.platform = platform
        self.ports_file = os.path.join(workdir, "replica-{}.json".format(platform))
        self.log_path = os.path.join(workdir, "replica-{}.log".format(platform))
        if os.path.exists(self.ports_file):
            os.remove(self.ports_file)
        cmd = [replica_bin(), "--platform", platform, "--fixtures", fixtures, "--ports-file", self.ports_file]
        cmd += list(args)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log)
        deadline = time.monotonic() + k_start_timeout
        while not os.path.exists(self.ports_file):
            if self.proc.poll() is not None:
                raise AssertionError("cloudfilm_replica_whole exited with {}:\n{}".format(
                    self.proc.returncode, self.output()))
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError("cloudfilm_replica_whole wrote no ports file")
            time.sleep(0.05)
        with open(self.ports_file, encoding="utf-8") as f:
            self.info = json.load(f)
        self.port = self.info["port"]
        self.host = self.info["host"]
        self.share_url = self.info["share_url"]

    def output(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")[-5000:]
        except OSError:
            return ""

    def resolve_args(self):
        return ["--resolve", "{}:{}:127.0.0.1".format(self.host, self.port)]

    def module_options(self):
        """fetch.modules entry the adapter needs to reach this replica."""
        if self.platform == "mtywcloud":
            return {"mtywcloud": {"base": self.info["base"]}}
        return {}

    def _control(self, path):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
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
        return self._control("/__control/log")

    def requests(self, route):
        return [r for r in self.log() if r["route"] == route]

    def reset(self):
        return self._control("/__control/reset")

    def add_fault(self, spec):
        return self._control("/__control/fault?spec=" + urllib.parse.quote(spec, safe=""))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)
        self._log.close()
        return self.proc.returncode
