# SPDX-License-Identifier: MIT
"""`cloudfilm fetch` against the whole-file replica (tests/replica/cloudfilm_replica_whole,
platforms.md 8.3.4 shdc, 8.3.5 zscloud, 8.3.8 mtywcloud): every stored instance byte-identical
to its fixture, the platform's error signals, a transient fault retried, the junk entry
skipped, and resume after an interrupted fetch.

Skipped when the replica binary is missing or `cloudfilm fetch` does not list the platforms.
"""

import os
import signal
import subprocess
import time

import pydicom
import pytest

from conftest import cloudfilm_bin, dcmtk_env
import make_hinacom_study
import whole_replica

k_platforms = ["shdc", "zscloud", "mtywcloud"]
k_fast = {"timeout": 20, "idle_timeout": 3, "retries": 4}
k_file_route = {"shdc": "file", "zscloud": "imageservice", "mtywcloud": "file"}


@pytest.fixture(scope="module", autouse=True)
def _fetch_prerequisites():
    if not whole_replica.have_replica():
        pytest.skip("no replica binary at {} (build target cloudfilm_replica_whole)".format(whole_replica.replica_bin()))
    out = subprocess.run([cloudfilm_bin(), "fetch", "--list-platforms"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, timeout=30).stdout.decode("utf-8", "replace")
    missing = [p for p in k_platforms if p not in out]
    if missing:
        pytest.skip("cloudfilm fetch does not list {}".format(", ".join(missing)))


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("whole-study"))
    paths = make_hinacom_study.make_study(out)
    originals = {str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID): p for p in paths}
    return {"dir": out, "originals": originals}


@pytest.fixture
def replicas(tmp_path):
    started = []

    def start(study, platform, args=()):
        r = whole_replica.Replica(str(tmp_path / "replica{}".format(len(started))), study["dir"], platform, args)
        started.append(r)
        return r

    yield start
    for r in started:
        r.stop()


def make_node(node_factory, replica, fetch=None, modules=None):
    config = {"fetch": dict(k_fast if fetch is None else fetch)}
    mods = dict(replica.module_options())
    mods.update(modules or {})
    if mods:
        config["fetch"]["modules"] = mods
    return node_factory("fetch", config=config)


def fetch_args(replica, url=None):
    return ["fetch", url or replica.share_url] + replica.resolve_args()


def fetch(node, replica, url=None, timeout=300):
    return node.cli(*fetch_args(replica, url), timeout=timeout)


def describe(result):
    return "exit {}\nstdout:\n{}\nstderr:\n{}".format(result.returncode, result.stdout, result.stderr)


def file_requests(replica):
    """Requests for instances (zscloud: GetImage only, not GetHierachy)."""
    route = k_file_route[replica.platform]
    out = [r for r in replica.log() if r["route"] == route]
    if replica.platform == "zscloud":
        out = [r for r in out if "CommandType=GetImage" in r["query"]]
    return out


def assert_identical(result, node, study):
    assert result.returncode == 0, describe(result)
    index = node.index()
    assert set(index) == set(study["originals"]), "stored instances differ from the fixtures"
    differ = []
    for sop, record in index.items():
        with open(record["path"], "rb") as got, open(study["originals"][sop], "rb") as want:
            if got.read() != want.read():
                differ.append(os.path.basename(study["originals"][sop]))
    assert not differ, "not byte-identical: {}".format(differ)
    return index


def check_platform_requests(replica):
    log = replica.log()
    if replica.platform == "shdc":
        for r in [r for r in log if r["route"] in ("detail", "list")]:
            assert "&nonce_str=" in r["query"] and "&token=" in r["query"] and "&sign=" in r["query"], r["query"]
            assert r["query"].index("&token=") < r["query"].index("&sign="), "sign is the last parameter"
        for r in [r for r in log if r["route"] == "file"]:
            assert r["headers"]["authorization"].startswith("Basic "), r["headers"]
            assert r["headers"]["referer"] == "https://ylyyx.shdc.org.cn/"
    elif replica.platform == "zscloud":
        origin = "http://{}:{}".format(replica.host, replica.port)
        for r in log:
            assert r["headers"].get("referer") == origin, (r["path"], r["headers"])
        for r in [r for r in log if r["route"] == "imageservice"]:
            assert r["headers"]["authorization"].startswith("Bearer ")
            assert "randnum=" in r["query"]
        randnums = [r["query"].split("randnum=")[1] for r in log if r["route"] == "imageservice"]
        assert len(set(randnums)) == len(randnums), "a fresh randnum per call"
    else:
        viewer = [r for r in log if r["route"] == "viewer"]
        assert len(viewer) == 1
        for r in [r for r in log if r["route"] in ("info", "file")]:
            assert "/ICCWebClient/Image/Viewer?" in r["headers"].get("referer", ""), r["headers"]
        for r in [r for r in log if r["route"] == "file"]:
            assert "&httpPath=null&retrieveAE=&OrganizationID=" in r["query"], r["query"]


@pytest.mark.parametrize("platform", k_platforms)
def test_fetch_whole_files_byte_identical(platform, study, replicas, node_factory):
    replica = replicas(study, platform)
    node = make_node(node_factory, replica)
    result = fetch(node, replica)
    assert_identical(result, node, study)
    assert "16 stored" in result.stdout, describe(result)
    assert "1 skipped" in result.stdout, "the junk entry is skipped: " + describe(result)
    check_platform_requests(replica)
    # shdc downloads the junk entry (its SOP UID is unknown); the others too (it has a UID)
    assert len(file_requests(replica)) == 17


def test_shdc_share_id_link_is_exchanged(study, replicas, node_factory):
    replica = replicas(study, "shdc")
    node = make_node(node_factory, replica)
    result = fetch(node, replica, url=replica.info["share_urls"]["share_id"])
    assert_identical(result, node, study)
    verify = replica.requests("verify")
    assert len(verify) == 1 and verify[0]["method"] == "POST"
    assert "appid=" in verify[0]["body"] and "share_id=" in verify[0]["body"]


@pytest.mark.parametrize("platform", k_platforms)
def test_expired_link(platform, study, replicas, node_factory):
    replica = replicas(study, platform, ["--expired"])
    node = make_node(node_factory, replica)
    result = fetch(node, replica)
    assert result.returncode == 1, describe(result)
    assert "expired" in result.stderr, describe(result)
    assert not file_requests(replica)


@pytest.mark.parametrize("platform", k_platforms)
def test_wrong_credentials(platform, study, replicas, node_factory):
    if platform == "shdc":  # a token that does not belong to the sid
        replica = replicas(study, platform)
        node = make_node(node_factory, replica)
        result = fetch(node, replica, url=replica.info["share_urls"]["wrong_token"])
        want = "wrong password or code"
    elif platform == "zscloud":  # every Bearer token refused: re-fetched once, then given up
        replica = replicas(study, platform, ["--reject-token"])
        node = make_node(node_factory, replica)
        result = fetch(node, replica)
        want = "wrong password or code"
        assert len(replica.requests("token")) == 2, "the token is fetched again after a 401"
    else:  # the site changed its AES key: the server cannot decrypt our query
        replica = replicas(study, platform, ["--key", "00000000000000000000000000000000"])
        node = make_node(node_factory, replica)
        result = fetch(node, replica)
        want = "changed"
    assert result.returncode == 1, describe(result)
    assert want in result.stderr, describe(result)
    assert not node.index()


def test_shdc_wrong_key_is_a_signature_error(study, replicas, node_factory):
    replica = replicas(study, "shdc", ["--key", "newKey0123456789"])
    node = make_node(node_factory, replica)
    result = fetch(node, replica)
    assert result.returncode == 1, describe(result)
    assert "sign error" in result.stderr and "option key" in result.stderr, describe(result)
    # ... and the key option fixes it
    node2 = make_node(node_factory, replica, modules={"shdc": {"key": "newKey0123456789"}})
    assert_identical(fetch(node2, replica), node2, study)


def test_zscloud_old_config_key_still_works(study, replicas, node_factory):
    replica = replicas(study, "zscloud", ["--key", "c6657583e265f4ca"])
    node = make_node(node_factory, replica)
    assert_identical(fetch(node, replica), node, study)


def test_zscloud_token_expiry_is_renewed(study, replicas, node_factory):
    replica = replicas(study, "zscloud", ["--token-ttl", "0.3", "--latency-ms", "60"])
    node = make_node(node_factory, replica)
    assert_identical(fetch(node, replica), node, study)
    assert len(replica.requests("token")) > 1


@pytest.mark.parametrize("platform", k_platforms)
@pytest.mark.parametrize("fault", ["rate_limit:1", "reset", "html", "truncate:100"])
def test_transient_fault_is_retried(platform, fault, study, replicas, node_factory):
    route = k_file_route[platform]
    call = 3  # zscloud: the 1st call of its route is GetHierachy
    replica = replicas(study, platform, ["--fault", "{}:{}@{}".format(route, fault, call)])
    node = make_node(node_factory, replica)
    result = fetch(node, replica)
    assert_identical(result, node, study)
    assert "16 stored" in result.stdout, describe(result)
    numbers = [r["number"] for r in replica.requests(route)]
    assert call in numbers and len(numbers) == len(set(numbers)), "the faulty call was made"
    assert len(file_requests(replica)) == 18, "17 entries + one retry"


@pytest.mark.parametrize("platform", k_platforms)
def test_interrupted_fetch_resumes(platform, study, replicas, node_factory):
    replica = replicas(study, platform, ["--latency-ms", "200"])
    node = make_node(node_factory, replica)
    cmd = [cloudfilm_bin()] + fetch_args(replica) + ["--config", node.config_path]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dcmtk_env())
    try:
        deadline = time.monotonic() + 60
        while len(file_requests(replica)) < 6:
            assert proc.poll() is None, "fetch ended before it could be interrupted"
            assert time.monotonic() < deadline, "no file requests"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = stderr.decode("utf-8", "replace")
    assert proc.returncode == 130, "exit {}: {}".format(proc.returncode, stderr)
    stored_first = set(node.index())
    assert 0 < len(stored_first) < 16, "interrupt landed at {} of 16".format(len(stored_first))

    replica.reset()
    result = fetch(node, replica)
    assert_identical(result, node, study)
    rest = 16 - len(stored_first)
    assert "{} already stored".format(len(stored_first)) in result.stdout, describe(result)
    if platform == "shdc":
        # SOP UIDs are unknown before the download: everything comes again, the store
        # reports the duplicates
        assert len(file_requests(replica)) == 17
    else:
        assert "{} stored".format(rest) in result.stdout, describe(result)
        assert len(file_requests(replica)) == rest + 1, "only the rest (and the junk entry) is downloaded"


def test_shdc_clock_skew_outside_the_window_fails_every_file(study, replicas, node_factory):
    replica = replicas(study, "shdc", ["--skew-ms", "900000"])
    node = make_node(node_factory, replica)
    result = fetch(node, replica)
    assert result.returncode == 1, describe(result)
    assert "17 failed" in result.stdout, describe(result)
    assert "wrong password or code" in result.stderr, describe(result)


@pytest.mark.parametrize("platform", k_platforms)
def test_one_missing_file_fails_only_that_instance(platform, study, replicas, node_factory):
    route = k_file_route[platform]
    replica = replicas(study, platform, ["--fault", "{}:status:404@4".format(route)])
    node = make_node(node_factory, replica)
    result = fetch(node, replica)
    assert result.returncode == 1, describe(result)
    assert "15 stored" in result.stdout and "1 failed" in result.stdout, describe(result)
    assert len(node.index()) == 15


def test_zscloud_unknown_config_key_is_upstream_changed(study, replicas, node_factory):
    replica = replicas(study, "zscloud", ["--key", "0123456789abcdef0123456789abcdef"])
    node = make_node(node_factory, replica)
    result = fetch(node, replica)
    assert result.returncode == 1, describe(result)
    assert "changed" in result.stderr and "option keys" in result.stderr, describe(result)
    # a configured key is tried first
    node2 = make_node(node_factory, replica, modules={"zscloud": {"key": "0123456789abcdef0123456789abcdef"}})
    assert_identical(fetch(node2, replica), node2, study)


def test_unknown_share_is_expired(study, replicas, node_factory):
    for platform in ("zscloud", "mtywcloud"):
        replica = replicas(study, platform)
        node = make_node(node_factory, replica)
        result = fetch(node, replica, url=replica.info["share_urls"]["unknown"])
        assert result.returncode == 1, describe(result)
        assert "expired" in result.stderr, describe(result)


@pytest.mark.parametrize("platform,empty_series", [("shdc", "4-Unnamed"), ("zscloud", "4-Unnamed"),
                                                   ("mtywcloud", "4-定位像")])
def test_export_tree_names(platform, empty_series, study, replicas, node_factory, tmp_path):
    replica = replicas(study, platform)
    node = make_node(node_factory, replica)
    out = str(tmp_path / "export")
    result = node.cli(*fetch_args(replica), "--out", out, timeout=300)
    assert_identical(result, node, study)
    studies = os.listdir(out)
    assert len(studies) == 1, studies
    series = sorted(os.listdir(os.path.join(out, studies[0])))
    assert empty_series in series, series
    assert "2-Axial 128" in series, series
    assert sorted(os.listdir(os.path.join(out, studies[0], "2-Axial 128")))[0] == "00001.dcm"
    assert studies[0].endswith("-20240315093015"), studies
    assert studies[0].startswith("Wang^XiaoDong"), studies


def test_zscloud_share_with_two_studies_warns_and_takes_the_first(study, replicas, node_factory):
    replica = replicas(study, "zscloud", ["--two-studies"])
    node = make_node(node_factory, replica)
    result = fetch(node, replica)
    assert_identical(result, node, study)
    assert "only the first" in result.stderr, describe(result)
