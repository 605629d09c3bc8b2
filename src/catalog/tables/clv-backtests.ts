import type { ColumnDef } from '../../lake/table/columns.js';
import type { DeclaredTable } from '../table-definition.js';

export const CLV_BACKTESTS = 'clv_backtests';

export const CLV_BACKTESTS_COLUMNS: readonly ColumnDef[] = [
  { name: 'run_id', type: 'string', nullable: false, comment: 'The backtest run.' },
  { name: 'ran_at', type: 'timestamp', nullable: false, comment: 'When it ran.' },
  { name: 'until', type: 'date', nullable: false, comment: 'First day of the holdout.' },
  { name: 'end_day', type: 'date', nullable: false, comment: 'Last day of data (end of the holdout).' },
  { name: 'calibration_frequency', type: 'string', nullable: false, comment: '0 ... 6, 7+, or all.' },
  { name: 'customers', type: 'long', nullable: false, comment: 'Customers in the group.' },
  { name: 'predicted_mean', type: 'double', nullable: false, comment: 'Mean predicted holdout purchases.' },
  { name: 'actual_mean', type: 'double', nullable: false, comment: 'Mean actual holdout purchases.' },
  { name: 'mae', type: 'double', comment: 'Per-customer mean absolute error (row "all").' },
  { name: 'rmse', type: 'double', comment: 'Per-customer root-mean-square error (row "all").' },
];

export const CLV_BACKTESTS_TABLE: DeclaredTable = {
  name: CLV_BACKTESTS,
  role: 'record',
  definition: {
    columns: CLV_BACKTESTS_COLUMNS,
    description: 'One row per calibration-frequency group (and one "all") per shopstream clv backtest.',
  },
  load: 'when named',
  erasure: 'erase',
};
