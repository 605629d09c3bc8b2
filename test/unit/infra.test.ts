/**
 * The deployment files under infra/ agree with the product: every `shopstream` invocation is a
 * command and flags the built CLI knows, every SHOPSTREAM_/SNOWFLAKE_/AWS_ variable is one the code
 * reads, exit-code handling matches src/errors.ts, the Terraform is least privilege and names only
 * the lake's tables, the scripts parse (and the cron script and the DAG behave as documented
 * against a stand-in CLI). No network, no Airflow, no Docker daemon needed.
 */

import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DockerfileParser, type From } from 'dockerfile-ast';
import { validate as lintDockerfile } from 'dockerfile-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { AUDIT_LOG } from '../../src/catalog/tables/audit-log.js';
import { DELETION_REQUESTS } from '../../src/catalog/tables/deletion-requests.js';
import { PIPELINE_RUNS } from '../../src/catalog/tables/pipeline-runs.js';
import { ExitCode } from '../../src/errors.js';
import { ROOT, tempDir } from '../helpers/cli.js';
import {
  asObj,
  block,
  blocks,
  loadTerraform,
  type Obj,
  strings,
  type Terraform,
} from '../helpers/terraform.js';

const INFRA = path.join(ROOT, 'infra');
const DAG_FILE = path.join(INFRA, 'airflow/shopstream_dag.py');
const CRONTAB = path.join(INFRA, 'cron/crontab');
const CRON_SCRIPT = path.join(INFRA, 'cron/shopstream-pipeline.sh');
const K8S_FILE = path.join(INFRA, 'k8s/cronjob.yaml');
const DOCKERFILE = path.join(INFRA, 'docker/Dockerfile');
const TERRAFORM_DIR = path.join(INFRA, 'terraform');

/** The lake's tables that reach the warehouse: raw_events and the six marts. */
const LAKE_TABLES = [
  'raw_events',
  'sessions',
  'conversion_daily',
  'customer_ltv',
  'fraud_user_minute',
  'fraud_flags',
  'metrics_minute',
];
/** Tables shopstream keeps for itself (table maintenance may name them too). */
const RECORD_TABLES = [AUDIT_LOG, PIPELINE_RUNS, DELETION_REQUESTS, 'quarantine'];
// a bug (70) does not go away on retry either: page a human (README "Exit codes")
const NON_RETRYABLE = [ExitCode.usage, ExitCode.data, ExitCode.bug, ExitCode.config].sort((a, b) => a - b);
const RETRYABLE = [ExitCode.unavailable, ExitCode.conflict];

const read = (file: string) => readFileSync(file, 'utf8');
const rel = (file: string) => path.relative(ROOT, file);

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? listFiles(full) : [full];
  });
}

function run(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string } = {},
) {
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    env: options.env ?? process.env,
    ...(options.input === undefined ? {} : { input: options.input }),
    timeout: 60_000,
  });
  return { status: result.status ?? -1, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

// ---- JSON of parsed HCL (test/helpers/terraform.ts) ---------------------------------------------

const resources = (tf: Terraform, type: string): [string, Obj][] => Object.entries(tf.resource[type] ?? {});
const resource = (tf: Terraform, type: string, name: string): Obj => {
  const found = tf.resource[type]?.[name];
  if (!found) throw new Error(`terraform: no resource ${type}.${name}`);
  return found;
};

/** Statements of an aws_iam_policy_document, including those of `dynamic "statement"` blocks. */
function policyStatements(doc: Obj): Obj[] {
  const dynamic = blocks(doc.dynamic).flatMap((d) => blocks(d.statement).flatMap((s) => blocks(s.content)));
  return [...blocks(doc.statement), ...dynamic];
}

// ---- the CLI's commands and flags (from the built dist/) ----------------------------------------

interface CommandClass {
  flags?: Record<string, { allowNo?: boolean }>;
  baseFlags?: Record<string, { allowNo?: boolean }>;
  enableJsonFlag?: boolean;
}

const COMMANDS_DIR = path.join(ROOT, 'dist/commands');

function commandIds(): Set<string> {
  return new Set(
    listFiles(COMMANDS_DIR)
      .filter((f) => f.endsWith('.js'))
      .map((f) => path.relative(COMMANDS_DIR, f).replace(/\.js$/, '').split(path.sep).join(' ')),
  );
}

const commandCache = new Map<string, CommandClass>();
async function commandClass(id: string): Promise<CommandClass> {
  const cached = commandCache.get(id);
  if (cached) return cached;
  const file = `${path.join(COMMANDS_DIR, ...id.split(' '))}.js`;
  const loaded = ((await import(pathToFileURL(file).href)) as { default: CommandClass }).default;
  commandCache.set(id, loaded);
  return loaded;
}

interface Invocation {
  readonly where: string;
  readonly id: string;
  readonly positional: readonly string[];
  readonly flags: readonly string[];
}

/**
 * Every `shopstream <command> [subcommand] ...` in a file: the word `shopstream` (not part of a path,
 * name or image tag) followed on the same line by a lower-case word. The command line ends at a shell
 * separator or a comment.
 */
function invocations(file: string, ids: ReadonlySet<string>): Invocation[] {
  const found: Invocation[] = [];
  const lines = read(file).split('\n');
  lines.forEach((line, index) => {
    for (const match of line.matchAll(/(?<![\w/.@$:-])shopstream[ \t]+([a-z][\w-]*)([^\n]*)/g)) {
      const rest = (match[2] ?? '').split(/&&|\|\||;|\||`|\s#/)[0] ?? '';
      const tokens = rest.trim().split(/\s+/).filter(Boolean);
      let id = match[1]!;
      if (tokens[0] && /^[a-z][\w-]*$/.test(tokens[0]) && ids.has(`${id} ${tokens[0]}`))
        id += ` ${tokens.shift()}`;
      const firstFlag = tokens.findIndex((t) => t.startsWith('-'));
      found.push({
        where: `${rel(file)}:${index + 1}`,
        id,
        positional: (firstFlag === -1 ? tokens : tokens.slice(0, firstFlag)).map((t) =>
          t.replace(/^["']|["']$/g, ''),
        ),
        flags: tokens.flatMap((t) => {
          const flag = /^--([a-z][\w-]*)/.exec(t);
          return flag ? [flag[1]!] : [];
        }),
      });
    }
  });
  return found;
}

/** Bytecode goes to a temp dir, not to infra/airflow/__pycache__. */
const pythonEnv = (): NodeJS.ProcessEnv => ({
  ...process.env,
  PYTHONPYCACHEPREFIX: tempDir('infra-pycache'),
});

// ---- environment variables the code reads -------------------------------------------------------

const ENV_PREFIX = '(?:SHOPSTREAM|SNOWFLAKE|AWS)_[A-Z0-9_]+';
const ENV_USES = [
  new RegExp(`\\$\\{?(${ENV_PREFIX})`, 'g'), // $X, ${X}
  new RegExp(`(?<![\\w.])(${ENV_PREFIX})["']?[ \\t]*[:=](?!=)`, 'g'), // X=..., X: ..., "X": ..., X = ...
  new RegExp(`\\bname:[ \\t]*(${ENV_PREFIX})\\b`, 'g'), // Kubernetes env entries
  new RegExp(`\\bENV[ \\t]+(${ENV_PREFIX})\\b`, 'g'), // Dockerfile ENV X value
];

function envNamesUsed(text: string): Set<string> {
  return new Set(ENV_USES.flatMap((pattern) => [...text.matchAll(pattern)].map((m) => m[1]!)));
}

const sourceText = () =>
  listFiles(path.join(ROOT, 'src'))
    .filter((f) => f.endsWith('.ts'))
    .map(read)
    .join('\n');

/** The env vars of the configuration, in src/config/resolve-config.ts's table. */
const configEnvNames = () =>
  [...read(path.join(ROOT, 'src/config/resolve-config.ts')).matchAll(/env: '([A-Z0-9_]+)'/g)].map(
    (m) => m[1]!,
  );

// ---- a stand-in for the CLI: records its arguments, exits as told --------------------------------

const STUB_CLI = `#!/usr/bin/env bash
printf '%s|%s|%s\\n' "\${SNOWFLAKE_SCHEMA:-}" "\${SHOPSTREAM_ACTOR:-}" "$*" >> "$STUB_CALLS"
printf '%s\\n' "\${SHOPSTREAM_RUN_ID:-}" >> "$STUB_CALLS.runs"
printf '%s|%s\\n' "\${SHOPSTREAM_WAREHOUSE:-}" "$*" >> "$STUB_CALLS.warehouse"
key="$1"
case "$1" in table | gdpr | schema | warehouse) key="$1 $2" ;; esac
if [[ "$key" == "table list" ]]; then printf '%s\\n' "\${STUB_TABLES:-[]}"; fi
if [[ -n "\${STUB_FAIL:-}" && "\${STUB_FAIL%:*}" == "$key" ]]; then
  if [[ "\${STUB_FAIL_ONCE:-}" != 1 || ! -e "$STUB_CALLS.failed" ]]; then
    touch "$STUB_CALLS.failed"
    exit "\${STUB_FAIL##*:}"
  fi
fi
exit 0
`;

function stubBin(): string {
  const dir = tempDir('infra-stub');
  const file = path.join(dir, 'shopstream');
  writeFileSync(file, STUB_CLI);
  chmodSync(file, 0o755);
  return dir;
}

// =================================================================================================

describe('infra: every shopstream invocation is a real command with real flags', () => {
  const ids = commandIds();
  const files = [DAG_FILE, CRONTAB, CRON_SCRIPT, K8S_FILE, DOCKERFILE];

  it('finds the built CLI', () => {
    expect(ids.has('ingest') && ids.has('gdpr forget') && ids.has('table vacuum')).toBe(true);
  });

  it.each(files.map((f) => [rel(f), f]))('%s', async (_name, file) => {
    for (const call of invocations(file, ids)) {
      expect(ids.has(call.id), `${call.where}: "shopstream ${call.id}" is not a command`).toBe(true);
      const command = await commandClass(call.id);
      const flags = { ...command.baseFlags, ...command.flags };
      for (const flag of call.flags) {
        const known =
          flag in flags ||
          (flag === 'json' && command.enableJsonFlag === true) ||
          (flag.startsWith('no-') && flags[flag.slice(3)]?.allowNo === true);
        expect(known, `${call.where}: shopstream ${call.id} has no --${flag}`).toBe(true);
      }
      if (call.id.startsWith('table ') && call.id !== 'table list') {
        const table = call.positional[0] ?? '';
        // a loop over the lake's own list (`shopstream table list`) or a table named outright
        if (/^\\?"?\$\{?table\}?\\?"?$/.test(table)) {
          expect(
            invocations(file, ids).some((c) => c.id === 'table list'),
            `${call.where}: $table comes from shopstream table list`,
          ).toBe(true);
        } else expect([...LAKE_TABLES, ...RECORD_TABLES], `${call.where}: table ${table}`).toContain(table);
      }
    }
  });

  it('schedules the whole pipeline everywhere, with --json for the logs', () => {
    const pipeline = ['ingest', 'build-marts', 'load'];
    // checkpoint: the only command that deletes old _delta_log files; vacuum: old data files
    const maintenance = ['table optimize', 'table list', 'table vacuum', 'table checkpoint'];
    const expected: [string, string[]][] = [
      [DAG_FILE, [...pipeline, 'gdpr forget', ...maintenance]],
      [CRON_SCRIPT, [...pipeline, 'gdpr forget', ...maintenance]],
      [K8S_FILE, [...pipeline, 'gdpr forget', ...maintenance]],
    ];
    for (const [file, wanted] of expected) {
      const calls = invocations(file, ids);
      expect(new Set(calls.map((c) => c.id)), rel(file)).toEqual(new Set(wanted));
      for (const call of calls) expect(call.flags, call.where).toContain('json');
      const raw = calls.find((c) => c.id === 'load' && c.flags.includes('tables'));
      expect(raw, `${rel(file)} loads raw_events too`).toBeDefined();
      // raw personal data never rides along with the marts into one warehouse
      expect(
        calls.filter((c) => c.flags.includes('include-raw')),
        rel(file),
      ).toEqual([]);
    }
  });
});

describe('infra: environment variables', () => {
  const src = sourceText();
  const infraFiles = listFiles(INFRA);

  it.each(infraFiles.map((f) => [rel(f), f]))('%s uses only variables the code reads', (_name, file) => {
    for (const name of envNamesUsed(read(file))) {
      expect(src.includes(name), `${rel(file)}: ${name} is read nowhere in src/`).toBe(true);
    }
  });

  it('every scheduler names itself as the audit actor and sets the lake', () => {
    for (const file of [DAG_FILE, CRONTAB, K8S_FILE]) {
      const used = envNamesUsed(read(file));
      expect(used.has('SHOPSTREAM_ACTOR'), rel(file)).toBe(true);
    }
    for (const file of [DAG_FILE, K8S_FILE])
      expect(envNamesUsed(read(file)).has('SHOPSTREAM_LAKE')).toBe(true);
  });
});

describe('infra/airflow: the DAG', () => {
  it('compiles (python3 -m py_compile)', () => {
    const result = run('python3', ['-m', 'py_compile', DAG_FILE], { env: pythonEnv() });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('declares the exit codes src/errors.ts calls non-retryable', () => {
    const match = /^NON_RETRYABLE_EXIT_CODES = \(([\d, ]+)\)/m.exec(read(DAG_FILE));
    expect(match).not.toBeNull();
    const codes = match![1]!.split(',').map((c) => Number(c.trim()));
    expect([...codes].sort((a, b) => a - b)).toEqual(NON_RETRYABLE);
  });

  describe('against stand-ins for the Airflow 2.x API', () => {
    let report: DagReport;
    let stubDir: string;
    beforeAll(() => {
      stubDir = stubBin();
      const dir = tempDir('infra-airflow');
      const harness = path.join(dir, 'harness.py');
      writeFileSync(harness, DAG_HARNESS);
      const result = run('python3', [harness, DAG_FILE, stubDir, dir], { env: pythonEnv() });
      expect(result.stderr.trim().split('\n').at(-1) ?? '', result.stderr).not.toMatch(/Error|Traceback/);
      expect(result.status, result.stderr).toBe(0);
      report = JSON.parse(result.stdout) as DagReport;
    });

    it('is hourly, without catchup, one run at a time, with exponential backoff', () => {
      expect(report.dag_id).toBe('shopstream_hourly');
      expect(report.schedule).toBe('@hourly');
      expect(report.catchup).toBe(false);
      expect(report.max_active_runs).toBe(1);
      expect(report.default_args.retries).toBeGreaterThan(0);
      expect(report.default_args.retry_exponential_backoff).toBe(true);
      expect(report.default_args.max_retry_delay_s).toBeGreaterThan(0);
    });

    it('runs ingest -> build-marts -> load -> gdpr -> maintenance in one chain', () => {
      const byId = new Map(report.tasks.map((t) => [t.task_id, t]));
      const chain = [
        'ingest',
        'build_marts',
        'load_marts',
        'load_raw',
        'gdpr_requests_present',
        'gdpr_forget',
        'maintenance_window',
        'optimize_raw_events',
        'vacuum_tables',
        'checkpoint_tables',
      ];
      expect(new Set(byId.keys())).toEqual(new Set(chain));
      chain.slice(1).forEach((id, i) => {
        expect(byId.get(id)!.upstream, id).toEqual([chain[i]]);
      });
      expect(byId.get('gdpr_requests_present')!.ignore_downstream_trigger_rules).toBe(false);
      expect(byId.get('maintenance_window')!.trigger_rule).toBe('none_failed');
    });

    it('gives every CLI task the configuration through env + append_env', () => {
      const wanted = [
        'SHOPSTREAM_ACTOR',
        'SHOPSTREAM_LAKE',
        'AWS_ENDPOINT_URL_S3',
        'SHOPSTREAM_WAREHOUSE_KIND',
        'SHOPSTREAM_PSEUDONYM_KEY',
        ...configEnvNames().filter((n) => n.startsWith('SNOWFLAKE_')),
      ];
      const cliTasks = report.tasks.filter((t) => t.bash_command !== null);
      expect(cliTasks.length).toBe(8);
      for (const task of cliTasks) {
        expect(task.append_env, task.task_id).toBe(true);
        expect(
          task.skip_on_exit_code.sort((a, b) => a - b),
          task.task_id,
        ).toEqual(NON_RETRYABLE);
        for (const name of wanted) expect(task.env_keys, `${task.task_id} ${name}`).toContain(name);
      }
    });

    it('fails at once on 64/65/70/78 and leaves every other failure to Airflow retries', () => {
      for (const code of NON_RETRYABLE)
        expect(report.outcomes[String(code)], `exit ${code}`).toBe('fail-no-retry');
      for (const code of RETRYABLE) expect(report.outcomes[String(code)], `exit ${code}`).toBe('retry');
      expect(report.outcomes['0']).toBe('ok');
      expect(report.env_reaches_command).toBe('ok');
    });

    it('short-circuits gdpr without requests and runs maintenance once a day', () => {
      expect(report.gdpr_present).toEqual({ none: false, inbox: true, processing: true });
      expect(report.maintenance_due).toEqual({ at_3: true, at_4: false });
    });

    it('renders its templates (jinja2) for DuckDB and Snowflake deployments', (ctx) => {
      if (!report.rendered) ctx.skip();
      const r = report.rendered!;
      const duckIngest = r.duckdb.ingest!;
      const sfMarts = r.snowflake.load_marts!;
      const sfRaw = r.snowflake.load_raw!;
      expect(duckIngest.bash_command.trim()).toBe('shopstream ingest "/data/shopstream/landing" --json');
      expect(duckIngest.env.SHOPSTREAM_ACTOR).toBe('airflow');
      expect(duckIngest.env.SHOPSTREAM_RUN_ID).toBe('scheduled__2026-01-01T03:00:00+00:00');
      expect(duckIngest.env.SHOPSTREAM_LAKE).toBe('/data/shopstream/lake');
      for (const [name, value] of Object.entries(duckIngest.env)) {
        if (name.startsWith('SNOWFLAKE_')) expect(value, name).toBe('');
      }
      expect(sfMarts.env.SNOWFLAKE_ACCOUNT).toBe('myorg-acct');
      expect(sfMarts.env.SNOWFLAKE_USER).toBe('LOADER_USER');
      expect(sfMarts.env.SNOWFLAKE_SCHEMA).toBe('MARTS');
      expect(sfRaw.env.SNOWFLAKE_SCHEMA).toBe('RAW');
      expect(sfRaw.env.SHOPSTREAM_PSEUDONYM_KEY).toBe('a-secret-of-at-least-16-chars');
      expect(sfRaw.bash_command.trim()).toBe('shopstream load --tables raw_events --json');
    });

    it("loads raw_events into Snowflake's RAW or a separate DuckDB file, never the analysts' file", (ctx) => {
      if (!report.rendered) ctx.skip();
      const duckRaw = report.rendered!.duckdb.load_raw!;
      expect(duckRaw.bash_command).not.toMatch(/shopstream load/);
      expect(duckRaw.bash_command).toMatch(/^echo /);
      const separate = report.rendered!.duckdb_raw_file!;
      expect(separate.bash_command.trim()).toBe('shopstream load --tables raw_events --json');
      expect(separate.env.SHOPSTREAM_WAREHOUSE).toBe('/data/shopstream/raw.duckdb');
      expect(report.rendered!.duckdb.load_marts!.env.SHOPSTREAM_WAREHOUSE).toBe(
        '/data/shopstream/warehouse.duckdb',
      );
    });

    it('vacuums and checkpoints every table the lake lists', (ctx) => {
      if (!report.maintenance_run) ctx.skip();
      const m = report.maintenance_run!;
      expect(m.outcomes).toEqual({ vacuum_tables: 'ok', checkpoint_tables: 'ok' });
      expect(m.calls).toEqual([
        '|airflow|table list --json',
        '|airflow|table vacuum raw_events --json',
        '|airflow|table vacuum sessions --json',
        '|airflow|table list --json',
        '|airflow|table checkpoint raw_events --json',
        '|airflow|table checkpoint sessions --json',
      ]);
    });

    it('gdpr_forget claims the inbox, forgets, and deletes the list', (ctx) => {
      if (!report.gdpr_run) ctx.skip();
      const g = report.gdpr_run!;
      expect(g.bash_n).toBe(0);
      expect(g.outcome).toBe('ok');
      expect(g.calls).toEqual([`|airflow|gdpr forget --file ${g.inbox}.processing --json`]);
      expect(g.left).toEqual([]);
    });
  });
});

interface DagTask {
  task_id: string;
  upstream: string[];
  bash_command: string | null;
  env_keys: string[];
  append_env: boolean;
  skip_on_exit_code: number[];
  trigger_rule: string;
  ignore_downstream_trigger_rules: boolean | null;
}
interface Rendered {
  bash_command: string;
  env: Record<string, string>;
}
interface DagReport {
  dag_id: string;
  schedule: string;
  catchup: boolean;
  max_active_runs: number;
  default_args: { retries: number; retry_exponential_backoff: boolean; max_retry_delay_s: number };
  tasks: DagTask[];
  outcomes: Record<string, string>;
  env_reaches_command: string;
  gdpr_present: Record<string, boolean>;
  maintenance_due: Record<string, boolean>;
  rendered: {
    duckdb: Record<string, Rendered>;
    snowflake: Record<string, Rendered>;
    duckdb_raw_file: Rendered;
  } | null;
  maintenance_run: { outcomes: Record<string, string>; calls: string[] } | null;
  gdpr_run: { bash_n: number; outcome: string; calls: string[]; left: string[]; inbox: string } | null;
}

/**
 * Imports the DAG with minimal stand-ins for the parts of Airflow 2.x it uses. The BashOperator
 * stand-in keeps Airflow's contract: exit codes listed in skip_on_exit_code raise
 * AirflowSkipException, any other non-zero code AirflowException; env replaces the environment
 * unless append_env. Templates are rendered with jinja2 when it is installed.
 */
const DAG_HARNESS = String.raw`
import datetime as _dt, importlib.util, json, os, subprocess, sys, types

dag_file, stub_dir, work = sys.argv[1], sys.argv[2], sys.argv[3]

class AirflowException(Exception): pass
class AirflowSkipException(AirflowException): pass
class AirflowFailException(AirflowException): pass

class DAG:
    current = None
    def __init__(self, dag_id, **kwargs):
        self.dag_id, self.kwargs, self.tasks = dag_id, kwargs, []
    def __enter__(self):
        DAG.current = self
        return self
    def __exit__(self, *exc):
        DAG.current = None

class BaseOperator:
    def __init__(self, task_id, trigger_rule="all_success", retries=None, do_xcom_push=True, **kwargs):
        self.task_id, self.trigger_rule, self.retries, self.extra = task_id, trigger_rule, retries, kwargs
        self.upstream = []
        if DAG.current is not None:
            DAG.current.tasks.append(self)
    def __rshift__(self, other):
        other.upstream.append(self.task_id)
        return other

class BashOperator(BaseOperator):
    def __init__(self, *, bash_command, env=None, append_env=False, skip_on_exit_code=99, **kwargs):
        super().__init__(**kwargs)
        self.bash_command, self.env, self.append_env = bash_command, env, append_env
        self.skip_on_exit_code = list(skip_on_exit_code) if isinstance(skip_on_exit_code, (list, tuple, set)) else [skip_on_exit_code]
    def execute(self, context):
        env = {**os.environ, **(self.env or {})} if self.append_env else self.env
        code = subprocess.run(["bash", "-c", self.bash_command], env=env).returncode
        if code in self.skip_on_exit_code:
            raise AirflowSkipException(f"Bash command returned exit code {code}. Skipping.")
        if code != 0:
            raise AirflowException(f"Bash command failed. The command returned a non-zero exit code {code}.")
        return None

class ShortCircuitOperator(BaseOperator):
    def __init__(self, *, python_callable, op_kwargs=None, ignore_downstream_trigger_rules=True, **kwargs):
        super().__init__(**kwargs)
        self.python_callable, self.op_kwargs = python_callable, op_kwargs or {}
        self.ignore_downstream_trigger_rules = ignore_downstream_trigger_rules

def _module(name, **attrs):
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    sys.modules[name] = module
    return module

_module("airflow", DAG=DAG)
_module("airflow.exceptions", AirflowException=AirflowException, AirflowSkipException=AirflowSkipException, AirflowFailException=AirflowFailException)
_module("airflow.operators")
_module("airflow.operators.bash", BashOperator=BashOperator)
_module("airflow.operators.python", ShortCircuitOperator=ShortCircuitOperator)
_module("pendulum", datetime=lambda *a, tz=None: _dt.datetime(*a, tzinfo=_dt.timezone.utc))

spec = importlib.util.spec_from_file_location("shopstream_dag", dag_file)
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
dag = mod.dag
args = dag.kwargs.get("default_args", {})

def outcome(op):
    try:
        op.execute({})
        return "ok"
    except AirflowFailException:
        return "fail-no-retry"
    except AirflowSkipException:
        return "skip"
    except AirflowException:
        return "retry"

outcomes = {str(code): outcome(mod.ShopstreamBashOperator(task_id=f"probe_{code}", bash_command=f"exit {code}"))
            for code in (0, 64, 65, 69, 70, 75, 78)}
env_probe = mod.ShopstreamBashOperator(task_id="probe_env", bash_command='test "$SHOPSTREAM_ACTOR" = airflow && command -v bash >/dev/null')

def write(path, text):
    with open(path, "w") as f:
        f.write(text)

inbox = os.path.join(work, "gdpr-probe.txt")
present = {"none": mod.gdpr_requests_present(inbox)}
write(inbox, "usr_1\n")
present["inbox"] = mod.gdpr_requests_present(inbox)
write(inbox, "")
write(inbox + ".processing", "usr_2\n")
present["processing"] = mod.gdpr_requests_present(inbox)

due = {"at_3": mod.maintenance_due("3", data_interval_start=_dt.datetime(2026, 1, 1, 3)),
       "at_4": mod.maintenance_due("3", data_interval_start=_dt.datetime(2026, 1, 1, 4))}

report = {
    "dag_id": dag.dag_id,
    "schedule": dag.kwargs.get("schedule"),
    "catchup": dag.kwargs.get("catchup"),
    "max_active_runs": dag.kwargs.get("max_active_runs"),
    "default_args": {"retries": args.get("retries"), "retry_exponential_backoff": args.get("retry_exponential_backoff"),
                     "max_retry_delay_s": args["max_retry_delay"].total_seconds() if args.get("max_retry_delay") else 0},
    "tasks": [{
        "task_id": t.task_id, "upstream": t.upstream, "trigger_rule": t.trigger_rule,
        "bash_command": getattr(t, "bash_command", None),
        "env_keys": sorted((getattr(t, "env", None) or {}).keys()),
        "append_env": getattr(t, "append_env", False),
        "skip_on_exit_code": getattr(t, "skip_on_exit_code", []),
        "ignore_downstream_trigger_rules": getattr(t, "ignore_downstream_trigger_rules", None),
    } for t in dag.tasks],
    "outcomes": outcomes,
    "env_reaches_command": outcome(env_probe),
    "gdpr_present": present,
    "maintenance_due": due,
    "rendered": None,
    "gdpr_run": None,
    "maintenance_run": None,
}

try:
    import jinja2
except ImportError:
    jinja2 = None

if jinja2 is not None:
    class Vars:
        def __init__(self, values): self.values = values
        def get(self, name, default=None): return self.values.get(name, default)
        def __getattr__(self, name): return self.values[name]
    class Conn:
        login, password = "LOADER_USER", None
        extra_dejson = {"account": "myorg-acct", "private_key_path": "/keys/loader.p8"}
    class Conns:
        def __getattr__(self, name): return Conn()

    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    def render(task, values):
        context = {"var": {"value": Vars(values)}, "conn": Conns(), "ts_nodash": "20260101T030000",
                   "run_id": "scheduled__2026-01-01T03:00:00+00:00"}
        return {"bash_command": env.from_string(task.bash_command).render(context),
                "env": {k: env.from_string(v).render(context) for k, v in (task.env or {}).items()}}
    cli_tasks = [t for t in dag.tasks if hasattr(t, "bash_command")]
    snowflake = {"shopstream_warehouse_kind": "snowflake", "shopstream_pseudonym_secret": "a-secret-of-at-least-16-chars"}
    load_raw = next(t for t in dag.tasks if t.task_id == "load_raw")
    report["rendered"] = {"duckdb": {t.task_id: render(t, {}) for t in cli_tasks},
                          "snowflake": {t.task_id: render(t, snowflake) for t in cli_tasks},
                          "duckdb_raw_file": render(load_raw, {"shopstream_raw_warehouse_path": "/data/shopstream/raw.duckdb"})}

    # gdpr_forget as rendered, against the stand-in CLI
    gdpr_dir = os.path.join(work, "gdpr")
    os.makedirs(gdpr_dir)
    gdpr_inbox = os.path.join(gdpr_dir, "requests.txt")
    write(gdpr_inbox, "usr_123\n")
    task = next(t for t in dag.tasks if t.task_id == "gdpr_forget")
    rendered = render(task, {"shopstream_gdpr_requests_file": gdpr_inbox})
    bash_n = subprocess.run(["bash", "-n", "-c", rendered["bash_command"]]).returncode
    calls = os.path.join(work, "gdpr-calls.txt")
    os.environ["STUB_CALLS"] = calls
    os.environ["PATH"] = stub_dir + os.pathsep + os.environ["PATH"]
    probe = mod.ShopstreamBashOperator(task_id="gdpr_probe", bash_command=rendered["bash_command"],
                                       env={"SHOPSTREAM_ACTOR": "airflow"})
    result = outcome(probe)
    report["gdpr_run"] = {"bash_n": bash_n, "outcome": result, "inbox": gdpr_inbox,
                          "calls": open(calls).read().splitlines() if os.path.exists(calls) else [],
                          "left": sorted(os.listdir(gdpr_dir))}

    # the maintenance tasks as rendered, against the stand-in CLI listing two tables
    calls = os.path.join(work, "maintenance-calls.txt")
    os.environ["STUB_CALLS"] = calls
    os.environ["STUB_TABLES"] = json.dumps([{"name": "raw_events"}, {"name": "sessions"}])
    outcomes = {}
    for task_id in ("vacuum_tables", "checkpoint_tables"):
        task = next(t for t in dag.tasks if t.task_id == task_id)
        rendered = render(task, {})
        outcomes[task_id] = outcome(mod.ShopstreamBashOperator(task_id=task_id + "_probe", bash_command=rendered["bash_command"],
                                                               env={"SHOPSTREAM_ACTOR": "airflow"}))
    report["maintenance_run"] = {"outcomes": outcomes,
                                 "calls": open(calls).read().splitlines() if os.path.exists(calls) else []}

print(json.dumps(report))
`;

describe('infra/cron', () => {
  it('the script passes bash -n', () => {
    const result = run('bash', ['-n', CRON_SCRIPT]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('the crontab schedules the three modes with five time fields each', () => {
    const entries = read(CRONTAB)
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#') && !/^[A-Z_]+=/.test(l));
    const modes = entries.map((entry) => {
      const fields = entry.split(/\s+/);
      for (const field of fields.slice(0, 5)) expect(field, entry).toMatch(/^[\d*,/-]+$/);
      expect(fields[5], entry).toMatch(/\/infra\/cron\/shopstream-pipeline\.sh$/);
      return [fields[6], fields[1]] as const;
    });
    expect(new Map(modes)).toEqual(
      new Map([
        ['pipeline', '*'],
        ['gdpr', '*'],
        ['maintenance', '3'],
      ]),
    );
  });

  it('retries exactly the retryable exit codes of src/errors.ts', () => {
    const retried = /^\s*(\d+(?:\s*\|\s*\d+)*)\)\s*$/m.exec(read(CRON_SCRIPT));
    expect(retried).not.toBeNull();
    const codes = retried![1]!.split('|').map((c) => Number(c.trim()));
    expect(codes.sort((a, b) => a - b)).toEqual([...RETRYABLE].sort((a, b) => a - b));
  });

  describe('the script against a stand-in CLI', () => {
    const bin = stubBin();

    function pipeline(
      mode: string,
      options: { fail?: string; once?: boolean; env?: Record<string, string> } = {},
    ) {
      const dir = tempDir('infra-cron');
      const env: NodeJS.ProcessEnv = {
        PATH: `${bin}:${process.env.PATH}`,
        HOME: dir,
        STUB_CALLS: path.join(dir, 'calls.txt'),
        PIPELINE_ENV_FILE: path.join(dir, 'missing.env'),
        PIPELINE_LOG_DIR: path.join(dir, 'logs'),
        PIPELINE_LOCK_FILE: path.join(dir, 'pipeline.lock'),
        PIPELINE_GDPR_INBOX: path.join(dir, 'requests.txt'),
        PIPELINE_LANDING: '/landing',
        PIPELINE_RETRY_PAUSE_SECONDS: '0',
        PIPELINE_LOCK_WAIT_SECONDS: '1',
        ...(options.fail ? { STUB_FAIL: options.fail } : {}),
        ...(options.once ? { STUB_FAIL_ONCE: '1' } : {}),
        ...options.env,
      };
      return { dir, env, go: () => finish(dir, env, run('bash', [CRON_SCRIPT, mode], { env })) };
    }

    function finish(dir: string, env: NodeJS.ProcessEnv, result: ReturnType<typeof run>) {
      const calls = existsSync(env.STUB_CALLS!)
        ? read(env.STUB_CALLS!).trim().split('\n').filter(Boolean)
        : [];
      const logs = existsSync(env.PIPELINE_LOG_DIR!) ? readdirSync(env.PIPELINE_LOG_DIR!) : [];
      const log = logs.map((f) => read(path.join(env.PIPELINE_LOG_DIR!, f))).join('');
      return { status: result.status, calls, logs, log, dir };
    }

    it('runs ingest -> build-marts -> load -> load raw_events (into RAW) as cron', () => {
      const r = pipeline('pipeline', { env: { SHOPSTREAM_WAREHOUSE_KIND: 'snowflake' } }).go();
      expect(r.status, r.log).toBe(0);
      expect(r.calls).toEqual([
        '|cron|ingest /landing --json',
        '|cron|build-marts --json',
        '|cron|load --json',
        'RAW|cron|load --tables raw_events --json',
      ]);
      expect(r.logs).toEqual([`pipeline-${new Date().toISOString().slice(0, 10)}.log`]);
      const runIds = new Set(read(path.join(r.dir, 'calls.txt.runs')).trim().split('\n'));
      expect(runIds.size).toBe(1);
      expect([...runIds][0]).toMatch(/^cron-pipeline-\d{8}T\d{6}Z-\d+$/);
    });

    it("never loads raw_events into the analysts' DuckDB file", () => {
      const analysts = '/data/shopstream/warehouse.duckdb';
      const duck = pipeline('pipeline', { env: { SHOPSTREAM_WAREHOUSE: analysts } }).go();
      expect(duck.status, duck.log).toBe(0);
      expect(duck.calls).toEqual([
        '|cron|ingest /landing --json',
        '|cron|build-marts --json',
        '|cron|load --json',
      ]);
      expect(duck.log).toMatch(/raw_events not loaded/);

      const raw = '/data/shopstream/raw.duckdb';
      const separate = pipeline('pipeline', {
        env: { SHOPSTREAM_WAREHOUSE: analysts, PIPELINE_RAW_WAREHOUSE: raw },
      }).go();
      expect(separate.status, separate.log).toBe(0);
      const warehouses = read(path.join(separate.dir, 'calls.txt.warehouse')).trim().split('\n');
      expect(warehouses).toEqual([
        `${analysts}|ingest /landing --json`,
        `${analysts}|build-marts --json`,
        `${analysts}|load --json`,
        `${raw}|load --tables raw_events --json`,
      ]);
    });

    it('stops at the first failing step with its exit code, without retrying 65', () => {
      const r = pipeline('pipeline', { fail: `build-marts:${ExitCode.data}` }).go();
      expect(r.status).toBe(ExitCode.data);
      expect(r.calls).toEqual(['|cron|ingest /landing --json', '|cron|build-marts --json']);
    });

    it('retries 75 once and goes on', () => {
      const r = pipeline('pipeline', { fail: `load:${ExitCode.conflict}`, once: true }).go();
      expect(r.status, r.log).toBe(0);
      expect(r.calls.filter((c) => c === '|cron|load --json')).toHaveLength(2);
    });

    it('gives up on 69 after one retry', () => {
      const r = pipeline('pipeline', { fail: `ingest:${ExitCode.unavailable}` }).go();
      expect(r.status).toBe(ExitCode.unavailable);
      expect(r.calls).toEqual(['|cron|ingest /landing --json', '|cron|ingest /landing --json']);
    });

    it('skips the hour when another run holds the lock', () => {
      const p = pipeline('pipeline');
      const r = finish(
        p.dir,
        p.env,
        run('flock', [p.env.PIPELINE_LOCK_FILE!, 'bash', CRON_SCRIPT, 'pipeline'], { env: p.env }),
      );
      expect(r.status).toBe(0);
      expect(r.calls).toEqual([]);
      expect(r.log).toMatch(/skipping this hour/);
    });

    it('deletes logs older than 14 days', () => {
      const p = pipeline('maintenance');
      mkdirSync(p.env.PIPELINE_LOG_DIR!, { recursive: true });
      const old = path.join(p.env.PIPELINE_LOG_DIR!, 'pipeline-2000-01-01.log');
      writeFileSync(old, 'old\n');
      const past = Date.now() / 1000 - 20 * 86_400;
      utimesSync(old, past, past);
      const r = p.go();
      expect(r.status).toBe(0);
      expect(existsSync(old)).toBe(false);
      expect(r.calls).toEqual([
        '|cron|table optimize raw_events --json',
        '|cron|table optimize audit_log --json',
        '|cron|table optimize pipeline_runs --json',
        '|cron|table list --json',
      ]);
    });

    it('maintenance vacuums and checkpoints every table the lake lists', () => {
      const tables = ['audit_log', 'raw_events', 'sessions', 'customer_ltv', 'deletion_requests'];
      const r = pipeline('maintenance', {
        env: { STUB_TABLES: JSON.stringify(tables.map((name) => ({ name, version: 3, files: 1 }))) },
      }).go();
      expect(r.status, r.log).toBe(0);
      expect(r.calls.slice(4)).toEqual(
        tables.flatMap((t) => [`|cron|table vacuum ${t} --json`, `|cron|table checkpoint ${t} --json`]),
      );
      // a failed checkpoint ends the run with its code
      const failed = pipeline('maintenance', {
        fail: `table checkpoint:${ExitCode.data}`,
        env: { STUB_TABLES: JSON.stringify([{ name: 'raw_events' }, { name: 'sessions' }]) },
      }).go();
      expect(failed.status).toBe(ExitCode.data);
      expect(failed.calls.at(-1)).toBe('|cron|table checkpoint raw_events --json');
    });

    it('gdpr: nothing to do without requests; otherwise forgets them and archives the list', () => {
      const empty = pipeline('gdpr').go();
      expect(empty.status).toBe(0);
      expect(empty.calls).toEqual([]);

      const p = pipeline('gdpr');
      writeFileSync(p.env.PIPELINE_GDPR_INBOX!, 'usr_1\nusr_2\n');
      const r = p.go();
      expect(r.status, r.log).toBe(0);
      expect(r.calls).toEqual([`|cron|gdpr forget --file ${p.env.PIPELINE_GDPR_INBOX}.processing --json`]);
      // the ids do not outlive the erasure
      expect(readdirSync(p.dir).filter((f) => f.startsWith('requests.txt'))).toEqual([]);
    });

    it('gdpr: a failed run keeps the claimed list for the next run', () => {
      const p = pipeline('gdpr', { fail: `gdpr forget:${ExitCode.unavailable}` });
      writeFileSync(p.env.PIPELINE_GDPR_INBOX!, 'usr_1\n');
      const r = p.go();
      expect(r.status).toBe(ExitCode.unavailable);
      expect(read(`${p.env.PIPELINE_GDPR_INBOX}.processing`)).toBe('usr_1\n');
    });
  });
});

describe('infra/k8s', () => {
  const docs = parseAllDocuments(read(K8S_FILE)).map((d) => {
    expect(d.errors).toEqual([]);
    return asObj(d.toJS());
  });
  const cronJobs = docs.filter((d) => d.kind === 'CronJob');
  const dockerUid = /^USER\s+(\d+)/m.exec(read(DOCKERFILE))?.[1];

  it('has the hourly pipeline, the GDPR erasure job and the nightly maintenance', () => {
    expect(cronJobs.map((c) => asObj(c.metadata).name).sort()).toEqual([
      'shopstream-gdpr',
      'shopstream-hourly',
      'shopstream-maintenance',
    ]);
  });

  const configMap = asObj(docs.find((d) => d.kind === 'ConfigMap')?.data);
  const podOf = (name: string) => {
    const cronJob = cronJobs.find((c) => asObj(c.metadata).name === name)!;
    const job = asObj(asObj(asObj(cronJob.spec).jobTemplate).spec);
    return asObj(asObj(job.template).spec);
  };
  const containerOf = (name: string) => blocks(podOf(name).containers)[0]!;
  const scriptOf = (name: string) => strings(containerOf(name).args).join('\n');

  it.each(cronJobs.map((c) => [String(asObj(c.metadata).name)]))(
    '%s: DuckDB spills to a writable volume, not the read-only root filesystem',
    (name) => {
      const container = containerOf(name);
      expect(asObj(container.securityContext).readOnlyRootFilesystem).toBe(true);
      const spill = String(configMap.SHOPSTREAM_DUCKDB_TEMP_DIRECTORY ?? '');
      expect(spill, 'SHOPSTREAM_DUCKDB_TEMP_DIRECTORY').toMatch(/^\//);
      const volumes = new Map(blocks(podOf(name).volumes).map((v) => [String(v.name), v]));
      const mount = blocks(container.volumeMounts).find(
        (m) => spill === m.mountPath || spill.startsWith(`${String(m.mountPath)}/`),
      );
      expect(mount, `${name}: ${spill} is on no volume`).toBeDefined();
      expect(mount!.readOnly ?? false).toBe(false);
      expect(volumes.get(String(mount!.name))?.emptyDir, `${name}: ${spill} on an emptyDir`).toBeDefined();
    },
  );

  /** Runs a job's script with sh and the stand-in CLI; the ConfigMap's values as its environment. */
  function runJob(name: string, env: Record<string, string> = {}) {
    const dir = tempDir('infra-k8s');
    const calls = path.join(dir, 'calls.txt');
    const script = scriptOf(name).replaceAll('/data/gdpr/', `${dir}/`);
    const result = run('sh', ['-c', script], {
      env: {
        PATH: `${stubBin()}:${process.env.PATH}`,
        HOME: dir,
        STUB_CALLS: calls,
        ...Object.fromEntries(Object.entries(configMap).map(([k, v]) => [k, String(v)])),
        ...env,
      },
    });
    const made = existsSync(calls) ? read(calls).trim().split('\n').filter(Boolean) : [];
    return { status: result.status, stderr: result.stderr, calls: made, dir };
  }

  it('the hourly job loads raw_events into RAW on Snowflake and nowhere on DuckDB', () => {
    const sf = runJob('shopstream-hourly');
    expect(sf.status, sf.stderr).toBe(0);
    expect(sf.calls.at(-1)).toBe('RAW|k8s-cronjob|load --tables raw_events --json');
    const duck = runJob('shopstream-hourly', { SHOPSTREAM_WAREHOUSE_KIND: 'duckdb' });
    expect(duck.status, duck.stderr).toBe(0);
    expect(duck.calls.filter((c) => c.includes('raw_events'))).toEqual([]);
  });

  it('the maintenance job vacuums and checkpoints every table the lake lists', () => {
    const r = runJob('shopstream-maintenance', {
      STUB_TABLES: JSON.stringify([{ name: 'raw_events' }, { name: 'fraud_flags' }]),
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.calls.slice(3)).toEqual([
      'MARTS|k8s-cronjob|table list --json',
      'MARTS|k8s-cronjob|table vacuum raw_events --json',
      'MARTS|k8s-cronjob|table checkpoint raw_events --json',
      'MARTS|k8s-cronjob|table vacuum fraud_flags --json',
      'MARTS|k8s-cronjob|table checkpoint fraud_flags --json',
    ]);
  });

  it('the GDPR job forgets the users of the inbox volume and deletes the list', () => {
    const pod = podOf('shopstream-gdpr');
    const claim = blocks(pod.volumes).find((v) => v.persistentVolumeClaim);
    expect(asObj(claim?.persistentVolumeClaim).claimName).toBe('shopstream-gdpr-inbox');
    expect(
      docs.some(
        (d) => d.kind === 'PersistentVolumeClaim' && asObj(d.metadata).name === 'shopstream-gdpr-inbox',
      ),
    ).toBe(true);
    const mount = blocks(containerOf('shopstream-gdpr').volumeMounts).find((m) => m.name === claim!.name);
    expect(mount?.mountPath).toBe('/data/gdpr');

    const none = runJob('shopstream-gdpr');
    expect(none.status, none.stderr).toBe(0);
    expect(none.calls).toEqual([]);

    const dir = tempDir('infra-k8s-gdpr');
    writeFileSync(path.join(dir, 'requests.txt'), 'usr_1\n');
    const script = scriptOf('shopstream-gdpr').replaceAll('/data/gdpr/', `${dir}/`);
    const calls = path.join(dir, 'calls.txt');
    const result = run('sh', ['-c', script], {
      env: {
        PATH: `${stubBin()}:${process.env.PATH}`,
        HOME: dir,
        STUB_CALLS: calls,
        SHOPSTREAM_ACTOR: 'k8s',
      },
    });
    expect(result.status, result.stderr).toBe(0);
    expect(read(calls).trim()).toBe(`|k8s|gdpr forget --file ${dir}/requests.txt.processing --json`);
    expect(readdirSync(dir).filter((f) => f.startsWith('requests.txt'))).toEqual([]);
  });

  it.each(cronJobs.map((c) => [String(asObj(c.metadata).name), c]))('%s', (_name, cronJob) => {
    const spec = asObj(cronJob.spec);
    expect(spec.concurrencyPolicy).toBe('Forbid');
    const job = asObj(asObj(spec.jobTemplate).spec);
    expect(job.backoffLimit).toBeGreaterThan(0);
    const pod = asObj(asObj(job.template).spec);
    expect(pod.restartPolicy).toBe('Never'); // podFailurePolicy requires it
    const containers = blocks(pod.containers);
    expect(containers).toHaveLength(1);
    const container = containers[0]!;

    const rules = blocks(asObj(job.podFailurePolicy).rules);
    const failJob = rules.filter((r) => r.action === 'FailJob');
    expect(failJob).toHaveLength(1);
    const onExit = asObj(failJob[0]!.onExitCodes);
    expect(onExit.operator).toBe('In');
    expect(onExit.containerName).toBe(container.name);
    expect((onExit.values as number[]).slice().sort((a, b) => a - b)).toEqual(NON_RETRYABLE);

    const security = asObj(pod.securityContext);
    expect(security.runAsNonRoot).toBe(true);
    expect(security.runAsUser).not.toBe(0);
    expect(String(security.runAsUser)).toBe(dockerUid);
    expect(asObj(container.securityContext).allowPrivilegeEscalation).toBe(false);

    const resourcesOf = asObj(container.resources);
    expect(asObj(resourcesOf.requests).memory).toBeDefined();
    expect(asObj(resourcesOf.limits).memory).toBeDefined();
    expect(String(container.image)).not.toMatch(/:latest$|^[^:]+$/);

    const envFrom = blocks(container.envFrom);
    expect(envFrom.map((e) => asObj(e.configMapRef).name).filter(Boolean)).toEqual(['shopstream-config']);
    expect(envFrom.map((e) => asObj(e.secretRef).name).filter(Boolean)).toEqual(['shopstream-secrets']);

    // the shell script the container runs parses
    const script = strings(container.args).join('\n');
    expect(strings(container.command)).toEqual(['/bin/sh', '-c']);
    expect(run('sh', ['-n'], { input: script }).status).toBe(0);
    expect(script).toMatch(/^set -eu$/m);
  });

  it('defines the ConfigMap the jobs read', () => {
    const config = docs.find((d) => d.kind === 'ConfigMap');
    expect(asObj(config?.metadata).name).toBe('shopstream-config');
    expect(asObj(config?.data).SHOPSTREAM_ACTOR).toBeDefined();
  });
});

describe('infra/docker', () => {
  const text = read(DOCKERFILE);
  const dockerfile = DockerfileParser.parse(text);
  const froms = dockerfile.getFROMs();

  it('passes the dockerfile-utils linter', () => {
    const problems = lintDockerfile(text).map((d) => `${d.range.start.line + 1}: ${d.message}`);
    expect(problems).toEqual([]);
  });

  it('is multi-stage from pinned node:20 images', () => {
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms as From[]) {
      expect(from.getImageName()).toBe('node');
      expect(from.getImageTag()).toMatch(/^20-bookworm-slim$/);
      expect(from.getBuildStage()).toBeTruthy();
    }
  });

  it('builds with npm ci + the build script and ships production dependencies only', () => {
    const scripts = (JSON.parse(read(path.join(ROOT, 'package.json'))) as { scripts: Record<string, string> })
      .scripts;
    const stages = stagesOf(dockerfile);
    const build = stages[0]!.join('\n');
    const runtime = stages.at(-1)!.join('\n');
    expect(build).toMatch(/RUN npm ci\b/);
    const buildScript = /RUN npm run (\S+)/.exec(build)?.[1];
    expect(buildScript && scripts[buildScript]).toBeTruthy();
    expect(runtime).toMatch(/RUN npm ci --omit=dev\b/);
    expect(runtime).toMatch(/COPY --from=build \/app\/dist/);
  });

  it('runs as a non-root user with the CLI as entrypoint', () => {
    const runtime = stagesOf(dockerfile).at(-1)!;
    const users = runtime.filter((l) => l.startsWith('USER '));
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^USER\s+(root|0)(:|$)/);
    expect(runtime.filter((l) => l.startsWith('ENTRYPOINT '))).toEqual([
      'ENTRYPOINT ["node", "/app/bin/run.js"]',
    ]);
    expect(runtime.filter((l) => l.startsWith('CMD '))).toEqual(['CMD ["--help"]']);
  });

  it('copies only paths that exist, and its ignore file lets them through', () => {
    const ignore = read(path.join(INFRA, 'docker/Dockerfile.dockerignore'));
    const allowed = ignore
      .split('\n')
      .filter((l) => l.startsWith('!'))
      .map((l) => l.slice(1).replace(/\/$/, ''));
    expect(ignore).toMatch(/^\*$/m);
    for (const instruction of dockerfile.getInstructions()) {
      const words = instruction.getTextContent().split(/\s+/);
      if (instruction.getKeyword() !== 'COPY' || words.some((w) => w.startsWith('--from='))) continue;
      const sources = words.slice(1, -1).filter((w) => !w.startsWith('--'));
      for (const source of sources) {
        expect(existsSync(path.join(ROOT, source)), source).toBe(true);
        expect(
          allowed.some((a) => source === a || source.startsWith(`${a}/`)),
          `${source} is excluded from the build context`,
        ).toBe(true);
      }
    }
  });
});

/** Instruction lines (keyword + arguments) per stage. */
function stagesOf(dockerfile: ReturnType<typeof DockerfileParser.parse>): string[][] {
  const stages: string[][] = [];
  for (const instruction of dockerfile.getInstructions()) {
    const line = instruction.getTextContent().replace(/\\\s*\n\s*/g, ' ');
    if (instruction.getKeyword() === 'FROM') stages.push([]);
    stages.at(-1)?.push(line);
  }
  return stages;
}

describe('infra/terraform', () => {
  let tf: Terraform;
  beforeAll(async () => {
    tf = await loadTerraform(TERRAFORM_DIR);
    expect(tf.files.length).toBeGreaterThan(0);
  });

  it('uses the official providers', () => {
    const providers = asObj(block(tf.terraform.required_providers));
    expect(asObj(providers.aws).source).toBe('hashicorp/aws');
    expect(['snowflakedb/snowflake', 'Snowflake-Labs/snowflake']).toContain(
      asObj(providers.snowflake).source,
    );
  });

  it('enables the provider preview features its resources need', () => {
    const enabled = strings(tf.provider.snowflake?.preview_features_enabled);
    for (const type of [
      'snowflake_storage_integration',
      'snowflake_stage',
      'snowflake_table_column_masking_policy_application',
    ]) {
      if (resources(tf, type).length > 0) expect(enabled).toContain(`${type}_resource`);
    }
  });

  it('the lake bucket is versioned, encrypted, private, with lifecycle rules', () => {
    const bucketRef = `\${aws_s3_bucket.lake.id}`;
    const versioning = resource(tf, 'aws_s3_bucket_versioning', 'lake');
    expect(versioning.bucket).toBe(bucketRef);
    expect(block(versioning.versioning_configuration).status).toBe('Enabled');

    const sse = resource(tf, 'aws_s3_bucket_server_side_encryption_configuration', 'lake');
    expect(sse.bucket).toBe(bucketRef);
    const byDefault = block(block(sse.rule).apply_server_side_encryption_by_default);
    expect(['aws:kms', 'AES256']).toContain(byDefault.sse_algorithm);

    const pab = resource(tf, 'aws_s3_bucket_public_access_block', 'lake');
    expect(pab.bucket).toBe(bucketRef);
    for (const key of [
      'block_public_acls',
      'block_public_policy',
      'ignore_public_acls',
      'restrict_public_buckets',
    ])
      expect(pab[key], key).toBe(true);

    const lifecycle = resource(tf, 'aws_s3_bucket_lifecycle_configuration', 'lake');
    expect(lifecycle.bucket).toBe(bucketRef);
    const rules = blocks(lifecycle.rule);
    for (const rule of rules) {
      expect(rule.status).toBe('Enabled');
      expect(blocks(rule.filter), `rule ${rule.id} has a filter`).toHaveLength(1);
    }
    const abort = rules.flatMap((r) => blocks(r.abort_incomplete_multipart_upload));
    expect(abort.map((a) => a.days_after_initiation)).toEqual([1]);
    const transitions = rules.flatMap((r) => blocks(r.transition));
    expect(transitions.map((t) => t.storage_class)).toContain('INTELLIGENT_TIERING');
    expect(rules.flatMap((r) => blocks(r.noncurrent_version_expiration))).toHaveLength(1);
  });

  it('no IAM Allow statement uses a wildcard action or resource', () => {
    for (const [name, doc] of Object.entries(tf.data.aws_iam_policy_document ?? {})) {
      for (const statement of policyStatements(doc)) {
        expect(statement.not_actions, name).toBeUndefined();
        expect(statement.not_resources, name).toBeUndefined();
        if ((statement.effect ?? 'Allow') !== 'Allow') continue;
        for (const action of strings(statement.actions))
          expect(action, `${name} ${statement.sid}`).not.toMatch(/\*/);
        for (const res of strings(statement.resources)) expect(res, `${name} ${statement.sid}`).not.toBe('*');
      }
    }
  });

  it('the pipeline role works on the lake prefix only', () => {
    const statements = policyStatements(tf.data.aws_iam_policy_document!.pipeline!);
    const lakeObjects = String(tf.locals.lake_objects);
    expect(lakeObjects).toBe(`\${aws_s3_bucket.lake.arn}/\${local.lake_prefix}/*`);

    const objects = statements.find((s) => strings(s.actions).includes('s3:PutObject'))!;
    expect(new Set(strings(objects.actions))).toEqual(
      new Set([
        's3:GetObject',
        's3:PutObject',
        's3:DeleteObject',
        's3:AbortMultipartUpload',
        's3:ListMultipartUploadParts',
      ]),
    );
    expect(strings(objects.resources)).toEqual([`\${local.lake_objects}`]);

    for (const statement of statements.filter((s) => strings(s.actions).includes('s3:ListBucket'))) {
      const condition = block(statement.condition);
      expect(condition.variable, String(statement.sid)).toBe('s3:prefix');
      expect(condition.test).toBe('StringLike');
    }
    const lakeList = statements.find((s) => s.sid === 'ListLakePrefixOnly')!;
    expect(strings(lakeList.resources)).toEqual([`\${aws_s3_bucket.lake.arn}`]);
    expect(strings(block(lakeList.condition).values)).toEqual([
      `\${local.lake_prefix}`,
      `\${local.lake_prefix}/*`,
    ]);
  });

  it("Snowflake's role only reads, and only through the storage integration's identity", () => {
    const actions = policyStatements(tf.data.aws_iam_policy_document!.snowflake!).flatMap((s) =>
      strings(s.actions),
    );
    for (const action of actions) {
      expect([
        's3:GetBucketLocation',
        's3:ListBucket',
        's3:GetObject',
        's3:GetObjectVersion',
        'kms:Decrypt',
      ]).toContain(action);
    }
    const trust = block(tf.data.aws_iam_policy_document!.snowflake_trust!.statement);
    expect(block(trust.condition).variable).toBe('sts:ExternalId');
    expect(strings(block(trust.condition).values)).toEqual([
      `\${snowflake_storage_integration.lake.storage_aws_external_id}`,
    ]);
    // the integration points at the role this configuration creates
    const integration = resource(tf, 'snowflake_storage_integration', 'lake');
    expect(integration.storage_aws_role_arn).toBe(`\${local.snowflake_role_arn}`);
    expect(String(tf.locals.snowflake_role_arn)).toMatch(/:role\/\$\{local\.snowflake_role_name\}$/);
    expect(resource(tf, 'aws_iam_role', 'snowflake').name).toBe(`\${local.snowflake_role_name}`);
    expect(resource(tf, 'snowflake_stage', 'lake').storage_integration).toBe(
      `\${snowflake_storage_integration.lake.name}`,
    );
  });

  it('the warehouse auto-suspends after 60 s and auto-resumes', () => {
    const [[, warehouse]] = resources(tf, 'snowflake_warehouse') as [[string, Obj]];
    expect(warehouse.auto_suspend).toBe(60);
    expect(String(warehouse.auto_resume)).toBe('true');
  });

  it('the analyst role gets MARTS only: no grant on RAW or raw tables, no inherited roles', () => {
    const grants = resources(tf, 'snowflake_grant_privileges_to_account_role');
    const analyst = grants.filter(([, g]) =>
      String(g.account_role_name).includes('snowflake_account_role.analyst'),
    );
    expect(analyst.length).toBeGreaterThan(0);
    for (const [name, grant] of analyst) {
      const text = JSON.stringify(grant);
      expect(text, name).not.toMatch(
        /snowflake_schema\.raw\b|loaded_schemas|raw_events|quarantine|snowflake_stage|"RAW"/,
      );
    }
    const selects = analyst.filter(([, g]) => strings(g.privileges).includes('SELECT'));
    expect(selects.length).toBeGreaterThan(0);
    for (const [, grant] of selects) expect(JSON.stringify(grant)).toContain('snowflake_schema.marts');

    for (const [name, grant] of resources(tf, 'snowflake_grant_account_role')) {
      expect(JSON.stringify(grant.parent_role_name ?? ''), name).not.toContain('analyst');
    }
  });

  it('masks user_id and ip of raw_events and the fraud marts, unmasked for loader and risk only', () => {
    const policy = resource(tf, 'snowflake_masking_policy', 'pii');
    expect(block(policy.argument).type).toBe('VARCHAR');
    expect(policy.return_data_type).toBe('VARCHAR');
    const body = String(policy.body);
    expect(body).toContain('snowflake_account_role.loader.name');
    expect(body).toContain('snowflake_account_role.risk.name');
    expect(body).not.toContain('analyst');

    const columns = Object.values(asObj(tf.locals.masked_columns)).map(
      (c) => `${asObj(c).table}.${asObj(c).column}`,
    );
    expect(new Set(columns)).toEqual(
      new Set(['raw_events.user_id', 'raw_events.ip', 'fraud_user_minute.user_id', 'fraud_flags.user_id']),
    );
    const application = resource(tf, 'snowflake_table_column_masking_policy_application', 'pii');
    expect(String(application.for_each)).toContain('local.masked_columns');
    expect(application.masking_policy).toBe(`\${snowflake_masking_policy.pii.fully_qualified_name}`);
  });

  it('names only the lake tables (Terraform and sql/snowflake)', () => {
    const marts = readdirSync(path.join(ROOT, 'sql/marts'))
      .filter((f) => f.endsWith('.sql'))
      .map((f) => f.replace(/\.sql$/, ''));
    expect(new Set(LAKE_TABLES)).toEqual(new Set(['raw_events', ...marts]));

    const named = Object.values(asObj(tf.locals.masked_columns)).map((c) => String(asObj(c).table));
    const sqlDir = path.join(ROOT, 'sql/snowflake');
    for (const file of readdirSync(sqlDir).filter((f) => f.endsWith('.sql'))) {
      const sql = read(path.join(sqlDir, file)).replace(/--[^\n]*/g, '');
      for (const m of sql.matchAll(
        /\b(?:ALTER|CREATE(?:\s+OR\s+REPLACE)?|DROP|TRUNCATE)\s+TABLE\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?([\w."]+)|\bON\s+(?:ALL\s+|FUTURE\s+)?TABLES?\s+([\w."]+)/gi,
      )) {
        named.push((m[1] ?? m[2])!.replace(/"/g, '').split('.').at(-1)!.toLowerCase());
      }
    }
    expect(named.length).toBeGreaterThan(0);
    for (const table of named) expect(LAKE_TABLES).toContain(table);
  });

  it('is formatted and the AWS part validates (when terraform and a local aws provider are installed)', (ctx) => {
    const pluginDir = process.env.TF_PLUGIN_DIR ?? '/opt/tf-plugins';
    if (
      run('terraform', ['version']).status !== 0 ||
      !existsSync(path.join(pluginDir, 'registry.terraform.io/hashicorp/aws'))
    )
      ctx.skip();
    const fmt = run('terraform', ['fmt', '-check', '-diff', TERRAFORM_DIR]);
    expect(fmt.status, fmt.stdout).toBe(0);

    // The Snowflake provider is not installable offline: validate s3.tf + iam.tf against the real
    // AWS provider schema, with the two storage-integration outputs iam.tf reads as variables.
    const dir = tempDir('infra-tf');
    const providers = read(path.join(TERRAFORM_DIR, 'providers.tf'))
      .replace(/\n\s*# The official Snowflake[\s\S]*?snowflake = \{[\s\S]*?\}\n/, '\n')
      .replace(/provider "snowflake" \{[\s\S]*?\n\}\n/, '');
    writeFileSync(path.join(dir, 'providers.tf'), providers);
    writeFileSync(path.join(dir, 's3.tf'), read(path.join(TERRAFORM_DIR, 's3.tf')));
    writeFileSync(path.join(dir, 'variables.tf'), read(path.join(TERRAFORM_DIR, 'variables.tf')));
    writeFileSync(
      path.join(dir, 'iam.tf'),
      `${read(path.join(TERRAFORM_DIR, 'iam.tf'))
        .replaceAll('snowflake_storage_integration.lake.storage_aws_iam_user_arn', 'var.sf_user_arn')
        .replaceAll(
          'snowflake_storage_integration.lake.storage_aws_external_id',
          'var.sf_external_id',
        )}\nvariable "sf_user_arn" { type = string }\nvariable "sf_external_id" { type = string }\n`,
    );
    const env = {
      ...process.env,
      TF_IN_AUTOMATION: '1',
      TF_CLI_CONFIG_FILE: path.join(dir, 'none.tfrc'),
      TF_DATA_DIR: path.join(dir, '.terraform'),
    };
    writeFileSync(env.TF_CLI_CONFIG_FILE, '');
    const init = run(
      'terraform',
      [`-chdir=${dir}`, 'init', '-backend=false', '-input=false', `-plugin-dir=${pluginDir}`],
      { env },
    );
    expect(init.status, init.stdout + init.stderr).toBe(0);
    const validate = run('terraform', [`-chdir=${dir}`, 'validate', '-no-color'], { env });
    expect(validate.status, validate.stdout + validate.stderr).toBe(0);
  });
});
