import { Flags } from '@oclif/core';
import { redisUrlFlag, warehouseFlag } from '../../cli/flags.js';
import { GdprCommand } from '../../cli/gdpr-command.js';
import { renderTable } from '../../cli/render.js';
import { currentActor } from '../../governance/actor.js';
import type { ForgetReceipt } from '../../governance/erasure-receipt.js';
import { forgetUsers } from '../../governance/gdpr.js';
import { currentRun } from '../../runtime/run-context.js';
import { redisUserFlags } from '../../stream/redis-sink.js';

export default class GdprForget extends GdprCommand {
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
    return this.withErasureTargets(
      flags,
      'gdpr-forget',
      async ({ userIds, config, lake, warehouse, localDirs }) => {
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
        if (!this.jsonEnabled()) this.log(describe(receipt));
        return receipt;
      },
    );
  }
}

function describe(receipt: ForgetReceipt): string {
  const { otherFiles: other, verification: scan } = receipt;
  const lines = [
    `forgot ${receipt.requests.length} user(s): ${receipt.rowsDeleted} lake rows deleted (requests ${receipt.requests.map((r) => r.requestId).join(', ')})`,
    renderTable(
      receipt.tables.map(({ table, version, rowsDeleted, filesRemoved, filesAdded, filesPurged }) => ({
        table,
        version: version ?? '',
        rows: rowsDeleted,
        removed: filesRemoved,
        added: filesAdded,
        purged: filesPurged.length,
      })),
    ),
  ];
  if (receipt.warehouse) {
    lines.push(
      `warehouse (${receipt.warehouse.kind}): ${receipt.warehouse.tables.map((t) => `${t.table} ${t.rowsDeleted}`).join(', ')}`,
    );
  }
  if (receipt.redisKeysDeleted !== null) lines.push(`redis: ${receipt.redisKeysDeleted} flag key(s) deleted`);
  lines.push(
    `other files: ${other.scanned} scanned, ${other.deleted.length} deleted, ${other.rewritten.length} rewritten`,
    `verification: ${scan.lakeFiles} lake files (${scan.lakeBytes} bytes), ${scan.localFiles} local files, ${scan.warehouseTables.length} warehouse tables scanned: ${scan.findings.length === 0 ? 'nothing left' : `FOUND in ${scan.findings.map((f) => f.where).join(', ')}`}`,
    'receipt signed (Ed25519); --json prints it with its public key',
  );
  return lines.join('\n');
}
