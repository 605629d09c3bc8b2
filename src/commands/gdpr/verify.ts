import { Flags } from '@oclif/core';
import { warehouseFlag } from '../../cli/flags.js';
import { GdprCommand } from '../../cli/gdpr-command.js';
import type { ScanReport } from '../../governance/erasure-scan.js';
import { verifyErasure } from '../../governance/gdpr.js';

export default class GdprVerify extends GdprCommand {
  static override description =
    "Scan every byte of the lake (data, logs, checkpoints, _shopstream/), an s3:// or older lake's local spool, and the DuckDB warehouse for users' ids (raw or JSON-escaped) and keys. Exit 1 when anything is found (listed), 0 when clean.";
  static override examples = [
    '<%= config.bin %> gdpr verify --user usr_123',
    '<%= config.bin %> gdpr verify --file requests.txt --json',
  ];
  static override flags = {
    user: Flags.string({ description: 'A user id to look for (repeatable).', multiple: true }),
    file: Flags.string({ description: 'A file of user ids, one per line (# comments allowed).' }),
    warehouse: warehouseFlag(),
    'no-warehouse': Flags.boolean({ description: 'Do not scan the warehouse.' }),
  };

  async run(): Promise<ScanReport> {
    const { flags } = await this.parse(GdprVerify);
    return this.withErasureTargets(
      flags,
      'gdpr-verify',
      async ({ userIds, config, lake, warehouse, localDirs }) => {
        const report = await verifyErasure(lake, {
          userIds,
          ...(config.privacy.pseudonymKey ? { pseudonymSecret: config.privacy.pseudonymKey } : {}),
          ...(warehouse ? { warehouse } : {}),
          localDirs: localDirs.owned,
        });
        if (!this.jsonEnabled()) {
          this.log(
            `scanned ${report.lakeFiles} lake files (${report.lakeBytes} bytes), ${report.localFiles} local files, ${report.warehouseTables.length} warehouse tables${report.warehouseScanned === false ? ' (Snowflake: not scanned)' : ''}`,
          );
          if (report.findings.length === 0) this.log('nothing of the user(s) found');
          for (const finding of report.findings)
            this.log(`FOUND ${finding.found === 'id' ? 'id ' : 'key'} ${finding.where}`);
        }
        if (report.findings.length > 0) process.exitCode = 1;
        return report;
      },
    );
  }
}
