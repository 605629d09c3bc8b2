import { Args, Flags } from '@oclif/core';
import { ShopstreamCommand } from '../../cli/base-command.js';
import { dataError } from '../../errors.js';
import {
  type BreakingChange,
  type Compatibility,
  checkSchemaFile,
  type SchemaCheck,
} from '../../governance/avro-registry.js';

const REQUIRED: Readonly<Record<'backward' | 'forward' | 'full' | 'none', Compatibility>> = {
  backward: 'BACKWARD',
  forward: 'FORWARD',
  full: 'FULL',
  none: 'NONE',
};

export default class SchemaCheckCommand extends ShopstreamCommand {
  static override description =
    'Check a new Avro event schema against the current registered version (or --against) by Avro ' +
    'schema resolution rules. BACKWARD: consumers on the new schema read existing data; FORWARD: ' +
    'consumers still on the current schema read new data; FULL: both. Exits 65 when the --require ' +
    'level is not met, naming each breaking field.';
  static override examples = [
    '<%= config.bin %> schema check new.avsc',
    '<%= config.bin %> schema check new.avsc --require full',
    '<%= config.bin %> schema check v3.avsc --against v2.avsc --require forward',
    '<%= config.bin %> schema check new.avsc --json',
  ];
  static override args = {
    file: Args.string({ description: 'the new schema (.avsc, Avro JSON)', required: true }),
  };
  static override flags = {
    against: Flags.string({
      description: 'Schema to compare with (default: the highest schemas/clickstream_event/v<N>.avsc).',
    }),
    require: Flags.option({
      description: 'Compatibility the new schema must have.',
      options: ['backward', 'forward', 'full', 'none'] as const,
      default: 'backward',
    })(),
  };

  async run(): Promise<SchemaCheck> {
    const { args, flags } = await this.parse(SchemaCheckCommand);
    const check = await checkSchemaFile(args.file, {
      required: REQUIRED[flags.require],
      ...(flags.against !== undefined ? { against: flags.against } : {}),
    });
    if (!this.jsonEnabled()) this.log(describe(check));
    if (!check.ok) {
      const breaking = [
        ...(check.required === 'FORWARD' ? [] : lines('backward', check.backward)),
        ...(check.required === 'BACKWARD' ? [] : lines('forward', check.forward)),
      ];
      const incompatible = dataError(
        'SCHEMA_INCOMPATIBLE',
        `${check.file} is not ${check.required} compatible with ${check.against} (it is ${check.level}): ${breaking.join('; ')}`,
        {
          suggestions: [
            'add new fields as ["null", T] with "default": null; keep a renamed field\'s old name in its "aliases"',
          ],
        },
      );
      this.failAfter(check, incompatible);
    }
    return check;
  }
}

function describe(check: SchemaCheck): string {
  const summary: Record<Compatibility, string> = {
    FULL: 'FULL compatible (BACKWARD and FORWARD)',
    BACKWARD: 'BACKWARD compatible (not FORWARD)',
    FORWARD: 'FORWARD compatible (not BACKWARD)',
    NONE: 'NOT compatible (neither BACKWARD nor FORWARD)',
  };
  return [
    `${check.against} -> ${check.file}: ${summary[check.level]}`,
    ...lines('backward', check.backward).map((line) => `  ${line}`),
    ...lines('forward', check.forward).map((line) => `  ${line}`),
  ].join('\n');
}

function lines(direction: string, changes: readonly BreakingChange[]): string[] {
  return changes.map((c) => `${direction}: field ${c.field}: ${c.reason}`);
}
