import { randomUUID } from 'node:crypto';
import { Flags } from '@oclif/core';
import { ShopstreamCommand } from '../../cli/base-command.js';
import { redisUrlFlag, warehouseFlag } from '../../cli/flags.js';
import { renderTable } from '../../cli/render.js';
import { currentActor } from '../../governance/actor.js';
import type { ForgetReceipt } from '../../governance/erasure-receipt.js';
import { localLakeDirs } from '../../governance/erasure-scan.js';
import { requestedUserIds } from '../../governance/erasure-users.js';
import { forgetUsers } from '../../governance/gdpr.js';
import { closeLake, openLake } from '../../lake/table/open-lake.js';
import { currentRun } from '../../runtime/run-context.js';
import { S3Store } from '../../storage/s3-store.js';
import { redisUserFlags } from '../../stream/redis-sink.js';
import { openExistingWarehouse } from '../../warehouse/open-warehouse.js';
import type { Warehouse } from '../../warehouse/warehouse.js';

export default class GdprForget extends ShopstreamCommand {
  static override audited = true;
  static override description =
    'Forget users (GDPR): delete their rows from every lake table, the files and log entries that held them, spools and staging leftovers, the warehouse and Redis; then scan every byte again and keep an Ed25519-signed receipt. Exit 1 when the scan still finds them. Rerunning is harmless.';
  static override examples = [
    '<%= config.bin %> gdpr forget --user usr_123',
    '<%= config.bin %> gdpr forget --file requests.txt --redis-url redis://127.0.0.1:6379 --json',
    '<%= config.bin %> gdpr forget --user usr_123 --no-warehouse',
  ];
  static override flags = {
    user: Flags.string({ description: 'A user id to forget (repeatable).', multiple: true }),
    file: Flags.string({ description: 'A file of user ids, one per line (# comments allowed).' }),
    warehouse: warehouseFlag(),
    'no-warehouse': Flags.boolean({ description: 'Leave the warehouse alone (delete there yourself).' }),
    'redis-url': redisUrlFlag("Also delete the users' fraud flag keys in this Redis"),
  };

  async run(): Promise<ForgetReceipt> {
    const { flags } = await this.parse(GdprForget);
    const userIds = await requestedUserIds(flags.user, flags.file);
    const config = this.resolveConfig(flags);
    const lake = await openLake(config);
    let warehouse: Warehouse | undefined;
    try {
      if (!flags['no-warehouse'])
        warehouse = await openExistingWarehouse(lake, config, 'gdpr-forget', randomUUID());
      const localDirs = localLakeDirs(lake.store.uri, lake.store instanceof S3Store);
      const receipt = await forgetUsers(lake, {
        userIds,
        ...(config.privacy.pseudonymKey ? { pseudonymSecret: config.privacy.pseudonymKey } : {}),
        ...(warehouse ? { warehouse } : {}),
        ...(flags['redis-url'] ? { userFlags: redisUserFlags(flags['redis-url']) } : {}),
        actor: currentActor(),
        runId: currentRun.id,
        ...(config.gdpr.signingKeyPath ? { signingKeyPath: config.gdpr.signingKeyPath } : {}),
        localDirs: localDirs.owned,
        sharedCacheDirs: localDirs.shared,
      });
      // like `gdpr verify`: something of them is left (listed in the receipt)
      if (receipt.verification.findings.length > 0) process.exitCode = 1;
      if (!this.jsonEnabled()) {
        this.log(
          `forgot ${receipt.requests.length} user(s): ${receipt.rowsDeleted} lake rows deleted (requests ${receipt.requests.map((r) => r.requestId).join(', ')})`,
        );
        this.log(
          renderTable(
            receipt.tables.map((t) => ({
              table: t.table,
              version: t.version ?? '',
              rows: t.rowsDeleted,
              removed: t.filesRemoved,
              added: t.filesAdded,
              purged: t.filesPurged.length,
            })),
          ),
        );
        if (receipt.warehouse) {
          this.log(
            `warehouse (${receipt.warehouse.kind}): ${receipt.warehouse.tables.map((t) => `${t.table} ${t.rowsDeleted}`).join(', ')}`,
          );
        }
        if (receipt.redisKeysDeleted !== null)
          this.log(`redis: ${receipt.redisKeysDeleted} flag key(s) deleted`);
        const other = receipt.otherFiles;
        this.log(
          `other files: ${other.scanned} scanned, ${other.deleted.length} deleted, ${other.rewritten.length} rewritten`,
        );
        const scan = receipt.verification;
        this.log(
          `verification: ${scan.lakeFiles} lake files (${scan.lakeBytes} bytes), ${scan.localFiles} local files, ${scan.warehouseTables.length} warehouse tables scanned: ${scan.findings.length === 0 ? 'nothing left' : `FOUND in ${scan.findings.map((f) => f.where).join(', ')}`}`,
        );
        this.log('receipt signed (Ed25519); --json prints it with its public key');
      }
      return receipt;
    } finally {
      await warehouse?.close();
      closeLake(lake);
    }
  }
}
