# SPDX-License-Identifier: MIT
"""Forwarding: `cloudfilm send`, the durable retry queue, auto-forward rules, `queue`,
`echo`, against real peers.

Destinations:
- Orthanc 1.10 (Debian's `orthanc`, run by orthanc.py): a mixed-syntax study (qr.py's
  make_mixed_study) arrives with every instance and the original pixels, in the stored
  syntax, or transcoded when Orthanc is told to accept uncompressed syntaxes only;
  faults: Orthanc down when the job starts, Orthanc SIGKILLed in the middle of a
  300-slice 512x512 CT and restarted, cloudfilm SIGKILLed in the middle and restarted.
- DCMTK's storescp with a negotiation profile that lacks Secondary Capture (a
  destination refusing one SOP class), writing unique file names (+uf) so that every
  delivery of an instance leaves its own file.
- store_scp.py, a scripted SCP answering chosen C-STORE statuses per instance and
  counting deliveries (warnings, A7xx retried, A9xx/Cxxx failed, attempts exhausted).

After each fault the queue's counts must match what the destination holds, and no
instance recorded as delivered is sent again.

Orthanc tests are skipped when /usr/sbin/Orthanc is missing (apt-get install orthanc).
Retry delays in these configs are 1-2 s; every wait below is bounded.
"""

import collections
import json
import os
import re
import signal
import subprocess
import time

import pydicom
import pytest

import make_ct_series
import orthanc
import qr
import store_scp
from conftest import cloudfilm_bin, dcmtk_env, free_port, port_open, rename_status, stage

k_seed = 53
k_queued_re = re.compile(r"queued job (\d+): (\d+) instances? to (\S+)")
k_fast_retry = {"max_attempts": 30, "initial_delay": 1, "max_delay": 2}
k_sc_storage = qr.k_sc_storage
k_wait_exit = 130  # send --wait after SIGINT
k_poll = 0.1  # seconds between polls

needs_orthanc = pytest.mark.skipif(not orthanc.installed(), reason="Orthanc not installed (apt-get install orthanc)")


# -- helpers -----------------------------------------------------------------------------

def wait_for(predicate, timeout, what, interval=k_poll):
    """Poll `predicate` until it returns something truthy (returned), at most `timeout` s."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after {} s waiting for {}".format(timeout, what))
        time.sleep(interval)


def jobs(node):
    """{job id: job} from `cloudfilm queue --json`."""
    result = node.cli("queue", "--json", timeout=60)
    assert result.returncode == 0, "queue --json failed ({}): {}".format(result.returncode, result.stderr)
    data = json.loads(result.stdout)
    assert isinstance(data, list), result.stdout[:500]
    return {job["id"]: job for job in data}


def job(node, job_id):
    return jobs(node)[job_id]


def total(job_record):
    return sum(job_record[k] for k in ("pending", "done", "warning", "failed"))


def wait_job(node, job_id, states=("done", "failed", "cancelled"), timeout=120):
    def ended():
        record = job(node, job_id)
        return record if record["state"] in states else None
    try:
        return wait_for(ended, timeout, "job {} to reach {}".format(job_id, states), interval=0.25)
    except AssertionError as e:
        raise AssertionError("{}: {}\n--- node log ---\n{}".format(e, job(node, job_id), node.log()[-4000:]))


def wait_resumed(node, job_id, timeout=60):
    """After a kill -9 and restart: the new node must take the job up again promptly (the
    killed owner is gone; waiting out its lease is not "resuming")."""
    try:
        return wait_job(node, job_id, states=("done", "failed"), timeout=timeout)
    except AssertionError as e:
        lease = ""
        try:
            import sqlite3
            db = sqlite3.connect("file:{}?mode=ro".format(os.path.join(node.data_dir, "index.sqlite")), uri=True)
            lease = db.execute("SELECT lease_owner, lease_until - strftime('%s','now') FROM forward_jobs WHERE id = ?",
                               (job_id,)).fetchone()
            db.close()
        except Exception as db_error:  # only for the message
            lease = repr(db_error)
        raise AssertionError("restarted node did not finish job {} within {} s; lease (owner, seconds left): {}\n{}".format(
            job_id, timeout, lease, e))


def parse_queued(result):
    found = k_queued_re.search(result.stdout)
    assert found, "no 'queued job N: M instances to NAME' in stdout (exit {}):\n{}\n{}".format(
        result.returncode, result.stdout, result.stderr[-3000:])
    return int(found.group(1)), int(found.group(2))


def send(node, uids, to, wait=False, timeout=300):
    """`cloudfilm send UIDS --to TO [--wait]`; returns (result, job id, instance count)."""
    args = ["send"] + list(uids) + ["--to", to] + (["--wait"] if wait else [])
    result = node.cli(*args, timeout=timeout)
    job_id, count = parse_queued(result)
    return result, job_id, count


class Sender:
    """`cloudfilm send --wait` in the background (for faults and SIGINT)."""

    def __init__(self, node, uids, to):
        self.node = node
        self.known = set(jobs(node))
        self.out_path = os.path.join(node.workdir, "send-wait.out")
        self.err_path = os.path.join(node.workdir, "send-wait.err")
        self._out = open(self.out_path, "wb")
        self._err = open(self.err_path, "wb")
        self.proc = subprocess.Popen([cloudfilm_bin(), "send"] + list(uids) + ["--to", to, "--wait",
                                     "--config", node.config_path],
                                     stdin=subprocess.DEVNULL, stdout=self._out, stderr=self._err, env=dcmtk_env())

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
            raise AssertionError("send --wait still running after {} s:\n{}".format(timeout, self.stderr()[-4000:]))
        finally:
            if self.proc.poll() is not None:
                self._out.close()
                self._err.close()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self._out.close()
        self._err.close()

    def job_id(self):
        """The job this sender created, from the queue (its stdout may be buffered until
        it exits)."""
        def queued():
            new = set(jobs(self.node)) - self.known
            return max(new) if new else None
        return wait_for(queued, 30, "send --wait to create its job")

    def stdout(self):
        with open(self.out_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stderr(self):
        with open(self.err_path, encoding="utf-8", errors="replace") as f:
            return f.read()


def sop_uid(path):
    return str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)


def import_files(node, *paths):
    result = node.cli("import", *paths, timeout=300)
    assert result.returncode == 0, "import failed ({}):\n{}\n{}".format(result.returncode, result.stdout, result.stderr)
    return result


def orthanc_instances(peer):
    """{SOP Instance UID: Orthanc id} of everything Orthanc holds."""
    out = {}
    for item in peer.get("/instances?expand"):
        sop = item["MainDicomTags"]["SOPInstanceUID"]
        assert sop not in out, "Orthanc lists {} twice".format(sop)
        out[sop] = item["ID"]
    return out


def orthanc_count(peer):
    try:
        return peer.get("/statistics", timeout=5)["CountInstances"]
    except OSError:
        return -1


def orthanc_file(peer, oid, path):
    with open(path, "wb") as f:
        f.write(peer.get_raw("/instances/{}/file".format(oid)))
    return path


def assert_job(record, state, done=None, warning=0, failed=0, pending=0):
    got = {k: record[k] for k in ("state", "done", "warning", "failed", "pending")}
    want = {"state": state, "done": got["done"] if done is None else done, "warning": warning,
            "failed": failed, "pending": pending}
    assert got == want, "job {}: {} (expected {}); last_error: {}".format(
        record["id"], got, want, record["last_error"])


class OrthancFactory:
    def __init__(self, base):
        self.base = str(base)
        self.servers = []

    def __call__(self, extra=None, peers=None):
        server = orthanc.Orthanc(os.path.join(self.base, "orthanc{}".format(len(self.servers))),
                                 peers=peers or {"cloudfilm": ("CLOUDFILM", 0)}, extra=extra)
        self.servers.append(server)
        return server

    def close(self):
        for server in self.servers:
            if server.running():
                server.stop()


@pytest.fixture
def orthanc_factory(tmp_path):
    if not orthanc.installed():
        pytest.skip("Orthanc not installed (apt-get install orthanc)")
    factory = OrthancFactory(tmp_path / "orthanc")
    yield factory
    factory.close()


def forwarder(node_factory, modalities, forward=None, name="fwd"):
    """A node (not started) knowing `modalities` {name: (ae, port)}."""
    config = {"modalities": {n: {"ae": ae, "host": "127.0.0.1", "port": port} for n, (ae, port) in modalities.items()},
              "forward": forward if forward is not None else {"retry": dict(k_fast_retry)}}
    return node_factory(name, config=config)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """(study uid, [MixedSeries], {sop: reference pixels}, {sop: original path}, folder)."""
    out = str(tmp_path_factory.mktemp("fwd-mixed"))
    study_uid, series = qr.make_mixed_study(out, k_seed)
    originals = {sop_uid(p): p for s in series for p in s.files}
    return study_uid, series, qr.reference_pixels(series), originals, out


def check_orthanc_copy(peer, mixed, workdir, transcoded):
    """Orthanc holds exactly the mixed study, each instance with the original pixels; in
    the stored syntax with identical PixelData unless `transcoded` (then uncompressed)."""
    study_uid, series, reference, originals, _ = mixed
    held = orthanc_instances(peer)
    assert set(held) == set(reference), "missing in Orthanc {}, unexpected {}".format(
        sorted(set(reference) - set(held))[:5], sorted(set(held) - set(reference))[:5])
    os.makedirs(workdir, exist_ok=True)
    for sop, oid in held.items():
        path = orthanc_file(peer, oid, os.path.join(workdir, sop + ".dcm"))
        received = pydicom.dcmread(path)
        original = pydicom.dcmread(originals[sop])
        assert str(received.StudyInstanceUID) == study_uid
        ts, original_ts = str(received.file_meta.TransferSyntaxUID), str(original.file_meta.TransferSyntaxUID)
        if transcoded:
            assert ts in qr.k_uncompressed, "{}: Orthanc got {} (accepts uncompressed only)".format(sop, ts)
        elif original_ts not in qr.k_uncompressed:
            assert ts == original_ts, "{}: sent as {} though Orthanc accepts the stored {}".format(sop, ts, original_ts)
            assert bytes(received.PixelData) == bytes(original.PixelData), sop
        assert qr.same_pixels(qr.pixels(path), reference[sop]), "{}: pixels differ ({} from {})".format(
            sop, ts, original_ts)


# -- send --wait to Orthanc --------------------------------------------------------------

@pytest.mark.parametrize("accepted", ["all", "uncompressed"])
def test_send_wait_mixed_study(node_factory, orthanc_factory, mixed, tmp_path, accepted):
    """The whole mixed study (uncompressed, RLE, JPEG-LS, JPEG 2000, big endian, JPEG
    lossless RGB, CT) in one `send --wait`; with accepted=uncompressed Orthanc accepts only
    uncompressed syntaxes, so every compressed instance must be transcoded."""
    extra = None
    if accepted == "uncompressed":
        extra = {"AcceptedTransferSyntaxes": [qr.k_implicit_le, qr.k_explicit_le]}
    peer = orthanc_factory(extra=extra).start()
    node = forwarder(node_factory, {"orthanc": ("ORTHANC", peer.dicom_port)})
    import_files(node, mixed[4])
    result, job_id, count = send(node, [mixed[0]], "orthanc", wait=True)
    assert result.returncode == 0, "send --wait exit {}:\n{}\n{}\n--- Orthanc ---\n{}".format(
        result.returncode, result.stdout, result.stderr[-4000:], peer.log()[-3000:])
    assert count == len(mixed[2])
    record = job(node, job_id)
    assert_job(record, "done", done=count)
    assert record["attempts"] == 1 and record["reason"] == "send" and record["destination"] == "orthanc"
    assert record["study_uid"] == mixed[0] and record["last_error"] == ""
    check_orthanc_copy(peer, mixed, str(tmp_path / "from-orthanc"), transcoded=(accepted == "uncompressed"))


def test_send_series_and_instances(node_factory, orthanc_factory, mixed):
    """UIDs at series and instance level, several at once; each instance queued once."""
    peer = orthanc_factory().start()
    node = forwarder(node_factory, {"orthanc": ("ORTHANC", peer.dicom_port)})
    import_files(node, mixed[4])
    series = {s.label: s for s in mixed[1]}
    rle_sops = [sop_uid(p) for p in series["rle"].files]
    one_j2k = sop_uid(series["j2k"].files[0])
    # The RLE series, one of its instances again, and one JPEG 2000 instance.
    result, job_id, count = send(node, [series["rle"].series_uid, rle_sops[0], one_j2k], "orthanc", wait=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert count == len(rle_sops) + 1, result.stdout
    assert_job(job(node, job_id), "done", done=count)
    assert set(orthanc_instances(peer)) == set(rle_sops + [one_j2k])


# -- faults --------------------------------------------------------------------------------

@pytest.mark.parametrize("sender", ["wait", "serve"])
def test_destination_down_when_the_job_starts(node_factory, orthanc_factory, mixed, sender):
    """Orthanc is not running yet: attempts fail (connection refused) and are retried;
    once Orthanc starts the job completes, by `send --wait` or by the running node."""
    peer = orthanc_factory()  # ports chosen, not started
    node = forwarder(node_factory, {"orthanc": ("ORTHANC", peer.dicom_port)})
    import_files(node, mixed[4])
    background = None
    if sender == "wait":
        background = Sender(node, [mixed[0]], "orthanc")
        job_id = background.job_id()
    else:
        node.start()
        _, job_id, _ = send(node, [mixed[0]], "orthanc")
    try:
        failing = wait_for(lambda: (lambda r: r if r["attempts"] >= 2 else None)(job(node, job_id)), 30,
                           "two failed attempts")
        assert failing["state"] == "pending" and failing["done"] == 0, failing
        assert failing["last_error"], "a failed attempt must leave last_error: {}".format(failing)
        peer.start()
        if background is not None:
            code = background.wait(timeout=120)
            assert code == 0, "send --wait exit {}:\n{}".format(code, background.stderr()[-4000:])
        record = wait_job(node, job_id, timeout=120)
    finally:
        if background is not None:
            background.kill()
    assert_job(record, "done", done=len(mixed[2]))
    assert record["attempts"] >= 3, record
    assert set(orthanc_instances(peer)) == set(mixed[2])


@pytest.fixture(scope="module")
def big_study(tmp_path_factory):
    """300 slices 512x512 (seed 59), ~160 MB; removed at the end of the module."""
    out = str(tmp_path_factory.mktemp("fwd-ct300big"))
    files = make_ct_series.make_series(out, count=300, seed=59, size=512)
    yield make_ct_series.make_uid(59, "study"), files, out
    import shutil
    shutil.rmtree(out, ignore_errors=True)


def _check_big_in_orthanc(peer, big_study, workdir, sample=6):
    study_uid, files, _ = big_study
    held = orthanc_instances(peer)
    by_sop = {sop_uid(p): p for p in files}
    assert set(held) == set(by_sop), "Orthanc holds {} of {}; missing e.g. {}".format(
        len(set(held) & set(by_sop)), len(by_sop), sorted(set(by_sop) - set(held))[:3])
    os.makedirs(workdir, exist_ok=True)
    step = max(1, len(files) // sample)
    for path in files[::step]:
        sop = sop_uid(path)
        got = pydicom.dcmread(orthanc_file(peer, held[sop], os.path.join(workdir, sop + ".dcm")))
        assert bytes(got.PixelData) == bytes(pydicom.dcmread(path).PixelData), sop


@needs_orthanc
def test_orthanc_killed_mid_transfer(node_factory, orthanc_factory, big_study, tmp_path):
    """SIGKILL Orthanc while `send --wait` streams 300 CT slices, restart it: the job
    resumes, ends done, and its counts match what Orthanc holds."""
    peer = orthanc_factory().start()
    node = forwarder(node_factory, {"orthanc": ("ORTHANC", peer.dicom_port)})
    import_files(node, big_study[2])
    background = Sender(node, [big_study[0]], "orthanc")
    try:
        job_id = background.job_id()
        wait_for(lambda: orthanc_count(peer) >= 60, 60, "Orthanc to hold 60 instances", interval=0.05)
        peer.kill()
        held_at_kill = None
        # The interrupted attempt and one refused connection are recorded; the job goes on.
        failing = wait_for(lambda: (lambda r: r if r["attempts"] >= 2 or r["state"] != "pending" else None)(
            job(node, job_id)), 30, "the job to record attempts against the dead Orthanc")
        assert failing["state"] == "pending" and failing["failed"] == 0 and failing["last_error"], \
            "a destination killed mid-association is a network failure, to be retried: {}".format(failing)
        assert 56 <= failing["done"] < 300, failing  # Orthanc held >= 60; a few may be in flight
        peer.start()
        held_at_kill = orthanc_count(peer)
        code = background.wait(timeout=180)
        assert code == 0, "send --wait exit {}:\n{}".format(code, background.stderr()[-4000:])
    finally:
        background.kill()
    record = job(node, job_id)
    assert_job(record, "done", done=300)
    # Whatever the queue had recorded as done before the restart was in Orthanc.
    assert held_at_kill is None or held_at_kill >= failing["done"], (held_at_kill, failing)
    _check_big_in_orthanc(peer, big_study, str(tmp_path / "from-orthanc"))


@needs_orthanc
def test_cloudfilm_killed_mid_transfer(node_factory, orthanc_factory, big_study, tmp_path):
    """kill -9 the node while it forwards 300 CT slices; after a restart it drains the
    rest of the job; the queue's counts match Orthanc's."""
    peer = orthanc_factory().start()
    node = forwarder(node_factory, {"orthanc": ("ORTHANC", peer.dicom_port)})
    import_files(node, big_study[2])
    node.start()
    _, job_id, count = send(node, [big_study[0]], "orthanc")
    assert count == 300
    wait_for(lambda: orthanc_count(peer) >= 60, 60, "Orthanc to hold 60 instances", interval=0.05)
    node.kill9()
    record = job(node, job_id)  # the node is down: the CLI reads the queue alone
    held = orthanc_count(peer)
    assert record["state"] == "pending" and record["failed"] == 0, record
    assert record["done"] <= held, "queue says {} done, Orthanc holds {}".format(record["done"], held)
    assert record["done"] >= 1, record
    node.start()
    record = wait_resumed(node, job_id)
    assert_job(record, "done", done=300)
    assert orthanc_count(peer) == 300
    _check_big_in_orthanc(peer, big_study, str(tmp_path / "from-orthanc"))


def test_cloudfilm_killed_mid_transfer_delivers_each_instance_once(node_factory, ct_series):
    """The same crash against store_scp.py, which counts deliveries: only instances that
    were in flight at the kill may arrive twice; none recorded as done is resent."""
    scp = store_scp.StoreSCP()
    try:
        node = forwarder(node_factory, {"scp": (scp.ae_title, scp.port)})
        import_files(node, os.path.dirname(ct_series[0]))
        node.start()
        _, job_id, count = send(node, [make_ct_series.make_uid(0, "study")], "scp")
        assert count == len(ct_series)
        wait_for(lambda: len(scp.deliveries()) >= 60, 60, "60 deliveries", interval=0.02)
        node.kill9()
        at_kill = job(node, job_id)
        delivered_at_kill = scp.deliveries()
        assert at_kill["done"] <= len(delivered_at_kill), (at_kill, len(delivered_at_kill))
        node.start()
        record = wait_resumed(node, job_id)
        assert_job(record, "done", done=count)
        deliveries = scp.deliveries()
        expected = {sop_uid(p) for p in ct_series}
        assert set(deliveries) == expected
        twice = sorted(sop for sop, n in deliveries.items() if n > 1)
        # At most what was delivered but not yet recorded at the kill.
        in_flight = len(delivered_at_kill) - at_kill["done"]
        assert len(twice) <= in_flight, "resent: {} (in flight at the kill: {})".format(len(twice), in_flight)
        assert in_flight <= 4, "{} instances delivered but not recorded as done at the kill".format(in_flight)
        assert max(deliveries.values()) <= 2, deliveries.most_common(3)
    finally:
        scp.close()


# -- a destination refusing one SOP class (DCMTK storescp) -------------------------------

k_no_sc_profile = """[[TransferSyntaxes]]
[Any]
TransferSyntax1 = JPEG2000LosslessOnly
TransferSyntax2 = JPEGLSLossless
TransferSyntax3 = RLELossless
TransferSyntax4 = JPEGLossless:Non-hierarchical-1stOrderPrediction
TransferSyntax5 = LocalEndianExplicit
TransferSyntax6 = OppositeEndianExplicit
TransferSyntax7 = LittleEndianImplicit
[Uncompressed]
TransferSyntax1 = LocalEndianExplicit
TransferSyntax2 = LittleEndianImplicit
[[PresentationContexts]]
[NoSC]
PresentationContext1 = VerificationSOPClass\\Uncompressed
PresentationContext2 = CTImageStorage\\Any
PresentationContext3 = MRImageStorage\\Any
[[Profiles]]
[NoSC]
PresentationContexts = NoSC
"""


class StoreSCPProcess:
    """DCMTK storescp writing unique file names (+uf): one file per delivery."""

    def __init__(self, workdir, ae_title="STORESCP", profile=None, port=None):
        self.workdir = workdir
        self.out_dir = os.path.join(workdir, "received")
        os.makedirs(self.out_dir, exist_ok=True)
        self.ae_title = ae_title
        self.port = port or free_port()
        self.profile = profile
        self.proc = None

    def start(self):
        cmd = ["storescp", "-aet", self.ae_title, "+uf", "-od", self.out_dir, "-ta", "30", "-td", "60"]
        if self.profile:
            cfg = os.path.join(self.workdir, "storescp.cfg")
            with open(cfg, "w") as f:
                f.write(self.profile)
            cmd += ["-xf", cfg, "NoSC"]
        cmd.append(str(self.port))
        self.log = open(os.path.join(self.workdir, "storescp.log"), "ab")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, env=dcmtk_env())
        wait_for(lambda: self.proc.poll() is not None or port_open(self.port), 20, "storescp to listen")
        assert self.proc.poll() is None, "storescp exited with {}".format(self.proc.returncode)
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)
        if self.proc is not None:
            self.log.close()
            self.proc = None

    def deliveries(self):
        """Counter {SOP Instance UID: files received}, plus {sop: transfer syntax}."""
        counts, syntaxes = collections.Counter(), {}
        for name in sorted(os.listdir(self.out_dir)):
            ds = pydicom.dcmread(os.path.join(self.out_dir, name), stop_before_pixels=True)
            counts[str(ds.SOPInstanceUID)] += 1
            syntaxes[str(ds.SOPInstanceUID)] = str(ds.file_meta.TransferSyntaxUID)
        return counts, syntaxes


def test_destination_refusing_a_sop_class(node_factory, mixed, tmp_path):
    """storescp without Secondary Capture: the SC instances fail permanently (job failed,
    everything else delivered once); `queue retry` resends only the failed items; once
    the destination accepts SC (uncompressed only: cloudfilm must decompress the JPEG
    Lossless RGB image), the job ends done with nothing delivered twice."""
    study_uid, series, reference, originals, folder = mixed
    sc_sops = {sop for sop, p in originals.items() if str(pydicom.dcmread(p, stop_before_pixels=True).SOPClassUID) == k_sc_storage}
    assert len(sc_sops) == 2
    scp = StoreSCPProcess(str(tmp_path / "storescp"), profile=k_no_sc_profile).start()
    try:
        node = forwarder(node_factory, {"scp": (scp.ae_title, scp.port)})
        import_files(node, folder)
        result, job_id, count = send(node, [study_uid], "scp", wait=True)
        assert result.returncode == 1, "send --wait must exit 1 when an instance failed:\n{}\n{}".format(
            result.stdout, result.stderr[-3000:])
        record = job(node, job_id)
        assert_job(record, "failed", done=count - 2, failed=2)
        assert record["last_error"], record
        counts, _ = scp.deliveries()
        assert set(counts) == set(reference) - sc_sops
        assert max(counts.values()) == 1, counts.most_common(3)

        # queue retry: the two failed items are due again; the node sends them: an
        # association on which the peer accepts none of the proposed SOP classes fails
        # them again, permanently (it is no network failure to retry).
        node.start()
        retry = node.cli("queue", "retry", str(job_id))
        assert retry.returncode == 0, retry.stderr
        record = wait_job(node, job_id, timeout=20)
        assert_job(record, "failed", done=count - 2, failed=2)
        assert record["attempts"] == 1, record
        counts, _ = scp.deliveries()
        assert sum(counts.values()) == count - 2, "delivered instances were sent again: {}".format(counts.most_common(3))

        # The destination now accepts every storage class, uncompressed only.
        scp.stop()
        scp.profile = None
        scp.start()
        retry = node.cli("queue", "retry", str(job_id))
        assert retry.returncode == 0, retry.stderr
        record = wait_job(node, job_id, timeout=60)
        assert_job(record, "done", done=count)
        counts, syntaxes = scp.deliveries()
        assert set(counts) == set(reference)
        assert max(counts.values()) == 1, "sent twice: {}".format([s for s, n in counts.items() if n > 1])
        for sop in sc_sops:
            assert syntaxes[sop] in qr.k_uncompressed, syntaxes[sop]
            path = next(os.path.join(scp.out_dir, n) for n in os.listdir(scp.out_dir)
                        if sop_uid(os.path.join(scp.out_dir, n)) == sop)
            assert qr.same_pixels(qr.pixels(path), reference[sop]), sop
    finally:
        scp.stop()


# -- C-STORE statuses (scripted SCP) -------------------------------------------------------

def _status_study(tmp_path, seed, count):
    files = make_ct_series.make_series(str(tmp_path / "ct{}".format(seed)), count=count, seed=seed)
    return make_ct_series.make_uid(seed, "study"), [sop_uid(p) for p in files], os.path.dirname(files[0])


def test_statuses_warnings_and_retried_out_of_resources(node_factory, tmp_path):
    """B000/B006/B007 count as delivered (warning); A700 and A7FF are retried in a later
    attempt and then succeed; the job ends done; nothing delivered is sent again."""
    study_uid, sops, folder = _status_study(tmp_path, 61, 7)
    plan = {sops[1]: [0xB000], sops[2]: [0xB006], sops[3]: [0xB007],
            sops[4]: [0xA700, 0x0000], sops[5]: [0xA7FF, 0xA700, 0x0000]}
    scp = store_scp.StoreSCP(status=lambda sop, n: plan.get(sop, [0])[min(n, len(plan.get(sop, [0]))) - 1])
    try:
        node = forwarder(node_factory, {"scp": (scp.ae_title, scp.port)})
        import_files(node, folder)
        result, job_id, count = send(node, [study_uid], "scp", wait=True, timeout=120)
        assert result.returncode == 0, "{}\n{}".format(result.stdout, result.stderr[-3000:])
        record = job(node, job_id)
        assert_job(record, "done", done=4, warning=3)
        assert record["attempts"] == 3, record
        deliveries = scp.deliveries()
        want = {sop: len(plan.get(sop, [0])) for sop in sops}
        assert dict(deliveries) == want
    finally:
        scp.close()


def test_association_aborted_mid_transfer_is_retried(node_factory, tmp_path):
    """The destination aborts the association while the third instance is in flight (the
    way a killed or restarted PACS looks): the two acknowledged instances stay done, the
    rest is sent in the next attempt, the job ends done."""
    study_uid, sops, folder = _status_study(tmp_path, 73, 5)
    scp = store_scp.StoreSCP(status=lambda sop, n: None if (sop == sops[2] and n == 1) else 0)
    try:
        node = forwarder(node_factory, {"scp": (scp.ae_title, scp.port)})
        import_files(node, folder)
        result, job_id, count = send(node, [study_uid], "scp", wait=True, timeout=120)
        record = job(node, job_id)
        assert result.returncode == 0 and record["state"] == "done", \
            "exit {}; {}\n{}".format(result.returncode, record, result.stderr[-3000:])
        assert_job(record, "done", done=5)
        assert record["attempts"] == 2, record
        order = [r.sop_instance for r in scp.records()]
        assert order[:3] == sops[:3], "instances are sent in the order stored"
        deliveries = scp.deliveries()
        assert dict(deliveries) == {sop: 2 if sop == sops[2] else 1 for sop in sops}
    finally:
        scp.close()


def test_statuses_permanent_failures_and_attempts_exhausted(node_factory, tmp_path):
    """A900, C000 and 0122 fail their instance at once (never resent); an instance
    answered A700 every time is retried until max_attempts, then the job is failed;
    send --wait exits 1."""
    study_uid, sops, folder = _status_study(tmp_path, 67, 6)
    plan = {sops[1]: 0xA900, sops[2]: 0xC000, sops[3]: 0x0122, sops[4]: 0xA700, sops[5]: 0xB000}
    scp = store_scp.StoreSCP(status=lambda sop, n: plan.get(sop, 0))
    try:
        node = forwarder(node_factory, {"scp": (scp.ae_title, scp.port)},
                         forward={"retry": {"max_attempts": 3, "initial_delay": 1, "max_delay": 1}})
        import_files(node, folder)
        result, job_id, count = send(node, [study_uid], "scp", wait=True, timeout=120)
        assert result.returncode == 1, "{}\n{}".format(result.stdout, result.stderr[-3000:])
        record = job(node, job_id)
        assert_job(record, "failed", done=1, warning=1, failed=3, pending=1)
        assert record["attempts"] == 3, record
        assert record["last_error"], record
        deliveries = scp.deliveries()
        want = {sop: 1 for sop in sops}
        want[sops[4]] = 3
        assert dict(deliveries) == want
    finally:
        scp.close()


def test_send_wait_while_the_node_runs_sends_once(node_factory, tmp_path):
    """`send --wait` next to a running node (which polls the queue every second): the job
    is sent by one of them only; every instance arrives once."""
    study_uid, sops, folder = _status_study(tmp_path, 71, 40)
    scp = store_scp.StoreSCP()
    try:
        node = forwarder(node_factory, {"scp": (scp.ae_title, scp.port)})
        import_files(node, folder)
        node.start()
        for _ in range(3):
            before = sum(scp.deliveries().values())
            result, job_id, count = send(node, [study_uid], "scp", wait=True, timeout=120)
            assert result.returncode == 0, result.stderr[-3000:]
            assert_job(wait_job(node, job_id, timeout=30), "done", done=count)
            time.sleep(1.5)  # a node that picked the job up too would have sent by now
            assert sum(scp.deliveries().values()) - before == count, "sent {} C-STOREs for {} instances".format(
                sum(scp.deliveries().values()) - before, count)
    finally:
        scp.close()


# -- many SOP classes: more than 128 presentation contexts ---------------------------------

def _storage_classes(limit):
    """Current storage SOP classes from pydicom's UID dictionary, without the procedure
    protocol ones (1.2.840.10008.5.1.4.1.1.200.x), which Orthanc 1.10 refuses in
    negotiation even with UnknownSopClassAccepted."""
    from pydicom._uid_dict import UID_dictionary
    out = sorted(uid for uid, (name, kind, _, retired, _) in UID_dictionary.items()
                 if uid.startswith("1.2.840.10008.5.1.4.1.1.") and kind == "SOP Class"
                 and name.endswith("Storage") and not retired
                 and not uid.startswith("1.2.840.10008.5.1.4.1.1.200."))
    return out[:limit]


def test_more_than_128_presentation_contexts(node_factory, orthanc_factory, tmp_path):
    """140 instances of 140 different storage SOP classes (MR_small's data set relabelled)
    cannot travel on one association (128 presentation contexts at most): cloudfilm must
    split them and deliver all."""
    classes = _storage_classes(140)
    assert len(classes) == 140
    study_uid = make_ct_series.make_uid(k_seed, "many-classes")
    series_uid = make_ct_series.make_uid(k_seed, "many-classes", "series")
    out = tmp_path / "many"
    sops = []
    for index, sop_class in enumerate(classes):
        ds = qr.template("MR_small.dcm")
        sop = make_ct_series.make_uid(k_seed, "many-classes", index)
        qr.restamp(ds, study_uid, series_uid, sop, SOPClassUID=sop_class, InstanceNumber=index + 1)
        ds.file_meta.MediaStorageSOPClassUID = sop_class
        qr.save(ds, str(out / "{:03d}.dcm".format(index)))
        sops.append(sop)
    peer = orthanc_factory(extra={"UnknownSopClassAccepted": True}).start()
    node = forwarder(node_factory, {"orthanc": ("ORTHANC", peer.dicom_port)})
    import_files(node, str(out))
    result, job_id, count = send(node, [study_uid], "orthanc", wait=True, timeout=300)
    assert result.returncode == 0, "{}\n{}".format(result.stdout, result.stderr[-3000:])
    assert count == 140
    assert_job(job(node, job_id), "done", done=140)
    assert set(orthanc_instances(peer)) == set(sops)


# -- auto-forward rules --------------------------------------------------------------------

def _mr_study(out_dir, seed, count=2):
    study_uid = make_ct_series.make_uid(seed, "mr-study")
    series_uid = make_ct_series.make_uid(seed, "mr-series")
    files = []
    for index in range(count):
        ds = qr.template("MR_small.dcm")
        qr.restamp(ds, study_uid, series_uid, make_ct_series.make_uid(seed, "mr", index),
                   PatientID="MR{}".format(seed), InstanceNumber=index + 1)
        files.append(qr.save(ds, os.path.join(out_dir, "{:02d}.dcm".format(index))))
    return study_uid, files


def test_auto_forward_rules(node_factory, orthanc_factory, tmp_path):
    """Rules: CT received over DIMSE from STORESCU or MODALITY2, and MR imported. Only the
    matching studies reach Orthanc, one rule job each, holding the whole study even when
    it arrived over two associations (batch_delay)."""
    peer = orthanc_factory().start()
    batch_delay = 2
    node = forwarder(node_factory, {"orthanc": ("ORTHANC", peer.dicom_port)}, forward={
        "rules": [{"to": "orthanc", "source": "dimse", "calling_ae": ["STORESCU", "MODALITY2"], "modality": "CT"},
                  {"to": "orthanc", "source": "import", "modality": ["MR"]}],
        "retry": dict(k_fast_retry),
        "batch_delay": batch_delay,
    })
    node.start()
    ct = {}
    for seed, count in ((101, 5), (102, 3), (103, 3), (104, 3)):
        files = make_ct_series.make_series(str(tmp_path / "ct{}".format(seed)), count=count, seed=seed)
        ct[seed] = (make_ct_series.make_uid(seed, "study"), files)
    mr_dimse = _mr_study(str(tmp_path / "mr201"), 201)
    mr_import = _mr_study(str(tmp_path / "mr202"), 202)

    def store(files, calling, label):
        staged = stage(files, str(tmp_path / ("stage-" + label)))
        proc = node.storescu(staged, calling=calling)
        assert all(rename_status(p) == "done" for p in staged), proc.stdout + proc.stderr

    store(ct[101][1][:3], "STORESCU", "a1")       # forwarded, in two associations
    store(ct[101][1][3:], "STORESCU", "a2")
    store(ct[102][1], "MODALITY2", "b")           # forwarded
    store(ct[103][1], "OTHERAE", "c")             # calling AE not in the rule
    store(mr_dimse[1], "STORESCU", "mr")          # MR over DIMSE: no rule
    import_files(node, str(tmp_path / "mr202"))   # forwarded (import rule)
    import_files(node, str(tmp_path / "ct104"))   # CT imported: no rule

    forwarded = {ct[101][0]: 5, ct[102][0]: 3, mr_import[0]: 2}

    def rule_jobs_done():
        current = [j for j in jobs(node).values() if j["reason"] == "rule"]
        studies = {j["study_uid"] for j in current}
        if studies >= set(forwarded) and all(j["state"] == "done" for j in current):
            return current
        return None
    try:
        wait_for(rule_jobs_done, 60, "the rule jobs to end done", interval=0.25)
    except AssertionError as e:
        raise AssertionError("{}: {}\n{}".format(e, jobs(node), node.log()[-4000:]))
    time.sleep(batch_delay + 2)  # anything else a rule wrongly queued would exist by now
    current = list(jobs(node).values())
    assert all(j["reason"] == "rule" and j["destination"] == "orthanc" for j in current), current
    by_study = collections.defaultdict(list)
    for j in current:
        by_study[j["study_uid"]].append(j)
    assert set(by_study) == set(forwarded), "rule jobs for {} (expected {})".format(sorted(by_study), sorted(forwarded))
    for study, count in forwarded.items():
        assert len(by_study[study]) == 1, "study {}: {} jobs: {}".format(study, len(by_study[study]), by_study[study])
        assert_job(by_study[study][0], "done", done=count)
    held = orthanc_instances(peer)
    assert len(held) == sum(forwarded.values())
    studies = {peer.get("/instances/{}/study".format(oid))["MainDicomTags"]["StudyInstanceUID"] for oid in held.values()}
    assert studies == set(forwarded)


# -- queue: cancel, retry, Ctrl-C, persistence --------------------------------------------

def test_queue_cancel_and_jobs_survive_restarts(node_factory, orthanc_factory, mixed):
    """Jobs queued while the node is stopped are sent when it starts; a cancelled job is
    never sent; cancelling a job waiting for its next attempt stops its retries."""
    study_uid, series, _, _, folder = mixed
    by_label = {s.label: s for s in series}
    peer = orthanc_factory().start()
    down_port = free_port()
    node = forwarder(node_factory, {"orthanc": ("ORTHANC", peer.dicom_port), "down": ("NOBODY", down_port)})
    import_files(node, folder)
    _, keep_id, keep_count = send(node, [by_label["rle"].series_uid], "orthanc")
    _, drop_id, _ = send(node, [by_label["j2k"].series_uid], "orthanc")
    _, down_id, _ = send(node, [by_label["ct"].series_uid], "down")
    cancel = node.cli("queue", "cancel", str(drop_id))
    assert cancel.returncode == 0, cancel.stderr
    listing = node.cli("queue")
    assert listing.returncode == 0 and "cancelled" in listing.stdout, listing.stdout
    assert job(node, drop_id)["state"] == "cancelled"

    node.start()
    record = wait_job(node, keep_id, timeout=30)
    assert_job(record, "done", done=keep_count)
    waiting = wait_for(lambda: (lambda r: r if r["attempts"] >= 1 else None)(job(node, down_id)), 30,
                       "an attempt to the down modality")
    assert waiting["state"] == "pending" and waiting["last_error"], waiting
    cancel = node.cli("queue", "cancel", str(down_id))
    assert cancel.returncode == 0, cancel.stderr
    attempts = job(node, down_id)["attempts"]
    time.sleep(4)  # retry delays are 1-2 s: a cancelled job retried would show it
    record = job(node, down_id)
    assert record["state"] == "cancelled" and record["attempts"] == attempts, record
    assert job(node, drop_id)["attempts"] == 0
    assert set(orthanc_instances(peer)) == {sop_uid(p) for p in by_label["rle"].files}

    # Restart: nothing is sent again, states are kept.
    assert node.stop() == 0
    node.start()
    time.sleep(2)
    states = {i: j["state"] for i, j in jobs(node).items()}
    assert states == {keep_id: "done", drop_id: "cancelled", down_id: "cancelled"}, states
    assert orthanc_count(peer) == keep_count

    bad = node.cli("queue", "cancel", "999")
    assert bad.returncode != 0 and "999" in bad.stderr, (bad.returncode, bad.stderr)
    bad = node.cli("queue", "retry", "999")
    assert bad.returncode != 0 and "999" in bad.stderr, (bad.returncode, bad.stderr)


def test_queue_retry_after_attempts_exhausted(node_factory, orthanc_factory, mixed):
    """Destination down for every attempt: the job fails after max_attempts, keeping the
    reason; `queue retry` makes it due now with attempts reset, and the running node
    completes it once Orthanc is up."""
    peer = orthanc_factory()
    node = forwarder(node_factory, {"orthanc": ("ORTHANC", peer.dicom_port)},
                     forward={"retry": {"max_attempts": 2, "initial_delay": 1, "max_delay": 1}})
    import_files(node, mixed[4])
    result, job_id, count = send(node, [mixed[0]], "orthanc", wait=True, timeout=60)
    assert result.returncode == 1, result.stderr[-3000:]
    record = job(node, job_id)
    assert_job(record, "failed", done=0, pending=count)
    assert record["attempts"] == 2 and record["last_error"], record
    text = node.cli("queue").stdout
    assert "failed" in text and record["last_error"][:30] in text, text

    peer.start()
    node.start()
    time.sleep(1.5)
    assert job(node, job_id)["state"] == "failed"  # a failed job stays failed by itself
    retry = node.cli("queue", "retry", str(job_id))
    assert retry.returncode == 0, retry.stderr
    record = wait_job(node, job_id, timeout=60)
    assert_job(record, "done", done=count)
    assert record["attempts"] == 1, record
    assert set(orthanc_instances(peer)) == set(mixed[2])


def test_send_wait_ctrl_c_leaves_the_job_queued(node_factory, orthanc_factory, mixed):
    """SIGINT to `send --wait` while it waits for the next attempt: exit 130, the job
    stays pending; the node sends it later."""
    peer = orthanc_factory()
    node = forwarder(node_factory, {"orthanc": ("ORTHANC", peer.dicom_port)})
    import_files(node, mixed[4])
    background = Sender(node, [mixed[0]], "orthanc")
    try:
        job_id = background.job_id()
        wait_for(lambda: job(node, job_id)["attempts"] >= 1, 30, "a failed attempt")
        background.proc.send_signal(signal.SIGINT)
        code = background.wait(timeout=15)
        assert code == k_wait_exit, "exit {} after SIGINT:\n{}".format(code, background.stderr()[-3000:])
    finally:
        background.kill()
    record = job(node, job_id)
    assert record["state"] == "pending" and record["done"] == 0, record
    peer.start()
    node.start()
    record = wait_job(node, job_id, timeout=60)
    assert_job(record, "done", done=len(mixed[2]))
    assert set(orthanc_instances(peer)) == set(mixed[2])


# -- echo, configuration errors ------------------------------------------------------------

def test_echo(node_factory, orthanc_factory):
    peer = orthanc_factory().start()
    node = forwarder(node_factory, {"orthanc": ("ORTHANC", peer.dicom_port), "down": ("NOBODY", free_port())})
    ok = node.cli("echo", "orthanc", timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "ORTHANC" in ok.stdout + ok.stderr
    down = node.cli("echo", "down", timeout=60)
    assert down.returncode == 1, (down.returncode, down.stdout, down.stderr)
    assert "NOBODY" in down.stdout + down.stderr or "down" in down.stdout + down.stderr
    unknown = node.cli("echo", "nowhere")
    assert unknown.returncode == 2 and "nowhere" in unknown.stderr, (unknown.returncode, unknown.stderr)


@pytest.mark.parametrize("wait", [False, True])
def test_send_to_an_unconfigured_modality(node_factory, mixed, wait):
    node = forwarder(node_factory, {"orthanc": ("ORTHANC", free_port())})
    import_files(node, mixed[4])
    result = node.cli("send", mixed[0], "--to", "nowhere", *(["--wait"] if wait else []))
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "nowhere" in result.stderr and "orthanc" in result.stderr, result.stderr
    assert not k_queued_re.search(result.stdout)
    assert jobs(node) == {}


def test_send_unknown_uid(node_factory, mixed):
    node = forwarder(node_factory, {"orthanc": ("ORTHANC", free_port())})
    import_files(node, mixed[4])
    result = node.cli("send", "1.2.3.4.5.6", "--to", "orthanc")
    assert result.returncode != 0 and "1.2.3.4.5.6" in result.stderr, (result.returncode, result.stderr)
    assert jobs(node) == {}
