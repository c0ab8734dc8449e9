"""framekit for Spark: frames of many clips through one framekit process per partition.

framekit's `frames --jsonl` mode reads one request per line on stdin,
``{"path": "clip.mp4", "ids": "1,30", "id": 7}``, and writes one result per line, in input
order: ``{"id": 7, "path": ..., "frames": "<b64>|<b64>", "ids": [1, 30], "error": null}``.
A bad file or id list gives a row with ``"error"`` set and ``"frames": ""``; the stream goes
on. This module feeds Spark data through it:

- :func:`frames_rdd` for RDDs of request dicts, built on ``rdd.pipe``;
- :func:`frames_df` for DataFrames, built on ``mapInPandas``: one framekit process per
  partition, rows streamed through it as they come.
- :func:`frames_df_inprocess` for DataFrames, built on ``mapInArrow`` with the ``framekit``
  Python module imported on the executors (``pip install`` it there): no process, no JSON
  pipe; frames as base64 text like the others, or as PNG bytes (``frames_as="png"``).

The framekit binary must be on every executor: install it on each node (then ``binary`` is
``"framekit"`` or its path), or ship it with ``spark-submit --files /path/to/framekit`` and pass
``binary=shipped_binary()``, which finds it with ``SparkFiles``.
"""

import json
import os
import stat
import subprocess
import threading

RESULT_SCHEMA = "id string, path string, frames string, ids array<int>, error string"
PNG_RESULT_SCHEMA = "id string, path string, pngs array<binary>, ids array<int>, error string"


def shipped_binary(name="framekit"):
    """The path of a binary shipped with ``--files`` (or ``sc.addFile``), made executable."""
    from pyspark import SparkFiles

    path = SparkFiles.get(name)
    mode = os.stat(path).st_mode
    if not mode & stat.S_IXUSR:
        os.chmod(path, mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def _task_cpus(spark_context):
    """The cores Spark gives one task (``spark.task.cpus``, 1 unless configured)."""
    return max(1, int(spark_context.getConf().get("spark.task.cpus", "1")))


def _command(binary, threads, cores, extra):
    # framekit decodes on the task's cores only: Spark runs one task per core at once, and
    # decoder threads beyond a task's share would contend with the other tasks' processes.
    threads = cores if threads is None else threads
    return [binary, "frames", "--jsonl", "--threads", str(threads), "--cores", str(cores)] + list(
        extra or [])


def frames_rdd(requests, binary="framekit", threads=None, extra_args=None):
    """Frames for an RDD of request dicts (``path``, ``ids``, optional ``id`` and ``format``).

    Returns an RDD of result dicts, one per request, in the order of its partition. One
    framekit process runs per partition (``rdd.pipe``), on the task's cores
    (``spark.task.cpus``); ``threads`` decoders run in each (default: one per task core).
    """
    cores = _task_cpus(requests.context)
    command = " ".join(_shell_quote(part)
                       for part in _command(binary, threads, cores, extra_args))
    return requests.map(json.dumps).pipe(command).map(json.loads)


def _shell_quote(text):
    if text and all(c.isalnum() or c in "/._-=:," for c in text):
        return text
    return "'" + text.replace("'", "'\"'\"'") + "'"


def frames_df(df, path_col="path", ids_col="ids", id_col=None, binary="framekit", threads=None,
              extra_args=None, batch_rows=256):
    """Frames for a DataFrame with a path column and an id-list column.

    Returns a DataFrame with :data:`RESULT_SCHEMA` (``id`` is the ``id_col`` value as a string,
    or the row's position in its partition). One framekit process per partition; rows stream
    through it (a writer thread feeds requests while results are read and yielded in batches
    of ``batch_rows``), so a partition never sits in memory whole. The process decodes on the
    task's cores (``spark.task.cpus``) with ``threads`` decoders (default: one per task core).
    """
    # Built here on the driver: the function below is shipped to executors, where this module
    # need not be importable.
    command = _command(binary, threads, _task_cpus(df.sparkSession.sparkContext), extra_args)

    def run(batches):
        import pandas as pd

        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   text=True, bufsize=1)
        failure = []

        def feed():
            try:
                position = 0
                for batch in batches:
                    for row in batch.itertuples(index=False):
                        row = row._asdict()
                        request = {"path": str(row[path_col]), "ids": str(row[ids_col]),
                                   "id": str(row[id_col]) if id_col else str(position)}
                        process.stdin.write(json.dumps(request) + "\n")
                        position += 1
            except Exception as error:  # surfaced after the results are read
                failure.append(error)
            finally:
                process.stdin.close()

        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        rows = []
        for line in process.stdout:
            result = json.loads(line)
            rows.append({"id": None if result["id"] is None else str(result["id"]),
                         "path": result["path"], "frames": result["frames"],
                         "ids": result["ids"], "error": result["error"]})
            if len(rows) >= batch_rows:
                yield pd.DataFrame(rows)
                rows = []
        writer.join()
        code = process.wait()
        if failure:
            raise failure[0]
        if code != 0:
            raise RuntimeError(f"framekit exited with code {code}")
        if rows:
            yield pd.DataFrame(rows)

    return df.mapInPandas(run, RESULT_SCHEMA)


def frames_df_inprocess(df, path_col="path", ids_col="ids", id_col=None, threads=None,
                        frames_as="base64"):
    """Frames for a DataFrame, decoded inside the executors' Python workers.

    The same requests and answers as :func:`frames_df` (byte-identical frames), through the
    ``framekit`` module (``pip install`` on every executor) and ``mapInArrow``: each Arrow
    batch of rows is answered by ``threads`` decoders at once (default: one per task core)
    sharing the task's cores (``spark.task.cpus``), with the GIL released while they decode;
    the rows of a batch that name the same file share one reader, and each frame is decoded
    and encoded once for all of them (``framekit.frames_grouped``).
    ``frames_as="base64"`` gives :data:`RESULT_SCHEMA` (``frames``: base64 PNGs joined by
    ``|``); ``frames_as="png"`` gives :data:`PNG_RESULT_SCHEMA` (``pngs``: one PNG's bytes per
    id). A bad file or id list is a row with ``error`` set, never a failed task.
    """
    if frames_as not in ("base64", "png"):
        raise ValueError(f'frames_as must be "base64" or "png", not {frames_as!r}')
    cores = _task_cpus(df.sparkSession.sparkContext)
    threads = cores if threads is None else threads
    schema = RESULT_SCHEMA if frames_as == "base64" else PNG_RESULT_SCHEMA

    def run(batches):
        import base64

        import framekit
        import pyarrow as pa

        position = 0
        for batch in batches:
            columns = batch.to_pydict()
            paths = columns[path_col]
            id_lists = columns[ids_col]
            keys = columns[id_col] if id_col else range(position, position + len(paths))
            position += len(paths)
            requests = [{"path": str(path), "ids": str(ids), "id": str(key)}
                        for path, ids, key in zip(paths, id_lists, keys)]
            out = {"id": [], "path": [], "ids": [], "error": []}
            frames = []
            # The batch at once: rows naming the same clip share one reader, and each frame
            # is decoded and encoded once for all of them.
            for result in framekit.frames_grouped(requests, threads=threads, cores=cores):
                out["id"].append(None if result["id"] is None else str(result["id"]))
                out["path"].append(result["path"])
                out["ids"].append(result["ids"])
                out["error"].append(result["error"])
                if frames_as == "base64":
                    frames.append(result["frames"])
                else:
                    frames.append([base64.b64decode(part)
                                   for part in result["frames"].split("|") if part])
            out["frames" if frames_as == "base64" else "pngs"] = frames
            arrow_schema = pa.schema([
                ("id", pa.string()), ("path", pa.string()),
                ("frames", pa.string()) if frames_as == "base64"
                else ("pngs", pa.list_(pa.binary())),
                ("ids", pa.list_(pa.int32())), ("error", pa.string())])
            yield pa.RecordBatch.from_pydict(out, schema=arrow_schema)

    return df.mapInArrow(run, schema)
