# SPDX-License-Identifier: MIT
"""Local import and store hardening against the real binary: the store is private whatever
the umask (S8), zip entries with Chinese names all import (S9), and a DICOMDIR cannot make
import read files outside its medium (S10)."""

import os
import shutil
import stat
import subprocess
import zipfile

import pydicom
import pydicom.data
import pytest

import make_ct_series
from conftest import cloudfilm_bin, dcmtk_env, files_under, run

k_pydicom_data = os.path.dirname(pydicom.data.get_testdata_file("CT_small.dcm"))


def _summary(result):
    import re
    m = re.search(r"imported (\d+), duplicates (\d+), skipped (\d+)(?: \(not DICOM\))?, failed (\d+)",
                  result.stdout + result.stderr)
    assert m, result.stdout + result.stderr
    return tuple(int(g) for g in m.groups())


def test_store_is_private_under_umask_022(node_factory, tmp_path):
    node = node_factory("umask")
    src = tmp_path / "series"
    make_ct_series.make_series(str(src), count=3, seed=31)
    assert not os.path.exists(node.data_dir)
    cmd = [cloudfilm_bin(), "import", str(src), "--config", node.config_path]
    result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
                            env=dcmtk_env(), encoding="utf-8", errors="replace",
                            preexec_fn=lambda: os.umask(0o022))
    assert result.returncode == 0, result.stdout + result.stderr
    assert _summary(result)[0] == 3
    assert stat.S_IMODE(os.stat(node.data_dir).st_mode) & 0o077 == 0, "store root open to others"
    checked = 0
    for root, dirs, files in os.walk(node.data_dir):
        for name in dirs + files:
            path = os.path.join(root, name)
            mode = stat.S_IMODE(os.lstat(path).st_mode)
            assert mode & 0o077 == 0, "{} has mode {:o}".format(path, mode)
            checked += 1
    assert checked >= 3 + 2  # the instances, objects/ab folders, index.sqlite ...


def test_zip_with_chinese_entry_names_imports_every_entry(node_factory, tmp_path):
    node = node_factory("zipcn")
    utf8_src = make_ct_series.make_series(str(tmp_path / "u"), count=3, seed=32)
    gbk_src = make_ct_series.make_series(str(tmp_path / "g"), count=3, seed=33)
    utf8_zip = str(tmp_path / "utf8.zip")
    with zipfile.ZipFile(utf8_zip, "w", zipfile.ZIP_DEFLATED) as zf:  # zipfile sets the UTF-8 flag
        for i, path in enumerate(utf8_src):
            zf.write(path, "王小东/头颅平扫/图像{}.dcm".format(i))
    # GBK names without the UTF-8 flag, as Windows tools write them: zipfile would flag
    # non-ASCII names, so write ASCII names of the same length and patch the bytes.
    gbk_zip = str(tmp_path / "gbk.zip")
    with zipfile.ZipFile(gbk_zip, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, path in enumerate(gbk_src):
            zf.write(path, "XXXX/YYYY{}.dcm".format(i))
    data = open(gbk_zip, "rb").read()
    for i in range(len(gbk_src)):
        gbk = "检查/图像{}.dcm".format(i).encode("gbk")
        assert len(gbk) == len("XXXX/YYYY0.dcm")
        data = data.replace("XXXX/YYYY{}.dcm".format(i).encode(), gbk)
    open(gbk_zip, "wb").write(data)

    env = dict(dcmtk_env())
    env.pop("LC_ALL", None)
    env["LANG"] = "C"  # the locale a service or cron job runs in
    result = subprocess.run([cloudfilm_bin(), "import", utf8_zip, gbk_zip, "--config", node.config_path],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, env=env,
                            encoding="utf-8", errors="replace")
    assert result.returncode == 0, result.stdout + result.stderr
    assert _summary(result) == (6, 0, 0, 0)
    expected = {str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in utf8_src + gbk_src}
    assert set(node.index()) == expected


def _dicomdir_tree(tmp_path):
    src_root = os.path.join(k_pydicom_data, "dicomdirtests")
    tree = str(tmp_path / "media")
    os.makedirs(tree)
    shutil.copyfile(os.path.join(src_root, "DICOMDIR"), os.path.join(tree, "DICOMDIR"))
    for patient in ("77654033", "98892001", "98892003"):
        shutil.copytree(os.path.join(src_root, patient), os.path.join(tree, patient))
    return tree


@pytest.mark.parametrize("file_id", [
    ["..", "SECRET.DCM"],
    ["77654033", "..", "..", "SECRET.DCM"],
    ["", "SECRET.DCM"],
    [".", "..", "SECRET.DCM"],
])
def test_dicomdir_cannot_reference_files_outside_its_folder(node_factory, tmp_path, file_id):
    node = node_factory("dirtrav")
    tree = _dicomdir_tree(tmp_path)
    # The file a crafted DICOMDIR points at: beside the medium, not on it.
    secret = make_ct_series.make_series(str(tmp_path / "outside"), count=1, seed=34)[0]
    shutil.copyfile(secret, str(tmp_path / "SECRET.DCM"))
    secret_uid = str(pydicom.dcmread(secret, stop_before_pixels=True).SOPInstanceUID)

    dicomdir = os.path.join(tree, "DICOMDIR")
    ds = pydicom.dcmread(dicomdir)
    records = [r for r in ds.DirectoryRecordSequence if "ReferencedFileID" in r]
    records[0].ReferencedFileID = file_id
    ds.save_as(dicomdir, write_like_original=True)

    result = node.cli("import", dicomdir)
    assert secret_uid not in node.index(), "import read a file outside the DICOMDIR's folder"
    imported, _, _, failed = _summary(result)
    assert failed >= 1 and result.returncode != 0
    assert "refused" in result.stderr or "not found inside" in result.stderr, result.stderr
    assert imported == 30  # the other records still import


def test_dicomdir_symlink_out_of_the_medium_is_refused(node_factory, tmp_path):
    node = node_factory("dirlink")
    tree = _dicomdir_tree(tmp_path)
    secret = make_ct_series.make_series(str(tmp_path / "outside"), count=1, seed=35)[0]
    secret_uid = str(pydicom.dcmread(secret, stop_before_pixels=True).SOPInstanceUID)
    dicomdir = os.path.join(tree, "DICOMDIR")
    ds = pydicom.dcmread(dicomdir)
    record = [r for r in ds.DirectoryRecordSequence if "ReferencedFileID" in r][0]
    os.symlink(os.path.dirname(secret), os.path.join(tree, "LINK"))
    record.ReferencedFileID = ["LINK", os.path.basename(secret)]
    ds.save_as(dicomdir, write_like_original=True)

    result = node.cli("import", dicomdir)
    assert secret_uid not in node.index()
    assert "not found inside" in result.stderr, result.stderr
