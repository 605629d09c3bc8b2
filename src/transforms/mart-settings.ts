import { createHash } from 'node:crypto';
import type { Snapshot } from '../lake/log/snapshot.js';
import type { DeltaTable } from '../lake/table/delta-table.js';
import type { Model } from './model.js';

/**
 * The effective settings of each mart: the values of every parameter its SQL and the models above
 * it bind, a hash of that SQL (and of the macros), and the rates file's hash when it converts
 * currencies. A mart whose settings differ from those it was built with is stale: its rows mean
 * something else than the current configuration says, so the build rewrites it in full.
 *
 * Recorded twice in each mart commit: the settings themselves in commitInfo (to say what changed),
 * and a 48-bit fingerprint as a Delta txn, which survives checkpoints and log cleanup.
 */
export const SETTINGS_APP_ID = 'shopstream-build-marts-settings';

export interface MartSettings {
  /** Config key (or parameter name) -> value, for every parameter the mart depends on. */
  readonly settings: Readonly<Record<string, string>>;
  /** SHA-256 of the SQL of the mart, every model above it and the macros. */
  readonly sqlHash: string;
  /** SHA-256 of the rates file, when the mart converts currencies with one. */
  readonly ratesHash: string | null;
  /** What the txn records: the first 48 bits of a hash of the above. */
  readonly fingerprint: number;
}

export interface StaleMart {
  readonly mart: string;
  readonly reason: string;
}

/** The settings of every Delta model. `keys` names each parameter by its config key. */
export function martSettings(
  models: readonly Model[],
  params: Readonly<Record<string, string>>,
  keys: Readonly<Record<string, string>>,
  extra: { readonly macrosSql: string; readonly ratesHash: string | null },
): Map<string, MartSettings> {
  const byName = new Map(models.map((m) => [m.name, m]));
  const out = new Map<string, MartSettings>();
  for (const mart of models.filter((m) => m.materialized === 'delta')) {
    const closure = upstreamModels(mart, byName);
    const settings: Record<string, string> = {};
    for (const name of [...new Set(closure.flatMap((m) => m.parameters))].sort())
      settings[keys[name] ?? name] = params[name] ?? '';
    const sql = createHash('sha256');
    for (const model of closure) sql.update(`${model.name}\n${model.sql}\n`);
    sql.update(extra.macrosSql);
    const sqlHash = sql.digest('hex');
    const convertsMoney = closure.some((m) => m.dependsOn.includes('currency_rates'));
    const ratesHash = convertsMoney ? extra.ratesHash : null;
    const whole = createHash('sha256').update(JSON.stringify({ settings, sqlHash, ratesHash })).digest('hex');
    out.set(mart.name, {
      settings,
      sqlHash,
      ratesHash,
      fingerprint: Number.parseInt(whole.slice(0, 12), 16),
    });
  }
  return out;
}

/** What goes into a mart's commitInfo. */
export function settingsInfo(settings: MartSettings): Record<string, unknown> {
  return {
    martSettings: { settings: settings.settings, sqlHash: settings.sqlHash, ratesHash: settings.ratesHash },
  };
}

/** The existing marts built with other settings than `expected`, each with what changed. */
export async function staleMarts(
  tables: ReadonlyMap<string, DeltaTable>,
  snapshots: ReadonlyMap<string, Snapshot | undefined>,
  expected: ReadonlyMap<string, MartSettings>,
): Promise<StaleMart[]> {
  const stale: StaleMart[] = [];
  for (const [name, snapshot] of snapshots) {
    const want = expected.get(name);
    if (!snapshot || !want) continue;
    if (snapshot.txnVersion(SETTINGS_APP_ID) === want.fingerprint) continue;
    stale.push({ mart: name, reason: await describeChange(tables.get(name)!, snapshot, want) });
  }
  return stale;
}

/** How many commits back to look for the recorded settings (maintenance commits carry none). */
const LOOK_BACK = 20;

async function describeChange(table: DeltaTable, snapshot: Snapshot, want: MartSettings): Promise<string> {
  const recorded = await recordedSettings(table, snapshot.version);
  if (!recorded) return 'no settings recorded (built by an earlier version)';
  const changes: string[] = [];
  const keys = [...new Set([...Object.keys(recorded.settings ?? {}), ...Object.keys(want.settings)])].sort();
  for (const key of keys) {
    const was = recorded.settings?.[key];
    const now = want.settings[key];
    if (was !== now) changes.push(`${key} ${was ?? '(unset)'} -> ${now ?? '(unset)'}`);
  }
  if (recorded.sqlHash !== want.sqlHash) changes.push('its SQL changed');
  if ((recorded.ratesHash ?? null) !== want.ratesHash) changes.push('the currency rates changed');
  return changes.length > 0 ? `settings changed: ${changes.join(', ')}` : 'settings changed';
}

interface Recorded {
  readonly settings?: Record<string, string>;
  readonly sqlHash?: string;
  readonly ratesHash?: string | null;
}

async function recordedSettings(table: DeltaTable, version: number): Promise<Recorded | undefined> {
  for (let v = version; v >= Math.max(0, version - LOOK_BACK); v--) {
    let actions: Awaited<ReturnType<DeltaTable['log']['readCommit']>>;
    try {
      actions = await table.log.readCommit(v);
    } catch {
      return undefined; // cleaned up past a checkpoint: the txn alone said it changed
    }
    for (const action of actions)
      if ('commitInfo' in action && action.commitInfo.martSettings)
        return action.commitInfo.martSettings as Recorded;
  }
  return undefined;
}

/** The model and every model above it, each once, in a stable order. */
function upstreamModels(model: Model, byName: ReadonlyMap<string, Model>): Model[] {
  const seen = new Map<string, Model>();
  const visit = (m: Model) => {
    if (seen.has(m.name)) return;
    seen.set(m.name, m);
    for (const dep of m.dependsOn) {
      const upstream = byName.get(dep);
      if (upstream) visit(upstream);
    }
  };
  visit(model);
  return [...seen.values()].sort((a, b) => a.name.localeCompare(b.name));
}
