"""Run by tests/spark.rs inside target/spark-venv: 50 requests across 4 partitions of a real
local[2] Spark, through frames_rdd and frames_df; every row must equal framekit's own answer
for the same request (the JSONL rows in EXPECTED), and a bad file must be an error row, not a
failed task. Exits non-zero with a message on any difference."""

import json
import os
import sys

sys.path.insert(0, os.environ["FRAMEKIT_PYTHON_DIR"])

from pyspark.sql import SparkSession  # noqa: E402

import framekit_spark  # noqa: E402

binary = os.environ["FRAMEKIT_BIN"]
requests = [json.loads(line) for line in open(os.environ["REQUESTS"])]
expected = {str(row["id"]): row for row in map(json.loads, open(os.environ["EXPECTED"]))}

spark = (SparkSession.builder.master("local[2]").appName("framekit-test")
         .config("spark.ui.enabled", "false")
         .config("spark.sql.execution.arrow.pyspark.enabled", "true")
         .config("spark.driver.bindAddress", "127.0.0.1")
         .config("spark.driver.host", "127.0.0.1")
         .getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
problems = []


def check(source, rows):
    if len(rows) != len(requests):
        problems.append(f"{source}: {len(rows)} rows for {len(requests)} requests")
    for row in rows:
        want = expected.get(str(row["id"]))
        if want is None:
            problems.append(f"{source}: unexpected id {row['id']}")
            continue
        if row["path"] != want["path"] or row["frames"] != want["frames"]:
            problems.append(f"{source}: request {row['id']}: path or frames differ")
        if list(row["ids"] or []) != list(want["ids"]):
            problems.append(f"{source}: request {row['id']}: ids {row['ids']} != {want['ids']}")
        if (row["error"] is None) != (want["error"] is None):
            problems.append(f"{source}: request {row['id']}: error {row['error']!r}, "
                            f"expected {want['error']!r}")


rdd = spark.sparkContext.parallelize(requests, 4)
check("frames_rdd", framekit_spark.frames_rdd(rdd, binary=binary).collect())

df = spark.createDataFrame([(str(r["id"]), r["path"], r["ids"]) for r in requests],
                           "rid string, path string, ids string").repartition(4)
result = framekit_spark.frames_df(df, id_col="rid", binary=binary)
check("frames_df", [row.asDict() for row in result.collect()])

bad = [r for r in requests if r["path"].endswith("missing.mp4")]
if not bad:
    problems.append("the requests hold no bad file")
spark.stop()
if problems:
    print("\n".join(problems[:20]))
    sys.exit(1)
print(f"spark: {len(requests)} requests through frames_rdd and frames_df match framekit")
