"""Downloads against a local threaded HTTP server serving ../shared/data: sha256, resume, atomic rename."""

import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from genarch.data.__main__ import main as cli
from genarch.data.errors import DataError
from genarch.data.fetch import download, fetch_source, sha256_file
from genarch.data.registry import FILES

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"real data not found at {DATA} (../shared/data)")


def make_handler(root: Path, state: dict):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            rel = urllib.parse.unquote(self.path.lstrip("/"))
            path = (root / rel).resolve()
            state["requests"].append((rel, self.headers.get("Range")))
            if root.resolve() not in path.parents or not path.is_file():
                self.send_error(404)
                return
            data = path.read_bytes()
            start = 0
            rng = self.headers.get("Range")
            if rng and state.get("ranges", True):
                start = int(rng.split("=")[1].split("-")[0])
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if state.get("drop_first") and rel not in state["dropped"]:
                state["dropped"].add(rel)  # send half, then drop the connection
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if state.get("corrupt"):
                body = bytes([body[0] ^ 0xFF]) + body[1:]
            self.wfile.write(body)

    return Handler


@pytest.fixture
def server():
    state = {"requests": [], "dropped": set()}
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(DATA, state))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", state
    httpd.shutdown()
    httpd.server_close()


def _entry(name_part: str):
    return next(e for e in FILES["deepbind_encode"] if name_part in e[0])


def test_registry_matches_shared_data():
    for entries in FILES.values():
        for rel, size, digest in entries:
            path = DATA / rel
            assert path.stat().st_size == size and sha256_file(path) == digest, rel


def test_fetch_source_verifies_every_file(server, tmp_path):
    url, state = server
    results = fetch_source("deepbind_encode", tmp_path, base_url=url, only=lambda rel: "/test/" in rel,
                           log=lambda s: None)
    assert len(results) == 13 and {r.status for r in results} == {"downloaded"}
    for r in results:
        rel = str(r.path.relative_to(tmp_path))
        assert sha256_file(r.path) == sha256_file(DATA / rel)
    again = fetch_source("deepbind_encode", tmp_path, base_url=url, only=lambda rel: "/test/" in rel,
                         log=lambda s: None)
    assert {r.status for r in again} == {"present"}
    assert not list(tmp_path.rglob("*.part"))


def test_dropped_connection_resumes_with_range(server, tmp_path):
    url, state = server
    state["drop_first"] = True
    rel, size, digest = _entry("train/MYC_H1-hESC")
    dest = tmp_path / rel
    # one attempt only: the connection drops half way, the .part stays and nothing is at dest
    with pytest.raises(DataError, match="rerun to resume"):
        download(f"{url}/{urllib.parse.quote(rel)}", dest, digest, size, retries=1)
    part = dest.with_name(dest.name + ".part")
    assert not dest.exists() and 0 < part.stat().st_size < size
    have = part.stat().st_size
    result = download(f"{url}/{urllib.parse.quote(rel)}", dest, digest, size, retries=1)
    assert result.status == "resumed" and sha256_file(dest) == digest and not part.exists()
    assert state["requests"][-1] == (rel, f"bytes={have}-")


def test_retries_within_one_call(server, tmp_path):
    url, state = server
    state["drop_first"] = True
    rel, size, digest = _entry("test/SP1_GM12878")
    result = download(f"{url}/{urllib.parse.quote(rel)}", tmp_path / "f.gz", digest, size, retries=3)
    assert result.status == "resumed" and result.attempts == 2 and sha256_file(tmp_path / "f.gz") == digest


def test_server_ignoring_range_restarts_cleanly(server, tmp_path):
    url, state = server
    state["ranges"] = False
    rel, size, digest = _entry("test/REST_GM12878")
    part = tmp_path / "f.gz.part"
    part.write_bytes((DATA / rel).read_bytes()[:1000])
    result = download(f"{url}/{urllib.parse.quote(rel)}", tmp_path / "f.gz", digest, size)
    assert result.status == "downloaded" and sha256_file(tmp_path / "f.gz") == digest


def test_checksum_mismatch_leaves_nothing(server, tmp_path):
    url, state = server
    state["corrupt"] = True
    rel, size, digest = _entry("test/USF1_HepG2")
    with pytest.raises(DataError, match="sha256 mismatch"):
        download(f"{url}/{urllib.parse.quote(rel)}", tmp_path / "f.gz", digest, size)
    assert list(tmp_path.iterdir()) == []


def test_missing_remote_file_is_a_clear_error(server, tmp_path):
    url, _ = server
    with pytest.raises(DataError, match="HTTP 404"):
        download(f"{url}/nope.gz", tmp_path / "nope.gz", "0" * 64, 10)


def test_cli_fetch_then_load(server, tmp_path, capsys, monkeypatch):
    url, _ = server
    monkeypatch.setenv("GENARCH_DATA_URL", url)
    assert cli(["fetch", "deepbind_encode", "--dest", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"files verified in {tmp_path}" in out
    assert cli(["verify", "--root", str(tmp_path), "--source", "deepbind_encode"]) == 0
    from genarch.data.sources import DeepBindENCODE

    b = DeepBindENCODE("MYC", data_root=str(tmp_path), max_train=200).load()
    assert len(b.train) == 200
    monkeypatch.delenv("GENARCH_DATA_URL")
    monkeypatch.delenv("GENARCH_GUE_URL", raising=False)
    assert cli(["fetch", "gue", "--dest", str(tmp_path / "g")]) == 2
    assert "gue has no per-file public URL; pass --base-url" in capsys.readouterr().err


def test_cli_list(capsys):
    assert cli(["list", "deepbind_encode", "--data-root", str(DATA)]) == 0
    out = capsys.readouterr().out
    assert "CTCFL_K562_CTCFL_(SC-98982)_HudsonAlpha\ttrain+test" in out
    assert "STAT3_HeLa-S3_STAT3_Stanford\ttest only" in out
    assert cli(["list", "gue", "--data-root", str(DATA)]) == 0
    assert "mouse/2" in capsys.readouterr().out
    assert cli(["list"]) == 0
    assert "synthetic_tfbs" in capsys.readouterr().out
