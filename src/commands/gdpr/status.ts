import { Flags } from '@oclif/core';
import { ShopstreamCommand } from '../../cli/base-command.js';
import { renderTable } from '../../cli/render.js';
import { type DeletionRequest, deletionRequests } from '../../governance/erasure-requests.js';
import { closeLake, openLake } from '../../lake/table/open-lake.js';

export default class GdprStatus extends ShopstreamCommand {
  static override description =
    'List GDPR deletion requests: status, age in days and the 30-day deadline (overdue flagged); user keys, never ids.';
  static override examples = [
    '<%= config.bin %> gdpr status',
    '<%= config.bin %> gdpr status --user usr_123 --json',
  ];
  static override flags = {
    user: Flags.string({ description: "Only this user's requests (matched by its pseudonymized key)." }),
  };

  async run(): Promise<DeletionRequest[]> {
    const { flags } = await this.parse(GdprStatus);
    const config = this.resolveConfig(flags);
    const lake = await openLake(config);
    try {
      const requests = await deletionRequests(lake, {
        ...(flags.user !== undefined ? { userId: flags.user } : {}),
        ...(config.privacy.pseudonymKey ? { pseudonymSecret: config.privacy.pseudonymKey } : {}),
      });
      if (!this.jsonEnabled()) {
        this.log(
          requests.length === 0
            ? 'no deletion requests'
            : renderTable(
                requests.map((r) => ({
                  requestId: r.requestId,
                  userKey: r.userKey,
                  status: r.status,
                  requestedAt: r.requestedAt,
                  ageDays: r.ageDays,
                  deadline: r.deadline,
                  overdue: r.overdue ? 'OVERDUE' : '',
                  actor: r.actor ?? '',
                  rowsDeleted: r.rowsDeleted ?? '',
                })),
              ),
        );
      }
      return requests;
    } finally {
      closeLake(lake);
    }
  }
}
