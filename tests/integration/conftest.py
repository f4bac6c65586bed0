# SPDX-License-Identifier: MIT
"""Fixtures for the integration suite: the real `cloudfilm` binary on a loopback port,
driven by DCMTK's command line tools (Debian's `dcmtk` package).

Environment:
  CLOUDFILM_BIN   the binary under test (default /work/main/build/cloudfilm)
  CF_KEEP_DATA=1  keep the large data directories of passed tests
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

k_here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(k_here, "..", "fixtures"))
sys.path.insert(0, k_here)

import make_ct_series  # noqa: E402  (tests/fixtures)

k_default_bin = "/work/main/build/cloudfilm"
k_tools = ("echoscu", "storescu", "dcmodify")
k_start_timeout = 20.0  # seconds until C-ECHO must answer
k_stop_extra = 15.0  # seconds beyond shutdown_grace before a stop counts as hung
k_shutdown_grace = 10  # written into every test config
k_ae_title = "CLOUDFILM"

# Transfer syntax -> the storescu option that proposes it (plus the uncompressed ones), so
# that storescu sends each file in its own syntax instead of failing to convert it.
k_storescu_ts_option = {
    "1.2.840.10008.1.2": "-xi",
    "1.2.840.10008.1.2.1": "-xe",
    "1.2.840.10008.1.2.2": "-xb",
    "1.2.840.10008.1.2.1.99": "-xd",
    "1.2.840.10008.1.2.5": "-xr",
    "1.2.840.10008.1.2.4.50": "-xy",
    "1.2.840.10008.1.2.4.51": "-xx",
    "1.2.840.10008.1.2.4.70": "-xs",
    "1.2.840.10008.1.2.4.80": "-xt",
    "1.2.840.10008.1.2.4.81": "-xu",
    "1.2.840.10008.1.2.4.90": "-xv",
    "1.2.840.10008.1.2.4.91": "-xw",
}


def cloudfilm_bin():
    return os.environ.get("CLOUDFILM_BIN", k_default_bin)


def dcmtk_env():
    """Environment for DCMTK tools: Debian's DCMTK leaves Nagle on unless told (INTEROP.md)."""
    env = dict(os.environ)
    env["TCP_NODELAY"] = "1"
    return env


def free_port():
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    """True if something accepts TCP connections on 127.0.0.1:`port`."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def run(cmd, timeout=60, env=None, cwd=None):
    """Run `cmd` with a hard timeout; text output, undecodable bytes replaced."""
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                          env=env if env is not None else dcmtk_env(), cwd=cwd,
                          encoding="utf-8", errors="replace")


def to_yaml(value, indent=0):
    """Block YAML for nested dicts of scalars; lists are written in flow style (JSON)."""
    lines = []
    pad = "  " * indent
    for key, item in value.items():
        if isinstance(item, dict):
            lines.append("{}{}:".format(pad, key))
            lines.append(to_yaml(item, indent + 1))
        elif isinstance(item, bool):
            lines.append("{}{}: {}".format(pad, key, "true" if item else "false"))
        elif isinstance(item, (int, float)):
            lines.append("{}{}: {}".format(pad, key, item))
        else:
            lines.append("{}{}: {}".format(pad, key, json.dumps(item, ensure_ascii=False)))
    return "\n".join(line for line in lines if line)


def merge(base, extra):
    """Recursive dict merge; `extra` wins."""
    out = dict(base)
    for key, item in (extra or {}).items():
        if isinstance(item, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], item)
        else:
            out[key] = item
    return out


def stage(files, dest):
    """Hard-link (or copy) `files` into `dest` so storescu +rn can rename them there.
    Returns the staged paths in order; names stay unique."""
    os.makedirs(dest, exist_ok=True)
    staged = []
    for index, src in enumerate(files):
        path = os.path.join(dest, "{:04d}_{}".format(index, os.path.basename(src)))
        try:
            os.link(src, path)
        except OSError:
            shutil.copyfile(src, path)
        staged.append(path)
    return staged


def rename_status(path):
    """What storescu +rn made of a staged file: 'done', 'bad' or 'unsent'."""
    if os.path.exists(path + ".done"):
        return "done"
    if os.path.exists(path + ".bad"):
        return "bad"
    return "unsent"


def files_under(root):
    """All regular files below `root` (sorted); empty if it does not exist."""
    out = []
    for dirpath, _, names in os.walk(root):
        out.extend(os.path.join(dirpath, name) for name in names)
    return sorted(out)


class Node:
    """One `cloudfilm serve` process with its own config and data directory."""

    def __init__(self, workdir, config=None, ae_title=k_ae_title):
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.port = free_port()
        self.http_port = free_port()
        self.ae_title = ae_title
        self.data_dir = os.path.join(workdir, "data")
        self.config_path = os.path.join(workdir, "cloudfilm.yaml")
        self.log_path = os.path.join(workdir, "serve.log")
        self.proc = None
        self._log = None
        self.config = merge({
            "node": {
                "ae_title": ae_title,
                "bind": "127.0.0.1",
                "port": self.port,
                "acse_timeout": 10,
                "dimse_timeout": 30,
                "shutdown_grace": k_shutdown_grace,
            },
            "storage": {"path": self.data_dir},
            "http": {"port": self.http_port},
            "log": {"level": "info"},
        }, config)
        self.write_config()

    def write_config(self):
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write(to_yaml(self.config) + "\n")

    @property
    def spool_dir(self):
        return os.path.join(self.data_dir, "spool")

    @property
    def objects_dir(self):
        return os.path.join(self.data_dir, "objects")

    # -- process control -----------------------------------------------------------------

    def start(self, extra_args=(), timeout=k_start_timeout, calling="ECHOSCU", wait_for="echo"):
        """Start `serve` and wait until it answers: wait_for='echo' polls echoscu with the
        calling AE `calling`; 'port' only waits for the TCP port (for nodes that refuse us)."""
        assert self.proc is None or self.proc.poll() is not None, "node already running"
        self._log = open(self.log_path, "ab")
        self._log.write(b"\n===== start =====\n")
        self._log.flush()
        self.proc = subprocess.Popen([cloudfilm_bin(), "serve", "--config", self.config_path] + list(extra_args),
                                     stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
                                     env=dcmtk_env())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("cloudfilm serve exited with {} during start-up:\n{}".format(
                    self.proc.returncode, self.log()))
            if wait_for == "port":
                if port_open(self.port):
                    return self
            else:
                try:
                    if self.echo(calling=calling, timeout=5).returncode == 0:
                        return self
                except subprocess.TimeoutExpired:
                    pass
            time.sleep(0.2)
        self.kill9()
        raise AssertionError("cloudfilm serve did not answer within {} s:\n{}".format(timeout, self.log()))

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=None):
        """SIGTERM and wait; returns the exit code. A hung node is killed and fails the test."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        limit = timeout if timeout is not None else k_shutdown_grace + k_stop_extra
        try:
            code = self.proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            self.kill9()
            raise AssertionError("cloudfilm serve did not stop within {} s of SIGTERM:\n{}".format(
                limit, self.log()))
        self._close_log()
        return code

    def kill9(self):
        """SIGKILL: the crash the store must survive."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        code = self.proc.wait(timeout=30)
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

    # -- DCMTK clients -------------------------------------------------------------------

    def echo(self, called=None, calling="ECHOSCU", timeout=20):
        return run(["echoscu", "-aet", calling, "-aec", called or self.ae_title,
                    "-to", "5", "-ta", "10", "127.0.0.1", str(self.port)], timeout=timeout)

    def storescu(self, files, ts_option=None, calling="STORESCU", called=None, rename=True,
                 no_halt=True, extra=(), timeout=300):
        """Run storescu over `files` on one association (only the needed contexts, -R)."""
        return run(self.storescu_cmd(files, ts_option, calling, called, rename, no_halt, extra),
                   timeout=timeout)

    def storescu_cmd(self, files, ts_option=None, calling="STORESCU", called=None, rename=True,
                     no_halt=True, extra=()):
        cmd = ["storescu", "-v", "-R", "-aet", calling, "-aec", called or self.ae_title,
               "-to", "10", "-ta", "30", "-td", "60"]
        if ts_option:
            cmd.append(ts_option)
        if rename:
            cmd.append("+rn")
        if no_halt:
            cmd.append("-nh")
        cmd += list(extra) + ["127.0.0.1", str(self.port)] + list(files)
        return cmd

    # -- the CLI -------------------------------------------------------------------------

    def cli(self, *args, timeout=120):
        """`cloudfilm ARGS --config <this node's config>`."""
        return run([cloudfilm_bin()] + list(args) + ["--config", self.config_path], timeout=timeout)

    def ls_json(self, *args):
        result = self.cli("ls", *args, "--json")
        assert result.returncode == 0, "cloudfilm ls {} --json failed ({}):\n{}".format(
            " ".join(args), result.returncode, result.stderr)
        try:
            data = json.loads(result.stdout)
        except ValueError as e:
            raise AssertionError("cloudfilm ls {} --json printed no JSON ({}):\n{}".format(
                " ".join(args), e, result.stdout[:2000]))
        assert isinstance(data, list), "ls --json must print an array"
        return data

    def index(self):
        """{sop_instance_uid: instance record + 'study_uid' + 'series_uid'} from `ls --json`."""
        out = {}
        for study in self.ls_json("studies"):
            for series in self.ls_json("series", study["study_uid"]):
                for inst in self.ls_json("instances", series["series_uid"]):
                    record = dict(inst)
                    record["study_uid"] = study["study_uid"]
                    record["series_uid"] = series["series_uid"]
                    assert inst["sop_instance_uid"] not in out, "SOP instance listed twice: " + inst["sop_instance_uid"]
                    out[inst["sop_instance_uid"]] = record
        return out

    def study(self, study_uid):
        for study in self.ls_json("studies"):
            if study["study_uid"] == study_uid:
                return study
        raise AssertionError("study {} not in `ls studies`".format(study_uid))


class NodeFactory:
    """Creates nodes under `base`; stops whatever is still running at teardown."""

    def __init__(self, base):
        self.base = str(base)
        self.nodes = []

    def __call__(self, name="node", config=None, ae_title=k_ae_title):
        node = Node(os.path.join(self.base, "{}{}".format(name, len(self.nodes))), config, ae_title)
        self.nodes.append(node)
        return node

    def close(self):
        for node in self.nodes:
            if node.running():
                try:
                    node.stop()
                except AssertionError:
                    node.kill9()


@pytest.fixture(scope="session", autouse=True)
def _prerequisites():
    missing = [tool for tool in k_tools if shutil.which(tool) is None]
    if missing:
        pytest.skip("DCMTK tools missing ({}): apt-get install dcmtk".format(", ".join(missing)))
    binary = cloudfilm_bin()
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        pytest.fail("CLOUDFILM_BIN is not an executable file: {}".format(binary), pytrace=False)


@pytest.fixture
def node_factory(tmp_path):
    factory = NodeFactory(tmp_path)
    yield factory
    factory.close()


@pytest.fixture
def node(node_factory):
    """A started node with default settings."""
    return node_factory().start()


@pytest.fixture(scope="session")
def ct_series(tmp_path_factory):
    """300 slices, 128x128 (~40 KB each), seed 0."""
    out = str(tmp_path_factory.mktemp("ct300"))
    return make_ct_series.make_series(out, count=300, seed=0, size=128)


@pytest.fixture(scope="session")
def big_ct_series(tmp_path_factory):
    """300 slices, 512x512 (~520 KB each), seed 11; removed at the end of the session."""
    out = str(tmp_path_factory.mktemp("ct300big"))
    yield make_ct_series.make_series(out, count=300, seed=11, size=512)
    shutil.rmtree(out, ignore_errors=True)


def keep_data():
    return os.environ.get("CF_KEEP_DATA") == "1"


def read_uid(path):
    import pydicom
    return str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)

