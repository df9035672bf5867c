"""The DuckDB side of bench/run.sh: the same query on the same file, result
written as CSV like Sunward's output. Usage: duckdb_job.py groupby|load_csv DATA_DIR OUT_DIR"""
import os
import sys

import duckdb

QUERIES = {
    "groupby": """
        SELECT school_id, service_type, COUNT(*) AS events, SUM(participants) AS participants,
               COUNT(DISTINCT student_ref) AS students
        FROM read_parquet('{data}/services.parquet')
        GROUP BY school_id, service_type ORDER BY school_id, service_type""",
    "load_csv": """
        SELECT COUNT(*) AS service_rows, COUNT(DISTINCT student_ref) AS students
        FROM read_csv('{data}/services.csv', header = true, all_varchar = false)""",
}

job, data, out = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(out, exist_ok=True)
query = QUERIES[job].format(data=data)
duckdb.sql(f"COPY ({query}) TO '{out}/{job}.csv' (HEADER)")
