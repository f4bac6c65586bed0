# SPDX-License-Identifier: MIT
"""A deliberately small DICOM upper-layer client for negative tests.

storescu refuses to send what it cannot parse or what lacks a SOP Instance UID, so the
tests that need a malformed C-STORE build the PDUs themselves (PS3.8 9.3, PS3.7 9.3.1).
Only what those tests need: A-ASSOCIATE, P-DATA with C-ECHO/C-STORE, A-RELEASE, A-ABORT.
Every socket operation has a timeout; nothing here loops without a bound.
"""

import socket
import struct

from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset

k_app_context = "1.2.840.10008.3.1.1.1"
k_verification = "1.2.840.10008.1.1"
k_implicit_le = "1.2.840.10008.1.2"
k_explicit_le = "1.2.840.10008.1.2.1"
k_impl_class_uid = "1.2.826.0.1.3680043.9.9999.42"  # test-only implementation UID
k_max_pdus_per_message = 10000


class AssociationRejected(Exception):
    """A-ASSOCIATE-RJ: `result`, `source`, `reason` as in PS3.8 9.3.4."""

    def __init__(self, result, source, reason):
        super().__init__("rejected: result={} source={} reason={}".format(result, source, reason))
        self.result = result
        self.source = source
        self.reason = reason


class AssociationAborted(Exception):
    """The peer sent A-ABORT or closed the connection."""


def _pad_uid(uid):
    raw = uid.encode("ascii")
    return raw + b"\0" if len(raw) % 2 else raw


def _ae(title):
    raw = title.encode("ascii")
    if len(raw) > 16:
        raise ValueError("AE title longer than 16 characters")
    return raw.ljust(16, b" ")


def _item(item_type, payload):
    return struct.pack(">BBH", item_type, 0, len(payload)) + payload


def _element(group, elem, value):
    return struct.pack("<HHI", group, elem, len(value)) + value


def encode_command(fields):
    """Encode a command set (implicit VR LE, group 0000) from [(elem, bytes)] sorted by tag."""
    body = b"".join(_element(0x0000, elem, value) for elem, value in sorted(fields))
    return _element(0x0000, 0x0000, struct.pack("<I", len(body))) + body


def decode_command(raw):
    """Decode a command set into {element: bytes}; raises ValueError on a malformed one."""
    out = {}
    pos = 0
    while pos < len(raw):
        if pos + 8 > len(raw):
            raise ValueError("truncated command element")
        group, elem, length = struct.unpack_from("<HHI", raw, pos)
        pos += 8
        if group != 0 or pos + length > len(raw):
            raise ValueError("bad command element")
        out[elem] = raw[pos:pos + length]
        pos += length
    return out


def encode_dataset(ds, implicit=False):
    """Encode a pydicom Dataset as a bare data set (no preamble, no meta) in LE."""
    buf = DicomBytesIO()
    buf.is_little_endian = True
    buf.is_implicit_VR = implicit
    write_dataset(buf, ds)
    return buf.getvalue()


class Association:
    """One association to `host:port`. Use as a context manager; it releases on exit."""

    def __init__(self, host, port, called="ANY-SCP", calling="RAWSCU", contexts=None,
                 timeout=15.0, max_pdu=16384):
        # contexts: list of (abstract syntax, [transfer syntaxes]); ids 1, 3, 5, ...
        self.contexts = contexts or [(k_verification, [k_implicit_le])]
        self.accepted = {}  # context id -> transfer syntax
        self.peer_max_pdu = 0
        self.message_id = 0
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self._associate(called, calling, max_pdu)
        except BaseException:
            self.sock.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self.release()
        finally:
            self.sock.close()

    # -- upper layer ---------------------------------------------------------------------

    def _send_pdu(self, pdu_type, payload):
        self.sock.sendall(struct.pack(">BBI", pdu_type, 0, len(payload)) + payload)

    def _recv_exact(self, count):
        chunks = []
        while count > 0:
            chunk = self.sock.recv(min(count, 1 << 20))
            if not chunk:
                raise AssociationAborted("connection closed by peer")
            chunks.append(chunk)
            count -= len(chunk)
        return b"".join(chunks)

    def _recv_pdu(self):
        pdu_type, _, length = struct.unpack(">BBI", self._recv_exact(6))
        payload = self._recv_exact(length)
        if pdu_type == 0x07:
            raise AssociationAborted("A-ABORT source={} reason={}".format(payload[2], payload[3]))
        return pdu_type, payload

    def _associate(self, called, calling, max_pdu):
        items = _item(0x10, k_app_context.encode("ascii"))
        for index, (abstract, syntaxes) in enumerate(self.contexts):
            sub = _item(0x30, abstract.encode("ascii"))
            for ts in syntaxes:
                sub += _item(0x40, ts.encode("ascii"))
            items += _item(0x20, struct.pack(">BBBB", 2 * index + 1, 0, 0, 0) + sub)
        user = _item(0x51, struct.pack(">I", max_pdu)) + _item(0x52, k_impl_class_uid.encode("ascii"))
        items += _item(0x50, user)
        header = struct.pack(">HH", 1, 0) + _ae(called) + _ae(calling) + bytes(32)
        self._send_pdu(0x01, header + items)
        pdu_type, payload = self._recv_pdu()
        if pdu_type == 0x03:
            raise AssociationRejected(payload[1], payload[2], payload[3])
        if pdu_type != 0x02:
            raise AssociationAborted("unexpected PDU type {} during association".format(pdu_type))
        pos = 68
        while pos + 4 <= len(payload):
            item_type, _, length = struct.unpack_from(">BBH", payload, pos)
            body = payload[pos + 4:pos + 4 + length]
            pos += 4 + length
            if item_type == 0x21 and body[2] == 0:
                ts = b""
                sub = 4
                while sub + 4 <= len(body):
                    sub_type, _, sub_len = struct.unpack_from(">BBH", body, sub)
                    if sub_type == 0x40:
                        ts = body[sub + 4:sub + 4 + sub_len]
                    sub += 4 + sub_len
                self.accepted[body[0]] = ts.decode("ascii").rstrip("\0 ")
            elif item_type == 0x50:
                sub = 0
                while sub + 4 <= len(body):
                    sub_type, _, sub_len = struct.unpack_from(">BBH", body, sub)
                    if sub_type == 0x51 and sub_len == 4:
                        self.peer_max_pdu = struct.unpack_from(">I", body, sub + 4)[0]
                    sub += 4 + sub_len

    def context_for(self, abstract_syntax):
        """(context id, transfer syntax) of the first accepted context for a SOP class."""
        for index, (abstract, _) in enumerate(self.contexts):
            ctx = 2 * index + 1
            if abstract == abstract_syntax and ctx in self.accepted:
                return ctx, self.accepted[ctx]
        raise LookupError("no accepted presentation context for " + abstract_syntax)

    def _send_message(self, ctx, command, data=None):
        self._send_pdu(0x04, struct.pack(">IBB", len(command) + 2, ctx, 0x03) + command)
        if data is None:
            return
        limit = self.peer_max_pdu or (1 << 20)
        chunk = max(limit - 6, 256)
        pos = 0
        while True:
            part = data[pos:pos + chunk]
            pos += len(part)
            last = pos >= len(data)
            self._send_pdu(0x04, struct.pack(">IBB", len(part) + 2, ctx, 0x02 if last else 0x00) + part)
            if last:
                return

    def _recv_command(self):
        command = b""
        for _ in range(k_max_pdus_per_message):
            pdu_type, payload = self._recv_pdu()
            if pdu_type != 0x04:
                raise AssociationAborted("unexpected PDU type {} while waiting for a response".format(pdu_type))
            pos = 0
            while pos + 6 <= len(payload):
                length, _, header = struct.unpack_from(">IBB", payload, pos)
                value = payload[pos + 6:pos + 4 + length]
                pos += 4 + length
                if header & 0x01:
                    command += value
                    if header & 0x02:
                        return decode_command(command)
        raise AssociationAborted("no complete response command")

    # -- DIMSE ---------------------------------------------------------------------------

    def echo(self):
        """C-ECHO; returns the status."""
        ctx, _ = self.context_for(k_verification)
        self.message_id += 1
        cmd = encode_command([
            (0x0002, _pad_uid(k_verification)),
            (0x0100, struct.pack("<H", 0x0030)),
            (0x0110, struct.pack("<H", self.message_id)),
            (0x0800, struct.pack("<H", 0x0101)),
        ])
        self._send_message(ctx, cmd)
        return struct.unpack("<H", self._recv_command()[0x0900])[0]

    def store(self, sop_class, sop_instance, data):
        """C-STORE of the already-encoded data set `data`; returns the response status."""
        ctx, _ = self.context_for(sop_class)
        self.message_id += 1
        cmd = encode_command([
            (0x0002, _pad_uid(sop_class)),
            (0x0100, struct.pack("<H", 0x0001)),
            (0x0110, struct.pack("<H", self.message_id)),
            (0x0700, struct.pack("<H", 0x0000)),
            (0x0800, struct.pack("<H", 0x0000)),
            (0x1000, _pad_uid(sop_instance)),
        ])
        self._send_message(ctx, cmd, data)
        rsp = self._recv_command()
        if struct.unpack("<H", rsp[0x0100])[0] != 0x8001:
            raise AssociationAborted("response is not a C-STORE-RSP")
        return struct.unpack("<H", rsp[0x0900])[0]

    def release(self):
        self._send_pdu(0x05, bytes(4))
        pdu_type, _ = self._recv_pdu()
        if pdu_type != 0x06:
            raise AssociationAborted("expected A-RELEASE-RP, got PDU type {}".format(pdu_type))

    def abort(self):
        self._send_pdu(0x07, bytes(4))
        self.sock.close()
