import type { DeclaredTable } from '../table-definition.js';

export const LATE_EVENTS = 'late_events';

/** Events the micro-batch received behind its watermark (past the allowed lateness). */
export const LATE_EVENTS_TABLE: DeclaredTable = {
  name: LATE_EVENTS,
  role: 'stream',
  definition: {
    columns: [
      { name: 'event_id', type: 'string' },
      { name: 'user_id', type: 'string' },
      { name: 'event_time', type: 'timestamp' },
      { name: 'watermark', type: 'timestamp' },
      { name: 'arrived_at', type: 'timestamp' },
      { name: 'raw', type: 'string' },
    ],
  },
  load: 'when named',
  erasure: 'erase',
};
