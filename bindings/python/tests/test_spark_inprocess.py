"""framekit_spark.frames_df_inprocess in a real local[2] Spark: the module decodes inside the
executors' Python workers (mapInArrow); every row equals `framekit frames --jsonl`'s answer
for the same request, as base64 and as PNG bytes, and a bad file is an error row."""

import base64
import json
import os
import pathlib
import subprocess
import sys

import pytest

FRAMEKIT = os.environ.get("FRAMEKIT_BIN", "target/debug/framekit")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[3] / "python"))

pyspark = pytest.importorskip("pyspark", reason="the Spark venv (scripts/spark-venv.sh)")
import framekit_spark  # noqa: E402


@pytest.fixture(scope="module")
def requests(tmp_path_factory):
    folder = tmp_path_factory.mktemp("spark")
    clips = []
    for name, codec in (("a.mp4", ["-c:v", "libx264", "-bf", "2"]),
                        ("b.avi", ["-c:v", "mpeg4", "-vtag", "XVID", "-bf", "2"]),
                        ("c.webm", ["-c:v", "libvpx-vp9", "-deadline", "realtime",
                                    "-cpu-used", "8"])):
        path = folder / name
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                        "testsrc2=size=160x120:rate=25:duration=2", *codec, str(path)],
                       check=True)
        clips.append(str(path))
    ids = ["1,30", "2", "50,1", "10,11,12"]
    rows = []
    for n in range(30):
        path = str(folder / "missing.mp4") if n % 11 == 4 else clips[n % len(clips)]
        rows.append({"id": str(n), "path": path, "ids": ids[n % len(ids)]})
    return rows


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    session = (SparkSession.builder.master("local[2]").appName("framekit-inprocess")
               .config("spark.ui.enabled", "false")
               .config("spark.driver.bindAddress", "127.0.0.1")
               .config("spark.driver.host", "127.0.0.1")
               .config("spark.sql.execution.arrow.maxRecordsPerBatch", "7")
               .config("spark.executorEnv.PYTHONPATH", os.pathsep.join(sys.path))
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def expected_rows(requests):
    text = "".join(json.dumps(r) + "\n" for r in requests)
    out = subprocess.run([FRAMEKIT, "frames", "--jsonl"], input=text, capture_output=True,
                         check=True, text=True).stdout
    return {str(row["id"]): row for row in map(json.loads, out.splitlines())}


def test_inprocess_rows_equal_the_clis_answers(spark, requests):
    expected = expected_rows(requests)
    df = spark.createDataFrame([(r["id"], r["path"], r["ids"]) for r in requests],
                               "rid string, path string, ids string").repartition(3)
    rows = [row.asDict() for row in
            framekit_spark.frames_df_inprocess(df, id_col="rid").collect()]
    assert len(rows) == len(requests)
    for row in rows:
        want = expected[row["id"]]
        assert row["path"] == want["path"]
        assert row["frames"] == want["frames"], row["id"]
        assert list(row["ids"] or []) == list(want["ids"])
        assert (row["error"] is None) == (want["error"] is None), (row, want)
    assert sum(row["error"] is not None for row in rows) == 3

    pngs = [row.asDict() for row in
            framekit_spark.frames_df_inprocess(df, id_col="rid", frames_as="png").collect()]
    assert len(pngs) == len(requests)
    for row in pngs:
        want = expected[row["id"]]
        parts = [base64.b64decode(p) for p in want["frames"].split("|") if p]
        assert [bytes(p) for p in row["pngs"]] == parts, row["id"]
        if parts:
            assert parts[0][:8] == b"\x89PNG\r\n\x1a\n"


def test_repeated_requests_in_a_batch_each_get_their_row(spark, requests):
    """Rows asking for the same frames of the same file are decoded once per batch; every row
    still comes back with its own id and the CLI's answer."""
    clip = next(r["path"] for r in requests if not r["path"].endswith("missing.mp4"))
    rows = [(f"r{n}", clip, "1,30" if n % 2 else "2") for n in range(6)]
    expected = expected_rows([{"id": rid, "path": path, "ids": ids}
                              for rid, path, ids in rows])
    df = spark.createDataFrame(rows, "rid string, path string, ids string").coalesce(1)
    got = [row.asDict() for row in
           framekit_spark.frames_df_inprocess(df, id_col="rid").collect()]
    assert sorted(row["id"] for row in got) == sorted(rid for rid, _, _ in rows)
    for row in got:
        assert row["frames"] == expected[row["id"]]["frames"], row["id"]
        assert list(row["ids"]) == list(expected[row["id"]]["ids"])
