"""The module reads `s3://` objects in-process, from a real S3 server started here (s3s-fs,
which `make test` installs into target/tools): the same answer as the CLI on the local file,
and a clear `MediaError` naming the object for a missing one."""

import os
import pathlib
import shutil
import socket
import subprocess
import time

import pytest

import framekit

ROOT = pathlib.Path(__file__).resolve().parents[3]
SERVER = ROOT / "target" / "tools" / "bin" / "s3s-fs"
FRAMEKIT = os.environ.get("FRAMEKIT_BIN", str(ROOT / "target" / "debug" / "framekit"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    if not SERVER.exists():
        assert os.environ.get("CI") != "true", "make test installs s3s-fs first"
        pytest.skip("s3s-fs not installed (scripts/install-s3-server.sh)")
    root = tmp_path_factory.mktemp("s3")
    (root / "media").mkdir()
    clip = root / "clip.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=176x144:rate=30:duration=2", "-c:v", "libx264", "-bf", "2",
                    "-g", "24", str(clip)], check=True)
    shutil.copy(clip, root / "media" / "clip.mp4")
    port = free_port()
    server = subprocess.Popen([str(SERVER), "--host", "127.0.0.1", "--port", str(port),
                               "--access-key", "py-key", "--secret-key", "py-secret-42",
                               str(root)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.time() < deadline, "s3s-fs did not start"
            time.sleep(0.05)
    # The module reads the store's settings from the environment when it first needs them.
    os.environ.update(AWS_ACCESS_KEY_ID="py-key", AWS_SECRET_ACCESS_KEY="py-secret-42",
                      AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_REGION="us-east-1")
    yield clip
    server.kill()
    server.wait()


def test_an_object_reads_like_the_local_file(store):
    local = subprocess.run([FRAMEKIT, "frames", str(store), "--ids", "1,30,60"],
                           capture_output=True, check=True, text=True).stdout.strip()
    assert framekit.get_frames("s3://media/clip.mp4", "1,30,60") == local
    reader = framekit.VideoReader("s3://media/clip.mp4")
    assert len(reader) == 60
    assert reader.get_frames_at([0, 59]).shape == (2, 144, 176, 3)


def test_a_missing_object_is_a_media_error_naming_it(store):
    with pytest.raises(framekit.MediaError) as raised:
        framekit.frames("s3://media/nope.mp4", "1")
    message = str(raised.value)
    assert "s3://media/nope.mp4" in message and "no such object" in message, message
    assert "py-secret-42" not in message
    assert framekit.get_frames("s3://media/nope.mp4", "1") == ""
