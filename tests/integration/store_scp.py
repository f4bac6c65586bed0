# SPDX-License-Identifier: MIT
"""A scripted storage SCP for the forwarding tests: answers each C-STORE with the status
a test chooses, per SOP Instance UID and per delivery, which no real peer does on demand.

Only what a Storage SCU needs from the other side (PS3.8 9.3, PS3.7 9.1.1/9.3.1):
A-ASSOCIATE-RQ -> A-ASSOCIATE-AC (per context: the first proposed transfer syntax the
test accepts, else "transfer syntax not supported"; SOP classes the test refuses get
"abstract syntax not supported"), P-DATA with C-ECHO and C-STORE, A-RELEASE, A-ABORT.
Every C-STORE received is recorded (SOP Instance UID, SOP class, transfer syntax, data
set size, the status answered), so a test can count deliveries per instance.

Runs in a thread on 127.0.0.1; each connection in its own thread; every socket operation
has a timeout and every loop a bound.
"""

import collections
import socket
import struct
import threading

import dimse

k_app_context = "1.2.840.10008.3.1.1.1"
k_verification = "1.2.840.10008.1.1"
k_impl_class_uid = "1.2.826.0.1.3680043.9.9999.43"  # test-only implementation UID
k_socket_timeout = 30.0  # seconds per socket operation
k_max_pdus_per_association = 1000000
k_max_connections = 1000  # per server lifetime
k_max_pdu = 65536  # what we announce

Received = collections.namedtuple("Received", "sop_instance sop_class transfer_syntax size status calling")


class _Aborted(Exception):
    """We sent A-ABORT: the association ends here."""


def _text(raw):
    return raw.decode("ascii", "replace").rstrip("\0 ")


def _pad(raw):
    return raw + b"\0" if len(raw) % 2 else raw


def _item(item_type, payload):
    return struct.pack(">BBH", item_type, 0, len(payload)) + payload


class StoreSCP:
    """status(sop_instance_uid, delivery_number_starting_at_1) -> DIMSE status, or None
    to answer with A-ABORT instead (the C-STORE is still recorded, status None);
    accept_ts(sop_class, proposed transfer syntaxes) -> the one to accept or None;
    refuse: SOP classes answered "abstract syntax not supported"."""

    def __init__(self, ae_title="SCRIPTED", status=None, accept_ts=None, refuse=()):
        self.ae_title = ae_title
        self.status = status or (lambda sop, n: 0x0000)
        self.accept_ts = accept_ts or (lambda sop_class, proposed: proposed[0])
        self.refuse = set(refuse)
        self.received = []
        self.associations = 0
        self.lock = threading.Lock()
        self.errors = []
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self._threads = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    # -- bookkeeping ---------------------------------------------------------------------

    def deliveries(self):
        """{sop instance uid: number of C-STOREs received for it}."""
        with self.lock:
            return collections.Counter(r.sop_instance for r in self.received)

    def records(self):
        with self.lock:
            return list(self.received)

    def close(self):
        self._stop.set()
        self._thread.join(timeout=10)
        for thread in list(self._threads):
            thread.join(timeout=k_socket_timeout + 5)
        self._sock.close()

    # -- server --------------------------------------------------------------------------

    def _serve(self):
        for _ in range(k_max_connections):
            conn = None
            while not self._stop.is_set():
                try:
                    conn, _ = self._sock.accept()
                    break
                except socket.timeout:
                    continue
                except OSError:
                    return
            if conn is None:
                return
            thread = threading.Thread(target=self._connection, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _connection(self, conn):
        conn.settimeout(k_socket_timeout)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self._association(conn)
        except _Aborted:
            pass
        except (OSError, ValueError, EOFError, struct.error) as e:
            with self.lock:
                self.errors.append(repr(e))
        finally:
            conn.close()

    def _recv_exact(self, conn, count):
        chunks = []
        while count > 0:
            chunk = conn.recv(min(count, 1 << 20))
            if not chunk:
                raise EOFError("connection closed")
            chunks.append(chunk)
            count -= len(chunk)
        return b"".join(chunks)

    def _recv_pdu(self, conn):
        pdu_type, _, length = struct.unpack(">BBI", self._recv_exact(conn, 6))
        return pdu_type, self._recv_exact(conn, length)

    @staticmethod
    def _send_pdu(conn, pdu_type, payload):
        conn.sendall(struct.pack(">BBI", pdu_type, 0, len(payload)) + payload)

    def _association(self, conn):
        pdu_type, payload = self._recv_pdu(conn)
        if pdu_type != 0x01:
            raise ValueError("expected A-ASSOCIATE-RQ, got PDU type {}".format(pdu_type))
        calling = _text(payload[20:36])
        contexts = {}  # id -> transfer syntax
        ac_items = _item(0x10, k_app_context.encode("ascii"))
        peer_max = 16384
        pos = 68
        while pos + 4 <= len(payload):
            item_type, _, length = struct.unpack_from(">BBH", payload, pos)
            body = payload[pos + 4:pos + 4 + length]
            pos += 4 + length
            if item_type == 0x20:
                ctx_id = body[0]
                abstract, proposed = None, []
                sub = 4
                while sub + 4 <= len(body):
                    sub_type, _, sub_len = struct.unpack_from(">BBH", body, sub)
                    value = _text(body[sub + 4:sub + 4 + sub_len])
                    if sub_type == 0x30:
                        abstract = value
                    elif sub_type == 0x40:
                        proposed.append(value)
                    sub += 4 + sub_len
                chosen = None
                if abstract == k_verification:
                    result = 0 if "1.2.840.10008.1.2" in proposed else 4
                    chosen = "1.2.840.10008.1.2" if result == 0 else None
                elif abstract in self.refuse:
                    result = 3
                else:
                    chosen = self.accept_ts(abstract, proposed)
                    result = 0 if chosen else 4
                if result == 0:
                    contexts[ctx_id] = (abstract, chosen)
                ts_item = _item(0x40, (chosen or proposed[0]).encode("ascii"))
                ac_items += _item(0x21, struct.pack(">BBBB", ctx_id, 0, result, 0) + ts_item)
            elif item_type == 0x50:
                sub = 0
                while sub + 4 <= len(body):
                    sub_type, _, sub_len = struct.unpack_from(">BBH", body, sub)
                    if sub_type == 0x51 and sub_len == 4:
                        peer_max = struct.unpack_from(">I", body, sub + 4)[0] or (1 << 20)
                    sub += 4 + sub_len
        ac_items += _item(0x50, _item(0x51, struct.pack(">I", k_max_pdu)) +
                          _item(0x52, k_impl_class_uid.encode("ascii")))
        self._send_pdu(conn, 0x02, payload[0:68] + ac_items)
        with self.lock:
            self.associations += 1
        del peer_max  # our responses are small: one PDV each

        command, data, ctx = b"", [], None
        for _ in range(k_max_pdus_per_association):
            pdu_type, payload = self._recv_pdu(conn)
            if pdu_type == 0x05:  # A-RELEASE-RQ
                self._send_pdu(conn, 0x06, bytes(4))
                return
            if pdu_type == 0x07:  # A-ABORT
                return
            if pdu_type != 0x04:
                raise ValueError("unexpected PDU type {}".format(pdu_type))
            pos = 0
            while pos + 6 <= len(payload):
                length, ctx, header = struct.unpack_from(">IBB", payload, pos)
                fragment = payload[pos + 6:pos + 4 + length]
                pos += 4 + length
                if header & 0x01:
                    command += fragment
                    if header & 0x02:
                        fields = dimse.decode_command(command)
                        has_data = struct.unpack("<H", fields.get(0x0800, b"\x01\x01"))[0] != 0x0101
                        if not has_data:
                            self._answer(conn, ctx, contexts, fields, None, calling)
                            command, data = b"", []
                else:
                    data.append(fragment)
                    if header & 0x02:
                        self._answer(conn, ctx, contexts, dimse.decode_command(command), b"".join(data), calling)
                        command, data = b"", []
        raise ValueError("too many PDUs on one association")

    def _answer(self, conn, ctx, contexts, fields, data, calling):
        field = struct.unpack("<H", fields[0x0100])[0]
        message_id = fields[0x0110]
        sop_class = _text(fields.get(0x0002, b""))
        if field == 0x0030:  # C-ECHO-RQ
            rsp = [(0x0002, _pad(sop_class.encode("ascii"))), (0x0100, struct.pack("<H", 0x8030)),
                   (0x0120, message_id), (0x0800, struct.pack("<H", 0x0101)), (0x0900, struct.pack("<H", 0))]
        elif field == 0x0001:  # C-STORE-RQ
            sop = _text(fields.get(0x1000, b""))
            ts = contexts.get(ctx, (None, None))[1]
            with self.lock:
                number = sum(1 for r in self.received if r.sop_instance == sop) + 1
                status = self.status(sop, number)
                self.received.append(Received(sop, sop_class, ts, len(data or b""), status, calling))
            if status is None:
                self._send_pdu(conn, 0x07, bytes([0, 0, 2, 0]))  # A-ABORT, source: service provider
                raise _Aborted()
            rsp = [(0x0002, _pad(sop_class.encode("ascii"))), (0x0100, struct.pack("<H", 0x8001)),
                   (0x0120, message_id), (0x0800, struct.pack("<H", 0x0101)),
                   (0x0900, struct.pack("<H", status)), (0x1000, _pad(sop.encode("ascii")))]
        else:
            raise ValueError("unexpected command field {:#06x}".format(field))
        encoded = dimse.encode_command(rsp)
        self._send_pdu(conn, 0x04, struct.pack(">IBB", len(encoded) + 2, ctx, 0x03) + encoded)
