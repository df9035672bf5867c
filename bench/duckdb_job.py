"""The DuckDB side of bench/run.sh: the same query on the same file, result
written as CSV like Sunward's output.

Usage: duckdb_job.py groupby|groupby_checked|load_csv DATA_DIR OUT_DIR

`groupby` reads only the three columns its query needs. `groupby_checked`
first does what Sunward's `contract: services` does to every row before
any query runs: every column read and trimmed, required values present,
codes in their lists, dates from 2000 to a year after today, counts not
below their minimum, and the first row of each record_id kept; then the same
GROUP BY over the rows that pass. (Sunward also writes each bad row's file,
place, column, rule and text to rejects/; this script only leaves them out.)"""
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
    "groupby_checked": """
        WITH stored AS (
            SELECT * FROM read_parquet('{data}/services.parquet', file_row_number = true)
        ),
        trimmed AS (
            SELECT file_row_number,
                   nullif(trim(record_id), '') AS record_id, nullif(trim(school_id), '') AS school_id,
                   service_date, nullif(trim(service_type), '') AS service_type,
                   nullif(trim(audience), '') AS audience, participants,
                   nullif(trim(student_ref), '') AS student_ref, nullif(trim(case_id), '') AS case_id,
                   nullif(trim(class_id), '') AS class_id, nullif(trim(worker_id), '') AS worker_id,
                   duration_min, nullif(trim(topic), '') AS topic
            FROM stored
        ),
        good AS (
            SELECT * FROM trimmed
            WHERE record_id IS NOT NULL AND school_id IS NOT NULL AND worker_id IS NOT NULL
              AND service_date BETWEEN DATE '2000-01-01' AND current_date + INTERVAL 12 MONTH
              AND service_type IN ('case_session', 'immediate_support', 'mailbox_reply', 'group_session',
                                   'growth_class', 'committee_training', 'teacher_workshop', 'parent_workshop',
                                   'consultation', 'hotline_call', 'home_visit', 'joint_meeting', 'campus_event')
              AND audience IN ('student', 'teacher', 'parent', 'committee', 'mixed')
              AND participants >= 1 AND (duration_min IS NULL OR duration_min >= 0)
            QUALIFY row_number() OVER (PARTITION BY record_id ORDER BY file_row_number) = 1
        )
        SELECT school_id, service_type, COUNT(*) AS events, SUM(participants) AS participants,
               COUNT(DISTINCT student_ref) AS students
        FROM good
        GROUP BY school_id, service_type ORDER BY school_id, service_type""",
}

job, data, out = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(out, exist_ok=True)
query = QUERIES[job].format(data=data)
duckdb.sql(f"COPY ({query}) TO '{out}/{job}.csv' (HEADER)")
