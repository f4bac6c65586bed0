# SPDX-License-Identifier: MIT
"""`cloudfilm fetch` against the whole-file platform replica (tests/replica
cloudfilm_replica_cdn, platforms.md 8.3.7 szjudianyun, 8.3.9 yzhcloud, 8.3.10 sugh): every stored instance
byte-identical to its fixture, expired and unknown links, a transient fault retried, the
platform's junk entries skipped and counted, and an interrupted fetch resumed.

Skipped when the replica binary is missing or `cloudfilm fetch` does not list the platforms.
"""

import os
import signal
import subprocess
import time

import pydicom
import pytest

from conftest import cloudfilm_bin, dcmtk_env
import cdn_replica
import make_hinacom_study

k_http = ["yzhcloud", "sugh"]
k_platforms = k_http + ["szjudianyun"]
k_count = 16  # instances in the fixture study
# screenshots (|jpg, |png); an image without a UID; the dfyfilm film sheet
k_junk = {"yzhcloud": 2, "sugh": 1, "szjudianyun": 1}
# The route of one instance download in the replica's log.
k_file = {"yzhcloud": "file", "sugh": "file", "szjudianyun": "hangC"}
k_fast = {"timeout": 20, "idle_timeout": 3, "retries": 4}
# The replica's CDN is plain HTTP; the real platform forces https.
k_modules = {"yzhcloud": {"cdn_scheme": "http"}}


@pytest.fixture(scope="module", autouse=True)
def _fetch_prerequisites():
    if not cdn_replica.have_replica():
        pytest.skip("no replica binary at {} (build target cloudfilm_replica_cdn)".format(cdn_replica.replica_bin()))
    out = subprocess.run([cloudfilm_bin(), "fetch", "--list-platforms"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, timeout=30).stdout.decode("utf-8", "replace")
    missing = [p for p in k_platforms if p not in out]
    if missing:
        pytest.skip("cloudfilm fetch does not list {}".format(", ".join(missing)))


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """{SOP Instance UID: original path} of the fixture study, and its folder."""
    out = str(tmp_path_factory.mktemp("cdn-study"))
    paths = make_hinacom_study.make_study(out)
    originals = {str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID): p for p in paths}
    assert len(originals) == k_count
    return {"dir": out, "originals": originals}


@pytest.fixture
def replicas(tmp_path):
    started = []

    def start(study, platform, args=()):
        r = cdn_replica.Replica(str(tmp_path / "replica{}".format(len(started))), study["dir"], platform, args)
        started.append(r)
        return r

    yield start
    for r in started:
        r.stop()


def make_node(node_factory, replica, fetch=None, threads=None, modules_extra=None):
    config = {"fetch": dict(fetch or {})}
    modules = {k: dict(v) for k, v in k_modules.items()}
    # The fixed third-party socket.io server, pointed at the replica.
    modules["szjudianyun"] = {"server": replica.info.get("server", "")}
    if threads:
        for p in k_http:
            modules.setdefault(p, {})["threads"] = str(threads)
        modules["szjudianyun"]["connections"] = str(threads)
    for p, extra in (modules_extra or {}).items():
        modules.setdefault(p, {}).update(extra)
    config["fetch"]["modules"] = modules
    return node_factory("fetch", config=config)


def fetch_args(replica, *extra, url=None):
    return ["fetch", url or replica.share_url] + replica.resolve_args() + list(extra)


def fetch(node, replica, *extra, url=None, timeout=300):
    return node.cli(*fetch_args(replica, *extra, url=url), timeout=timeout)


def describe(result):
    return "exit {}\nstdout:\n{}\nstderr:\n{}".format(result.returncode, result.stdout, result.stderr)


def assert_complete(result, node, study, stored=None):
    assert result.returncode == 0, describe(result)
    index = node.index()
    assert set(index) == set(study["originals"]), "stored instances differ from the fixtures"
    for sop, record in index.items():
        with open(record["path"], "rb") as a, open(study["originals"][sop], "rb") as b:
            assert a.read() == b.read(), "stored {} is not byte-identical to its fixture".format(sop)
    if stored is not None:
        assert "{} stored".format(stored) in result.stdout, describe(result)
    return index


def assert_one_line_failure(result, needle):
    assert result.returncode != 0, describe(result)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines, describe(result)
    assert needle in lines[-1].lower(), describe(result)


# --- end to end ---------------------------------------------------------------------------


@pytest.mark.parametrize("platform", k_platforms)
def test_fetch_end_to_end(platform, study, replicas, node_factory, tmp_path):
    replica = replicas(study, platform)
    node = make_node(node_factory, replica)
    out = str(tmp_path / "export")
    result = fetch(node, replica, "--out", out)
    assert_complete(result, node, study, stored=k_count)
    assert "{} skipped".format(k_junk[platform]) in result.stdout, describe(result)
    exported = [os.path.join(d, f) for d, _, files in os.walk(out) for f in files]
    assert len(exported) == k_count, exported
    assert all(f.endswith(".dcm") for f in exported)

    log = replica.log()
    files = [r for r in log if r["route"] == k_file[platform]]
    assert len(files) == k_count, "one request per DICOM instance, none for junk entries"
    if platform == "szjudianyun":
        assert not [r for r in files if r["series"].startswith("dfyfilm")]
        assert sorted(int(r["series_in"]) for r in files)[0] == 1, "series_in is 1-based"
        assert all(r["tag"].startswith("0x00100010b1u2d3d4h5a") and r["tag"].count("0x") == 27 for r in files)
        opens = [r for r in log if r["route"] == "ws"]
        assert opens and all(r["cookie"].startswith("io=") for r in opens)
        saves = [r for r in log if r["route"] == "saveC"]
        assert saves and all(r["password"] == replica.info["password"] for r in saves)
        assert len(saves) <= 2, "one session per connection (connections: 2)"
        return
    if platform == "yzhcloud":
        origin = "http://{}:{}".format(replica.info["host"], replica.port)
        assert all(r["headers"].get("origin") == origin for r in log)
        assert all(r["headers"].get("referer") == origin for r in log)
        assert not [r for r in files if not r["path"].endswith(".dcm")]
    else:
        token = replica.info["token"]
        assert all(r["path"].endswith("/") for r in files), "the trailing slash was dropped"
        assert all(r["headers"].get("token") == token for r in log if r["route"] in ("index", "file"))
        assert all(r["headers"].get("systemcode") == "cloudfilm" for r in files)
        assert all("/studies/{}/".format(replica.info["study_uid"]) in r["path"] for r in files)
    # Parallel downloads over kept-alive connections.
    assert len({r["connection"] for r in files}) < len(files)


@pytest.mark.parametrize("platform", k_platforms)
def test_second_fetch_downloads_nothing(platform, study, replicas, node_factory):
    replica = replicas(study, platform)
    node = make_node(node_factory, replica)
    assert_complete(fetch(node, replica), node, study, stored=k_count)
    replica.reset()
    again = fetch(node, replica)
    assert again.returncode == 0, describe(again)
    assert "{} already stored".format(k_count) in again.stdout, describe(again)
    if platform == "szjudianyun":
        # SOP Instance UIDs are only known after the download: the store reports duplicates.
        assert len(replica.requests("hangC")) == k_count
    else:
        assert not replica.requests("file")


# --- broken links -------------------------------------------------------------------------


@pytest.mark.parametrize("platform", k_platforms)
def test_expired_share(platform, study, replicas, node_factory):
    replica = replicas(study, platform, ["--expired"])
    node = make_node(node_factory, replica)
    assert_one_line_failure(fetch(node, replica), "expired")
    assert not replica.requests(k_file[platform])
    assert node.ls_json("studies") == []


@pytest.mark.parametrize("platform", k_platforms)
def test_unknown_share_token(platform, study, replicas, node_factory):
    # yzhcloud has no credentials: a wrong org_id; sugh: a wrong share token.
    replica = replicas(study, platform)
    node = make_node(node_factory, replica)
    result = fetch(node, replica, url=replica.info["share_urls"]["unknown"])
    assert_one_line_failure(result, "expired")
    assert not replica.requests(k_file[platform])


def test_szjudianyun_wrong_password(study, replicas, node_factory):
    replica = replicas(study, "szjudianyun")
    node = make_node(node_factory, replica)
    result = fetch(node, replica, url=replica.info["share_urls"]["wrong_password"])
    assert_one_line_failure(result, "wrong password")
    assert not replica.requests("hangC")


def test_szjudianyun_no_reply_times_out(study, replicas, node_factory):
    replica = replicas(study, "szjudianyun", ["--fault", "saveC:silent"])
    node = make_node(node_factory, replica, k_fast, modules_extra={"szjudianyun": {"timeout": "2"}})
    start = time.monotonic()
    result = fetch(node, replica, timeout=60)
    assert result.returncode != 0, describe(result)
    assert "timed out" in result.stderr.lower() or "timeout" in result.stderr.lower(), describe(result)
    assert time.monotonic() - start < 30


@pytest.mark.parametrize("platform", k_http)
def test_listing_404_is_an_expired_link(platform, study, replicas, node_factory):
    route = "listing" if platform == "yzhcloud" else "share"
    replica = replicas(study, platform, ["--fault", route + ":status:404"])
    node = make_node(node_factory, replica, k_fast)
    assert_one_line_failure(fetch(node, replica), "expired")
    assert len(replica.requests(route)) == 1, "a 404 on the listing must not be retried"


def test_sugh_token_refused_is_auth_rejected(study, replicas, node_factory):
    replica = replicas(study, "sugh", ["--fault", "index:status:401"])
    node = make_node(node_factory, replica, k_fast)
    assert_one_line_failure(fetch(node, replica), "token refused")


def test_yzhcloud_link_without_org_id(study, replicas, node_factory):
    replica = replicas(study, "yzhcloud")
    node = make_node(node_factory, replica)
    url = replica.share_url.split("&org_id=")[0]
    result = fetch(node, replica, url=url)
    assert result.returncode != 0, describe(result)
    assert "org_id" in result.stderr, describe(result)


# --- transient faults ---------------------------------------------------------------------


@pytest.mark.parametrize("platform", k_http)
@pytest.mark.parametrize("fault", ["file:rate_limit:1@3", "file:reset@2", "file:html@4", "file:truncate:1000@5"])
def test_transient_fault_is_retried(platform, fault, study, replicas, node_factory):
    replica = replicas(study, platform, ["--fault", fault])
    node = make_node(node_factory, replica, k_fast)
    assert_complete(fetch(node, replica), node, study, stored=k_count)
    number = int(fault.rsplit("@", 1)[1])
    files = replica.requests("file")
    faulted = [r for r in files if r["number"] == number][0]
    assert [r for r in files if r["path"] == faulted["path"] and r["number"] > number], "not retried"


@pytest.mark.parametrize("fault,reconnects", [
    ("polling:rate_limit:1@1", 0),  # the handshake: 429, retried by the HTTP client
    ("hangC:close@3", 1),           # the socket drops: new handshake, same instance again
    ("hangC:noise", 0),             # pongs, noops and other events before the binary
    ("hangC:fragment", 0),          # binary in continuation frames
    ("hangC:no_prefix", 0),         # Engine.IO v4 style, no 0x04 marker
])
def test_szjudianyun_transient_faults(fault, reconnects, study, replicas, node_factory):
    replica = replicas(study, "szjudianyun", ["--fault", fault])
    node = make_node(node_factory, replica, k_fast)
    assert_complete(fetch(node, replica), node, study, stored=k_count)
    log = replica.log()
    hangs = [r for r in log if r["route"] == "hangC"]
    assert len({(r["series"], r["series_in"]) for r in hangs}) == k_count
    assert len(hangs) == k_count + reconnects
    if fault.startswith("polling"):
        assert len([r for r in log if r["route"] == "polling"]) >= 2, "the 429 was not retried"
    if reconnects:
        dropped = [r for r in hangs if r["number"] == 3][0]
        again = [r for r in hangs if r["number"] > 3 and (r["series"], r["series_in"]) == (dropped["series"], dropped["series_in"])]
        assert again, "the instance of the dropped socket was not asked for again"
        assert len([r for r in log if r["route"] == "saveC"]) >= 2, "no new session after the drop"


@pytest.mark.parametrize("platform", k_http)
def test_short_object_is_never_stored(platform, study, replicas, node_factory):
    # A complete HTTP answer (right Content-Length) holding a cut Part 10 file.
    replica = replicas(study, platform, ["--fault", "file:short:1000@2"])
    node = make_node(node_factory, replica, k_fast, threads=1)
    result = fetch(node, replica)
    assert result.returncode == 1, describe(result)
    assert "{} stored".format(k_count - 1) in result.stdout and "1 failed" in result.stdout, describe(result)
    assert len(node.index()) == k_count - 1


def test_rate_limit_waits_for_retry_after(study, replicas, node_factory):
    replica = replicas(study, "sugh", ["--fault", "file:rate_limit:2@3"])
    node = make_node(node_factory, replica, k_fast)
    assert_complete(fetch(node, replica), node, study, stored=k_count)
    files = replica.requests("file")
    first = [r for r in files if r["number"] == 3][0]
    later = [r for r in files if r["path"] == first["path"] and r["number"] > 3]
    assert later and later[0]["time"] - first["time"] >= 1.8


@pytest.mark.parametrize("platform", k_http)
def test_one_missing_file_fails_only_that_instance(platform, study, replicas, node_factory):
    replica = replicas(study, platform, ["--fault", "file:status:404@2"])
    node = make_node(node_factory, replica, k_fast)
    result = fetch(node, replica)
    assert result.returncode == 1, describe(result)
    assert "{} stored".format(k_count - 1) in result.stdout, describe(result)
    assert "1 failed" in result.stdout, describe(result)


# --- interrupted and resumed --------------------------------------------------------------


@pytest.mark.parametrize("platform", k_platforms)
@pytest.mark.parametrize("how", ["SIGINT", "SIGKILL"])
def test_interrupted_fetch_resumes(platform, how, study, replicas, node_factory):
    replica = replicas(study, platform, ["--latency-ms", "250"])
    node = make_node(node_factory, replica, threads=2)
    cmd = [cloudfilm_bin()] + fetch_args(replica) + ["--config", node.config_path]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dcmtk_env())
    try:
        deadline = time.monotonic() + 60
        while len(replica.requests(k_file[platform])) < 5:
            assert proc.poll() is None, "fetch ended before it could be interrupted"
            assert time.monotonic() < deadline, "no file requests"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT if how == "SIGINT" else signal.SIGKILL)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = stderr.decode("utf-8", "replace")
    if how == "SIGINT":
        assert proc.returncode == 130, "exit {}: {}".format(proc.returncode, stderr)
        assert "again" in stderr, stderr
    stored_first = set(node.index())
    assert 0 < len(stored_first) < k_count, "interrupt landed at {} of {}".format(len(stored_first), k_count)

    replica.reset()
    result = fetch(node, replica)
    assert_complete(result, node, study, stored=k_count - len(stored_first))
    assert "{} already stored".format(len(stored_first)) in result.stdout, describe(result)
    if platform == "szjudianyun":
        # No SOP Instance UID before the download: everything comes again, the store
        # reports the instances it has as duplicates.
        assert len(replica.requests("hangC")) == k_count
    else:
        assert len(replica.requests("file")) == k_count - len(stored_first), "only the rest is downloaded"
