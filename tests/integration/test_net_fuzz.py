# SPDX-License-Identifier: MIT
"""A bounded network fuzzer against the real `cloudfilm serve` (SCALE-SECURITY.md 5.5).

Malformed upper-layer traffic (PS3.8 9.3) on loopback only: mutated and truncated
A-ASSOCIATE-RQ PDUs, wrong PDU types, lying and huge length fields, garbage after a valid
request, bad presentation contexts; on an accepted association fragmented and malformed
P-DATA-TF, broken DIMSE command sets (PS3.7 9.3, E.1), unknown command fields, C-STORE with
garbage data sets and C-FIND with junk identifiers.

Bounds: CF_NET_FUZZ_CASES (2000) cases, CF_NET_FUZZ_SECONDS (75) seconds, 0.25 s per socket
read. The seed (CF_NET_FUZZ_SEED, random by default) is printed, so a failing run can be
repeated exactly: CF_NET_FUZZ_SEED=<seed> tests/integration/run.sh build/cloudfilm -k net_fuzz.

Afterwards the node must still answer C-ECHO, store a study, and be back to its thread count
and near its memory use (RSS within +50 MiB) from before the fuzzing.
"""

import ipaddress
import os
import random
import socket
import struct
import time

import pytest

import dimse
import make_ct_series
from conftest import read_uid

k_host = "127.0.0.1"
k_cases = int(os.environ.get("CF_NET_FUZZ_CASES", "2000"))
k_seconds = float(os.environ.get("CF_NET_FUZZ_SECONDS", "75"))
k_read_timeout = 0.25
k_echo_every = 250
k_rss_slack_kib = 50 * 1024
k_settle_seconds = 30.0  # bound of the wait for worker threads to finish

k_ct_image = "1.2.840.10008.5.1.4.1.1.2"
k_sc_image = "1.2.840.10008.5.1.4.1.1.7"


def _loopback_only(host):
    if not ipaddress.ip_address(host).is_loopback:
        raise AssertionError("the network fuzzer only talks to 127.0.0.0/8, not " + host)


def _status(pid):
    """(Threads, VmRSS in KiB) from /proc/PID/status."""
    threads = rss = None
    with open("/proc/{}/status".format(pid)) as f:
        for line in f:
            if line.startswith("Threads:"):
                threads = int(line.split()[1])
            elif line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return threads, rss


# -- building blocks -------------------------------------------------------------------------

def _pdu(pdu_type, payload, length=None):
    return struct.pack(">BBI", pdu_type, 0, len(payload) if length is None else length) + payload


def _context(ctx_id, abstract, syntaxes):
    sub = dimse._item(0x30, abstract.encode("ascii"))
    for ts in syntaxes:
        sub += dimse._item(0x40, ts.encode("ascii"))
    return dimse._item(0x20, struct.pack(">BBBB", ctx_id, 0, 0, 0) + sub)


def _associate_rq(called, contexts=None, max_pdu=16384, app_context=dimse.k_app_context,
                  calling="FUZZSCU", extra_user=b""):
    contexts = contexts if contexts is not None else [
        (1, dimse.k_verification, [dimse.k_implicit_le]),
        (3, k_ct_image, [dimse.k_explicit_le, dimse.k_implicit_le]),
        (5, dimse.k_study_root_find, [dimse.k_implicit_le]),
        (7, k_sc_image, [dimse.k_implicit_le]),
    ]
    items = dimse._item(0x10, app_context.encode("ascii"))
    for ctx_id, abstract, syntaxes in contexts:
        items += _context(ctx_id, abstract, syntaxes)
    user = (dimse._item(0x51, struct.pack(">I", max_pdu))
            + dimse._item(0x52, dimse.k_impl_class_uid.encode("ascii")) + extra_user)
    items += dimse._item(0x50, user)
    header = struct.pack(">HH", 1, 0) + dimse._ae(called) + dimse._ae(calling) + bytes(32)
    return _pdu(0x01, header + items)


def _pdata(ctx, flags, value, length=None):
    pdv = struct.pack(">IBB", len(value) + 2 if length is None else length, ctx, flags) + value
    return _pdu(0x04, pdv)


def _us(v):
    return struct.pack("<H", v & 0xFFFF)


def _uid(text):
    return dimse._pad_uid(text)


def _command(rng, field=None, sop_class=k_ct_image, has_data=True):
    """A C-STORE/C-FIND/C-ECHO-like command set, sometimes with unknown or broken fields."""
    field = field if field is not None else rng.choice(
        [0x0001, 0x0020, 0x0030, 0x0010, 0x0021, 0x0FFF, 0x8001, 0x0100, 0x0110, 0x0120,
         0x0130, 0x0140, 0x0150, 0x1234, 0xFFFF, 0x0000])
    fields = [(0x0002, _uid(sop_class)), (0x0100, _us(field)), (0x0110, _us(rng.randrange(65536))),
              (0x0800, _us(0x0000 if has_data else dimse.k_no_data_set))]
    if field == 0x0001:
        fields += [(0x0700, _us(0)), (0x1000, _uid("1.2.3.4.{}".format(rng.randrange(10 ** 6))))]
    if rng.random() < 0.2:
        fields.append((rng.randrange(0x0001, 0x10000), bytes(rng.randrange(256) for _ in range(rng.randrange(9)))))
    return dimse.encode_command(fields)


def _junk_dataset(rng):
    """Bytes that look like a data set element stream, with random tags, VRs and lengths."""
    out = b""
    for _ in range(rng.randrange(1, 12)):
        group = rng.choice([0x0008, 0x0010, 0x0020, 0x0028, 0x7FE0, 0xFFFE, 0x0002, rng.randrange(65536)])
        elem = rng.choice([0x0005, 0x0016, 0x0018, 0x0052, 0x0010, 0xE000, 0xE0DD, rng.randrange(65536)])
        length = rng.choice([0, 1, 2, 4, 8, 0xFFFFFFFF, 0x7FFFFFF0, rng.randrange(64)])
        value = bytes(rng.randrange(256) for _ in range(min(length, rng.randrange(40))))
        out += struct.pack("<HHI", group, elem, length) + value
    return out


def _identifier(rng):
    level = rng.choice([b"STUDY ", b"SERIES", b"IMAGE ", b"PATIENT ", b"", b"\xff\xfe", b"STUDY\\SERIES"])
    elements = [
        (0x0008, 0x0005, rng.choice([b"", b"GB18030 ", b"ISO_IR 192", b"\\ISO 2022 IR 87", b"\x1b$B"])),
        (0x0008, 0x0052, level),
        (0x0010, 0x0010, rng.choice([b"*", b"?*\\*", b"'; DROP TABLE x;--", b"%_", b"\xb0\xa1*", b"[a-z]"])),
        (0x0008, 0x0020, rng.choice([b"", b"20240101-", b"-", b"2024-2025", b"99999999-00000000"])),
        (0x0020, 0x000D, rng.choice([b"", b"1.2.3\\1.2.4", b"*", b"1" * 70])),
    ]
    rng.shuffle(elements)
    raw = b"".join(struct.pack("<HHI", g, e, len(v)) + v for g, e, v in elements)
    return _mutate(rng, raw) if rng.random() < 0.5 else raw


def _mutate(rng, data):
    """SCALE-SECURITY.md 5.5's mutations: bit flips, magic bytes, truncation, insertion,
    block repetition."""
    data = bytearray(data)
    for _ in range(rng.randrange(1, 4)):
        if not data:
            data += bytes([rng.randrange(256)])
        kind = rng.randrange(6)
        pos = rng.randrange(len(data))
        if kind == 0:
            data[pos] ^= 1 << rng.randrange(8)
        elif kind == 1:
            magic = rng.choice([b"\x00", b"\xff", b"\x7f\xff\xff\xff", b"\xff\xff\xff\xff", b"\x00\x00", b"\x80"])
            data[pos:pos + len(magic)] = magic
        elif kind == 2:
            del data[pos:]
        elif kind == 3:
            data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 32)))
        elif kind == 4:
            end = min(len(data), pos + rng.randrange(1, 64))
            data[pos:pos] = data[pos:end] * rng.randrange(2, 8)
        else:
            del data[pos:pos + rng.randrange(1, 16)]
    return bytes(data)


def _lie_length(rng, pdu):
    """The PDU length field set to 0, 1, 0x7FFFFFFF, twice the truth or a random value."""
    if len(pdu) < 6:
        return pdu
    true = len(pdu) - 6
    length = rng.choice([0, 1, 0x7FFFFFFF, 0xFFFFFFFF, 2 * true, max(true - 1, 0), true + 1,
                         rng.randrange(1 << 32)])
    return pdu[:2] + struct.pack(">I", length & 0xFFFFFFFF) + pdu[6:]


def _lie_item_length(rng, pdu):
    """One item length inside an A-ASSOCIATE-RQ made wrong."""
    starts = [i for i in range(74, len(pdu) - 4) if pdu[i] in (0x10, 0x20, 0x30, 0x40, 0x50, 0x51, 0x52) and pdu[i + 1] == 0]
    if not starts:
        return pdu
    i = rng.choice(starts)
    return pdu[:i + 2] + struct.pack(">H", rng.choice([0, 1, 0xFFFF, rng.randrange(65536)])) + pdu[i + 4:]


class Peer:
    """One TCP connection with short reads; every operation bounded."""

    def __init__(self, port):
        _loopback_only(k_host)
        self.sock = socket.create_connection((k_host, port), timeout=2.0)
        self.sock.settimeout(k_read_timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send(self, data):
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            return False

    def read(self, limit=1 << 16):
        """What arrives within the read timeout (b'' on close, None on timeout)."""
        try:
            return self.sock.recv(limit)
        except socket.timeout:
            return None
        except OSError:
            return b""

    def read_pdu(self):
        """One whole PDU (type, payload) or None; bounded by the read timeout per chunk."""
        head = b""
        while len(head) < 6:
            chunk = self.read(6 - len(head))
            if not chunk:
                return None
            head += chunk
        pdu_type, _, length = struct.unpack(">BBI", head)
        if length > 1 << 20:
            return None
        body = b""
        while len(body) < length:
            chunk = self.read(length - len(body))
            if not chunk:
                return None
            body += chunk
        return pdu_type, body

    def close(self, reset=False):
        try:
            if reset:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.sock.close()
        except OSError:
            pass


# -- the cases -------------------------------------------------------------------------------

def case_mutated_associate(rng, port, called):
    pdu = _associate_rq(called)
    choice = rng.randrange(4)
    if choice == 0:
        pdu = _mutate(rng, pdu)
    elif choice == 1:
        pdu = _lie_length(rng, pdu)
    elif choice == 2:
        pdu = _lie_item_length(rng, pdu)
    else:
        pdu = pdu[:rng.randrange(len(pdu))]
    p = Peer(port)
    p.send(pdu)
    p.read()
    p.close(reset=rng.random() < 0.3)
    return "associate"


def case_wrong_pdu_type(rng, port, called):
    pdu_type = rng.choice([0x00, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x7F, 0xFF, rng.randrange(256)])
    payload = bytes(rng.randrange(256) for _ in range(rng.randrange(80)))
    pdu = _pdu(pdu_type, payload)
    if rng.random() < 0.3:
        pdu = _lie_length(rng, pdu)
    p = Peer(port)
    p.send(pdu)
    p.read()
    p.close()
    return "pdu-type"


def case_garbage_after_request(rng, port, called):
    p = Peer(port)
    p.send(_associate_rq(called) + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))))
    p.read_pdu()
    p.read()
    p.close(reset=rng.random() < 0.5)
    return "garbage-after-rq"


def case_bad_contexts(rng, port, called):
    kind = rng.randrange(7)
    contexts = None
    extra_user = b""
    app_context = dimse.k_app_context
    if kind == 0:
        contexts = []
    elif kind == 1:
        contexts = [(rng.choice([0, 2, 255, 1]), dimse.k_verification, [dimse.k_implicit_le])] * rng.randrange(1, 4)
    elif kind == 2:
        contexts = [(1, "", [dimse.k_implicit_le]), (3, dimse.k_verification, [])]
    elif kind == 3:
        contexts = [((2 * i + 1) & 0xFF, "1.2.840.10008.5.1.4.1.1.{}".format(i), ["1.2.3.{}".format(i)]) for i in range(rng.randrange(100, 200))]
    elif kind == 4:
        contexts = [(1, "1." * 40 + "1", ["9" * 64]), (3, dimse.k_verification, [dimse.k_implicit_le] * 50)]
    elif kind == 5:
        app_context = rng.choice(["", "1.2.3", "x" * 64])
    else:
        extra_user = rng.choice([dimse._item(0x54, b"\x00\x10" + b"1.2.840.10008.1.1" + b"\x01"),
                                 dimse._item(0x55, b"X" * 200), dimse._item(0x56, b"\xff\xff"),
                                 dimse._item(0x53, b"\x00"), dimse._item(0x58, b"\x01\x00" + b"\x00" * 3),
                                 dimse._item(0x51, b"\x00\x00\x00\x00")])
    p = Peer(port)
    p.send(_associate_rq(called, contexts=contexts, app_context=app_context, extra_user=extra_user))
    reply = p.read_pdu()
    if reply and reply[0] == 0x02 and rng.random() < 0.5:
        p.send(_pdu(0x05, bytes(4)))
        p.read_pdu()
    p.close()
    return "contexts"


def _open_association(port, called, rng):
    """A Peer with an accepted association, or None."""
    p = Peer(port)
    p.sock.settimeout(2.0)  # the A-ASSOCIATE-AC itself may take a moment under load
    p.send(_associate_rq(called, max_pdu=rng.choice([0, 4096, 16384, 1 << 20])))
    reply = p.read_pdu()
    p.sock.settimeout(k_read_timeout)
    if not reply or reply[0] != 0x02:
        p.close()
        return None
    return p


def case_association_traffic(rng, port, called):
    p = _open_association(port, called, rng)
    if p is None:
        return "assoc-refused"
    kind = rng.randrange(9)
    ctx = rng.choice([1, 3, 5, 7, 3, 3, 2, 9, 255])
    if kind == 0:
        # Command split over several PDVs, sometimes with wrong "last fragment" flags.
        cmd = _command(rng, 0x0030, dimse.k_verification, has_data=False)
        cut = rng.randrange(1, len(cmd))
        flags = rng.choice([(0x01, 0x03), (0x03, 0x03), (0x01, 0x01), (0x00, 0x03), (0x02, 0x03)])
        p.send(_pdata(ctx, flags[0], cmd[:cut]) + _pdata(ctx, flags[1], cmd[cut:]))
    elif kind == 1:
        # PDV length lies inside a P-DATA-TF.
        cmd = _command(rng)
        p.send(_pdata(ctx, 0x03, cmd, length=rng.choice([0, 1, 2, len(cmd) + 100, 0xFFFFFFFF])))
    elif kind == 2:
        p.send(_pdata(ctx, 0x03, _mutate(rng, _command(rng))))
    elif kind == 3:
        # Unknown or response command fields.
        p.send(_pdata(ctx, 0x03, _command(rng, rng.choice([0x1234, 0xFFFF, 0x8001, 0x8030, 0x0000, 0x0FFF]),
                                          has_data=rng.random() < 0.5)))
    elif kind == 4:
        # C-STORE with a garbage data set, maybe fragmented.
        cmd = _command(rng, 0x0001, k_ct_image)
        data = _junk_dataset(rng)
        pdus = _pdata(3, 0x03, cmd)
        if rng.random() < 0.5 and len(data) > 2:
            cut = rng.randrange(1, len(data))
            pdus += _pdata(3, 0x00, data[:cut]) + _pdata(3, 0x02, data[cut:])
        else:
            pdus += _pdata(3, 0x02, data)
        p.send(pdus)
    elif kind == 5:
        # C-FIND with a junk identifier.
        p.send(_pdata(5, 0x03, _command(rng, 0x0020, dimse.k_study_root_find)) + _pdata(5, 0x02, _identifier(rng)))
    elif kind == 6:
        # Data before the command, or a data set where none was announced.
        p.send(_pdata(ctx, 0x02, _junk_dataset(rng)) + _pdata(ctx, 0x03, _command(rng, has_data=False)))
    elif kind == 7:
        # A P-DATA-TF without PDVs, or a huge PDU length and nothing behind it.
        p.send(rng.choice([_pdu(0x04, b""), _pdu(0x04, b"\x00\x00", length=0x7FFFFFFF),
                           _pdu(0x04, b"\x00\x00\x00\x02\x01"), _pdu(0x01, b"\x00" * 20)]))
    else:
        # A valid C-ECHO, then release, abort, or a second A-ASSOCIATE-RQ.
        p.send(_pdata(1, 0x03, _command(rng, 0x0030, dimse.k_verification, has_data=False)))
        p.read_pdu()
        p.send(rng.choice([_pdu(0x05, bytes(4)), _pdu(0x07, bytes(4)), _associate_rq(called), _pdu(0x06, bytes(4))]))
    p.read_pdu()
    if rng.random() < 0.5:
        p.send(_pdu(0x05, bytes(4)))
        p.read_pdu()
    p.close(reset=rng.random() < 0.3)
    return "association"


k_cases_table = [
    (case_mutated_associate, 4),
    (case_wrong_pdu_type, 1),
    (case_garbage_after_request, 1),
    (case_bad_contexts, 2),
    (case_association_traffic, 6),
]


def _echo_ok(port, called, attempts=20):
    """C-ECHO through the test client; retried briefly (workers of closed fuzz connections
    may still hold every slot for a moment). Bounded by `attempts`."""
    for _ in range(attempts):
        try:
            with dimse.Association(k_host, port, called=called, calling="FUZZCHECK", timeout=5.0) as a:
                if a.echo() == 0:
                    return True
        except (dimse.AssociationRejected, dimse.AssociationAborted, OSError):
            pass
        time.sleep(0.25)
    return False


def _steady(node, samples=5, bound_seconds=10.0):
    """(Threads, VmRSS) once the thread count has been the same for `samples` looks in a
    row (0.2 s apart), or at the bound."""
    deadline = time.monotonic() + bound_seconds
    last, same = None, 0
    while time.monotonic() < deadline and same < samples:
        threads, rss = _status(node.proc.pid)
        same = same + 1 if threads == last else 1
        last = threads
        time.sleep(0.2)
    return _status(node.proc.pid)


def _settled(node, start_threads, deadline_seconds):
    """Wait (bounded) until the thread count is back at `start_threads`; returns the last."""
    deadline = time.monotonic() + deadline_seconds
    threads = None
    while time.monotonic() < deadline:
        threads, _ = _status(node.proc.pid)
        if threads <= start_threads:
            return threads
        time.sleep(0.2)
    return threads


def test_net_fuzz_node_survives(node, tmp_path):
    seed = int(os.environ.get("CF_NET_FUZZ_SEED", str(random.SystemRandom().randrange(1 << 32))))
    print("network fuzzer seed: {} (CF_NET_FUZZ_SEED={} to repeat)".format(seed, seed))
    rng = random.Random(seed)
    called = node.ae_title
    _loopback_only(k_host)

    # Warm up what a normal session allocates (store, find) before the baseline.
    files = make_ct_series.make_series(str(tmp_path / "warm"), count=3, seed=5, size=128)
    assert node.storescu(files).returncode == 0, node.log()
    assert _echo_ok(node.port, called)
    start_threads, start_rss = _steady(node)

    counts = {}
    deadline = time.monotonic() + k_seconds
    done = 0
    weights = [w for _, w in k_cases_table]
    for done in range(1, k_cases + 1):
        if time.monotonic() > deadline:
            break
        case = rng.choices([c for c, _ in k_cases_table], weights)[0]
        try:
            kind = case(rng, node.port, called)
        except OSError as e:
            kind = "oserror:" + type(e).__name__
        counts[kind] = counts.get(kind, 0) + 1
        assert node.running(), "node died at case {} (seed {}):\n{}".format(done, seed, node.log())
        if done % k_echo_every == 0:
            assert _echo_ok(node.port, called), "no C-ECHO after case {} (seed {}):\n{}".format(done, seed, node.log())
    print("network fuzzer: {} cases, {}".format(done, sorted(counts.items())))
    assert done >= min(k_cases, 100), "fewer cases ran than expected"

    # The node still works: C-ECHO with DCMTK's echoscu, and storing a study.
    assert node.running(), node.log()
    echo = node.echo()
    assert echo.returncode == 0, echo.stderr + node.log()
    study = make_ct_series.make_series(str(tmp_path / "after"), count=4, seed=9, size=128)
    uids = [read_uid(path) for path in study]  # storescu +rn renames the files
    stored = node.storescu(study)
    assert stored.returncode == 0, stored.stderr + node.log()
    index = node.index()
    for uid in uids:
        assert uid in index, "instance from after the fuzzing not indexed"

    # No leaked worker threads, no large growth of memory.
    threads = _settled(node, start_threads, k_settle_seconds)
    _, rss = _status(node.proc.pid)
    print("threads {} -> {}, RSS {} KiB -> {} KiB".format(start_threads, threads, start_rss, rss))
    assert threads <= start_threads, "worker threads leaked: {} before, {} after (seed {})".format(
        start_threads, threads, seed)
    assert rss <= start_rss + k_rss_slack_kib, "RSS grew from {} KiB to {} KiB (seed {})".format(
        start_rss, rss, seed)
