# SPDX-License-Identifier: MIT
"""A deliberately small DICOM upper-layer client for what DCMTK's tools cannot do.

storescu refuses to send what it cannot parse or what lacks a SOP Instance UID, so the
tests that need a malformed C-STORE build the PDUs themselves (PS3.8 9.3, PS3.7 9.3.1).
getscu always proposes its storage contexts with the SCP role, findscu cannot send
extended negotiation, and a benchmark needs one association for many queries, so this
module also does C-FIND, C-GET (answering the C-STORE sub-operations on the same
association), C-MOVE and C-CANCEL (PS3.7 9.1.2-9.1.5, 9.3.2-9.3.5), with optional SCP/SCU
role selection (PS3.7 D.3.3.4) and SOP class extended negotiation (PS3.7 D.3.3.5).
Every socket operation has a timeout; nothing here loops without a bound.
"""

import collections
import io
import socket
import struct

from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset
from pydicom.filewriter import write_dataset

k_app_context = "1.2.840.10008.3.1.1.1"
k_verification = "1.2.840.10008.1.1"
k_implicit_le = "1.2.840.10008.1.2"
k_explicit_le = "1.2.840.10008.1.2.1"
k_impl_class_uid = "1.2.826.0.1.3680043.9.9999.42"  # test-only implementation UID
k_max_pdus_per_message = 100000
k_max_responses = 1000000  # C-FIND/C-GET/C-MOVE responses and sub-operations per request
k_pending = (0xFF00, 0xFF01)

# Command Field values (PS3.7 E.1)
k_c_store_rq, k_c_store_rsp = 0x0001, 0x8001
k_c_find_rq, k_c_find_rsp = 0x0020, 0x8020
k_c_get_rq, k_c_get_rsp = 0x0010, 0x8010
k_c_move_rq, k_c_move_rsp = 0x0021, 0x8021
k_c_cancel_rq = 0x0FFF
k_no_data_set = 0x0101

# Query/Retrieve information models (PS3.4 C.6)
k_patient_root_find = "1.2.840.10008.5.1.4.1.2.1.1"
k_patient_root_move = "1.2.840.10008.5.1.4.1.2.1.2"
k_patient_root_get = "1.2.840.10008.5.1.4.1.2.1.3"
k_study_root_find = "1.2.840.10008.5.1.4.1.2.2.1"
k_study_root_move = "1.2.840.10008.5.1.4.1.2.2.2"
k_study_root_get = "1.2.840.10008.5.1.4.1.2.2.3"
k_ps_only_find = "1.2.840.10008.5.1.4.1.2.3.1"
k_ps_only_move = "1.2.840.10008.5.1.4.1.2.3.2"
k_ps_only_get = "1.2.840.10008.5.1.4.1.2.3.3"

# One response of a C-FIND/C-GET/C-MOVE: status, the decoded identifier (or None), the
# raw command {element: bytes}, and the sub-operation counts (None where absent).
Response = collections.namedtuple("Response", "status identifier command remaining completed failed warning")
# One C-STORE sub-operation received during a C-GET: context id, its transfer syntax,
# the command {element: bytes}, the raw data set bytes.
SubOperation = collections.namedtuple("SubOperation", "context transfer_syntax command data")


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


def decode_dataset(raw, transfer_syntax):
    """Decode a bare data set received in `transfer_syntax` (any but deflated)."""
    implicit = transfer_syntax == k_implicit_le
    little = transfer_syntax != "1.2.840.10008.1.2.2"
    return read_dataset(io.BytesIO(raw), implicit, little)


def _us(value):
    return struct.pack("<H", value)


def _get_us(command, elem):
    raw = command.get(elem)
    return struct.unpack("<H", raw)[0] if raw is not None and len(raw) == 2 else None


def _get_text(command, elem):
    raw = command.get(elem)
    return raw.decode("ascii", "replace").rstrip("\0 ") if raw is not None else None


def command_text(command, elem):
    """A string element of a received command (UI/AE), without padding; None if absent."""
    return _get_text(command, elem)


def command_us(command, elem):
    """A US element of a received command; None if absent."""
    return _get_us(command, elem)


class Association:
    """One association to `host:port`. Use as a context manager; it releases on exit."""

    def __init__(self, host, port, called="ANY-SCP", calling="RAWSCU", contexts=None,
                 timeout=15.0, max_pdu=16384, roles=None, ext_neg=None):
        # contexts: list of (abstract syntax, [transfer syntaxes]); ids 1, 3, 5, ...
        # roles: {abstract syntax: (scu, scp)} -> SCP/SCU Role Selection items; a context
        #        without one keeps the default role (requestor = SCU).
        # ext_neg: {abstract syntax: bytes} -> SOP Class Extended Negotiation items.
        self.contexts = contexts or [(k_verification, [k_implicit_le])]
        self.roles = roles or {}
        self.ext_neg = ext_neg or {}
        self.accepted = {}  # context id -> transfer syntax
        self.accepted_roles = {}  # abstract syntax -> (scu, scp) from the A-ASSOCIATE-AC
        self.accepted_ext_neg = {}  # abstract syntax -> bytes from the A-ASSOCIATE-AC
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
        for abstract, (scu, scp) in self.roles.items():
            uid = abstract.encode("ascii")
            user += _item(0x54, struct.pack(">H", len(uid)) + uid + bytes([1 if scu else 0, 1 if scp else 0]))
        for abstract, info in self.ext_neg.items():
            uid = abstract.encode("ascii")
            user += _item(0x56, struct.pack(">H", len(uid)) + uid + info)
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
                    value = body[sub + 4:sub + 4 + sub_len]
                    if sub_type == 0x51 and sub_len == 4:
                        self.peer_max_pdu = struct.unpack_from(">I", body, sub + 4)[0]
                    elif sub_type in (0x54, 0x56) and sub_len >= 2:
                        uid_len = struct.unpack_from(">H", value, 0)[0]
                        uid = value[2:2 + uid_len].decode("ascii").rstrip("\0 ")
                        rest = value[2 + uid_len:]
                        if sub_type == 0x54 and len(rest) >= 2:
                            self.accepted_roles[uid] = (rest[0], rest[1])
                        elif sub_type == 0x56:
                            self.accepted_ext_neg[uid] = rest
                    sub += 4 + sub_len

    def context_for(self, abstract_syntax):
        """(context id, transfer syntax) of the first accepted context for a SOP class."""
        for index, (abstract, _) in enumerate(self.contexts):
            ctx = 2 * index + 1
            if abstract == abstract_syntax and ctx in self.accepted:
                return ctx, self.accepted[ctx]
        raise LookupError("no accepted presentation context for " + abstract_syntax)

    @staticmethod
    def _pdu(pdu_type, payload):
        return struct.pack(">BBI", pdu_type, 0, len(payload)) + payload

    def _message_pdus(self, ctx, command, data=None):
        """The P-DATA-TF PDUs of one message: the command in one PDV, the data set split
        to the peer's maximum PDU length."""
        pdus = [self._pdu(0x04, struct.pack(">IBB", len(command) + 2, ctx, 0x03) + command)]
        if data is None:
            return pdus
        limit = self.peer_max_pdu or (1 << 20)
        chunk = max(limit - 6, 256)
        pos = 0
        while True:
            part = data[pos:pos + chunk]
            pos += len(part)
            last = pos >= len(data)
            pdus.append(self._pdu(0x04, struct.pack(">IBB", len(part) + 2, ctx, 0x02 if last else 0x00) + part))
            if last:
                return pdus

    def _send_message(self, ctx, command, data=None, trailer=b""):
        """Send one message; `trailer` (further PDUs) goes out in the same write."""
        self.sock.sendall(b"".join(self._message_pdus(ctx, command, data)) + trailer)

    def _recv_command(self):
        return self.recv_message()[1]

    def recv_message(self):
        """The next complete DIMSE message: (context id, command {elem: bytes}, data bytes
        or None). A data set is read when the command announces one."""
        command = b""
        decoded = None
        data = []
        ctx = None
        for _ in range(k_max_pdus_per_message):
            pdu_type, payload = self._recv_pdu()
            if pdu_type != 0x04:
                raise AssociationAborted("unexpected PDU type {} while waiting for a message".format(pdu_type))
            pos = 0
            while pos + 6 <= len(payload):
                length, pdv_ctx, header = struct.unpack_from(">IBB", payload, pos)
                value = payload[pos + 6:pos + 4 + length]
                pos += 4 + length
                ctx = pdv_ctx
                if header & 0x01:
                    if decoded is not None:
                        raise AssociationAborted("command fragment after a complete command")
                    command += value
                    if header & 0x02:
                        decoded = decode_command(command)
                        if _get_us(decoded, 0x0800) == k_no_data_set:
                            return ctx, decoded, None
                else:
                    if decoded is None:
                        raise AssociationAborted("data set fragment before the command")
                    data.append(value)
                    if header & 0x02:
                        return ctx, decoded, b"".join(data)
        raise AssociationAborted("no complete message within {} PDUs".format(k_max_pdus_per_message))

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

    def _transfer_syntax(self, ctx):
        return self.accepted[ctx]

    def _request(self, sop_class, command_field, identifier, extra=(), priority=0, cancel=False):
        """Send a C-FIND/C-GET/C-MOVE request; returns (context id, message id, TS). With
        cancel=True a C-CANCEL-RQ follows in the same write, so it is in the peer's
        socket before the peer has read the identifier."""
        ctx, ts = self.context_for(sop_class)
        self.message_id += 1
        fields = [
            (0x0002, _pad_uid(sop_class)),
            (0x0100, _us(command_field)),
            (0x0110, _us(self.message_id)),
            (0x0700, _us(priority)),
            (0x0800, _us(0x0000)),
        ] + list(extra)
        if isinstance(identifier, (bytes, bytearray)):
            data = bytes(identifier)
        else:
            data = encode_dataset(identifier, implicit=(ts == k_implicit_le))
        trailer = self._cancel_pdus(ctx, self.message_id) if cancel else b""
        self._send_message(ctx, encode_command(fields), data, trailer)
        return ctx, self.message_id, ts

    def _cancel_pdus(self, ctx, message_id):
        cmd = encode_command([
            (0x0100, _us(k_c_cancel_rq)),
            (0x0120, _us(message_id)),
            (0x0800, _us(k_no_data_set)),
        ])
        return b"".join(self._message_pdus(ctx, cmd))

    def cancel(self, ctx, message_id):
        """C-CANCEL-RQ for the request `message_id` (PS3.7 9.3.2.3)."""
        self.sock.sendall(self._cancel_pdus(ctx, message_id))

    def _response(self, command, data, ts, decode=True):
        identifier = None
        if data:
            identifier = decode_dataset(data, ts) if decode else data
        return Response(_get_us(command, 0x0900), identifier, command, _get_us(command, 0x1020),
                        _get_us(command, 0x1021), _get_us(command, 0x1022), _get_us(command, 0x1023))

    def find(self, sop_class, identifier, cancel_after=None, on_response=None, decode=True):
        """C-FIND; returns every Response, the final one last. `identifier` is a pydicom
        Dataset (encoded in the context's TS) or raw bytes. With cancel_after=N a C-CANCEL
        goes out after the N-th pending response (N=0: in the same write as the request).
        on_response(resp) is called per response. With decode=False, Response.identifier holds the raw data set bytes."""
        cancelled = cancel_after == 0  # then the cancel goes out with the request
        ctx, message_id, ts = self._request(sop_class, k_c_find_rq, identifier, cancel=cancelled)
        responses = []
        for _ in range(k_max_responses):
            rsp_ctx, command, data = self.recv_message()
            if _get_us(command, 0x0100) != k_c_find_rsp:
                raise AssociationAborted("expected C-FIND-RSP, got command field {:#06x}".format(
                    _get_us(command, 0x0100) or 0))
            resp = self._response(command, data, ts, decode)
            responses.append(resp)
            if on_response is not None:
                on_response(resp)
            if resp.status not in k_pending:
                return responses
            if cancel_after is not None and not cancelled and len(responses) >= cancel_after:
                self.cancel(ctx, message_id)
                cancelled = True
        raise AssociationAborted("more than {} C-FIND responses".format(k_max_responses))

    def _answer_store(self, ctx, command, data, on_store):
        sop_class = _get_text(command, 0x0002)
        sop_instance = _get_text(command, 0x1000)
        sub = SubOperation(ctx, self.accepted.get(ctx), command, data)
        status = on_store(sub) if on_store is not None else 0x0000
        rsp = encode_command([
            (0x0002, _pad_uid(sop_class)),
            (0x0100, _us(k_c_store_rsp)),
            (0x0120, command[0x0110]),
            (0x0800, _us(k_no_data_set)),
            (0x0900, _us(status)),
            (0x1000, _pad_uid(sop_instance)),
        ])
        self._send_message(ctx, rsp)

    def _retrieve(self, sop_class, command_field, rsp_field, identifier, extra, on_store,
                  cancel_after, on_response):
        cancelled = cancel_after == 0  # then the cancel goes out with the request
        ctx, message_id, ts = self._request(sop_class, command_field, identifier, extra, cancel=cancelled)
        responses = []
        stores = 0
        for _ in range(k_max_responses):
            msg_ctx, command, data = self.recv_message()
            field = _get_us(command, 0x0100)
            if field == k_c_store_rq:
                stores += 1
                self._answer_store(msg_ctx, command, data, on_store)
                if cancel_after is not None and not cancelled and stores >= cancel_after:
                    self.cancel(ctx, message_id)
                    cancelled = True
                continue
            if field != rsp_field:
                raise AssociationAborted("unexpected command field {:#06x}".format(field or 0))
            resp = self._response(command, data, ts)
            responses.append(resp)
            if on_response is not None:
                on_response(resp)
            if resp.status not in k_pending:
                return responses
            if cancel_after is not None and not cancelled and command_field == k_c_move_rq \
                    and len(responses) >= cancel_after:
                self.cancel(ctx, message_id)
                cancelled = True
        raise AssociationAborted("more than {} messages for one retrieve".format(k_max_responses))

    def get(self, sop_class, identifier, on_store=None, cancel_after=None, on_response=None):
        """C-GET; answers each C-STORE sub-operation with on_store(SubOperation) -> status
        (default Success) and returns every C-GET Response, the final one last. With
        cancel_after=N a C-CANCEL goes out after the N-th sub-operation."""
        return self._retrieve(sop_class, k_c_get_rq, k_c_get_rsp, identifier, (), on_store,
                              cancel_after, on_response)

    def move(self, sop_class, identifier, destination, cancel_after=None, on_response=None):
        """C-MOVE to the AE title `destination`; returns every Response, the final one
        last. With cancel_after=N a C-CANCEL goes out after the N-th pending response."""
        dest = destination.encode("ascii")
        if len(dest) % 2:
            dest += b" "
        return self._retrieve(sop_class, k_c_move_rq, k_c_move_rsp, identifier, [(0x0600, dest)],
                              None, cancel_after, on_response)

    def release(self):
        self._send_pdu(0x05, bytes(4))
        pdu_type, _ = self._recv_pdu()
        if pdu_type != 0x06:
            raise AssociationAborted("expected A-RELEASE-RP, got PDU type {}".format(pdu_type))

    def abort(self):
        self._send_pdu(0x07, bytes(4))
        self.sock.close()
