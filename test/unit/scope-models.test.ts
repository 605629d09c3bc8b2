import { describe, expect, it } from 'vitest';
import { externalInputs, loadModels, loadScopeModels } from '../../src/transforms/model.js';

describe('scope models (sql/scope)', () => {
  it('define every scope_* relation the build models read, in both modes, from what the plan provides', () => {
    const wanted = externalInputs(loadModels()).filter((name) => name.startsWith('scope_'));
    expect(wanted.length).toBeGreaterThan(0);
    const provided = {
      full: ['all_raw_events', 'changed_event_hours'],
      incremental: [
        'all_raw_events',
        'all_sessions',
        'changed_event_hours',
        'changed_raw_events',
        'existing_conversion_daily',
      ],
    };
    for (const mode of ['full', 'incremental'] as const) {
      const models = loadScopeModels(mode);
      const names = models.map((m) => m.name);
      for (const name of wanted) expect(names, `${mode} defines ${name}`).toContain(name);
      expect(models.every((m) => m.layer === 'scope' && m.materialized === 'temp')).toBe(true);
      // the plan provides these from the Delta log; everything else is a scope model
      for (const input of externalInputs(models))
        expect(provided[mode], `${mode}: ${input}`).toContain(input);
      // dependency order: each model after the scope models it reads
      for (const model of models)
        for (const dep of model.dependsOn)
          if (names.includes(dep)) expect(names.indexOf(dep)).toBeLessThan(names.indexOf(model.name));
    }
    // an incremental build also says which raw_events hours its models read
    expect(loadScopeModels('incremental').map((m) => m.name)).toContain('scope_read_hours');
  });
});
