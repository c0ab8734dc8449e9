"""Spark local[2]: framekit_spark's pipe path (frames_df, one framekit process per partition)
against its in-process path (frames_df_inprocess, the module in the Python workers,
mapInArrow) on the same DataFrames of requests: one where each clip's request comes three
times, one where no two rows are alike. Run by scripts/bench-python.sh with the release
binary; prints each round and the median ratio."""

import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "python"))
import framekit_spark  # noqa: E402
from pyspark.sql import SparkSession  # noqa: E402

FOLDER, BINARY = sys.argv[1], sys.argv[2]
ROUNDS = int(os.environ.get("ROUNDS", "3"))
clips = []
for n in range(16):
    path = os.path.join(FOLDER, f"spark_720p_{n}.mp4")
    if not os.path.exists(path):
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                        f"testsrc2=size=1280x720:rate=30:duration=5,hue=h={n * 20}",
                        "-c:v", "libx264", "-preset", "veryfast", "-bf", "2", "-g", "60",
                        path + ".part.mp4"], check=True)
        os.rename(path + ".part.mp4", path)
    clips.append(path)
# Each clip asked for the same ids three times (rows repeat), and the same number of requests
# with ids that differ from row to row (no two rows alike).
WORKLOADS = {
    "ids 1,30,150 (each clip 3 times)": [(str(n), clips[n % len(clips)], "1,30,150")
                                         for n in range(48)],
    "distinct ids per row": [(str(n), clips[n % len(clips)],
                              f"{1 + n // 16},{30 + n // 16},{150 - n // 16}")
                             for n in range(48)],
}

os.environ["PYSPARK_PYTHON"] = sys.executable
spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
         .config("spark.ui.showConsoleProgress", "false")
         .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
         .getOrCreate())
spark.sparkContext.setLogLevel("ERROR")


def timed(frame):
    start = time.perf_counter()
    frame.write.format("noop").mode("overwrite").save()
    return time.perf_counter() - start


for name, rows in WORKLOADS.items():
    df = spark.createDataFrame(rows, "rid string, path string, ids string").repartition(2).cache()
    df.count()
    ratios = []
    for round_number in range(1, ROUNDS + 1):
        pipe = timed(framekit_spark.frames_df(df, id_col="rid", binary=BINARY))
        in_process = timed(framekit_spark.frames_df_inprocess(df, id_col="rid"))
        ratios.append(pipe / in_process)
        print(f"spark local[2], round {round_number}: 48 requests of 720p clips, {name}: "
              f"frames_df (pipe) {pipe:.2f} s, frames_df_inprocess {in_process:.2f} s "
              f"({pipe / in_process:.2f}x)", flush=True)
    print(f"spark, {name}: in-process against the pipe, median of {ROUNDS} rounds: "
          f"{statistics.median(ratios):.2f}x", flush=True)
spark.stop()
