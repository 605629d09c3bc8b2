"""shopstream_hourly: the lakehouse pipeline (the shopstream CLI) on Airflow 2.x (>= 2.6).

    ingest -> build_marts -> load_marts -> load_raw -> gdpr_requests_present -> gdpr_forget
           -> maintenance_window -> optimize_raw_events -> vacuum_tables -> checkpoint_tables

Every task shells out to the `shopstream` CLI (installed on the workers' PATH, e.g. `npm install -g`
from this repository, or run on the image built from infra/docker/Dockerfile). The tasks run one
after the other and max_active_runs=1, so no two writers of this DAG ever overlap; the CLI itself
still detects concurrent writers from elsewhere (exit 75, retried below).

Retries and exit codes (see "Exit codes" in the README and src/errors.ts):

    64 usage, 65 bad data, 70 bug, 78 configuration -> fail at once, never retried: rerunning the same
        command on the same input and configuration gives the same answer. Fix, then clear the task.
    69 unavailable, 75 retryable conflict (and anything else) -> retried with exponential backoff.

BashOperator has no "fail without retry on exit code N" option: `skip_on_exit_code` turns the listed
codes into AirflowSkipException, which would mark the task *skipped* (and let a later run carry on as
if nothing happened). ShopstreamBashOperator below lists the non-retryable codes in
`skip_on_exit_code` and converts that skip into AirflowFailException, Airflow's documented way to fail
a task without using its remaining retries. Every other non-zero exit stays an ordinary
AirflowException, which Airflow retries (retries, retry_exponential_backoff, max_retry_delay).

Configuration comes from Airflow Variables and one Connection, rendered into each task's `env`
(templated, so nothing is read from the metadata database when the scheduler parses this file) with
append_env=True so PATH, HOME and the worker's AWS credentials chain stay visible to the CLI:

    Variable shopstream_lake                    SHOPSTREAM_LAKE, e.g. s3://analytics-lake/shopstream
    Variable shopstream_landing                 what `ingest` reads, e.g. s3://landing/clickstream/
    Variable shopstream_s3_endpoint             AWS_ENDPOINT_URL_S3 (empty for AWS S3)
    Variable shopstream_aws_region              AWS_REGION
    Variable shopstream_warehouse_kind          SHOPSTREAM_WAREHOUSE_KIND: duckdb | snowflake
    Variable shopstream_warehouse_path          SHOPSTREAM_WAREHOUSE (the DuckDB file)
    Variable shopstream_raw_warehouse_path      DuckDB only: a separate file for raw_events (personal
                                                data); unset: raw_events is not loaded
    Variable shopstream_pseudonym_secret        SHOPSTREAM_PSEUDONYM_KEY (Airflow masks the values of
                                                Variables whose names contain "secret" in logs and UI)
    Variable shopstream_gdpr_requests_file      the inbox of erasure requests, one user id per line
    Variable shopstream_maintenance_hour        UTC hour of the nightly table maintenance (3)
    Connection shopstream_snowflake             login = user; password or extra.private_key_path;
                                                extra: account, role, warehouse, database, schema,
                                                raw_schema, external_stage, access_url (optional)

SHOPSTREAM_ACTOR=airflow makes every audit_log row name Airflow as the actor, and SHOPSTREAM_RUN_ID
(Airflow's run_id) stamps one run id on everything the tasks of a DAG run write.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow import DAG
from airflow.exceptions import AirflowFailException, AirflowSkipException
from airflow.operators.bash import BashOperator
from airflow.operators.python import ShortCircuitOperator

# src/errors.ts ExitCode: usage 64, data 65, bug 70, config 78. Retrying these cannot succeed.
NON_RETRYABLE_EXIT_CODES = (64, 65, 70, 78)

DAG_ID = "shopstream_hourly"
CONN_ID = "shopstream_snowflake"


def _var(name: str, default: str) -> str:
    """A Jinja expression reading an Airflow Variable at run time (not at parse time)."""
    return "{{ var.value.get('%s', '%s') }}" % (name, default)


def _conn_extra(field: str, default: str = "") -> str:
    return "{{ conn.%s.extra_dejson.get('%s', '%s') }}" % (CONN_ID, field, default)


# The CLI's own environment variables (src/config/resolve-config.ts, src/governance/actor.ts).
# Empty values are ignored by shopstream, so unset Variables fall back to its defaults.
CLI_ENV = {
    "SHOPSTREAM_ACTOR": "airflow",
    # One id for the whole DAG run on every commit, load, audit and pipeline_runs row (README,
    # section on the `run` command): the Airflow run id traces a run from its UI to lake and warehouse.
    "SHOPSTREAM_RUN_ID": "{{ run_id }}",
    "SHOPSTREAM_LAKE": _var("shopstream_lake", "/data/shopstream/lake"),
    "AWS_ENDPOINT_URL_S3": _var("shopstream_s3_endpoint", ""),
    "AWS_REGION": _var("shopstream_aws_region", "us-east-1"),
    "SHOPSTREAM_WAREHOUSE_KIND": _var("shopstream_warehouse_kind", "duckdb"),
    "SHOPSTREAM_WAREHOUSE": _var("shopstream_warehouse_path", "/data/shopstream/warehouse.duckdb"),
    "SHOPSTREAM_PSEUDONYM_KEY": _var("shopstream_pseudonym_secret", ""),
    "SHOPSTREAM_DUCKDB_THREADS": _var("shopstream_duckdb_threads", ""),
    "SHOPSTREAM_DUCKDB_MEMORY_LIMIT": _var("shopstream_duckdb_memory_limit", ""),
}

# Snowflake: only rendered when the warehouse is Snowflake, so a DuckDB deployment needs no
# Connection. Key-pair auth (private_key_path in the Connection's extra) is preferred.
_IF_SNOWFLAKE = "{%% if var.value.get('shopstream_warehouse_kind', 'duckdb') == 'snowflake' %%}%s{%% endif %%}"
WAREHOUSE_ENV = {
    "SNOWFLAKE_ACCOUNT": _IF_SNOWFLAKE % _conn_extra("account"),
    "SNOWFLAKE_USER": _IF_SNOWFLAKE % ("{{ conn.%s.login }}" % CONN_ID),
    "SNOWFLAKE_PASSWORD": _IF_SNOWFLAKE % ("{{ conn.%s.password or '' }}" % CONN_ID),
    "SNOWFLAKE_PRIVATE_KEY_PATH": _IF_SNOWFLAKE % _conn_extra("private_key_path"),
    "SNOWFLAKE_ROLE": _IF_SNOWFLAKE % _conn_extra("role", "SHOPSTREAM_LOADER"),
    "SNOWFLAKE_WAREHOUSE": _IF_SNOWFLAKE % _conn_extra("warehouse", "SHOPSTREAM_WH"),
    "SNOWFLAKE_DATABASE": _IF_SNOWFLAKE % _conn_extra("database", "SHOPSTREAM"),
    "SNOWFLAKE_SCHEMA": _IF_SNOWFLAKE % _conn_extra("schema", "MARTS"),
    "SNOWFLAKE_EXTERNAL_STAGE": _IF_SNOWFLAKE % _conn_extra("external_stage"),
    "SNOWFLAKE_ACCESS_URL": _IF_SNOWFLAKE % _conn_extra("access_url"),
}

ENV = {**CLI_ENV, **WAREHOUSE_ENV}

# raw_events goes to its own schema (RAW) so that analysts, who are granted MARTS only, never see it.
# A DuckDB warehouse has no such separation inside the analysts' file: raw_events goes to a file of
# its own (Variable shopstream_raw_warehouse_path), or is not loaded.
RAW_LOAD_ENV = {
    **ENV,
    "SNOWFLAKE_SCHEMA": _IF_SNOWFLAKE % _conn_extra("raw_schema", "RAW"),
    "SHOPSTREAM_WAREHOUSE": _var("shopstream_raw_warehouse_path", ""),
}
_IS_SNOWFLAKE = "var.value.get('shopstream_warehouse_kind', 'duckdb') == 'snowflake'"
LOAD_RAW_COMMAND = (
    "{%% if %s or var.value.get('shopstream_raw_warehouse_path', '') %%}"
    "shopstream load --tables raw_events --json"
    "{%% else %%}"
    "echo 'raw_events not loaded: the DuckDB warehouse is the analysts file (set shopstream_raw_warehouse_path)'"
    "{%% endif %%}"
) % _IS_SNOWFLAKE

# The lake's tables, one a line, as the lake lists them (node runs the CLI, so it is on the workers).
LAKE_TABLES = (
    "shopstream table list --json | node -e 'let s = \"\"; process.stdin.on(\"data\", (d) => (s += d))"
    ".on(\"end\", () => { for (const t of JSON.parse(s)) console.log(t.name); })'"
)

GDPR_INBOX = _var("shopstream_gdpr_requests_file", "/data/shopstream/gdpr/requests.txt")


class ShopstreamBashOperator(BashOperator):
    """BashOperator that fails without retrying on shopstream's non-retryable exit codes.

    The listed codes go through BashOperator's public `skip_on_exit_code` (which raises
    AirflowSkipException for exactly those codes) and are re-raised here as AirflowFailException,
    so the task ends *failed*, downstream tasks are upstream_failed and no retry is spent.
    """

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("env", ENV)
        super().__init__(
            skip_on_exit_code=list(NON_RETRYABLE_EXIT_CODES),
            append_env=True,
            do_xcom_push=False,  # --json prints a multi-line document; the log keeps it
            **kwargs,
        )

    def execute(self, context):
        try:
            return super().execute(context)
        except AirflowSkipException as stop:
            reason = str(stop).replace(" Skipping.", "")
            raise AirflowFailException(
                f"not retried: {reason} Exit codes {NON_RETRYABLE_EXIT_CODES} mean bad usage, bad "
                "data, a bug or bad configuration; fix it, then clear this task."
            ) from stop


def gdpr_requests_present(inbox: str) -> bool:
    """True when there are erasure requests to process: new ones in the inbox, or ones a failed run
    already claimed (`<inbox>.processing`). False skips gdpr_forget only."""
    for path in (inbox, f"{inbox}.processing"):
        if os.path.isfile(path) and os.path.getsize(path) > 0:
            return True
    return False


def maintenance_due(maintenance_hour: str, data_interval_start=None, **_) -> bool:
    """Table maintenance once a day, in the run whose interval starts at the maintenance hour."""
    return data_interval_start is not None and data_interval_start.hour == int(maintenance_hour or 3)


default_args = {
    "owner": "data-platform",
    "depends_on_past": False,
    "retries": 4,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": True,  # 1, 2, 4, 8 minutes (with jitter), capped below
    "max_retry_delay": timedelta(minutes=20),
    # Generous: a first ingest or a --full-refresh can take long. Runs never overlap anyway
    # (max_active_runs=1): the next one waits in the queue.
    "execution_timeout": timedelta(hours=2),
}

with DAG(
    dag_id=DAG_ID,
    description="shopstream: ingest -> build-marts -> load, GDPR erasure, nightly table maintenance",
    schedule="@hourly",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["shopstream", "lakehouse"],
) as dag:
    # Exactly once per landed file (fingerprints are committed with the data), so reading the whole
    # landing location every hour lands only what is new; bad records go to quarantine (exit 65
    # above --max-bad-ratio, after the good ones are landed).
    ingest = ShopstreamBashOperator(
        task_id="ingest",
        bash_command="shopstream ingest \"%s\" --json" % _var("shopstream_landing", "/data/shopstream/landing"),
    )

    # Incremental: only the hours and users the new raw data touched; quality checks exit 65.
    build_marts = ShopstreamBashOperator(
        task_id="build_marts",
        bash_command="shopstream build-marts --json",
    )

    # The six marts into the warehouse (Snowflake: schema MARTS), exactly once per Delta version.
    load_marts = ShopstreamBashOperator(
        task_id="load_marts",
        bash_command="shopstream load --json",
    )

    # raw_events into its own schema (RAW), where only the loader and risk roles can read it.
    load_raw = ShopstreamBashOperator(
        task_id="load_raw",
        bash_command=LOAD_RAW_COMMAND,
        env=RAW_LOAD_ENV,
    )

    # Skips only gdpr_forget when there is nothing to forget; the maintenance branch still runs.
    gdpr_check = ShortCircuitOperator(
        task_id="gdpr_requests_present",
        python_callable=gdpr_requests_present,
        op_kwargs={"inbox": GDPR_INBOX},
        ignore_downstream_trigger_rules=False,
    )

    # The inbox is claimed with an atomic rename (requests arriving during the run wait for the
    # next one) and appended to <inbox>.processing, which survives failures and retries; forgetting
    # is idempotent, so a retry reprocesses the whole claimed list safely. When it succeeds the
    # list is deleted: the ids must not outlive the erasure (deletion_requests keeps the receipts,
    # by pseudonymized key). A missing --file would be exit 64, hence the short circuit above.
    gdpr_forget = ShopstreamBashOperator(
        task_id="gdpr_forget",
        bash_command="""
set -euo pipefail
inbox="%s"
work="${inbox}.processing"
if [ -s "$inbox" ]; then
  claim="${inbox}.claim.$$"
  mv "$inbox" "$claim"
  cat "$claim" >> "$work"
  rm -f "$claim"
fi
shopstream gdpr forget --file "$work" --json
rm -f "$work"
""" % GDPR_INBOX,
        retries=2,
    )

    maintenance = ShortCircuitOperator(
        task_id="maintenance_window",
        python_callable=maintenance_due,
        op_kwargs={"maintenance_hour": _var("shopstream_maintenance_hour", "3")},
        trigger_rule="none_failed",  # runs whether gdpr_forget ran or was skipped
    )

    # Compaction commits with dataChange=false: marts and loads see no new data. The record
    # tables (audit_log, pipeline_runs) get one small file per command, so they are compacted too.
    optimize_raw_events = ShopstreamBashOperator(
        task_id="optimize_raw_events",
        bash_command=(
            "shopstream table optimize raw_events --json"
            " && shopstream table optimize audit_log --json"
            " && shopstream table optimize pipeline_runs --json"
        ),
    )

    # Every table of the lake (marts rewrite partitions on every build, so they collect unreferenced
    # files too): deletes unreferenced files older than the table's retention (168h: time travel
    # keeps a week).
    vacuum_tables = ShopstreamBashOperator(
        task_id="vacuum_tables",
        bash_command=(
            "set -euo pipefail\n"
            "tables=\"$(%s)\"\n"
            "for table in $tables; do shopstream table vacuum \"$table\" --json; done\n" % LAKE_TABLES
        ),
    )

    # Checkpoints every table and deletes its log files past the log retention (30 days): the only
    # command that cleans the _delta_log directories.
    checkpoint_tables = ShopstreamBashOperator(
        task_id="checkpoint_tables",
        bash_command=(
            "set -euo pipefail\n"
            "tables=\"$(%s)\"\n"
            "for table in $tables; do shopstream table checkpoint \"$table\" --json; done\n" % LAKE_TABLES
        ),
    )

    ingest >> build_marts >> load_marts >> load_raw >> gdpr_check >> gdpr_forget >> maintenance
    maintenance >> optimize_raw_events >> vacuum_tables >> checkpoint_tables
