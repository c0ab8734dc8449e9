"""The framekit Python module on clips this test makes with the ffmpeg command line."""

import logging
import os
import subprocess
import threading

import numpy as np
import pytest

import framekit

FRAMEKIT = os.environ.get("FRAMEKIT_BIN", "target/debug/framekit")


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


@pytest.fixture(scope="session")
def clip(tmp_path_factory):
    """4.4 s of a moving pattern, H.264 with B-frames, 132 frames."""
    path = tmp_path_factory.mktemp("clips") / "clip.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=176x144:rate=30:duration=4.4",
           "-c:v", "libx264", "-bf", "2", "-g", "24", "-pix_fmt", "yuv420p", str(path))
    return str(path)


@pytest.fixture(scope="session")
def mkv(clip, tmp_path_factory):
    path = tmp_path_factory.mktemp("clips") / "clip.mkv"
    ffmpeg("-i", clip, "-c", "copy", str(path))
    return str(path)


def cli_frames(path, ids):
    out = subprocess.run([FRAMEKIT, "frames", path, "--ids", ids],
                         capture_output=True, check=True, text=True)
    return out.stdout.strip()


def sequential(path):
    """Every frame in order, decoded by the ffmpeg command line to raw RGB."""
    probe = framekit.VideoReader(path).metadata["video"]
    width, height = probe["width"], probe["height"]
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3)


@pytest.mark.parametrize("ids", ["1,30", "2,131,132,500", "0,-3", "7"])
def test_get_frames_is_byte_identical_to_the_cli(clip, mkv, ids):
    for path in (clip, mkv):
        assert framekit.get_frames(path, ids) == cli_frames(path, ids)
        assert framekit.frames(path, ids) == cli_frames(path, ids)


def test_get_frames_returns_empty_on_failure_and_logs_why(tmp_path, caplog):
    missing = str(tmp_path / "nope.mp4")
    with caplog.at_level(logging.WARNING, logger="framekit"):
        assert framekit.get_frames(missing, "1") == ""
    assert "nope.mp4" in caplog.text and "no such file" in caplog.text


def test_frames_raises_typed_errors(tmp_path, clip):
    with pytest.raises(framekit.NotFoundError, match="no such file"):
        framekit.frames(str(tmp_path / "nope.mp4"), "1")
    with pytest.raises(framekit.FrameIdsError):
        framekit.frames(clip, "1,,2")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 100)
    with pytest.raises(framekit.MediaError, match="junk.mp4"):
        framekit.frames(str(junk), "1")
    with pytest.raises(framekit.NetworkError):
        framekit.frames("http://127.0.0.1:9/x.mp4", "1")
    assert issubclass(framekit.LimitError, framekit.MediaError)


def test_parse_b64_round_trips_and_gives_opencv_order(clip):
    text = framekit.get_frames(clip, "1,30")
    rgb = framekit.parse_b64(text)
    assert isinstance(rgb, list) and len(rgb) == 2
    assert rgb[0].shape == (144, 176, 3) and rgb[0].dtype == np.uint8
    bgr = framekit.parse_b64(text.split("|")[1], order="bgr")
    assert np.array_equal(bgr, rgb[1][:, :, ::-1])
    reader = framekit.VideoReader(clip)
    assert np.array_equal(rgb[1], reader[29])
    with pytest.raises(framekit.PasteDecodeError, match="not base64"):
        framekit.parse_b64("iVBO#w0K")
    with pytest.raises(ValueError):
        framekit.parse_b64(text, order="rbg")


@pytest.mark.parametrize("which", ["mp4", "mkv"])
def test_video_reader_is_frame_exact(clip, mkv, which):
    path = clip if which == "mp4" else mkv
    expected = sequential(path)
    reader = framekit.VideoReader(path)
    assert len(reader) == len(expected) == 132
    order = list(range(len(expected)))
    rng = np.random.default_rng(7)
    rng.shuffle(order)
    flat = expected.reshape(len(expected), -1).astype(np.int16)
    for n in order[:40]:
        frame = reader[n]
        assert frame.shape == (144, 176, 3)
        # framekit converts with the stream's own matrix and ffmpeg's rgb24 interpolates
        # chroma its own way, so pixels differ by a few levels: frame n must be nearer the
        # nth frame of the sequential decode than any other frame of it.
        distance = np.abs(flat - frame.reshape(1, -1).astype(np.int16)).mean(axis=1)
        assert int(distance.argmin()) == n, (n, int(distance.argmin()))
    assert np.array_equal(reader[-1], reader[131])
    batch = reader.get_frames_at([5, -1, 77])
    assert batch.shape == (3, 144, 176, 3)
    assert np.array_equal(batch[2], reader[77])
    assert reader[10:13].shape == (3, 144, 176, 3)
    assert np.array_equal(reader[10:13][1], reader[11])
    with pytest.raises(IndexError):
        reader[132]


@pytest.mark.parametrize("which", ["mp4", "mkv"])
def test_requests_read_forward_or_back_stay_exact(clip, mkv, which):
    # A reader's first request, and any that starts at or before where the last one ended,
    # stops its decoder at its last frame; requests reading forward keep it going.
    path = clip if which == "mp4" else mkv
    expected = sequential(path)
    flat = expected.reshape(len(expected), -1).astype(np.int16)
    reader = framekit.VideoReader(path)
    requests = [[0], [1], [2, 3], [4], [9, 6], [40], [41], [3], [3], [5, 70], [71], [69], [131]]
    for request in requests:
        batch = reader.get_frames_at(request)
        assert batch.shape == (len(request), 144, 176, 3)
        for n, frame in zip(request, batch):
            distance = np.abs(flat - frame.reshape(1, -1).astype(np.int16)).mean(axis=1)
            assert int(distance.argmin()) == n, (request, n, int(distance.argmin()))
            assert np.array_equal(frame, framekit.VideoReader(path)[n])
    bgr = framekit.VideoReader(path, order="bgr").get_frames_at([41, 3])
    assert np.array_equal(bgr[..., ::-1], reader.get_frames_at([41, 3]))


def test_frames_played_at_times_and_metadata(clip):
    reader = framekit.VideoReader(clip)
    pts = reader.pts
    assert len(pts) == 132 and pts[0] == 0.0 and abs(pts[30] - 1.0) < 1e-6
    played = reader.get_frames_played_at([0.0, 1.0, 1.01])
    assert np.array_equal(played[1], reader[30]) and np.array_equal(played[2], reader[30])
    meta = reader.metadata
    assert meta["frame_count"] == 132
    assert meta["video"]["codec"] == "h264"
    assert meta["video"]["color"]["used"]["matrix"] in ("bt601", "bt709")


def test_one_reader_per_thread(clip):
    results = {}

    def work(n):
        reader = framekit.VideoReader(clip)
        results[n] = reader[n * 10].copy()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    reader = framekit.VideoReader(clip)
    for n, frame in results.items():
        assert np.array_equal(frame, reader[n * 10])


def test_frames_batch_answers_in_order_with_error_rows(clip, tmp_path):
    requests = [
        {"id": "a", "path": clip, "ids": "1,30"},
        {"id": "b", "path": str(tmp_path / "nope.mp4"), "ids": "1"},
        {"id": "c", "path": clip, "ids": "132"},
    ]
    batch = framekit.frames_batch(requests, threads=2)
    first = next(batch)
    assert first["id"] == "a"
    results = [first, *batch]
    assert [r["id"] for r in results] == ["a", "b", "c"]
    assert results[0]["frames"] == cli_frames(clip, "1,30") and results[0]["error"] is None
    assert "no such file" in results[1]["error"]
    assert results[2]["ids"] == [132]


def test_frames_grouped_answers_like_frames_batch(clip, tmp_path):
    """Requests on one file share a reader and each frame is decoded once: every row is still
    what frames_batch (and the CLI) answers for it alone, in request order."""
    requests = [
        {"id": "a", "path": clip, "ids": "1,30"},
        {"id": "b", "path": str(tmp_path / "nope.mp4"), "ids": "1"},
        {"id": "c", "path": clip, "ids": "30,2,31"},
        {"id": "d", "path": clip, "ids": "1,,2"},
        {"id": "e", "path": clip, "ids": "1,30"},
        {"id": "f", "path": clip, "ids": "0,9999", "format": "datauri"},
        {"id": "g", "path": clip, "ids": "132,100"},
        {"path": clip},
    ]
    alone = list(framekit.frames_batch(requests, threads=1))
    grouped = framekit.frames_grouped(requests, threads=2)
    assert grouped == alone
    assert [r["id"] for r in grouped[:7]] == list("abcdefg")
    assert grouped[0]["frames"] == cli_frames(clip, "1,30")
    assert grouped[2]["ids"] == [2, 30, 31]
    assert grouped[3]["error"] and grouped[1]["error"] and grouped[7]["error"]
    assert grouped[5]["frames"].startswith("data:image/png;base64,")
