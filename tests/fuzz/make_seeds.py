#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Write the seed corpora of the fuzz harnesses (README.md) into OUT/<target>/.

Everything is generated from python3-pydicom's test files and small hand-made
samples, so no binary DICOM is committed:

    make_seeds.py OUT [--repo REPO]

Seeds are kept small (max_len of the runs is 64 KiB; larger files are left out).
"""

import argparse
import base64
import glob
import hashlib
import io
import json
import os
import struct

import warnings

import pydicom
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import generate_pixel_data_frame
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

k_max = 64 * 1024


def test_files():
    base = os.path.dirname(get_testdata_file("CT_small.dcm"))
    files = sorted(glob.glob(os.path.join(base, "*.dcm")))
    files += sorted(glob.glob(os.path.join(base, "..", "charset_files", "*.dcm")))
    return [f for f in files if os.path.getsize(f) <= k_max]


def put(out, target, data, name=None):
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > k_max:
        return
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    name = name or hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def read(path):
    try:
        return pydicom.dcmread(path, force=True)
    except Exception:
        return None


def codestreams():
    """Bare J2K codestreams from pydicom's JPEG 2000 files."""
    found = []
    for name in ("MR_small_jp2klossless.dcm", "JPEG2000.dcm", "693_J2KI.dcm", "GDCMJ2K_TextGBR.dcm",
                 "J2K_pixelrep_mismatch.dcm", "JPEG2000-embedded-sequence-delimiter.dcm"):
        try:
            ds = pydicom.dcmread(get_testdata_file(name))
            frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
            cs = next(generate_pixel_data_frame(ds.PixelData, frames))
        except Exception:
            continue
        start = cs.find(b"\xff\x4f\xff\x51")
        if start >= 0:
            found.append((ds, cs[start:]))
    return found


def jp2(codestream, width=1, height=1, components=1, bits=8):
    """A minimal JP2 file (ISO/IEC 15444-1 I.5) around `codestream`."""
    def box(kind, payload):
        return struct.pack(">I", 8 + len(payload)) + kind + payload
    ihdr = box(b"ihdr", struct.pack(">IIHBBBB", height, width, components, bits - 1, 7, 0, 0))
    colr = box(b"colr", struct.pack(">BBBI", 1, 0, 0, 17 if components == 1 else 16))
    return (box(b"jP  ", b"\r\n\x87\n") + box(b"ftyp", b"jp2 \x00\x00\x00\x00jp2 ")
            + box(b"jp2h", ihdr + colr) + box(b"jp2c", codestream))


def tag_json(ds):
    """Hinacom GetImageDicomTags (platforms.md 3.1.5): text of every non-binary element."""
    items = []
    meta = getattr(ds, "file_meta", None)
    elements = list(meta) if meta is not None else []
    elements += list(ds)
    for el in elements:
        if el.VR in ("OB", "OW", "OF", "OD", "OL", "OV", "UN", "SQ") or el.tag == 0x7FE00010:
            continue
        try:
            value = el.value
            if isinstance(value, (list, pydicom.multival.MultiValue)):
                value = "\\".join(str(v) for v in value)
            elif isinstance(value, bytes):
                continue
            value = str(value)
        except Exception:
            continue
        items.append({"tag": "%04X,%04X" % (el.tag.group, el.tag.element), "name": el.keyword,
                      "value": value})
    return json.dumps(items, ensure_ascii=False)


def native_pixels(ds):
    try:
        if ds.file_meta.TransferSyntaxUID.is_compressed:
            return None
        return ds.PixelData if len(ds.PixelData) <= 48 * 1024 else None
    except Exception:
        return None


def part10(ds):
    buf = io.BytesIO()
    pydicom.dcmwrite(buf, ds, write_like_original=False)
    return buf.getvalue()


def har(entries):
    return json.dumps({"log": {"version": "1.2", "creator": {"name": "seed", "version": "1"},
                               "entries": entries}})


def entry(url, mime, body, b64=True, extra=None):
    content = {"size": len(body), "mimeType": mime}
    if b64:
        content["encoding"] = "base64"
        content["text"] = base64.b64encode(body).decode()
    else:
        content["text"] = body.decode("utf-8", "replace")
    e = {"startedDateTime": "2024-01-01T00:00:00.000Z", "time": 1,
         "request": {"method": "GET", "url": url, "headers": []},
         "response": {"status": 200, "headers": [{"name": "Content-Type", "value": mime}],
                      "content": content}}
    if extra:
        e.update(extra)
    return e


def multipart(parts, boundary="DICOMwebBoundary"):
    out = b""
    for p in parts:
        out += b"--" + boundary.encode() + b"\r\nContent-Type: application/dicom\r\n\r\n" + p + b"\r\n"
    return out + b"--" + boundary.encode() + b"--\r\n"


def identifier(level, keys, implicit=True):
    ds = Dataset()
    ds.QueryRetrieveLevel = level
    for k, v in keys.items():
        setattr(ds, k, v)
    buf = pydicom.filebase.DicomBytesIO()
    buf.is_little_endian = True
    buf.is_implicit_VR = implicit
    pydicom.filewriter.write_dataset(buf, ds)
    return buf.getvalue()


def dicomdir(file_ids):
    ds = Dataset()
    ds.FileSetID = "SEED"
    ds.OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity = 0
    ds.OffsetOfTheLastDirectoryRecordOfTheRootDirectoryEntity = 0
    ds.FileSetConsistencyFlag = 0
    records = []
    for fid in file_ids:
        r = Dataset()
        r.OffsetOfTheNextDirectoryRecord = 0
        r.RecordInUseFlag = 0xFFFF
        r.OffsetOfReferencedLowerLevelDirectoryEntity = 0
        r.DirectoryRecordType = "IMAGE"
        r.ReferencedFileID = fid
        r.ReferencedSOPClassUIDInFile = "1.2.840.10008.5.1.4.1.1.7"
        r.ReferencedSOPInstanceUIDInFile = "1.2.3.1.1.1"
        r.ReferencedTransferSyntaxUIDInFile = ExplicitVRLittleEndian
        records.append(r)
    ds.DirectoryRecordSequence = records
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.1.3.10"
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.3.4.5.6.7.8.9"
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.preamble = b"\0" * 128
    buf = io.BytesIO()
    pydicom.dcmwrite(buf, ds, write_like_original=False)
    return buf.getvalue()


def main():
    warnings.simplefilter("ignore")
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--repo", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    a = ap.parse_args()
    out = a.out
    files = test_files()

    # (i) instance_info: the files as they are.
    for f in files:
        with open(f, "rb") as fh:
            data = fh.read()
        put(out, "fuzz_instance_info", data)
        # (l) web_objects: the same files, those with Pixel Data count most.
        if b"\xe0\x7f\x10\x00" in data and len(data) <= 1 << 20:
            put(out, "fuzz_web_objects", data)

    # (m) http: target, method, Host, Origin, Authorization, Cookie.
    for text in ("/api/studies?PatientName=%E5%BC%A0*&limit=2\nGET\n127.0.0.1:8080\n\n\n",
                 "/dicom-web/studies/1.2.3/series\nPOST\npacs.example\nhttp://pacs.example\n"
                 "Bearer token\ncf_session=abc",
                 "/ui/%2e%2e/x\nDELETE\n[::1]:8080\nhttp://evil\nBearer x\n"):
        put(out, "fuzz_http", text.encode())

    # (a) reassemble + (b) jpeg2000.
    cs_list = codestreams()
    for ds, cs in cs_list:
        ds2 = ds.copy()
        if "PixelData" in ds2:
            del ds2.PixelData
        js = tag_json(ds2).encode()
        put(out, "fuzz_reassemble", js + b"\0" + cs)
        put(out, "fuzz_reassemble", js + b"\0" + jp2(cs, ds.Columns, ds.Rows, ds.SamplesPerPixel,
                                                      ds.BitsStored))
        put(out, "fuzz_jpeg2000", b"\0" + cs)
        put(out, "fuzz_jpeg2000", b"\0" + jp2(cs, ds.Columns, ds.Rows, ds.SamplesPerPixel, ds.BitsStored))
        if ds.Rows <= 64 and ds.Columns <= 64:
            flags = (1 if ds.SamplesPerPixel == 3 else 0) | (2 if ds.BitsAllocated > 8 else 0) | 4
            put(out, "fuzz_jpeg2000", b"\1" + bytes([ds.Rows - 1, ds.Columns - 1, flags]) + cs)
    for f in files:
        ds = read(f)
        if ds is None or "SOPInstanceUID" not in ds:
            continue
        px = native_pixels(ds)
        ds2 = ds.copy()
        if "PixelData" in ds2:
            del ds2.PixelData
        js = tag_json(ds2).encode()
        put(out, "fuzz_reassemble", js + (b"\0" + px if px else b""))
    put(out, "fuzz_reassemble", b'[{"tag":"0008,0016","value":"1.2.840.10008.5.1.4.1.1.7"},'
        b'{"tag":"0008,0018","value":"1.2.3"},{"tag":"0020,000D","value":"1.2"},'
        b'{"tag":"0020,000E","value":"1.2.1"},{"tag":"0028,0010","value":"2"},'
        b'{"tag":"0028,0011","value":"2"},{"tag":"0028,0100","value":"8"},'
        b'{"tag":"0009,0010","value":"PRIV"},{"tag":"0009,1001","value":"a\\\\b"}]\0ABCD')

    # (c) HAR and (d) multipart.
    small = [f for f in files if os.path.getsize(f) <= 12 * 1024][:6]
    blobs = []
    for f in small:
        with open(f, "rb") as fh:
            blobs.append(fh.read())
    for b in blobs:
        put(out, "fuzz_har", har([entry("https://pacs.example/wado?requestType=WADO&objectUID=1",
                                        "application/dicom", b)]))
    mp = multipart(blobs[:2])
    ct = 'multipart/related; type="application/dicom"; boundary=DICOMwebBoundary'
    put(out, "fuzz_har", har([entry("https://pacs.example/dicomweb/studies/1/series/2/instances/3", ct, mp)]))
    put(out, "fuzz_multipart", ct.encode() + b"\n" + mp)
    put(out, "fuzz_multipart", b'multipart/related; boundary="quoted b"\n--quoted b\r\n\r\nX\r\n--quoted b--')
    put(out, "fuzz_multipart", b"multipart/related;boundary=x\n--x\r\nContent-Type: application/dicom\r\n\r\n"
        b"\r\n--x--")
    if cs_list:
        ds, cs = cs_list[0]
        ds2 = ds.copy()
        del ds2.PixelData
        base = "https://viewer.example/ImageViewer"
        put(out, "fuzz_har", har([
            entry(base + "/GetImageDicomTags?studyId=S1&imageId=I1", "application/json",
                  tag_json(ds2).encode(), b64=False),
            entry("https://viewer.example/imageservice/api/image/j2k/S1/I1/0/3", "image/jp2", cs)]))
    if blobs:
        ws = {"_webSocketMessages": [
            {"type": "receive", "time": 1.0, "opcode": 1, "data": '42["m",{"x":1}]'},
            {"type": "receive", "time": 1.1, "opcode": 2,
             "data": base64.b64encode(b"\x04" + blobs[0]).decode()}]}
        put(out, "fuzz_har", har([entry("wss://ws.example/socket.io/?EIO=3&transport=websocket",
                                        "", b"", b64=False, extra=ws)]))
    put(out, "fuzz_har", har([]))

    # (e) socket.io framing.
    for s in ('97:0{"sid":"abc-123","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":60000}2:40',
              '42["m",{"hosipital":"H9b1u2d3d4h5aS7","series":["s1","s2","dfyfilm1"],'
              '"series_dicom_number":{"s1":3,"s2":"12","dfyfilm1":1}}]',
              '42["m",{"error":"wrong password"}]', '451-["img",{"_placeholder":true,"num":0}]',
              '3probe', '2', '40', '41', '44{"message":"x"}', '42/ns,7["m",{}]',
              "https://www.szjudianyun.com/?a=H1&b=S1&c=PW",
              "\x04\x00" * 64 + "DICM"):
        put(out, "fuzz_socketio", s)

    # (f) C-FIND identifiers (mode byte: model, implicit/explicit, combined date-time).
    queries = [
        ("PATIENT", {"PatientName": "Doe*", "PatientID": ""}),
        ("STUDY", {"StudyDate": "20240301-20240310", "StudyTime": "", "PatientName": "*^X?o*",
                   "StudyInstanceUID": "", "AccessionNumber": "ACC%_1", "ModalitiesInStudy": "CT\\MR"}),
        ("STUDY", {"SpecificCharacterSet": "GB18030", "PatientName": "王*"}),
        ("SERIES", {"StudyInstanceUID": "1.2.3.0", "SeriesInstanceUID": "", "Modality": "C?",
                    "SeriesNumber": "1"}),
        ("IMAGE", {"StudyInstanceUID": "1.2.3.1", "SeriesInstanceUID": "1.2.3.1.0",
                   "SOPInstanceUID": "1.2.3.1.0.0\\1.2.3.1.0.1", "InstanceNumber": ""}),
        ("STUDY", {"StudyDate": "-20240302", "PatientBirthDate": "19700101-", "PatientName": "O'Brien*"}),
    ]
    for level, keys in queries:
        for mode in (0, 1, 2, 8 | 16):
            put(out, "fuzz_find", bytes([mode]) + identifier(level, keys))
        put(out, "fuzz_find", bytes([4 | 1]) + identifier(level, keys, implicit=False))

    # (g) DICOMDIR.
    put(out, "fuzz_dicomdir", dicomdir([["IMAGES", "IM1"]]))
    put(out, "fuzz_dicomdir", dicomdir([["images", "im1"], ["MISSING"]]))
    ddbase = os.path.join(os.path.dirname(get_testdata_file("CT_small.dcm")), "dicomdirtests")
    for f in sorted(glob.glob(os.path.join(ddbase, "DICOMDIR*"))):
        with open(f, "rb") as fh:
            put(out, "fuzz_dicomdir", fh.read())

    # (h) configuration.
    for f in [os.path.join(a.repo, "etc", "cloudfilm.yaml")]:
        if os.path.exists(f):
            with open(f, "rb") as fh:
                put(out, "fuzz_config", fh.read())
    put(out, "fuzz_config", "node:\n  ae_title: X\n  port: 104\n  allowed_peers:\n    - ae_title: A\n"
        "      host: 127.0.0.1\nmodalities:\n  pacs: {ae_title: PACS, host: 127.0.0.1, port: 11113}\n"
        "forward:\n  rules:\n    - to: pacs\n      sources: [dimse]\n      modalities: [CT]\n"
        "fetch:\n  modules:\n    hinacom: {keepalive: '60'}\n")
    put(out, "fuzz_config", "storage: {path: /x, duplicates: replace, fsync: false}\nlog: {level: debug}\n")
    put(out, "fuzz_config", "node: [1, 2]\n")


if __name__ == "__main__":
    main()
