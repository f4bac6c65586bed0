# SPDX-License-Identifier: MIT
"""C-GET and C-MOVE SCP (PS3.4 C.4.2, C.4.3) on a study mixing transfer syntaxes.

The study (qr.make_mixed_study): pydicom's MR_small in explicit LE, RLE, JPEG-LS lossless,
JPEG 2000 lossless and big endian (the same 64x64 image, each file restamped with new
UIDs, pixel data untouched), pydicom's RGB SC image in JPEG Lossless SV1, and a small
uncompressed CT series; each series stored with storescu proposing its own syntax.

Clients: DCMTK getscu (proposes storage with the SCP role, uncompressed syntaxes unless
told otherwise), movescu with its own storage SCP (+P), and dimse.py for what they cannot
do: storage contexts in the default role (as Horos proposes them), refusing chosen
sub-operations, and C-CANCEL of a C-GET.

Every received instance is compared with the original: decoded pixels equal (DCMTK's
decoders / pydicom for the reference), and when the stored syntax was kept, the PixelData
bytes are identical.
"""

import os
import subprocess
import time

import pydicom
import pytest

import dimse
import make_ct_series
import qr
from conftest import NodeFactory, free_port, port_open, rename_status, stage

k_seed = 31
k_mover_ae = "MOVESCU"
k_down_ae = "DOWNSCP"
k_storage_classes = (qr.k_mr_storage, qr.k_ct_storage, qr.k_sc_storage)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """(study uid, [MixedSeries], {sop uid: reference pixels}, {sop uid: original path})."""
    out = str(tmp_path_factory.mktemp("mixed"))
    study_uid, series = qr.make_mixed_study(out, k_seed)
    originals = {}
    for s in series:
        for path in s.files:
            originals[qr_sop(path)] = path
    return study_uid, series, qr.reference_pixels(series), originals


def qr_sop(path):
    return str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)


@pytest.fixture(scope="module")
def retrieve_node(tmp_path_factory, mixed):
    base = tmp_path_factory.mktemp("retrieve")
    move_port = free_port()
    down_port = free_port()  # nothing listens there
    factory = NodeFactory(base)
    node = factory("retrieve", config={"modalities": {
        "mover": {"ae": k_mover_ae, "host": "127.0.0.1", "port": move_port},
        "down": {"ae": k_down_ae, "host": "127.0.0.1", "port": down_port},
    }}).start()
    node.move_port = move_port
    failures = qr.store_mixed(node, mixed[1], str(base))
    assert not failures, failures
    # A second study with CT only (for a C-GET that can send nothing).
    ct_files = make_ct_series.make_series(str(base / "ct-only"), count=3, seed=k_seed + 1)
    staged = stage(ct_files, str(base / "stage-ct-only"))
    proc = node.storescu(staged)
    assert all(rename_status(p) == "done" for p in staged), proc.stdout + proc.stderr
    node.ct_only_study = make_ct_series.make_uid(k_seed + 1, "study")
    yield node
    factory.close()


def _stored_ts(node, sop_uid):
    return node.index()[sop_uid]["transfer_syntax"]


def check_received(files, mixed, expect_uids=None, keep_syntax=False):
    """Every expected instance arrived with the original's pixels; with keep_syntax a
    compressed instance keeps its stored syntax and PixelData bytes, else every file is
    uncompressed."""
    study_uid, series, reference, originals = mixed
    expect = set(expect_uids if expect_uids is not None else reference)
    assert set(files) == expect, "missing {}, unexpected {}".format(
        sorted(expect - set(files))[:5], sorted(set(files) - expect)[:5])
    for sop, path in files.items():
        received = pydicom.dcmread(path)
        original = pydicom.dcmread(originals[sop])
        ts = str(received.file_meta.TransferSyntaxUID)
        assert str(received.StudyInstanceUID) == study_uid
        original_ts = str(original.file_meta.TransferSyntaxUID)
        if keep_syntax and original_ts not in qr.k_uncompressed:
            assert ts == original_ts, sop
            assert bytes(received.PixelData) == bytes(original.PixelData), sop
        else:
            # Between uncompressed syntaxes (big endian -> little endian) the receiver
            # chooses; either way the decoded pixels must be the original's.
            assert ts in qr.k_uncompressed, "{}: received in {}".format(sop, ts)
        assert qr.same_pixels(qr.pixels(path), reference[sop]), "{}: pixel data differs ({} from {})".format(
            sop, ts, original.file_meta.TransferSyntaxUID)


def _series(mixed, label):
    return next(s for s in mixed[1] if s.label == label)


def _assert_final(result, status):
    assert result.final == status, "final {} (expected {:#06x}); statuses {}\n{}".format(
        None if result.final is None else hex(result.final), status, [hex(s) for s in result.statuses][-5:],
        result.output[-4000:])


# -- getscu ------------------------------------------------------------------------------

@pytest.mark.parametrize("model", ["study", "patient"])
def test_getscu_study_level(retrieve_node, mixed, tmp_path, model):
    study_uid = mixed[0]
    keys = [("QueryRetrieveLevel", "STUDY"), ("StudyInstanceUID", study_uid)]
    if model == "patient":
        keys.append(("PatientID", "MIXED{}".format(k_seed)))
    result = qr.getscu(retrieve_node.port, model, keys, str(tmp_path / "out"))
    _assert_final(result, qr.SUCCESS)
    total = len(mixed[2])
    check_received(result.files, mixed)
    counts = qr.response_counts(result.output, "C-GET RSP")
    pending = [c for c, s in zip(counts, result.statuses) if s == qr.PENDING]
    assert len(pending) == total - 1, counts
    # Remaining goes down and Completed up by one per sub-operation.
    assert [c[0] for c in pending] == list(range(total - 1, 0, -1))
    assert [c[1] for c in pending] == list(range(1, total))
    assert counts[-1][1:3] == (total, 0), counts[-1]


def test_getscu_series_level(retrieve_node, mixed, tmp_path):
    series = _series(mixed, "jpeg-ls")
    keys = [("QueryRetrieveLevel", "SERIES"), ("StudyInstanceUID", mixed[0]),
            ("SeriesInstanceUID", series.series_uid)]
    result = qr.getscu(retrieve_node.port, "study", keys, str(tmp_path / "out"))
    _assert_final(result, qr.SUCCESS)
    check_received(result.files, mixed, [qr_sop(p) for p in series.files])


def test_getscu_image_level(retrieve_node, mixed, tmp_path):
    series = _series(mixed, "j2k")
    sops = [qr_sop(p) for p in series.files]
    keys = [("QueryRetrieveLevel", "IMAGE"), ("StudyInstanceUID", mixed[0]),
            ("SeriesInstanceUID", series.series_uid), ("SOPInstanceUID", sops[1])]
    result = qr.getscu(retrieve_node.port, "study", keys, str(tmp_path / "one"))
    _assert_final(result, qr.SUCCESS)
    check_received(result.files, mixed, [sops[1]])

    keys[-1] = ("SOPInstanceUID", "\\".join(sops[:2]))
    result = qr.getscu(retrieve_node.port, "study", keys, str(tmp_path / "two"))
    _assert_final(result, qr.SUCCESS)
    check_received(result.files, mixed, sops[:2])


def test_retrieve_without_higher_unique_keys(retrieve_node, mixed, tmp_path):
    """An IMAGE-level C-GET naming only SOP Instance UIDs, and a SERIES-level one without
    the study: answered like Orthanc and dcmqrscp do; with relational retrieval agreed
    (PS3.4 C.5.3.1.1 byte 0) too."""
    series = _series(mixed, "j2k")
    sops = [qr_sop(p) for p in series.files]
    keys = [("QueryRetrieveLevel", "IMAGE"), ("SOPInstanceUID", "\\".join(sops[:2]))]
    result = qr.getscu(retrieve_node.port, "study", keys, str(tmp_path / "image"))
    _assert_final(result, qr.SUCCESS)
    check_received(result.files, mixed, sops[:2])

    ds = pydicom.Dataset()
    ds.QueryRetrieveLevel = "SERIES"
    ds.SeriesInstanceUID = series.series_uid
    agreed = {}
    responses, files, _, _ = _dimse_get(retrieve_node, ds, str(tmp_path / "series"),
                                        ext_neg={dimse.k_study_root_get: bytes([1, 0])},
                                        accepted_ext_neg=agreed)
    assert agreed.get(dimse.k_study_root_get, b"") == b"\x01\x00"
    assert responses[-1].status == qr.SUCCESS
    check_received(files, mixed, sops)


@pytest.mark.parametrize("label,option", [("rle", "+xr"), ("jpeg-ls", "+xt"), ("j2k", "+xv"),
                                          ("jpeg-lossless", "+xs")])
def test_getscu_gets_the_stored_syntax_when_proposed(retrieve_node, mixed, tmp_path, label, option):
    """getscu +x? proposes that compressed syntax (plus uncompressed): the node sends the
    file as stored, without transcoding."""
    series = _series(mixed, label)
    keys = [("QueryRetrieveLevel", "SERIES"), ("StudyInstanceUID", mixed[0]),
            ("SeriesInstanceUID", series.series_uid)]
    result = qr.getscu(retrieve_node.port, "study", keys, str(tmp_path / "out"), extra=[option])
    _assert_final(result, qr.SUCCESS)
    check_received(result.files, mixed, [qr_sop(p) for p in series.files], keep_syntax=True)


# -- C-GET with dimse.py: default role, refused sub-operations, cancel --------------------

def _get_contexts(storage=k_storage_classes, syntaxes=(dimse.k_explicit_le, dimse.k_implicit_le)):
    return [(dimse.k_study_root_get, [dimse.k_explicit_le])] + [(c, list(syntaxes)) for c in storage]


def _study_identifier(study_uid, level="STUDY", **extra):
    ds = pydicom.Dataset()
    ds.QueryRetrieveLevel = level
    ds.StudyInstanceUID = study_uid
    for name, value in extra.items():
        setattr(ds, name, value)
    return ds


def _write_received(sub, out_dir):
    """Write a C-STORE sub-operation's data set as a Part 10 file; returns (sop, path)."""
    ds = dimse.decode_dataset(sub.data, sub.transfer_syntax)
    meta = pydicom.dataset.FileMetaDataset()
    meta.TransferSyntaxUID = sub.transfer_syntax
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    fds = pydicom.dataset.FileDataset("", ds, file_meta=meta, preamble=b"\0" * 128)
    fds.is_implicit_VR = sub.transfer_syntax == dimse.k_implicit_le
    fds.is_little_endian = sub.transfer_syntax != qr.k_big_endian
    sop = str(ds.SOPInstanceUID)
    path = os.path.join(out_dir, sop + ".dcm")
    fds.save_as(path, write_like_original=True)
    return sop, path


def _dimse_get(node, identifier, out_dir, contexts=None, roles=None, refuse=(), cancel_after=None,
               calling="HOROSLIKE", ext_neg=None, accepted_ext_neg=None):
    os.makedirs(out_dir, exist_ok=True)
    files = {}
    commands = []

    def on_store(sub):
        commands.append(sub.command)
        sop = dimse.command_text(sub.command, 0x1000)
        if sop in refuse:
            return 0xA700
        got_sop, path = _write_received(sub, out_dir)
        assert got_sop == sop
        files[sop] = path
        return 0x0000

    with dimse.Association("127.0.0.1", node.port, node.ae_title, calling,
                           contexts=contexts or _get_contexts(), roles=roles, timeout=60,
                           ext_neg=ext_neg) as assoc:
        responses = assoc.get(dimse.k_study_root_get, identifier, on_store=on_store, cancel_after=cancel_after)
        accepted = dict(assoc.accepted)
        if accepted_ext_neg is not None:
            accepted_ext_neg.update(assoc.accepted_ext_neg)
    return responses, files, commands, accepted


def test_cget_with_default_role_storage_contexts(retrieve_node, mixed, tmp_path):
    """Horos proposes the storage contexts of a C-GET without SCP/SCU role selection."""
    responses, files, commands, accepted = _dimse_get(retrieve_node, _study_identifier(mixed[0]),
                                                      str(tmp_path / "out"))
    assert len(accepted) == 1 + len(k_storage_classes), "storage contexts must be accepted: {}".format(accepted)
    final = responses[-1]
    assert final.status == qr.SUCCESS, "final {:#06x}, counts {}".format(final.status, final[3:])
    assert final.completed == len(mixed[2]) and final.failed == 0
    assert all(r.status == qr.PENDING for r in responses[:-1])
    check_received(files, mixed)
    # Sub-operations carry no Move Originator and have distinct message ids.
    ids = [dimse.command_us(c, 0x0110) for c in commands]
    assert len(set(ids)) == len(ids)
    assert all(0x1030 not in c for c in commands)


def test_cget_with_scp_role_via_dimse(retrieve_node, mixed, tmp_path):
    roles = {c: (0, 1) for c in k_storage_classes}
    responses, files, _, _ = _dimse_get(retrieve_node, _study_identifier(mixed[0]), str(tmp_path / "out"),
                                        roles=roles, calling="ROLESCU")
    assert responses[-1].status == qr.SUCCESS
    check_received(files, mixed)


def test_cget_partial_failure_lists_failed_uids(retrieve_node, mixed, tmp_path):
    """The client refuses the JPEG-LS series (0xA700): final 0xB000 with those UIDs in
    Failed SOP Instance UID List (0008,0058)."""
    refused = [qr_sop(p) for p in _series(mixed, "jpeg-ls").files]
    responses, files, _, _ = _dimse_get(retrieve_node, _study_identifier(mixed[0]), str(tmp_path / "out"),
                                        refuse=set(refused))
    final = responses[-1]
    total = len(mixed[2])
    assert final.status == qr.WARNING_SUBOPS, hex(final.status)
    assert (final.completed, final.failed, final.warning) == (total - len(refused), len(refused), 0)
    assert final.identifier is not None, "no identifier with the Failed SOP Instance UID List"
    failed = final.identifier.FailedSOPInstanceUIDList
    failed = [failed] if isinstance(failed, str) else list(failed)
    assert sorted(str(u) for u in failed) == sorted(refused)
    check_received(files, mixed, set(mixed[2]) - set(refused))


def test_cget_without_storage_context_for_some_classes(retrieve_node, mixed, tmp_path):
    """Only MR storage proposed: the SC and CT instances cannot be sent (0xB000, listed as
    failed); a study with CT only cannot send anything (0xA702)."""
    responses, files, _, _ = _dimse_get(retrieve_node, _study_identifier(mixed[0]), str(tmp_path / "out"),
                                        contexts=_get_contexts(storage=(qr.k_mr_storage,)))
    final = responses[-1]
    mr = {qr_sop(p) for s in mixed[1] if s.sop_class == qr.k_mr_storage for p in s.files}
    others = set(mixed[2]) - mr
    assert final.status == qr.WARNING_SUBOPS, hex(final.status)
    assert (final.completed, final.failed) == (len(mr), len(others))
    failed = final.identifier.FailedSOPInstanceUIDList
    failed = [failed] if isinstance(failed, str) else list(failed)
    assert sorted(str(u) for u in failed) == sorted(others)
    check_received(files, mixed, mr)

    responses, files, _, _ = _dimse_get(retrieve_node, _study_identifier(retrieve_node.ct_only_study),
                                        str(tmp_path / "none"), contexts=_get_contexts(storage=(qr.k_mr_storage,)))
    final = responses[-1]
    assert final.status == qr.SUBOPS_FAILED, hex(final.status)
    assert (final.completed, final.failed) == (0, 3)
    assert files == {}


def test_cget_cancel(retrieve_node, mixed, tmp_path):
    total = len(mixed[2])
    responses, files, _, _ = _dimse_get(retrieve_node, _study_identifier(mixed[0]), str(tmp_path / "out"),
                                        cancel_after=2)
    final = responses[-1]
    assert final.status == qr.CANCEL, "final {:#06x}".format(final.status)
    assert 2 <= final.completed < total, final
    assert final.remaining is not None and final.completed + final.failed + final.remaining == total, final
    assert len(files) == final.completed
    # The association served the cancel cleanly: a new C-GET works right after.
    responses, files, _, _ = _dimse_get(retrieve_node, _study_identifier(mixed[0]), str(tmp_path / "again"))
    assert responses[-1].status == qr.SUCCESS


# -- movescu -----------------------------------------------------------------------------

@pytest.mark.parametrize("accept_all", [False, True], ids=["uncompressed-only", "accept-all"])
def test_movescu_study(retrieve_node, mixed, tmp_path, accept_all):
    """movescu's own SCP (+P) accepts uncompressed syntaxes only by default (the node
    decompresses), or every syntax with +xa (the node sends the files as stored)."""
    keys = [("QueryRetrieveLevel", "STUDY"), ("StudyInstanceUID", mixed[0])]
    extra = ["+xa"] if accept_all else []
    result = qr.movescu(retrieve_node.port, "study", keys, k_mover_ae, out_dir=str(tmp_path / "out"),
                        listen_port=retrieve_node.move_port, extra=extra)
    _assert_final(result, qr.SUCCESS)
    check_received(result.files, mixed, keep_syntax=accept_all)
    counts = qr.response_counts(result.output, "C-MOVE RSP")
    total = len(mixed[2])
    assert counts[-1][1:3] == (total, 0), counts[-1]
    assert len([s for s in result.statuses if s == qr.PENDING]) == total - 1
    # Move Originator AE Title / Message ID on every sub-operation (PS3.7 9.1.1.1).
    originators = [line for line in result.output.splitlines() if "Move Originator AE Title" in line]
    assert len(originators) == total, "C-STORE sub-operations without Move Originator:\n" + "\n".join(originators[:3])
    assert all(line.rstrip().endswith(k_mover_ae) for line in originators), originators[:3]
    ids = [line for line in result.output.splitlines() if "Move Originator ID" in line]
    assert len(ids) == total and all(line.rstrip().endswith(": 1") for line in ids), ids[:3]


def test_movescu_patient_root_series_level(retrieve_node, mixed, tmp_path):
    series = _series(mixed, "rle")
    keys = [("QueryRetrieveLevel", "SERIES"), ("PatientID", "MIXED{}".format(k_seed)),
            ("StudyInstanceUID", mixed[0]), ("SeriesInstanceUID", series.series_uid)]
    result = qr.movescu(retrieve_node.port, "patient", keys, k_mover_ae, out_dir=str(tmp_path / "out"),
                        listen_port=retrieve_node.move_port)
    _assert_final(result, qr.SUCCESS)
    check_received(result.files, mixed, [qr_sop(p) for p in series.files])


def test_movescu_image_level(retrieve_node, mixed, tmp_path):
    series = _series(mixed, "jpeg-lossless")
    sop = qr_sop(series.files[0])
    keys = [("QueryRetrieveLevel", "IMAGE"), ("StudyInstanceUID", mixed[0]),
            ("SeriesInstanceUID", series.series_uid), ("SOPInstanceUID", sop)]
    result = qr.movescu(retrieve_node.port, "study", keys, k_mover_ae, out_dir=str(tmp_path / "out"),
                        listen_port=retrieve_node.move_port)
    _assert_final(result, qr.SUCCESS)
    check_received(result.files, mixed, [sop])


def test_move_to_unknown_destination_is_a801(retrieve_node, mixed, tmp_path):
    keys = [("QueryRetrieveLevel", "STUDY"), ("StudyInstanceUID", mixed[0])]
    result = qr.movescu(retrieve_node.port, "study", keys, "NOWHERE", out_dir=str(tmp_path / "out"),
                        listen_port=retrieve_node.move_port)
    _assert_final(result, qr.MOVE_DESTINATION_UNKNOWN)
    assert result.statuses == [qr.MOVE_DESTINATION_UNKNOWN]
    assert result.files == {}
    assert "NOWHERE" in retrieve_node.log()


def test_move_back_to_unknown_caller(tmp_path, mixed):
    """node.move_to_unknown_caller: a C-MOVE naming the caller itself, not configured,
    reaches the caller's address on that port; off (the default) it is A801."""
    series = _series(mixed, "rle")
    keys = [("QueryRetrieveLevel", "SERIES"), ("StudyInstanceUID", mixed[0]),
            ("SeriesInstanceUID", series.series_uid)]
    listen = free_port()
    factory = NodeFactory(tmp_path)
    try:
        node = factory("caller", config={"node": {"move_to_unknown_caller": listen}}).start()
        failures = qr.store_mixed(node, mixed[1], str(tmp_path))
        assert not failures, failures
        result = qr.movescu(node.port, "study", keys, "SELFMOVER", calling="SELFMOVER",
                            out_dir=str(tmp_path / "out"), listen_port=listen)
        _assert_final(result, qr.SUCCESS)
        check_received(result.files, mixed, [qr_sop(p) for p in series.files])
        # Another AE title than the caller's is still unknown.
        result = qr.movescu(node.port, "study", keys, "ELSEWHERE", calling="SELFMOVER")
        _assert_final(result, 0xA801)
        node.stop()

        plain = factory("plain").start()
        assert not qr.store_mixed(plain, mixed[1], str(tmp_path / "plain"))
        result = qr.movescu(plain.port, "study", keys, "SELFMOVER", calling="SELFMOVER",
                            out_dir=str(tmp_path / "none"), listen_port=listen)
        _assert_final(result, 0xA801)
        assert result.files == {}
    finally:
        factory.close()


def test_move_to_unreachable_destination_is_a702(retrieve_node, mixed, tmp_path):
    keys = [("QueryRetrieveLevel", "STUDY"), ("StudyInstanceUID", mixed[0])]
    result = qr.movescu(retrieve_node.port, "study", keys, k_down_ae)
    _assert_final(result, qr.SUBOPS_FAILED)
    counts = qr.response_counts(result.output, "C-MOVE RSP")
    assert counts[-1][1:3] == (0, len(mixed[2])), counts[-1]
    assert retrieve_node.running()


def test_movescu_cancel(retrieve_node, mixed, tmp_path):
    keys = [("QueryRetrieveLevel", "STUDY"), ("StudyInstanceUID", mixed[0])]
    result = qr.movescu(retrieve_node.port, "study", keys, k_mover_ae, out_dir=str(tmp_path / "out"),
                        listen_port=retrieve_node.move_port, extra=["--cancel", "2"])
    _assert_final(result, qr.CANCEL)
    counts = qr.response_counts(result.output, "C-MOVE RSP")
    remaining, completed, failed, _ = counts[-1]
    assert 2 <= completed < len(mixed[2]), counts[-1]
    assert len(result.files) == completed


def test_dimse_move_cancel_and_reuse(retrieve_node, mixed, tmp_path):
    """C-CANCEL of a C-MOVE from dimse.py, then a second C-MOVE on the same association,
    to a storescp listening as the configured destination."""
    out = str(tmp_path / "scp")
    os.makedirs(out)
    scp = subprocess.Popen(["storescp", "-aet", k_mover_ae, "-od", out, "+xa", str(retrieve_node.move_port)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=qr.dcmtk_env())
    try:
        _wait_port(retrieve_node.move_port)
        ident = _study_identifier(mixed[0])
        with dimse.Association("127.0.0.1", retrieve_node.port, retrieve_node.ae_title, "PYMOVE",
                               contexts=[(dimse.k_study_root_move, [dimse.k_explicit_le])], timeout=60) as assoc:
            responses = assoc.move(dimse.k_study_root_move, ident, k_mover_ae, cancel_after=1)
            assert responses[-1].status == qr.CANCEL, hex(responses[-1].status)
            assert responses[-1].completed < len(mixed[2])
            responses = assoc.move(dimse.k_study_root_move, ident, k_mover_ae)
            assert responses[-1].status == qr.SUCCESS, hex(responses[-1].status)
            assert responses[-1].completed == len(mixed[2])
            assert responses[-1].remaining in (None, 0)
    finally:
        scp.terminate()
        scp.wait(timeout=30)


def _wait_port(port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port):
            return
        time.sleep(0.1)
    raise AssertionError("nothing listens on port {}".format(port))


# -- C-MOVE sub-operations refused by the destination (store_scp.StoreSCP) ---------------

@pytest.fixture(scope="module")
def scripted(tmp_path_factory, mixed):
    """A node whose move destination SCRIPTED is a scripted storage SCP; the test sets
    scripted.refused (SOP Instance UIDs answered 0xA700)."""
    import store_scp
    base = tmp_path_factory.mktemp("scripted")
    refused = set()
    scp = store_scp.StoreSCP(ae_title="SCRIPTED", status=lambda sop, n: 0xA700 if sop in refused else 0x0000)
    factory = NodeFactory(base)
    node = factory("scripted", config={"modalities": {
        "scripted": {"ae": "SCRIPTED", "host": "127.0.0.1", "port": scp.port}}}).start()
    failures = qr.store_mixed(node, mixed[1], str(base))
    assert not failures, failures
    node.scp = scp
    node.refused = refused
    yield node
    factory.close()
    scp.close()


def _dimse_move(node, study_uid, destination):
    with dimse.Association("127.0.0.1", node.port, node.ae_title, "PYMOVE",
                           contexts=[(dimse.k_study_root_move, [dimse.k_explicit_le])], timeout=60) as assoc:
        return assoc.move(dimse.k_study_root_move, _study_identifier(study_uid), destination)


def _failed_list(identifier):
    assert identifier is not None, "no identifier with the Failed SOP Instance UID List"
    failed = identifier.FailedSOPInstanceUIDList
    return sorted(str(u) for u in ([failed] if isinstance(failed, str) else failed))


def test_move_partial_failure_lists_failed_uids(scripted, mixed):
    refused = {qr_sop(p) for p in _series(mixed, "j2k").files}
    scripted.refused.clear()
    scripted.refused.update(refused)
    responses = _dimse_move(scripted, mixed[0], "SCRIPTED")
    final = responses[-1]
    total = len(mixed[2])
    assert final.status == qr.WARNING_SUBOPS, hex(final.status)
    assert (final.completed, final.failed, final.warning) == (total - len(refused), len(refused), 0)
    assert _failed_list(final.identifier) == sorted(refused)


def test_move_with_every_sub_operation_refused_is_a_failure(scripted, mixed):
    """PS3.4 C.4.2.3.1: the final status is Failure when all sub-operations failed (as
    for C-GET, 0xA702), not Warning."""
    scripted.refused.clear()
    scripted.refused.update(mixed[2])
    responses = _dimse_move(scripted, mixed[0], "SCRIPTED")
    final = responses[-1]
    total = len(mixed[2])
    assert (final.completed, final.failed) == (0, total)
    assert final.status == qr.SUBOPS_FAILED, "final status {:#06x} after {} of {} sub-operations failed".format(
        final.status, final.failed, total)
    assert _failed_list(final.identifier) == sorted(mixed[2])
