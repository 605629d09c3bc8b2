import { describe, expect, it } from 'vitest';
import { externalInputs, loadModels, orderByDependencies, parseModel } from '../../src/transforms/model.js';

describe('SQL models', () => {
  it('loads every model under sql/ in dependency order, staging before marts', () => {
    const models = loadModels();
    const names = models.map((m) => m.name);
    for (const model of models) {
      for (const dep of model.dependsOn) {
        if (names.includes(dep))
          expect(names.indexOf(dep), `${dep} before ${model.name}`).toBeLessThan(names.indexOf(model.name));
      }
    }
    expect(
      models
        .filter((m) => m.materialized === 'delta')
        .map((m) => m.name)
        .sort(),
    ).toEqual([
      'conversion_daily',
      'customer_ltv',
      'fraud_flags',
      'fraud_user_minute',
      'metrics_minute',
      'sessions',
    ]);
    expect(externalInputs(models)).toEqual([
      'all_fraud_flags',
      'conversion_sessions_added',
      'conversion_sessions_kept',
      'conversion_sessions_removed',
      'conversion_users',
      'currency_rates',
      'existing_customer_ltv',
      'existing_customer_purchases',
      'existing_fraud_flags',
      'existing_sessions',
      'fraud_user_minute_read_hours',
      'int_customer_clv_predictions',
      'ltv_purchase_events',
      'ltv_purchase_users',
      'raw_events_last_day',
      'scope_conversion_kept',
      'scope_event_hours',
      'scope_flag_hours',
      'scope_ltv_users',
      'scope_session_dates',
      'scope_session_hours',
      'scope_session_ranges',
      'scoped_raw_events',
      'scoped_users',
      'sessions_read_hours',
      'user_agent_bots',
    ]);
    for (const mart of models.filter((m) => m.materialized === 'delta' && m.partitionBy.length > 0))
      expect(mart.scope, mart.name).toMatch(/^scope_/);
  });

  it('takes parameters from the SQL, not from comments', () => {
    const model = parseModel(
      '/x/marts/m.sql',
      '-- model: m\n-- uses $ignored in a comment\nSELECT $a, $b, $a',
    );
    expect(model.parameters).toEqual(['a', 'b']);
    expect(model.materialized).toBe('delta');
  });

  it('refuses a dependency cycle', () => {
    const a = parseModel('/x/staging/a.sql', '-- depends_on: b\nSELECT 1');
    const b = parseModel('/x/staging/b.sql', '-- depends_on: a\nSELECT 1');
    expect(() => orderByDependencies([a, b])).toThrow(/cycle/);
  });
});
