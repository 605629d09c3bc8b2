import { randomUUID } from 'node:crypto';
import { Flags } from '@oclif/core';
import { ShopstreamCommand } from '../../cli/base-command.js';
import { warehouseFlag } from '../../cli/flags.js';
import { localLakeDirs, type ScanReport } from '../../governance/erasure-scan.js';
import { requestedUserIds } from '../../governance/erasure-users.js';
import { verifyErasure } from '../../governance/gdpr.js';
import { closeLake, openLake } from '../../lake/table/open-lake.js';
import { S3Store } from '../../storage/s3-store.js';
import { openExistingWarehouse } from '../../warehouse/open-warehouse.js';
import type { Warehouse } from '../../warehouse/warehouse.js';

export default class GdprVerify extends ShopstreamCommand {
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
    const userIds = await requestedUserIds(flags.user, flags.file);
    const config = this.resolveConfig(flags);
    const lake = await openLake(config);
    let warehouse: Warehouse | undefined;
    try {
      if (!flags['no-warehouse'])
        warehouse = await openExistingWarehouse(lake, config, 'gdpr-verify', randomUUID());
      const report = await verifyErasure(lake, {
        userIds,
        ...(config.privacy.pseudonymKey ? { pseudonymSecret: config.privacy.pseudonymKey } : {}),
        ...(warehouse ? { warehouse } : {}),
        localDirs: localLakeDirs(lake.store.uri, lake.store instanceof S3Store).owned,
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
    } finally {
      await warehouse?.close();
      closeLake(lake);
    }
  }
}
