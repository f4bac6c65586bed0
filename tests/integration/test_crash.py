# SPDX-License-Identifier: MIT
"""Crash safety: kill -9 in the middle of parallel C-STOREs, and SIGTERM during a store.

What must hold afterwards (contract): every instance storescu got a success status for is
indexed and its file exists and parses; every file under objects/ is complete and indexed;
no spool file survives a restart; `cloudfilm check` is clean."""

import os
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time

import pydicom
import pydicom.data
import pytest

import dimse

from conftest import (dcmtk_env, files_under, k_shutdown_grace, k_stop_extra, keep_data,
                      read_uid, stage)

k_parallel = 4
k_pixel_bytes = 512 * 512 * 2  # big_ct_series: 512x512, 16 bit
k_poll = 0.005  # seconds between looks at storescu's renames
k_store_deadline = 120.0  # seconds any store phase may take


def _chunks(items, count):
    size = len(items)
    return [items[i * size // count:(i + 1) * size // count] for i in range(count)]


class StoreRun:
    """`count` storescu processes over a split of `files`, each on its own association.
    storescu renames each file to .done when the node acknowledged it (+rn)."""

    def __init__(self, node, files, workdir, count, halt=True):
        self.staged = []
        self.procs = []
        self.logs = []
        for index, chunk in enumerate(_chunks(files, count)):
            staged = stage(chunk, os.path.join(workdir, "assoc{}".format(index)))
            log_path = os.path.join(workdir, "storescu{}.log".format(index))
            log = open(log_path, "w")
            cmd = node.storescu_cmd(staged, no_halt=not halt, calling="CRASH{}".format(index))
            self.procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                               stdin=subprocess.DEVNULL, env=dcmtk_env()))
            self.staged.extend(staged)
            self.logs.append((log, log_path))

    def acked(self):
        return [p for p in self.staged if os.path.exists(p + ".done")]

    def finished(self):
        return all(p.poll() is not None for p in self.procs)

    def wait_for_acks(self, threshold, deadline=k_store_deadline):
        """Poll until at least `threshold` files are acknowledged or all clients ended."""
        limit = time.monotonic() + deadline
        while time.monotonic() < limit:
            done = len(self.acked())
            if done >= threshold or self.finished():
                return done
            time.sleep(k_poll)
        raise AssertionError("only {} instances acknowledged after {} s".format(len(self.acked()), deadline))

    def wait(self, timeout=60):
        """Wait for every storescu (killing stragglers after `timeout`); return exit codes."""
        codes = []
        limit = time.monotonic() + timeout
        for proc in self.procs:
            try:
                codes.append(proc.wait(timeout=max(0.1, limit - time.monotonic())))
            except subprocess.TimeoutExpired:
                proc.kill()
                codes.append(proc.wait(timeout=10))
        for log, _ in self.logs:
            log.close()
        return codes

    def output(self):
        parts = []
        for _, path in self.logs:
            with open(path, errors="replace") as f:
                parts.append(f.read()[-3000:])
        return "\n".join(parts)


def _cleanup(node, tmp_path):
    """After a passed test: drop the ~160 MB data dir and staged hard links."""
    if keep_data():
        return
    shutil.rmtree(node.data_dir, ignore_errors=True)
    for name in ("send", "resend"):
        shutil.rmtree(str(tmp_path / name), ignore_errors=True)


def _assert_objects_complete_and_indexed(node, index):
    objects = files_under(node.objects_dir)
    for path in objects:
        assert path.endswith(".dcm"), "unexpected file under objects/: " + path
        try:
            ds = pydicom.dcmread(path)
        except Exception as e:  # a partial file is exactly what must never be here
            raise AssertionError("unreadable file under objects/: {} ({})".format(path, e))
        assert len(ds.PixelData) == k_pixel_bytes, "partial pixel data in " + path
    indexed = {os.path.realpath(rec["path"]) for rec in index.values()}
    on_disk = {os.path.realpath(p) for p in objects}
    assert on_disk - indexed == set(), "files under objects/ that the index does not know"
    assert indexed - on_disk == set(), "index entries without a file under objects/"


@pytest.mark.parametrize("threshold", [8, 120], ids=["early", "late"])
def test_kill9_during_parallel_store(node_factory, big_ct_series, tmp_path, threshold):
    node = node_factory("crash").start()
    run = StoreRun(node, big_ct_series, str(tmp_path / "send"), k_parallel)
    at_kill = run.wait_for_acks(threshold)
    node.kill9()
    codes = run.wait()
    acked = run.acked()
    assert 0 < len(acked) < len(big_ct_series), (
        "the kill did not land in the middle of the store ({} acknowledged)".format(len(acked)))
    assert len(acked) >= at_kill
    assert any(code != 0 for code in codes), "storescu did not notice the node dying"
    acked_uids = {read_uid(p + ".done") for p in acked}
    spool_before = set(files_under(node.spool_dir))

    node.start()
    index = node.index()
    lost = acked_uids - set(index)
    assert not lost, "{} acknowledged instances lost in the crash, e.g. {}".format(len(lost), sorted(lost)[:3])
    for uid in acked_uids:
        ds = pydicom.dcmread(index[uid]["path"])
        assert str(ds.SOPInstanceUID) == uid
        assert len(ds.PixelData) == k_pixel_bytes
    _assert_objects_complete_and_indexed(node, index)
    survivors = spool_before & set(files_under(node.spool_dir))
    assert not survivors, "spool files of the killed process survived the restart: {}".format(sorted(survivors))

    # The store is still whole: sending everything again completes the study.
    resend = StoreRun(node, big_ct_series, str(tmp_path / "resend"), 1, halt=False)
    assert resend.wait(timeout=k_store_deadline) == [0], resend.output()
    assert len(resend.acked()) == len(big_ct_series), resend.output()
    index = node.index()
    assert len(index) == len(big_ct_series)
    _assert_objects_complete_and_indexed(node, index)

    assert node.stop() == 0, node.log()
    assert files_under(node.spool_dir) == [], "spool not empty after a clean stop"
    check = node.cli("check")
    assert check.returncode == 0, check.stdout + check.stderr
    _cleanup(node, tmp_path)


def test_sigterm_during_store_finishes_cleanly(node_factory, big_ct_series, tmp_path):
    node = node_factory("term").start()
    run = StoreRun(node, big_ct_series, str(tmp_path / "send"), 1)
    at_signal = run.wait_for_acks(20)
    assert at_signal < len(big_ct_series), "the store finished before SIGTERM could be sent"
    node.proc.send_signal(signal.SIGTERM)
    try:
        code = node.proc.wait(timeout=k_shutdown_grace + k_stop_extra)
    except subprocess.TimeoutExpired:
        node.kill9()
        pytest.fail("node did not exit within {} s of SIGTERM:\n{}".format(k_shutdown_grace + k_stop_extra, node.log()))
    node.stop()  # closes the log
    codes = run.wait()
    assert code == 0, "exit code {} after SIGTERM:\n{}".format(code, node.log())

    acked_uids = {read_uid(p + ".done") for p in run.acked()}
    index = node.index()  # `ls` on the stopped node's data
    assert acked_uids <= set(index)
    _assert_objects_complete_and_indexed(node, index)
    assert files_under(node.spool_dir) == [], "spool not empty after SIGTERM"
    check = node.cli("check")
    assert check.returncode == 0, check.stdout + check.stderr
    # The association that was running when the signal came is allowed to finish.
    assert codes == [0] and len(acked_uids) == len(big_ct_series), (
        "SIGTERM cut the running association short: {} of {} stored, storescu exit {}\n{}".format(
            len(acked_uids), len(big_ct_series), codes, run.output()))
    _cleanup(node, tmp_path)


# -- stopping and timeouts -------------------------------------------------------------------


def _timed_stop(node, sig, limit):
    """Send `sig`; return (exit code, seconds). A node still running after `limit` fails."""
    started = time.monotonic()
    node.proc.send_signal(sig)
    try:
        code = node.proc.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        node.kill9()
        pytest.fail("node still running {} s after signal {}:\n{}".format(limit, sig, node.log()))
    elapsed = time.monotonic() - started
    node.stop()  # closes the log
    return code, elapsed


def test_sigint_stops_cleanly(node):
    code, elapsed = _timed_stop(node, signal.SIGINT, k_shutdown_grace + k_stop_extra)
    assert code == 0, node.log()
    assert elapsed < 5, "an idle node took {:.1f} s to stop".format(elapsed)
    assert files_under(node.spool_dir) == []


def test_idle_association_is_aborted_after_idle_timeout(node_factory):
    node = node_factory("idle", config={"node": {"idle_timeout": 2}}).start()
    assoc = dimse.Association("127.0.0.1", node.port, called=node.ae_title, timeout=20)
    started = time.monotonic()
    try:
        with pytest.raises(dimse.AssociationAborted):
            assoc._recv_pdu()
    finally:
        assoc.sock.close()
    elapsed = time.monotonic() - started
    assert 1.5 <= elapsed <= 8, "idle association closed after {:.1f} s (idle_timeout 2)".format(elapsed)
    assert node.echo().returncode == 0


def _hold_association(node, close_on_abort):
    """An idle association in a thread; with close_on_abort it closes its socket when the
    node aborts it (as DCMTK peers do), else it keeps the socket open and says nothing."""
    assoc = dimse.Association("127.0.0.1", node.port, called=node.ae_title, timeout=60)
    done = threading.Event()

    def reader():
        try:
            if close_on_abort:
                assoc._recv_pdu()
            else:
                done.wait(60)
        except (dimse.AssociationAborted, OSError):
            pass
        finally:
            assoc.sock.close()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    return done, thread


@pytest.mark.parametrize("close_on_abort", [True, False], ids=["peer-closes", "peer-silent"])
def test_sigterm_with_an_idle_association_takes_at_most_the_grace(node_factory, close_on_abort):
    grace = 2
    node = node_factory("grace", config={"node": {"shutdown_grace": grace, "acse_timeout": 10}}).start()
    done, thread = _hold_association(node, close_on_abort)
    try:
        code, elapsed = _timed_stop(node, signal.SIGTERM, 40)
    finally:
        done.set()
        thread.join(10)
    assert code == 0, node.log()
    assert elapsed <= grace + 4, (
        "SIGTERM took {:.1f} s with shutdown_grace {} (acse_timeout 10)\n{}".format(elapsed, grace, node.log()[-1500:]))


def test_spool_of_a_dead_process_is_removed_at_start(node_factory):
    node = node_factory("spool").start()
    assert node.stop() == 0
    # What a killed process leaves: its own folder with a partial file, no live lock.
    stale_dir = os.path.join(node.spool_dir, "999999-0")
    os.makedirs(stale_dir, exist_ok=True)
    with open(os.path.join(stale_dir, "partial.dcm"), "wb") as f:
        f.write(bytes(128) + b"DICM" + bytes(1000))
    node.start()
    assert not os.path.exists(stale_dir), files_under(node.spool_dir)
    assert node.stop() == 0
    assert files_under(node.spool_dir) == []


def test_dropped_connections_mid_store_leave_nothing_behind(node_factory):
    # A peer that vanishes in the middle of a data set (close, then TCP reset): the partial
    # spool file goes, the association slot comes back, nothing is indexed.
    node = node_factory("drop", config={"node": {"max_associations": 2}}).start()
    ct = "1.2.840.10008.5.1.4.1.1.2"
    ds = pydicom.dcmread(pydicom.data.get_testdata_file("CT_small.dcm"))
    data = dimse.encode_dataset(ds)
    command = dimse.encode_command([
        (0x0002, dimse._pad_uid(ct)),
        (0x0100, struct.pack("<H", 0x0001)),
        (0x0110, struct.pack("<H", 1)),
        (0x0700, struct.pack("<H", 0)),
        (0x0800, struct.pack("<H", 0)),
        (0x1000, dimse._pad_uid(str(ds.SOPInstanceUID))),
    ])
    for attempt in range(4):
        assoc = dimse.Association("127.0.0.1", node.port, called=node.ae_title,
                                  contexts=[(ct, [dimse.k_explicit_le])])
        ctx, _ = assoc.context_for(ct)
        assoc._send_pdu(0x04, struct.pack(">IBB", len(command) + 2, ctx, 0x03) + command)
        part = data[:len(data) // 2]
        assoc._send_pdu(0x04, struct.pack(">IBB", len(part) + 2, ctx, 0x00) + part)
        time.sleep(0.2)
        if attempt % 2:
            assoc.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        assoc.sock.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        leftovers = [p for p in files_under(node.spool_dir) if not os.path.basename(p).startswith(".")]
        if not leftovers:
            break
        time.sleep(0.1)
    assert leftovers == [], "partial spool files of dropped associations stayed"
    assert node.echo().returncode == 0, "association slots leaked"
    assert node.echo().returncode == 0
    assert node.index() == {}
