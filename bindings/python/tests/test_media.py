"""The framekit Python module on awkward encodings, at 16 bits, from several threads, and
over many opens. Clips are made here with the ffmpeg command line; the Rust suite's
frame-exact fixtures (packed B-frames in AVI, out-of-order MJPEG timestamps...) are checked
too when `cargo test` has made them (make test runs it first)."""

import json
import os
import pathlib
import subprocess
import threading
import time

import numpy as np
import pytest

import framekit

FRAMEKIT = os.environ.get("FRAMEKIT_BIN", "target/debug/framekit")
RUST_FIXTURES = pathlib.Path(__file__).resolve().parents[3] / "target" / "tmp" / "fixtures"
PATTERN = "testsrc2=size=176x144:rate=30:duration=4.4"

# name -> ffmpeg arguments after the lavfi input (the frame-exact suite's recipes).
RECIPES = {
    "hevc_open_gop.mkv": ["-c:v", "libx265", "-pix_fmt", "yuv420p", "-x265-params",
                          "keyint=24:min-keyint=24:open-gop=1:bframes=4:scenecut=0:"
                          "log-level=error"],
    "vp9.webm": ["-c:v", "libvpx-vp9", "-g", "30", "-deadline", "realtime", "-cpu-used", "8",
                 "-b:v", "300k"],
    "xvid_bframes.avi": ["-c:v", "mpeg4", "-vtag", "XVID", "-bf", "2", "-q:v", "5", "-g", "24"],
    "mjpeg.avi": ["-c:v", "mjpeg", "-q:v", "5"],
    "vfr.mp4": ["-vf", "setpts='(N+N*N/200)/30/TB'", "-fps_mode", "vfr", "-c:v", "libx264",
                "-bf", "2", "-g", "24", "-video_track_timescale", "90000"],
    "h264_10bit.mp4": ["-c:v", "libx264", "-pix_fmt", "yuv420p10le", "-bf", "2", "-g", "24"],
    "odd_size.mp4": ["-vf", "scale=97:61", "-c:v", "libx264", "-pix_fmt", "yuv444p", "-bf",
                     "3"],
}


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


@pytest.fixture(scope="session")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("awkward")
    made = {}
    for name, args in RECIPES.items():
        path = folder / name
        ffmpeg("-f", "lavfi", "-i", PATTERN, *args, str(path))
        made[name] = str(path)
    source = folder / "edit_source.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=176x144:rate=30:duration=6", "-c:v", "libx264",
           "-bf", "3", "-g", "48", str(source))
    ffmpeg("-ss", "1.1", "-i", str(source), "-c", "copy", str(folder / "edit_list.mp4"))
    made["edit_list.mp4"] = str(folder / "edit_list.mp4")
    plain = folder / "rotation_source.mp4"
    ffmpeg("-f", "lavfi", "-i", PATTERN, "-c:v", "libx264", "-pix_fmt", "yuv420p", str(plain))
    ffmpeg("-i", str(plain), "-c", "copy", "-metadata:s:v:0", "rotate=90",
           str(folder / "rotated.mp4"))
    made["rotated.mp4"] = str(folder / "rotated.mp4")
    # The Rust suite's hand-muxed files, when it has run.
    for name in ("divx_packed.avi", "mjpeg_shuffled_pts.mkv", "mjpeg_reversed_pts.mkv",
                 "mpeg4_mp3.avi", "h264_bframes.mp4"):
        if (RUST_FIXTURES / name).exists():
            made[name] = str(RUST_FIXTURES / name)
    if os.environ.get("CI") == "true":
        assert "divx_packed.avi" in made, "make test runs cargo test (and its fixtures) first"
    return made


def cli(*args):
    return subprocess.run([FRAMEKIT, *args], capture_output=True, check=True, text=True).stdout


def sequential(path, width, height):
    """Every frame in order from the ffmpeg command line (autorotated), raw RGB."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-fps_mode", "passthrough",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3)


def test_get_frames_is_byte_identical_to_the_cli_on_every_fixture(clips):
    for name, path in clips.items():
        count = json.loads(cli("probe", "--json", path))["frame_count"]
        ids = f"1,{count // 2},2,{count},{count + 5}"
        assert framekit.get_frames(path, ids) == cli("frames", path, "--ids", ids).strip(), name


def test_video_reader_frames_are_the_sequential_decodes_frames(clips):
    for name, path in clips.items():
        reader = framekit.VideoReader(path)
        height, width = reader[0].shape[:2]
        expected = sequential(path, width, height)
        assert len(reader) == len(expected), name
        flat = expected.reshape(len(expected), -1).astype(np.int16)
        rng = np.random.default_rng(11)
        for n in rng.permutation(len(expected))[:12]:
            frame = reader[int(n)]
            # Matrices and chroma interpolation differ by a few levels: frame n must be
            # nearer the sequential decode's nth frame than any other.
            distance = np.abs(flat - frame.reshape(1, -1).astype(np.int16)).mean(axis=1)
            assert int(distance.argmin()) == n, (name, int(n), int(distance.argmin()))


def test_sixteen_bit_output_keeps_ten_bit_levels(clips):
    path = clips["h264_10bit.mp4"]
    eight = framekit.VideoReader(path)
    deep = framekit.VideoReader(path, dtype="uint16")
    floats = framekit.VideoReader(path, dtype="float32")
    for n in (0, 47, 131):
        a, b, c = eight[n], deep[n], floats[n]
        assert b.dtype == np.uint16 and c.dtype == np.float32 and b.shape == a.shape
        # The same picture as the 8-bit conversion: swscale interpolates chroma (bicubic)
        # where the 8-bit path does not, so sharp colour edges differ; elsewhere they agree.
        difference = np.abs(b.astype(np.int32) / 257.0 - a.astype(np.int32))
        assert np.median(difference) <= 1.0 and np.percentile(difference, 60) <= 2.0
        assert np.allclose(c, b / 65535.0, atol=1e-6)
    flat = str(pathlib.Path(path).with_name("flat10.mp4"))
    ffmpeg("-f", "lavfi", "-i", "color=c=0x3080c0:s=64x64:d=0.2", "-c:v", "libx264",
           "-pix_fmt", "yuv420p10le", flat)
    flat_difference = (framekit.VideoReader(flat, dtype="uint16")[0] / 257.0
                       - framekit.VideoReader(flat)[0].astype(np.int32))
    assert np.abs(flat_difference).max() <= 1.0
    # A 10-bit gradient has levels between the 8-bit ones.
    assert np.any(deep[47] % 257 != 0)
    assert len(np.unique(deep[47])) > len(np.unique(eight[47]))
    assert np.array_equal(deep.get_frames_at([3, 4])[1], deep[4])
    bgr = framekit.VideoReader(path, dtype="uint16", order="bgr")
    assert np.array_equal(bgr[5], deep[5][:, :, ::-1])


def test_sixteen_bit_hdr_is_the_signal_not_tone_mapped(tmp_path):
    path = str(tmp_path / "pq.mp4")
    ffmpeg("-f", "lavfi", "-i", "smptehdbars=size=320x180:rate=25:duration=0.4", "-c:v",
           "libx264", "-pix_fmt", "yuv420p10le", "-color_primaries", "bt2020", "-color_trc",
           "smpte2084", "-colorspace", "bt2020nc", path)
    as_tagged = framekit.VideoReader(path, hdr="none")[0].astype(np.int32)
    deep = framekit.VideoReader(path, dtype="uint16")[0].astype(np.int32)
    mapped = framekit.VideoReader(path)[0].astype(np.int32)
    assert np.median(np.abs(deep / 257.0 - as_tagged)) <= 1.0
    assert np.abs(deep / 257.0 - mapped).max() > 20, "16-bit output must not be tone-mapped"
    with pytest.raises(ValueError, match="tone mapping gives 8-bit"):
        framekit.VideoReader(path, dtype="uint16", hdr="tonemap")
    with pytest.raises(ValueError, match="dtype"):
        framekit.VideoReader(path, dtype="int8")


def test_decoding_releases_the_gil(clips):
    """Two threads' decode calls run at the same time: with the GIL held one call could not
    begin (not even read the clock) until the other returned."""
    path = clips["hevc_open_gop.mkv"]
    spans = {}

    def work(n):
        reader = framekit.VideoReader(path)
        begin = time.perf_counter()
        reader.get_frames_at(list(range(len(reader))))
        spans[n] = (begin, time.perf_counter())

    threads = [threading.Thread(target=work, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (a0, a1), (b0, b1) = spans[0], spans[1]
    assert a0 < b1 and b0 < a1, f"decode calls did not overlap: {spans}"


def rss_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_thousand_opens_and_reads_leave_memory_flat(tmp_path):
    path = str(tmp_path / "tiny.mp4")
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25:duration=0.4", "-c:v", "libx264",
           str(path))

    def cycle(n):
        for i in range(n):
            reader = framekit.VideoReader(path)
            reader[i % 10]
            framekit.get_frames(path, "1,3")
            try:
                framekit.frames(path + ".missing", "1")
            except framekit.NotFoundError:
                pass

    cycle(100)
    settled = rss_kib()
    cycle(1000)
    grown = rss_kib() - settled
    # A leaked reader (a decoder, a demuxer, frames) is tens of KiB at least: 1000 of them
    # would grow RSS by tens of MiB.
    assert grown < 8 * 1024, f"RSS grew {grown} KiB over 1000 opens"
