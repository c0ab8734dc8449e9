"""framekit's Python module against PyAV and decord (and torchcodec where installed) on the
same requests: 10 random exact frames of a 1080p clip and `ids 1,30`, with a new reader per
call and with one reader reused. Run by `make bench` (scripts/bench-python.sh) in
target/spark-venv. Prints milliseconds per request (median of interleaved rounds; wall time
and the process's CPU time), ratios and whether each tool returned the exact frames (nearest
to the sequential decode's frame)."""

import gc
import os
import statistics
import subprocess
import sys
import time

import numpy as np

import framekit

ROUNDS = int(os.environ.get("ROUNDS", "5"))
BLOCK = int(os.environ.get("BLOCK", "3"))
FOLDER = sys.argv[1]
CLIP = os.path.join(FOLDER, "py_1080p.mp4")
if not os.path.exists(CLIP):
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=1920x1080:rate=30:duration=10", "-c:v", "libx264",
                    "-preset", "veryfast", "-bf", "2", "-g", "60", "-pix_fmt", "yuv420p",
                    CLIP + ".part.mp4"], check=True)
    os.rename(CLIP + ".part.mp4", CLIP)

RANDOM = [int(i) for i in np.random.default_rng(2026).choice(300, 10, replace=False)]
FIRST = [0, 29]


def reference(indices):
    """Frames i-1, i, i+1 for each wanted index, from one sequential PyAV decode."""
    import av

    wanted = {j for i in indices for j in (i - 1, i, i + 1) if 0 <= j < 300}
    frames = {}
    with av.open(CLIP) as container:
        for n, frame in enumerate(container.decode(video=0)):
            if n in wanted:
                frames[n] = frame.to_ndarray(format="rgb24").astype(np.int16)
            if n >= max(wanted):
                break
    return frames


def exact(indices, arrays, near):
    good = 0
    for i, array in zip(indices, arrays):
        array = np.asarray(array).astype(np.int16)
        distances = {j: np.abs(near[j] - array).mean() for j in (i - 1, i, i + 1) if j in near}
        good += min(distances, key=distances.get) == i
    return good


# --- the tools ------------------------------------------------------------------------------
# Each tool is (open, run): `open()` makes a reader that is reused (None: `run` opens its own
# every call), `run(reader, indices)` returns the frames.

def framekit_new(_, indices):
    return framekit.VideoReader(CLIP).get_frames_at(indices)


def framekit_reused(reader, indices):
    return reader.get_frames_at(indices)


def pyav_sequential(_, indices):
    """Exact by counting: decode from the start to the last wanted frame."""
    import av

    wanted, out = set(indices), {}
    with av.open(CLIP) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for n, frame in enumerate(container.decode(stream)):
            if n in wanted:
                out[n] = frame.to_ndarray(format="rgb24")
            if len(out) == len(wanted):
                break
    return [out[i] for i in indices]


class PyAvSeeking:
    """Exact by timestamps (what torchcodec's exact mode does): one scan of the packets for
    every frame's pts, then a seek to the keyframe before each wanted frame and decoding
    forward to its pts."""

    def __init__(self):
        import av

        self.container = av.open(CLIP)
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        self.pts = sorted(p.pts for p in self.container.demux(self.stream) if p.pts is not None)

    def frames(self, indices):
        out = []
        for i in indices:
            target = self.pts[i]
            self.container.seek(target, stream=self.stream, backward=True)
            for frame in self.container.decode(self.stream):
                if frame.pts == target:
                    out.append(frame.to_ndarray(format="rgb24"))
                    break
        return out


def pyav_seek_new(_, indices):
    reader = PyAvSeeking()
    try:
        return reader.frames(indices)
    finally:
        reader.container.close()


def pyav_seek_reused(reader, indices):
    return reader.frames(indices)


def decord_new(_, indices):
    import decord

    return decord.VideoReader(CLIP).get_batch(indices).asnumpy()


def decord_reused(reader, indices):
    return reader.get_batch(indices).asnumpy()


def decord_open():
    import decord

    return decord.VideoReader(CLIP)


def torchcodec_tools():
    try:
        from torchcodec.decoders import VideoDecoder
    except Exception as error:  # not installed here: reported, not measured
        print(f"torchcodec: not measured ({type(error).__name__}: {error})")
        return []
    return [("torchcodec exact, new decoder", None,
             lambda _, ix: VideoDecoder(CLIP, seek_mode="exact").get_frames_at(ix).data
             .permute(0, 2, 3, 1).numpy()),
            ("torchcodec exact, reused", lambda: VideoDecoder(CLIP, seek_mode="exact"),
             lambda reader, ix: reader.get_frames_at(ix).data.permute(0, 2, 3, 1).numpy())]


def block(open_reader, run, indices):
    """One tool's turn in a round: its reused reader is made and serves one request untimed,
    then BLOCK requests are timed (wall and the process's CPU time, all threads), then the
    reader is dropped. A reader never outlives its turn: an idle decord reader that has
    served a request keeps a core half busy, which would slow whatever runs beside it."""
    reader = open_reader() if open_reader else None
    if reader is not None:
        run(reader, indices)
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(BLOCK):
        arrays = run(reader, indices)
    wall = (time.perf_counter() - start) / BLOCK
    cpu = (time.process_time() - cpu) / BLOCK
    del reader
    gc.collect()
    return wall, cpu, arrays


def main():
    tools = [("framekit VideoReader, new reader", None, framekit_new),
             ("framekit VideoReader, reused", lambda: framekit.VideoReader(CLIP),
              framekit_reused),
             ("PyAV decode to the frame, new container", None, pyav_sequential),
             ("PyAV seek + pts, new container", None, pyav_seek_new),
             ("PyAV seek + pts, reused", PyAvSeeking, pyav_seek_reused)]
    try:
        import decord  # noqa: F401
        tools += [("decord get_batch, new reader", None, decord_new),
                  ("decord get_batch, reused", decord_open, decord_reused)]
    except Exception as error:
        print(f"decord: not measured ({error})")
    tools += torchcodec_tools()
    for name, indices in (("10 random exact frames", RANDOM), ("ids 1,30", FIRST)):
        near = reference(indices)
        print(f"\n== {name} of a 1080p H.264 clip (300 frames, B-frames, 2 s GOPs), "
              f"median of {ROUNDS} interleaved rounds of {BLOCK} requests each "
              f"(wall ms, and CPU ms of all the process's threads)")
        times = {tool: [] for tool, _, _ in tools}
        cpus = {tool: [] for tool, _, _ in tools}
        correct = {}
        for _ in range(ROUNDS):
            for tool, open_reader, run in tools:
                wall, cpu, arrays = block(open_reader, run, indices)
                times[tool].append(wall)
                cpus[tool].append(cpu)
                correct[tool] = exact(indices, arrays, near)
        base = {"new": statistics.median(times[tools[0][0]]),
                "reused": statistics.median(times[tools[1][0]])}
        for tool, _, _ in tools:
            seconds = statistics.median(times[tool])
            cpu = statistics.median(cpus[tool])
            kind = "reused" if "reused" in tool else "new"
            ratio = seconds / base[kind]
            line = (f"{tool:44s} {seconds * 1000:8.1f} ms  cpu {cpu * 1000:7.1f} ms  "
                    f"exact {correct[tool]}/{len(indices)}")
            print(line if tool.startswith("framekit") else f"{line}  framekit {ratio:5.2f}x faster")
        if name == "ids 1,30":
            start = time.perf_counter()
            for _ in range(ROUNDS):
                framekit.get_frames(CLIP, "1,30")
            per = (time.perf_counter() - start) / ROUNDS
            print(f"{'framekit.get_frames (PNG + base64 too)':44s} {per * 1000:8.1f} ms")
    # Two threads at once, one reader each (the GIL is released while decoding).
    import threading

    def work():
        framekit.VideoReader(CLIP).get_frames_at(RANDOM)

    start = time.perf_counter()
    work()
    work()
    serial = time.perf_counter() - start
    threads = [threading.Thread(target=work) for _ in range(2)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    parallel = time.perf_counter() - start
    print(f"\ntwo readers' requests one after the other {serial:.2f} s, on two threads at once "
          f"{parallel:.2f} s ({serial / parallel:.2f}x)")


main()
