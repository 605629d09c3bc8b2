import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseHcl } from '@cdktf/hcl2json';

/** JSON of parsed HCL. */
export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
export const asObj = (v: unknown): Obj => (isObj(v) ? v : {});
/** HCL blocks come out as arrays of objects; attributes as plain values. */
export const blocks = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : isObj(v) ? [v] : []);
export const block = (v: unknown): Obj => blocks(v)[0] ?? {};
export const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.map(String) : v === undefined ? [] : [String(v)];

/** Every `.tf` file of a folder, merged by kind (Terraform itself cannot be installed here). */
export interface Terraform {
  readonly files: readonly string[];
  readonly resource: Record<string, Record<string, Obj>>;
  readonly data: Record<string, Record<string, Obj>>;
  readonly locals: Obj;
  readonly provider: Record<string, Obj>;
  readonly terraform: Obj;
  readonly variable: Record<string, Obj>;
}

export async function loadTerraform(dir: string): Promise<Terraform> {
  const files = readdirSync(dir).filter((f) => f.endsWith('.tf'));
  const tf: Terraform = {
    files,
    resource: {},
    data: {},
    locals: {},
    provider: {},
    terraform: {},
    variable: {},
  };
  for (const file of files) {
    const json = (await parseHcl(file, readFileSync(path.join(dir, file), 'utf8'))) as Obj;
    for (const kind of ['resource', 'data'] as const) {
      for (const [type, byName] of Object.entries(asObj(json[kind]))) {
        tf[kind][type] ??= {};
        for (const [name, body] of Object.entries(asObj(byName))) tf[kind][type][name] = block(body);
      }
    }
    for (const locals of blocks(json.locals)) Object.assign(tf.locals, locals);
    for (const [name, body] of Object.entries(asObj(json.provider))) tf.provider[name] = block(body);
    for (const [name, body] of Object.entries(asObj(json.variable))) tf.variable[name] = block(body);
    Object.assign(tf.terraform, block(json.terraform));
  }
  return tf;
}
