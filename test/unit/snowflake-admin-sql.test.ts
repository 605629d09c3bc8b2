/**
 * sql/snowflake/admin/ (the Snowflake setup as plain SQL, for teams without Terraform) agrees with
 * infra/terraform/snowflake.tf at its default variables: the same database, schemas, warehouse,
 * roles and role hierarchy, grants, storage integration and stage, masking policy and masked
 * columns; it names only the lake's tables; its files split into statements the way the other SQL
 * files do and are idempotent; and `shopstream warehouse init` never applies them.
 *
 * The Terraform is read with @cdktf/hcl2json as in infra.test.ts; its `${...}` expressions are
 * evaluated here for the few forms snowflake.tf uses (var.x at its default, resource names,
 * fully_qualified_name, locals, each.value, upper(), toset()). The lake URI and the storage role's
 * ARN are not known without AWS, so they evaluate to the SQL's placeholders.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SQL_DIR } from '../../src/engine/sql-files.js';
import { splitStatements } from '../../src/warehouse/init-warehouse.js';
import { ROOT } from '../helpers/cli.js';
import {
  asObj,
  block,
  isObj,
  loadTerraform,
  type Obj,
  strings,
  type Terraform,
} from '../helpers/terraform.js';

const TERRAFORM_DIR = path.join(ROOT, 'infra/terraform');
const SNOWFLAKE_SQL_DIR = path.join(ROOT, 'sql/snowflake');
const ADMIN_DIR = path.join(SNOWFLAKE_SQL_DIR, 'admin');
const ADMIN_FILES = ['01_account.sql', '02_storage.sql', '03_grants.sql', '04_masking.sql'];

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
const STATEMENT_KEYWORDS = ['CREATE', 'ALTER', 'GRANT', 'USE', 'SET'];
/** Terraform locals that need AWS to evaluate, and the placeholder the SQL has in their place. */
const PLACEHOLDERS: Record<string, string> = {
  lake_uri: '<lake-url>',
  snowflake_role_arn: '<aws-role-arn>',
};

const read = (file: string) => readFileSync(file, 'utf8');
const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();
const unquote = (name: string) => name.replace(/"/g, '').toUpperCase();

// ---- Terraform (test/helpers/terraform.ts) -------------------------------------------------------

const resources = (tf: Terraform, type: string): [string, Obj][] => Object.entries(tf.resource[type] ?? {});
function resource(tf: Terraform, type: string, name: string): Obj {
  const found = tf.resource[type]?.[name];
  if (!found) throw new Error(`terraform: no resource ${type}.${name}`);
  return found;
}

/** The `${...}` interpolations of a string (braces inside them balanced). */
function interpolations(text: string): { start: number; end: number; expr: string }[] {
  const found: { start: number; end: number; expr: string }[] = [];
  let at = text.indexOf('${');
  while (at !== -1) {
    let depth = 0;
    let end = at + 1;
    for (; end < text.length; end++) {
      if (text[end] === '{') depth++;
      else if (text[end] === '}' && --depth === 0) break;
    }
    if (end >= text.length) throw new Error(`unbalanced interpolation in ${text}`);
    found.push({ start: at, end: end + 1, expr: text.slice(at + 2, end) });
    at = text.indexOf('${', end + 1);
  }
  return found;
}

/** Evaluates the expressions snowflake.tf uses, with every variable at its default. */
class TerraformValues {
  constructor(private readonly tf: Terraform) {}

  value(v: unknown, each?: unknown): unknown {
    if (typeof v === 'string') return this.interpolate(v, each);
    if (Array.isArray(v)) return v.map((x) => this.value(x, each));
    if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.value(x, each)]));
    return v;
  }

  text(v: unknown, each?: unknown): string {
    const value = this.value(v, each);
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean')
      throw new Error(`terraform: ${JSON.stringify(v)} is not a single value`);
    return String(value);
  }

  /** One entry per instance: for_each values (each.value), or a single undefined. */
  instances(r: Obj): unknown[] {
    if (r.for_each === undefined) return [undefined];
    const entries = this.value(r.for_each);
    return Array.isArray(entries) ? entries : Object.values(asObj(entries));
  }

  private interpolate(text: string, each: unknown): unknown {
    const parts = interpolations(text);
    const only = parts[0];
    if (parts.length === 1 && only && only.start === 0 && only.end === text.length)
      return this.expr(only.expr, each);
    let out = '';
    let pos = 0;
    for (const part of parts) {
      out += text.slice(pos, part.start) + String(this.expr(part.expr, each));
      pos = part.end;
    }
    return out + text.slice(pos);
  }

  private expr(source: string, each: unknown): unknown {
    const e = source.trim();
    const forms: [RegExp, (m: RegExpExecArray) => unknown][] = [
      [/^each\.value$/, () => each],
      [/^each\.value\.(\w+)$/, (m) => asObj(each)[m[1]!]],
      [/^upper\((.+)\)$/, (m) => String(this.expr(m[1]!, each)).toUpperCase()],
      [/^toset\((\[.*\])\)$/, (m) => JSON.parse(m[1]!) as unknown],
      // `var.apply_column_masking ? local.masked_columns : {}`: the SQL is what that does when true
      [/^var\.\w+\s*\?\s*(\S+)\s*:\s*\{\}$/, (m) => this.expr(m[1]!, each)],
      [/^var\.(\w+)$/, (m) => this.variableDefault(m[1]!)],
      [/^local\.(\w+)$/, (m) => this.local(m[1]!)],
      [/^(snowflake_\w+)\.(\w+)\.(name|fully_qualified_name)$/, (m) => this.name(m[1]!, m[2]!, m[3]!)],
    ];
    for (const [pattern, evaluate] of forms) {
      const m = pattern.exec(e);
      if (m) return evaluate(m);
    }
    throw new Error(`terraform: cannot evaluate \${${e}}`);
  }

  private variableDefault(name: string): unknown {
    const variable = this.tf.variable[name];
    if (!variable || !('default' in variable)) throw new Error(`terraform: var.${name} has no default`);
    return variable.default;
  }

  private local(name: string): unknown {
    const placeholder = PLACEHOLDERS[name];
    if (placeholder) return placeholder;
    if (!(name in this.tf.locals)) throw new Error(`terraform: no local.${name}`);
    return this.value(this.tf.locals[name]);
  }

  /** `name`, or `fully_qualified_name` (DB.SCHEMA.NAME, unquoted) of a Snowflake resource. */
  private name(type: string, label: string, attribute: string): string {
    const r = resource(this.tf, type, label);
    const name = this.text(r.name);
    if (attribute === 'name') return name;
    return [r.database, r.schema]
      .filter((part) => part !== undefined)
      .map((part) => this.text(part))
      .concat(name)
      .join('.');
  }
}

// ---- one model of the setup, from either side ----------------------------------------------------

/** Properties as Snowflake spells them (upper case), values canonical (see canon). */
type Props = Record<string, string>;

interface Setup {
  database: { name: string; props: Props };
  /** DB.SCHEMA -> properties (WITH_MANAGED_ACCESS = TRUE for managed access) */
  schemas: Map<string, Props>;
  warehouse: { name: string; props: Props };
  roles: Set<string>;
  /** `ROLE child TO ROLE parent` */
  hierarchy: Set<string>;
  /** `ROLE: PRIVILEGE ON <object>`, e.g. `SHOPSTREAM_ANALYST: SELECT ON FUTURE VIEWS IN SCHEMA SHOPSTREAM.MARTS` */
  grants: Set<string>;
  integration: { name: string; props: Props };
  stage: { name: string; props: Props };
  policy: { name: string; props: Props; body: string };
  /** DB.SCHEMA.TABLE.COLUMN -> policy */
  masked: Map<string, string>;
}

const canonItems = (items: readonly string[]) =>
  items
    .map((item) => oneLine(item).toUpperCase())
    .filter((item) => item.length > 0)
    .join(',');

/** Canonical (upper case, whitespace collapsed, lists comma-joined) form of a Terraform value. */
const canon = (value: unknown): string =>
  canonItems(Array.isArray(value) ? value.map(String) : [String(value)]);

/** The same form of a SQL property value: 'string', word, or (list) of either, like ('a', 'b'). */
const canonSql = (text: string): string =>
  canonItems(
    [
      ...text
        .trim()
        .replace(/^\(([\s\S]*)\)$/, '$1')
        .matchAll(/'(?:[^']|'')*'|[^,]+/g),
    ].map((m) => m[0].trim().replace(/^'([\s\S]*)'$/, '$1')),
  );

/** Terraform attributes that are Snowflake properties (everything but names and meta-arguments). */
function tfProps(tf: TerraformValues, r: Obj, skip: readonly string[] = []): Props {
  const meta = ['name', 'database', 'schema', 'depends_on', 'count', 'for_each', ...skip];
  return Object.fromEntries(
    Object.entries(r)
      .filter(([key]) => !meta.includes(key))
      .map(([key, value]) => [key.toUpperCase(), canon(tf.value(value))]),
  );
}

function only(tf: Terraform, type: string): Obj {
  const all = resources(tf, type);
  expect(
    all.map(([name]) => name),
    `one ${type}`,
  ).toHaveLength(1);
  return all[0]![1];
}

function terraformSetup(tf: Terraform): Setup {
  const ev = new TerraformValues(tf);
  const db = only(tf, 'snowflake_database');
  const warehouse = only(tf, 'snowflake_warehouse');
  const integration = only(tf, 'snowflake_storage_integration');
  const stage = only(tf, 'snowflake_stage');
  const policy = only(tf, 'snowflake_masking_policy');
  const argument = block(policy.argument);

  const schemas = new Map<string, Props>();
  for (const [, schema] of resources(tf, 'snowflake_schema')) {
    schemas.set(`${ev.text(schema.database)}.${ev.text(schema.name)}`.toUpperCase(), tfProps(ev, schema));
  }

  const hierarchy = new Set<string>();
  for (const [, grant] of resources(tf, 'snowflake_grant_account_role')) {
    if (grant.parent_role_name === undefined) continue; // role -> user (the optional service user)
    for (const each of ev.instances(grant))
      hierarchy.add(
        `ROLE ${ev.text(grant.role_name, each)} TO ROLE ${ev.text(grant.parent_role_name, each)}`.toUpperCase(),
      );
  }

  const grants = new Set<string>();
  for (const [name, grant] of resources(tf, 'snowflake_grant_privileges_to_account_role')) {
    for (const each of ev.instances(grant)) {
      let on: string;
      if (grant.on_account_object !== undefined) {
        const o = block(grant.on_account_object);
        on = `${ev.text(o.object_type, each)} ${ev.text(o.object_name, each)}`;
      } else if (grant.on_schema !== undefined) {
        on = `SCHEMA ${ev.text(block(grant.on_schema).schema_name, each)}`;
      } else if (grant.on_schema_object !== undefined) {
        const o = block(grant.on_schema_object);
        const bulk = (['all', 'future'] as const).find((kind) => o[kind] !== undefined);
        if (bulk) {
          const b = block(o[bulk]);
          on = `${bulk} ${ev.text(b.object_type_plural, each)} IN SCHEMA ${ev.text(b.in_schema, each)}`;
        } else {
          on = `${ev.text(o.object_type, each)} ${ev.text(o.object_name, each)}`;
        }
      } else {
        throw new Error(`terraform: grant ${name} is on nothing this test knows`);
      }
      const role = ev.text(grant.account_role_name, each);
      for (const privilege of strings(grant.privileges))
        grants.add(unquote(`${role}: ${oneLine(privilege)} ON ${oneLine(on)}`));
    }
  }

  const masked = new Map<string, string>();
  for (const [, application] of resources(tf, 'snowflake_table_column_masking_policy_application')) {
    for (const each of ev.instances(application))
      masked.set(
        unquote(`${ev.text(application.table, each)}.${ev.text(application.column, each)}`),
        unquote(ev.text(application.masking_policy, each)),
      );
  }

  const fqn = (r: Obj) => [r.database, r.schema, r.name].map((part) => ev.text(part)).join('.');
  return {
    database: { name: ev.text(db.name).toUpperCase(), props: tfProps(ev, db) },
    schemas,
    warehouse: { name: ev.text(warehouse.name).toUpperCase(), props: tfProps(ev, warehouse) },
    roles: new Set(resources(tf, 'snowflake_account_role').map(([, r]) => ev.text(r.name).toUpperCase())),
    hierarchy,
    grants,
    integration: { name: ev.text(integration.name).toUpperCase(), props: tfProps(ev, integration) },
    stage: { name: fqn(stage).toUpperCase(), props: tfProps(ev, stage) },
    policy: {
      name: fqn(policy).toUpperCase(),
      props: {
        ...tfProps(ev, policy, ['argument', 'return_data_type', 'body']),
        ARGUMENT: canon(`${ev.text(argument.name)} ${ev.text(argument.type)}`),
        RETURNS: canon(ev.text(policy.return_data_type)),
      },
      body: oneLine(ev.text(policy.body)),
    },
    masked,
  };
}

/** `KEY = value` pairs of a statement's tail; values are 'strings', (lists) or words. */
function sqlProps(tail: string): Props {
  const props: Props = {};
  for (const m of tail.matchAll(/(\w+)\s*=\s*('(?:[^']|'')*'|\([^)]*\)|[\w.$<>/:-]+)/g))
    props[m[1]!.toUpperCase()] = canonSql(m[2]!);
  return props;
}

interface AdminFile {
  readonly file: string;
  readonly text: string;
  readonly statements: readonly string[];
}

function readAdminFiles(): AdminFile[] {
  return ADMIN_FILES.map((file) => {
    const text = read(path.join(ADMIN_DIR, file));
    return { file, text, statements: splitStatements(text) };
  });
}

const IF_NOT_EXISTS = '(?:OR\\s+REPLACE\\s+)?__KIND__\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?';
const create = (kind: string, rest: string) =>
  new RegExp(`^CREATE\\s+${IF_NOT_EXISTS.replace('__KIND__', kind)}${rest}$`, 'i');

function sqlSetup(files: readonly AdminFile[]): { setup: Setup; unknown: string[]; otherGrants: string[] } {
  const setup: Setup = {
    database: { name: '', props: {} },
    schemas: new Map(),
    warehouse: { name: '', props: {} },
    roles: new Set(),
    hierarchy: new Set(),
    grants: new Set(),
    integration: { name: '', props: {} },
    stage: { name: '', props: {} },
    policy: { name: '', props: {}, body: '' },
    masked: new Map(),
  };
  const unknown: string[] = [];
  const grantsToAll: string[] = [];
  const rules: [RegExp, (m: RegExpExecArray) => void][] = [
    [/^USE\s+ROLE\s+\w+$/i, () => {}],
    [
      create('DATABASE', '(\\w+)(.*)'),
      (m) => {
        setup.database = { name: m[1]!.toUpperCase(), props: sqlProps(m[2]!) };
      },
    ],
    [
      create('SCHEMA', '([\\w."]+)(\\s+WITH\\s+MANAGED\\s+ACCESS)?(.*)'),
      (m) => {
        setup.schemas.set(unquote(m[1]!), {
          ...sqlProps(m[3]!),
          ...(m[2] ? { WITH_MANAGED_ACCESS: 'TRUE' } : {}),
        });
      },
    ],
    [
      create('WAREHOUSE', '(\\w+)(?:\\s+WITH)?(.*)'),
      (m) => {
        setup.warehouse = { name: m[1]!.toUpperCase(), props: sqlProps(m[2]!) };
      },
    ],
    [create('ROLE', '(\\w+)(.*)'), (m) => setup.roles.add(m[1]!.toUpperCase())],
    [
      /^GRANT\s+ROLE\s+(\w+)\s+TO\s+ROLE\s+(\w+)$/i,
      (m) => setup.hierarchy.add(`ROLE ${m[1]} TO ROLE ${m[2]}`.toUpperCase()),
    ],
    [
      /^GRANT\s+(.+?)\s+ON\s+(.+?)\s+TO\s+ROLE\s+(\w+)$/i,
      (m) => {
        for (const privilege of m[1]!.split(','))
          grantsToAll.push(unquote(`${m[3]}: ${oneLine(privilege)} ON ${m[2]}`));
      },
    ],
    [
      create('STORAGE\\s+INTEGRATION', '(\\w+)(.*)'),
      (m) => {
        setup.integration = { name: m[1]!.toUpperCase(), props: sqlProps(m[2]!) };
      },
    ],
    [
      create('STAGE', '([\\w."]+)(.*)'),
      (m) => {
        setup.stage = { name: unquote(m[1]!), props: sqlProps(m[2]!) };
      },
    ],
    [
      create(
        'MASKING\\s+POLICY',
        "([\\w.\"]+)\\s+AS\\s+\\((\\w+\\s+\\w+)\\)\\s+RETURNS\\s+(\\w+)\\s+->\\s+(.*?)(\\s+COMMENT\\s*=\\s*'(?:[^']|'')*')?",
      ),
      (m) => {
        setup.policy = {
          name: unquote(m[1]!),
          props: { ...sqlProps(m[5] ?? ''), ARGUMENT: canonSql(m[2]!), RETURNS: canonSql(m[3]!) },
          body: oneLine(m[4]!),
        };
      },
    ],
    [
      /^ALTER\s+TABLE\s+([\w."]+)\s+(?:MODIFY|ALTER)\s+(?:COLUMN\s+)?(\w+)\s+SET\s+MASKING\s+POLICY\s+([\w."]+)(?:\s+FORCE)?$/i,
      (m) => {
        setup.masked.set(unquote(`${m[1]}.${m[2]}`), unquote(m[3]!));
      },
    ],
  ];
  for (const { file, statements } of files) {
    for (const statement of statements) {
      const s = oneLine(statement);
      const handled = rules.some(([pattern, handle]) => {
        const m = pattern.exec(s);
        if (m) handle(m);
        return m !== null;
      });
      if (!handled) unknown.push(`${file}: ${s}`);
    }
  }
  const otherGrants: string[] = [];
  for (const grant of grantsToAll) {
    if (/^SHOPSTREAM_\w+:/.test(grant)) setup.grants.add(grant);
    else otherGrants.push(grant);
  }
  return { setup, unknown, otherGrants };
}

/** Lower-case names of the tables a statement names (ALTER/CREATE/DROP TABLE x, GRANT ... ON TABLE x). */
function tablesNamed(statement: string): string[] {
  const s = oneLine(statement);
  const pattern = /^GRANT\b/i.test(s)
    ? /\bON\s+TABLE\s+([\w."]+)/gi
    : /\b(?:ALTER|CREATE(?:\s+OR\s+REPLACE)?|DROP|TRUNCATE|UNDROP)\s+(?:TRANSIENT\s+|TEMP(?:ORARY)?\s+)?TABLE\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?([\w."]+)/gi;
  return [...s.matchAll(pattern)].map((m) => m[1]!.replace(/"/g, '').split('.').at(-1)!.toLowerCase());
}

// =================================================================================================

describe('sql/snowflake/admin: files and statements', () => {
  const files = readAdminFiles();

  it('holds the four numbered files and a README', () => {
    const present = readdirSync(ADMIN_DIR);
    expect(present.filter((f) => f.endsWith('.sql')).sort()).toEqual(ADMIN_FILES);
    expect(present).toContain('README.md');
    const readme = read(path.join(ADMIN_DIR, 'README.md'));
    for (const file of ADMIN_FILES) expect(readme).toMatch(new RegExp(`snowsql .*-f \\S*${file}`));
    expect(readme).toContain('infra/terraform/snowflake.tf');
  });

  it('warehouse init never applies them: it reads only the top level of sql/snowflake', () => {
    expect(SQL_DIR).toBe(path.join(ROOT, 'sql'));
    expect(statSync(ADMIN_DIR).isDirectory()).toBe(true);
    // what src/warehouse/init-warehouse.ts lists for Snowflake
    const applied = readdirSync(path.join(SQL_DIR, 'snowflake')).filter((f) => f.endsWith('.sql'));
    expect(applied).toContain('clustering.sql');
    for (const file of ADMIN_FILES) {
      expect(applied).not.toContain(file);
      expect(applied).not.toContain(`admin/${file}`);
    }
    // and it lists one folder level, not recursively
    const init = read(path.join(ROOT, 'src/warehouse/init-warehouse.ts'));
    expect(init).not.toMatch(/recursive|fast-glob|\*\*\//);
  });

  it.each(files.map((f) => [f.file, f] as const))('%s: header says who runs it and when', (_name, f) => {
    const lines = f.text.split('\n');
    const end = lines.findIndex((line) => !line.startsWith('--'));
    const header = lines.slice(0, end === -1 ? lines.length : end);
    expect(header.length, 'a leading comment block').toBeGreaterThan(2);
    expect(header.join('\n')).toMatch(/^-- Run as: .*\b(ACCOUNTADMIN|SECURITYADMIN|SYSADMIN)\b/m);
    expect(header.join('\n')).toMatch(/^-- When: /m);
  });

  it.each(files.map((f) => [f.file, f] as const))(
    '%s: splits into whole statements with known keywords, each create idempotent',
    (_name, f) => {
      expect(f.statements.length).toBeGreaterThan(1);
      expect(f.statements[0], 'the file switches to its role first').toMatch(/^USE\s+ROLE\s+\w+$/i);
      for (const statement of f.statements) {
        const keyword = /^\w+/.exec(statement)?.[0]?.toUpperCase();
        expect(STATEMENT_KEYWORDS, statement).toContain(keyword);
        // a missing ';' line would glue two statements together (each starts at column 0)
        for (const line of statement.split('\n').slice(1))
          expect(line, `no ';' line before: ${line}`).not.toMatch(/^(CREATE|ALTER|GRANT|USE|SET)\b/i);
        // a ';' outside a string literal would be a second statement that splitStatements misses
        expect(statement.replace(/'(?:[^']|'')*'/g, "''"), statement).not.toContain(';');
        if (keyword === 'CREATE') {
          expect(statement, 'CREATE ... IF NOT EXISTS or CREATE OR REPLACE').toMatch(
            /^CREATE\s+(OR\s+REPLACE\s+[\s\S]*|[\w\s]+?\s+IF\s+NOT\s+EXISTS\s+[\s\S]*)$/i,
          );
          // replacing these drops data, grants or (integration) the external id AWS trusts
          expect(statement).not.toMatch(
            /^CREATE\s+OR\s+REPLACE\s+(DATABASE|SCHEMA|STORAGE\s+INTEGRATION|MASKING\s+POLICY|STAGE)\b/i,
          );
        }
      }
    },
  );

  it('every statement is one this test understands', () => {
    expect(sqlSetup(files).unknown).toEqual([]);
  });

  it("names only the lake's tables", () => {
    const marts = readdirSync(path.join(ROOT, 'sql/marts'))
      .filter((f) => f.endsWith('.sql'))
      .map((f) => f.replace(/\.sql$/, ''));
    expect(new Set(LAKE_TABLES)).toEqual(new Set(['raw_events', ...marts]));
    const named = files.flatMap((f) => f.statements.flatMap(tablesNamed));
    expect(named.length).toBeGreaterThan(0);
    for (const table of named) expect(LAKE_TABLES).toContain(table);
  });

  it('placeholders only where Terraform needs AWS (02_storage.sql), and explained in its header', () => {
    for (const f of files) {
      const used = new Set(f.statements.flatMap((s) => [...s.matchAll(/<[a-z][\w-]*>/g)].map((m) => m[0])));
      if (f.file === '02_storage.sql') {
        expect(used).toEqual(new Set(Object.values(PLACEHOLDERS)));
        for (const placeholder of used) expect(f.text).toMatch(new RegExp(`^--.*${placeholder}`, 'm'));
      } else {
        expect([...used], f.file).toEqual([]);
      }
    }
  });
});

describe('sql/snowflake/admin agrees with infra/terraform/snowflake.tf', () => {
  let tf: Setup;
  let sql: Setup;
  let otherGrants: string[];
  beforeAll(async () => {
    const loaded = await loadTerraform(TERRAFORM_DIR);
    expect(loaded.files).toContain('snowflake.tf');
    tf = terraformSetup(loaded);
    ({ setup: sql, otherGrants } = sqlSetup(readAdminFiles()));
  });

  it('the Terraform side resolves to its defaults', () => {
    expect(tf.database.name).toBe('SHOPSTREAM'); // variables.tf snowflake_database
    expect(tf.warehouse.props.WAREHOUSE_SIZE).toBe('XSMALL'); // variables.tf snowflake_warehouse_size
    expect(tf.integration.props.STORAGE_ALLOWED_LOCATIONS).toBe('<LAKE-URL>/');
    expect(tf.masked.size).toBe(4);
  });

  it('database', () => {
    expect(sql.database).toEqual(tf.database);
  });

  it('schemas (names, managed access, retention)', () => {
    expect([...sql.schemas.keys()].sort()).toEqual([...tf.schemas.keys()].sort());
    for (const [name, props] of tf.schemas) expect(sql.schemas.get(name), name).toEqual(props);
  });

  it('warehouse (name, size, auto-suspend, auto-resume, ...)', () => {
    expect(sql.warehouse.name).toBe(tf.warehouse.name);
    expect(sql.warehouse.props.AUTO_SUSPEND).toBe(tf.warehouse.props.AUTO_SUSPEND);
    expect(sql.warehouse.props).toEqual(tf.warehouse.props);
  });

  it('roles and their hierarchy', () => {
    expect(sql.roles).toEqual(tf.roles);
    expect(sql.hierarchy).toEqual(tf.hierarchy);
  });

  it('grants: the same (role, privilege, object) set', () => {
    expect([...sql.grants].sort()).toEqual([...tf.grants].sort());
    // besides those, only what creating the stage as SYSADMIN takes
    expect(otherGrants).toEqual([`SYSADMIN: USAGE ON INTEGRATION ${tf.integration.name}`]);
  });

  it('the analyst role: usage and SELECT on MARTS only, nothing on RAW', () => {
    const analyst = [...tf.roles].find((r) => r.endsWith('_ANALYST'))!;
    const marts = [...tf.schemas.keys()].find((s) => s.endsWith('.MARTS'))!;
    const expected = [
      `USAGE ON WAREHOUSE ${tf.warehouse.name}`,
      `USAGE ON DATABASE ${tf.database.name}`,
      `USAGE ON SCHEMA ${marts}`,
      ...['ALL', 'FUTURE'].flatMap((when) =>
        ['TABLES', 'VIEWS'].map((kind) => `SELECT ON ${when} ${kind} IN SCHEMA ${marts}`),
      ),
    ].map((g) => `${analyst}: ${g}`);
    for (const side of [sql, tf]) {
      const grants = [...side.grants].filter((g) => g.startsWith(`${analyst}:`));
      expect(grants.sort()).toEqual(expected.sort());
      for (const grant of grants) expect(grant).not.toMatch(/\.RAW\b|STAGE|INTEGRATION|RAW_EVENTS/);
    }
    expect([...sql.hierarchy].filter((h) => h.endsWith(`TO ROLE ${analyst}`))).toEqual([]);
  });

  it('storage integration and stage', () => {
    expect(sql.integration).toEqual(tf.integration);
    expect(sql.stage).toEqual(tf.stage);
  });

  it('masking policy: name, signature, body', () => {
    expect(sql.policy.name).toBe(tf.policy.name);
    expect(sql.policy.props).toEqual(tf.policy.props);
    expect(sql.policy.body).toBe(tf.policy.body);
  });

  it('masking policy: applied to exactly the same (table, column) pairs', () => {
    expect([...sql.masked.keys()].sort()).toEqual([...tf.masked.keys()].sort());
    for (const [column, policy] of sql.masked) expect(policy, column).toBe(tf.policy.name);
    for (const column of sql.masked.keys()) {
      const table = column.split('.').at(-2)!.toLowerCase();
      expect(LAKE_TABLES).toContain(table);
    }
  });
});
