#!/usr/bin/env bash
# Runs the pipeline of the shopstream CLI from cron: one mode per call, never two runs at once.
#
#   shopstream-pipeline.sh pipeline      ingest -> build-marts -> load (marts) -> load (raw_events)
#   shopstream-pipeline.sh gdpr          forget the users listed in the erasure inbox, if any
#   shopstream-pipeline.sh maintenance   compact raw_events, audit_log, pipeline_runs; then every
#                                        table of the lake: vacuum (old data files) and checkpoint
#                                        (the only command that deletes expired log files)
#
# raw_events holds personal data (user ids, IPs): it goes to Snowflake's RAW schema, never into the
# analysts' DuckDB file. With a DuckDB warehouse it is loaded only into a file of its own
# (PIPELINE_RAW_WAREHOUSE, e.g. /data/shopstream/raw.duckdb, readable by the pipeline user only).
#
# Every mode takes the same lock (flock), so runs never overlap: the hourly pipeline gives up at
# once when another run holds it (the next hour catches up: ingest is exactly once per file and
# build-marts incremental); gdpr and maintenance wait up to PIPELINE_LOCK_WAIT_SECONDS for it.
#
# Steps run in order and the first failing step ends the run with its exit code (README "Exit
# codes"): 69 (a service is unavailable) and 75 (retryable conflict) are retried once after
# PIPELINE_RETRY_PAUSE_SECONDS; 64 usage, 65 bad data, 78 configuration and anything else are not.
#
# Configuration: the CLI reads its own variables (SHOPSTREAM_LAKE, SHOPSTREAM_WAREHOUSE_KIND,
# SNOWFLAKE_*, SHOPSTREAM_PSEUDONYM_KEY, AWS_ENDPOINT_URL_S3, ...) from the environment; put them in
# PIPELINE_ENV_FILE (default /etc/shopstream/shopstream.env, mode 0600, KEY=value lines). AWS
# credentials come from the instance role. Variables of this script:
#   PIPELINE_ENV_FILE            KEY=value file sourced first            /etc/shopstream/shopstream.env
#   PIPELINE_LANDING             what ingest reads (dir, glob, s3://)    /data/shopstream/landing
#   PIPELINE_GDPR_INBOX          erasure requests, one user id a line    /data/shopstream/gdpr/requests.txt
#   PIPELINE_RAW_SCHEMA          Snowflake schema for raw_events         RAW
#   PIPELINE_RAW_WAREHOUSE       DuckDB file for raw_events (DuckDB)     unset: raw_events not loaded
#   PIPELINE_LOG_DIR             dated logs, kept 14 days                /var/log/shopstream
#   PIPELINE_LOCK_FILE           the lock every mode takes               /var/lock/shopstream-pipeline.lock
#   PIPELINE_LOCK_WAIT_SECONDS   gdpr/maintenance wait for the lock      2700
#   PIPELINE_RETRY_PAUSE_SECONDS pause before the one retry of 69/75     60
set -euo pipefail

mode="${1:-pipeline}"
case "$mode" in
  pipeline | gdpr | maintenance) ;;
  *)
    echo "usage: $0 [pipeline|gdpr|maintenance]" >&2
    exit 64
    ;;
esac

env_file="${PIPELINE_ENV_FILE:-/etc/shopstream/shopstream.env}"
if [[ -r "$env_file" ]]; then
  set -a
  # shellcheck source=/dev/null
  . "$env_file"
  set +a
fi

export SHOPSTREAM_ACTOR="${SHOPSTREAM_ACTOR:-cron}"
# one run id for every step of this run (commits, loads, audit_log, pipeline_runs)
export SHOPSTREAM_RUN_ID="${SHOPSTREAM_RUN_ID:-cron-$mode-$(date -u +%Y%m%dT%H%M%SZ)-$$}"
landing="${PIPELINE_LANDING:-/data/shopstream/landing}"
gdpr_inbox="${PIPELINE_GDPR_INBOX:-/data/shopstream/gdpr/requests.txt}"
raw_schema="${PIPELINE_RAW_SCHEMA:-RAW}"
raw_warehouse="${PIPELINE_RAW_WAREHOUSE:-}"
log_dir="${PIPELINE_LOG_DIR:-/var/log/shopstream}"
lock_file="${PIPELINE_LOCK_FILE:-/var/lock/shopstream-pipeline.lock}"
lock_wait="${PIPELINE_LOCK_WAIT_SECONDS:-2700}"
retry_pause="${PIPELINE_RETRY_PAUSE_SECONDS:-60}"

# Logs: one file per mode and UTC day, appended to; files older than 14 days are deleted.
mkdir -p "$log_dir"
log_file="$log_dir/$mode-$(date -u +%Y-%m-%d).log"
exec >>"$log_file" 2>&1
find "$log_dir" -maxdepth 1 -type f -name '*.log' -mtime +14 -delete

log() {
  printf '%s [%s %s] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$mode" "$$" "$*"
}

# One run at a time, across every mode. The lock is released when this process exits.
exec 9>"$lock_file"
if [[ "$mode" == pipeline ]]; then
  if ! flock -n 9; then
    log "another run holds $lock_file; skipping this hour"
    exit 0
  fi
elif ! flock -w "$lock_wait" 9; then
  log "another run held $lock_file for ${lock_wait}s; giving up (exit 75: retry later)"
  exit 75
fi

# run_step NAME COMMAND...: runs the command; 69 and 75 are retried once after a pause.
# Returns the command's exit code.
run_step() {
  local name="$1"
  shift
  local attempt=1 code started
  while true; do
    started=$SECONDS
    log "step $name: start (attempt $attempt)"
    if "$@"; then
      log "step $name: ok in $((SECONDS - started))s"
      return 0
    else
      code=$?
    fi
    log "step $name: exit $code after $((SECONDS - started))s"
    case "$code" in
      69 | 75)
        if ((attempt == 1)); then
          attempt=2
          log "step $name: retryable (69 unavailable / 75 conflict): retrying in ${retry_pause}s"
          sleep "$retry_pause"
          continue
        fi
        ;;
    esac
    return "$code"
  done
}

# lake_tables: the lake's table names, one a line (node runs the CLI, so it is there to read JSON)
lake_tables() {
  shopstream table list --json | node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => { for (const t of JSON.parse(s)) console.log(t.name); })'
}

log "start run $SHOPSTREAM_RUN_ID (lake ${SHOPSTREAM_LAKE:-./lake}, warehouse ${SHOPSTREAM_WAREHOUSE_KIND:-duckdb})"
case "$mode" in
  pipeline)
    run_step ingest shopstream ingest "$landing" --json || exit "$?"
    run_step build-marts shopstream build-marts --json || exit "$?"
    run_step load shopstream load --json || exit "$?"
    # raw_events in its own Snowflake schema (analysts are granted the marts' schema only). A
    # DuckDB warehouse has no schemas to keep it apart: there it goes to a file of its own, if any.
    if [[ "${SHOPSTREAM_WAREHOUSE_KIND:-duckdb}" == snowflake ]]; then
      run_step load-raw env SNOWFLAKE_SCHEMA="$raw_schema" shopstream load --tables raw_events --json || exit "$?"
    elif [[ -n "$raw_warehouse" ]]; then
      run_step load-raw env SHOPSTREAM_WAREHOUSE="$raw_warehouse" shopstream load --tables raw_events --json || exit "$?"
    else
      log "raw_events not loaded: the DuckDB warehouse is the analysts' file (PIPELINE_RAW_WAREHOUSE names a separate one)"
    fi
    ;;
  gdpr)
    # Claim the inbox with an atomic rename (requests written meanwhile wait for the next run),
    # add it to the work list, which survives a failed run; forgetting is idempotent, so the
    # next run redoes the whole list. A missing --file would be a usage error (64), hence the test.
    work="$gdpr_inbox.processing"
    if [[ -s "$gdpr_inbox" ]]; then
      claim="$gdpr_inbox.claim.$$"
      mv "$gdpr_inbox" "$claim"
      cat "$claim" >>"$work"
      rm -f "$claim"
    fi
    if [[ ! -s "$work" ]]; then
      log "no erasure requests"
      exit 0
    fi
    run_step gdpr-forget shopstream gdpr forget --file "$work" --json || exit "$?"
    # the ids must not outlive the erasure: deletion_requests keeps the receipts (by user key)
    rm -f "$work"
    ;;
  maintenance)
    run_step optimize shopstream table optimize raw_events --json || exit "$?"
    # the record tables get one small file per command: compact them too
    run_step optimize-audit shopstream table optimize audit_log --json || exit "$?"
    run_step optimize-runs shopstream table optimize pipeline_runs --json || exit "$?"
    # every table of the lake, as the lake lists it (a table created since is not forgotten):
    # vacuum deletes data files unreferenced for longer than the table's retention (marts rewrite
    # partitions on every build), checkpoint deletes log files past the log retention
    tables="$(lake_tables)" || exit "$?"
    for table in $tables; do
      run_step "vacuum $table" shopstream table vacuum "$table" --json || exit "$?"
      run_step "checkpoint $table" shopstream table checkpoint "$table" --json || exit "$?"
    done
    ;;
esac
log "done"
