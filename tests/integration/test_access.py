"""Access control (who may use which service) and admission under silent connections.

Peers on 127.0.0.0/8 are trusted by default; every other test peer here comes from
127.0.0.1 too, so these tests set node.trust_loopback: false to be judged like a host on
the clinic network (the rules themselves are unit-tested with non-loopback addresses in
tests/unit/test_net_access.cpp)."""

import socket
import struct
import time

import pydicom
import pytest

import dimse
from conftest import cloudfilm_bin, files_under, run

k_not_authorized = 0x0124
k_ct_storage = "1.2.840.10008.5.1.4.1.1.2"


def _encoded(path):
    """The data set of a Part 10 file, encoded implicit VR little endian."""
    ds = pydicom.dcmread(path)
    return dimse.encode_dataset(ds, implicit=True), str(ds.SOPInstanceUID)


def _contexts():
    ts = [dimse.k_implicit_le]
    return [(dimse.k_verification, ts), (dimse.k_study_root_find, ts),
            (dimse.k_study_root_get, ts), (dimse.k_study_root_move, ts), (k_ct_storage, ts)]


def _study_query(uid=""):
    ds = pydicom.Dataset()
    ds.QueryRetrieveLevel = "STUDY"
    ds.StudyInstanceUID = uid
    return ds


def _services(node, calling):
    """The status of each service for `calling`: echo, store, find, get, move."""
    out = {}
    with dimse.Association("127.0.0.1", node.port, called=node.ae_title, calling=calling,
                           contexts=_contexts(),
                           roles={k_ct_storage: (1, 1)}) as a:
        out["echo"] = a.echo()
        data, sop = _encoded(node.sample)
        out["store"] = a.store(k_ct_storage, sop, data)
        out["find"] = a.find(dimse.k_study_root_find, _study_query())[-1].status
        out["get"] = a.get(dimse.k_study_root_get, _study_query(node.study_uid))[-1].status
        out["move"] = a.move(dimse.k_study_root_move, _study_query(node.study_uid), "NOWHERE")[-1].status
    return out


@pytest.fixture
def access_node(node_factory, ct_series):
    def make(config):
        node = node_factory("access", config=config)
        node.sample = ct_series[0]
        node.study_uid = str(pydicom.dcmread(ct_series[0], stop_before_pixels=True).StudyInstanceUID)
        # One instance in the store for C-FIND/C-GET to find.
        imported = run([cloudfilm_bin(), "import", "--config", node.config_path, node.sample])
        assert imported.returncode == 0, imported.stderr
        node.start()
        return node
    return make


def test_loopback_is_trusted_by_default(access_node):
    node = access_node({})
    got = _services(node, "ANYSCU")
    assert got["echo"] == 0 and got["store"] == 0 and got["find"] == 0 and got["get"] == 0
    assert got["move"] == 0xA801  # allowed, but NOWHERE is no destination
    assert "access: loopback: all; 0 listed peers; others: echo only" in node.log()


def test_unlisted_peer_gets_echo_only(access_node):
    node = access_node({"node": {"trust_loopback": False}})
    got = _services(node, "STRANGER")
    assert got == {"echo": 0, "store": k_not_authorized, "find": k_not_authorized,
                   "get": k_not_authorized, "move": k_not_authorized}
    log = node.log()
    assert "STRANGER@127.0.0.1: C-STORE of" in log and "unlisted peer may not store" in log
    assert "C-FIND refused, unlisted peer may not query" in log
    # Nothing was stored from the refused peer: only the imported instance is there.
    assert len(files_under(node.objects_dir)) == 1


def test_findscu_shows_the_refusal(access_node):
    node = access_node({"node": {"trust_loopback": False}})
    out = run(["findscu", "-v", "-S", "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID",
               "-aec", node.ae_title, "127.0.0.1", str(node.port)])
    text = out.stdout + out.stderr
    # DCMTK 3.6.7's findscu has no name for 0124 in C-FIND and prints it as a number.
    assert "Final Find Response (Unknown Status: 0x124)" in text, text


def test_store_from_anyone_when_configured(access_node):
    node = access_node({"node": {"trust_loopback": False, "accept_store_from_anyone": True}})
    got = _services(node, "MODALITY")
    assert got["store"] == 0 and got["echo"] == 0
    assert got["find"] == got["get"] == got["move"] == k_not_authorized
    assert "others: echo and store" in node.log()


def test_listed_peer_gets_what_its_entry_allows(access_node):
    node = access_node({"node": {"trust_loopback": False},
                        "modalities": {"viewer": {"ae": "VIEWER", "host": "127.0.0.1",
                                                  "allow": ["find", "get"]},
                                       "pacs": {"ae": "PACS"}}})
    viewer = _services(node, "VIEWER")
    assert viewer == {"echo": 0, "store": k_not_authorized, "find": 0, "get": 0,
                      "move": k_not_authorized}
    pacs = _services(node, "PACS")  # no host: the AE title from any address, all services
    assert pacs["store"] == 0 and pacs["find"] == 0 and pacs["get"] == 0
    assert pacs["move"] == 0xA801  # allowed; NOWHERE is no destination
    assert "2 listed peers (PACS: all; VIEWER@127.0.0.1: echo, find, get); others: echo only" \
        in node.log()


def test_listed_ae_from_another_host_is_unlisted(access_node):
    node = access_node({"node": {"trust_loopback": False},
                        "modalities": {"viewer": {"ae": "VIEWER", "host": "192.0.2.7"}}})
    got = _services(node, "VIEWER")
    assert got["echo"] == 0 and got["find"] == k_not_authorized and got["store"] == k_not_authorized


def test_config_rejects_unknown_service(node_factory):
    node = node_factory("badallow", config={"modalities": {"v": {"ae": "V", "allow": ["fetch"]}}})
    out = run([cloudfilm_bin(), "serve", "--config", node.config_path])
    assert out.returncode != 0
    assert "modalities.v.allow" in out.stderr and "'fetch' is not one of" in out.stderr


# -- admission under silent and slow connections (REVIEW S4) ---------------------------------

def _echo_seconds(node):
    start = time.monotonic()
    out = node.echo()
    return out.returncode, time.monotonic() - start


def test_silent_connections_hold_up_nobody(node_factory):
    # The default acse_timeout (30 s) used to be what each silent connection cost
    # everyone queued behind it.
    node = node_factory("silent", config={"node": {"acse_timeout": 30}}).start()
    silent = [socket.create_connection(("127.0.0.1", node.port)) for _ in range(20)]
    try:
        code, seconds = _echo_seconds(node)
        assert code == 0
        # Not a timing assertion on speed: a stall would be >= 30 s (the ACSE timeout);
        # anything under the first-PDU timeout proves nobody waited for the silent ones.
        assert seconds < 5, "C-ECHO waited {:.1f} s behind silent connections".format(seconds)
        # The silent ones are closed after the first-PDU timeout (5 s by default).
        deadline = time.monotonic() + 30
        closed = 0
        for s in silent:
            s.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                if s.recv(1) == b"":
                    closed += 1
            except (ConnectionResetError, socket.timeout):
                pass
        assert closed == 20
        assert "no complete association request in time" in node.log()
    finally:
        for s in silent:
            s.close()
    assert node.echo().returncode == 0


def test_trickled_request_is_dropped_and_others_served(node_factory):
    node = node_factory("trickle", config={"node": {"first_pdu_timeout": 2}}).start()
    s = socket.create_connection(("127.0.0.1", node.port))
    try:
        # Half a PDU header and nothing more.
        s.sendall(b"\x01\x00\x00")
        assert node.echo().returncode == 0
        s.settimeout(10)
        try:
            assert s.recv(1) == b""
        except ConnectionResetError:
            pass  # closed with our bytes unread: a reset
    finally:
        s.close()


def test_oversized_or_foreign_first_pdu_is_closed(node_factory):
    node = node_factory("foreign").start()
    for first in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"\x01\x00" + struct.pack(">I", 50 * 1024 * 1024)):
        s = socket.create_connection(("127.0.0.1", node.port))
        s.settimeout(10)
        s.sendall(first)
        try:
            assert s.recv(1) == b""
        except ConnectionResetError:
            pass
        s.close()
    assert node.echo().returncode == 0
    log = node.log()
    assert "not an A-ASSOCIATE-RQ" in log and "too large" in log


def test_identifier_over_the_limit_aborts_the_association(node_factory):
    node = node_factory("bigid").start()
    ds = _study_query()
    ds.StudyInstanceUID = "\\".join("1.2.3.{}".format(i) for i in range(40000))  # ~400 KB
    with pytest.raises((dimse.AssociationAborted, ConnectionError, OSError)):
        with dimse.Association("127.0.0.1", node.port, called=node.ae_title,
                               contexts=_contexts()) as a:
            a.find(dimse.k_study_root_find, ds)
    assert "larger than 256 KiB" in node.log()
    assert node.echo().returncode == 0


# -- slow peers and shutdown inside long operations (REVIEW S16, ARCHITECTURE "grace") -------

def test_trickled_dataset_is_cut_off(node_factory, ct_series):
    # DCMTK's timeout applies per PDU; a dataset trickled one small PDU a second would
    # hold a worker forever. After the DIMSE timeout, under 16 KiB/s on average is cut.
    node = node_factory("slowstore", config={"node": {"dimse_timeout": 2}}).start()
    data, sop = _encoded(ct_series[0])
    a = dimse.Association("127.0.0.1", node.port, called=node.ae_title, contexts=_contexts())
    try:
        ctx, _ = a.context_for(k_ct_storage)
        cmd = dimse.encode_command([
            (0x0002, dimse._pad_uid(k_ct_storage)), (0x0100, struct.pack("<H", 0x0001)),
            (0x0110, struct.pack("<H", 1)), (0x0700, struct.pack("<H", 0)),
            (0x0800, struct.pack("<H", 0)), (0x1000, dimse._pad_uid(sop))])
        a.peer_max_pdu = 262  # 256-byte PDVs
        pdus = a._message_pdus(ctx, cmd, data)
        cut = False
        start = time.monotonic()
        for pdu in pdus[:40]:
            try:
                a.sock.sendall(pdu)
            except OSError:
                cut = True
                break
            time.sleep(0.5)
        if not cut:
            a.sock.settimeout(10)
            try:
                cut = a.sock.recv(1) == b""
            except OSError:
                cut = True
        assert cut, "a dataset trickled at 512 B/s was not cut off"
        assert time.monotonic() - start < 30
    finally:
        a.sock.close()
    assert "KiB/s; connection cut" in node.log()
    assert files_under(node.objects_dir) == []
    assert node.echo().returncode == 0


def test_sigterm_cuts_a_long_c_get_after_the_grace(node_factory, ct_series):
    node = node_factory("grace", config={"node": {"shutdown_grace": 2}})
    imported = run([cloudfilm_bin(), "import", "--config", node.config_path] + list(ct_series))
    assert imported.returncode == 0, imported.stderr
    node.start()
    study = str(pydicom.dcmread(ct_series[0], stop_before_pixels=True).StudyInstanceUID)
    received = []

    def slow_store(sub):
        received.append(sub)
        if len(received) == 3:
            node.proc.send_signal(15)  # SIGTERM while the C-GET runs
        time.sleep(0.2)  # 300 sub-operations would take a minute
        return 0x0000

    start = time.monotonic()
    with pytest.raises((dimse.AssociationAborted, ConnectionError, OSError)):
        with dimse.Association("127.0.0.1", node.port, called=node.ae_title,
                               contexts=_contexts(), roles={k_ct_storage: (1, 1)}) as a:
            a.get(dimse.k_study_root_get, _study_query(study), on_store=slow_store)
    assert node.proc.wait(timeout=30) == 0
    elapsed = time.monotonic() - start
    assert len(received) < 300
    assert elapsed < 20, "stopping took {:.1f} s with shutdown_grace 2".format(elapsed)
    assert "shutdown grace over: 1 association(s) cut off" in node.log()


@pytest.mark.parametrize("closed", [False, True])
def test_deeply_nested_identifier_does_not_crash_the_node(node_factory, closed):
    # DCMTK parses sequences recursively: 15,000 levels (240 KB, under the identifier
    # limit) overflowed the default 8 MiB thread stack and killed the process.
    node = node_factory("deep").start()
    levels = 8000 if closed else 16000  # both under the 256 KiB identifier limit
    opening = struct.pack("<HHI", 0x0008, 0x1115, 0xFFFFFFFF) + struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
    closing = struct.pack("<HHI", 0xFFFE, 0xE00D, 0) + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    ident = struct.pack("<HHI", 0x0008, 0x0052, 6) + b"STUDY " + opening * levels
    if closed:
        ident += closing * levels
    try:
        with dimse.Association("127.0.0.1", node.port, called=node.ae_title,
                               contexts=[(dimse.k_study_root_find, [dimse.k_implicit_le])]) as a:
            a.find(dimse.k_study_root_find, ident)
    except (dimse.AssociationAborted, ConnectionError, OSError):
        pass
    assert node.running(), node.log()
    assert node.echo().returncode == 0


def test_deeply_nested_dataset_is_refused_not_fatal(node_factory):
    # 100,000 nested sequences (3 MB) overflowed even a 64 MiB stack while ingest read
    # the header; dicom::nesting_within refuses them first with C000.
    node = node_factory("deepstore").start()

    def el(group, elem, value):
        return struct.pack("<HHI", group, elem, len(value)) + value
    opening = struct.pack("<HHI", 0x0008, 0x1115, 0xFFFFFFFF) + struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
    closing = struct.pack("<HHI", 0xFFFE, 0xE00D, 0) + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    sop = "1.2.3.4.5.6.7.8.9"
    data = (el(0x0008, 0x0016, k_ct_storage.encode() + b"\0") + el(0x0008, 0x0018, sop.encode() + b"\0")
            + opening * 100000 + closing * 100000)
    with dimse.Association("127.0.0.1", node.port, called=node.ae_title, contexts=_contexts()) as a:
        assert a.store(k_ct_storage, sop, data) == 0xC000
    assert node.running()
    assert "sequences nested deeper than 100 levels" in node.log()
    assert node.echo().returncode == 0
