# SPDX-License-Identifier: MIT
"""Command line, configuration validation and association acceptance (AE titles, peers)."""

import json
import os
import subprocess

import pytest

import dimse
import make_ct_series
from conftest import cloudfilm_bin, free_port, port_open, run

k_commands = ["serve", "import", "ls", "check"]


def test_version():
    result = run([cloudfilm_bin(), "--version"], timeout=20)
    assert result.returncode == 0, result.stderr
    assert any(ch.isdigit() for ch in result.stdout), result.stdout


@pytest.mark.parametrize("command", [None] + k_commands)
def test_help(command):
    args = [cloudfilm_bin()] + ([command] if command else []) + ["--help"]
    result = run(args, timeout=20)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip(), "no help text on stdout"
    if command:
        assert command in result.stdout


def _write(tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


# {port} is a free port and {data} a temp directory, so that a node which wrongly accepts
# a file stays on loopback and inside the test's directory.
@pytest.mark.parametrize("text,key", [
    ("node:\n  bind: 127.0.0.1\n  port: 70000\nstorage:\n  path: {data}\n", "port"),
    ("node:\n  bind: 127.0.0.1\n  port: eleven\nstorage:\n  path: {data}\n", "port"),
    ("node:\n  bind: 127.0.0.1\n  port: {port}\nstorage:\n  path: {data}\n  duplicates: sometimes\n", "duplicates"),
    ("node:\n  bind: 127.0.0.1\n  port: {port}\n  max_associations: many\nstorage:\n  path: {data}\n",
     "max_associations"),
    ("node:\n  bind: 127.0.0.1\n  port: [unclosed\nstorage:\n  path: {data}\n", None),  # not YAML
    ("node: {{ae_title: CLOUDFILM\nstorage:\n  path: {data}\n", None),  # not YAML either
], ids=["port-range", "port-type", "duplicates-policy", "max-associations-type", "yaml-1", "yaml-2"])
def test_invalid_config_is_refused_with_one_line(tmp_path, text, key):
    config = _write(tmp_path, text.format(port=free_port(), data=tmp_path / "data"))
    try:
        # cwd: should serve wrongly accept the file, anything relative lands in tmp_path.
        result = run([cloudfilm_bin(), "serve", "--config", config], timeout=15, cwd=str(tmp_path))
    except subprocess.TimeoutExpired:
        pytest.fail("serve kept running with an invalid config")
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, "expected one stderr line, got:\n" + result.stderr
    if key:
        assert key in lines[0], lines[0]


def test_port_and_data_overrides(node_factory, tmp_path):
    node = node_factory("override")
    configured_port = node.port
    other_data = str(tmp_path / "elsewhere")
    node.port = free_port()  # the config file keeps the old port; --port must win
    node.start(extra_args=["--port", str(node.port), "--data", other_data])
    assert not port_open(configured_port), "the node also listens on the configured port"
    assert os.path.isfile(os.path.join(other_data, "index.sqlite"))
    assert not os.path.exists(os.path.join(node.data_dir, "index.sqlite"))
    assert node.stop() == 0


def test_cli_data_override(node_factory, tmp_path):
    node = node_factory("cli")
    other = str(tmp_path / "other-data")
    make_ct_series.make_series(str(tmp_path / "src"), count=2, seed=41)
    result = node.cli("import", str(tmp_path / "src"), "--data", other)
    assert result.returncode == 0, result.stdout + result.stderr
    listed = node.cli("ls", "studies", "--json", "--data", other)
    assert listed.returncode == 0, listed.stderr
    assert [s["patient_id"] for s in json.loads(listed.stdout)] == ["CFGEN41"]
    assert node.ls_json("studies") == []
    assert node.cli("check", "--data", other).returncode == 0


def _reject_reason(node, called, calling):
    """None if the association is accepted, else the A-ASSOCIATE-RJ reason (or 'abort')."""
    try:
        with dimse.Association("127.0.0.1", node.port, called=called, calling=calling) as assoc:
            assert assoc.echo() == 0
        return None
    except dimse.AssociationRejected as e:
        return e.reason
    except dimse.AssociationAborted:
        return "abort"


def test_wrong_called_ae_is_refused_when_checked(node_factory):
    node = node_factory("strict", config={"node": {"check_called_ae": True}}).start()
    assert node.echo(called="WRONGAE").returncode != 0
    assert node.echo().returncode == 0
    # PS3.8 9.3.4: reason 7, called-AE-title-not-recognized.
    assert _reject_reason(node, "WRONGAE", "RAWSCU") == 7
    assert _reject_reason(node, node.ae_title, "RAWSCU") is None


def test_wrong_called_ae_is_accepted_by_default(node_factory):
    node = node_factory("lenient", config={"node": {"check_called_ae": False}}).start()
    assert node.echo(called="WRONGAE").returncode == 0
    assert node.echo().returncode == 0


def test_allowed_peers_reject_an_unlisted_calling_ae(node_factory):
    peers = [{"ae": "GOODSCU", "host": "127.0.0.1"}]
    node = node_factory("peers", config={"node": {"allowed_peers": peers}})
    node.start(calling="GOODSCU")
    assert node.echo(calling="GOODSCU").returncode == 0
    assert node.echo(calling="EVILSCU").returncode != 0
    # PS3.8 9.3.4: reason 3, calling-AE-title-not-recognized.
    assert _reject_reason(node, node.ae_title, "EVILSCU") == 3


def test_allowed_peers_check_the_host(node_factory):
    peers = [{"ae": "GOODSCU", "host": "192.0.2.7"}]  # TEST-NET-1: never us
    node = node_factory("peerhost", config={"node": {"allowed_peers": peers}})
    node.start(wait_for="port")
    assert node.echo(calling="GOODSCU").returncode != 0
    reason = _reject_reason(node, node.ae_title, "GOODSCU")
    assert reason is not None and reason != "abort", "expected an A-ASSOCIATE-RJ, got {}".format(reason)
    assert node.stop() == 0


def test_max_associations_rejects_beyond_the_limit_and_frees_slots(node_factory):
    node = node_factory("limit", config={"node": {"max_associations": 2}}).start()
    for _ in range(5):  # slots come back after each association
        assert node.echo().returncode == 0
    held = [dimse.Association("127.0.0.1", node.port, called=node.ae_title) for _ in range(2)]
    try:
        # PS3.8 9.3.4: rejected-transient (2), service-provider presentation (3),
        # local-limit-exceeded (2).
        with pytest.raises(dimse.AssociationRejected) as rejected:
            dimse.Association("127.0.0.1", node.port, called=node.ae_title)
        assert (rejected.value.result, rejected.value.source, rejected.value.reason) == (2, 3, 2)
    finally:
        for assoc in held:
            assoc.release()
            assoc.sock.close()
    assert node.echo().returncode == 0
