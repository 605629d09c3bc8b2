import {
  DefaultQueryCompiler,
  type Dialect,
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  type QueryCompiler,
} from 'kysely';

/**
 * Compile-only Kysely dialects: queries are built with types and compiled to SQL plus bound
 * parameters here, then run by a Warehouse. Kysely ships neither dialect, so these are the smallest
 * subclasses that differ where the databases differ (placeholders, identifier case); identifiers
 * are double-quoted in both, values are always parameters.
 */
export type WarehouseDialect = 'duckdb' | 'snowflake';

/** DuckDB binds `$1, $2, ...`, as Kysely's default compiler writes them. */
class DuckDbQueryCompiler extends DefaultQueryCompiler {}

/**
 * Snowflake's driver binds positional `?` parameters, and Snowflake stores unquoted identifiers in
 * upper case: quoted ones must be written upper-case to match the tables `load` creates.
 */
class SnowflakeQueryCompiler extends DefaultQueryCompiler {
  protected override getCurrentParameterPlaceholder(): string {
    return '?';
  }

  protected override sanitizeIdentifier(identifier: string): string {
    return super.sanitizeIdentifier(identifier.toUpperCase());
  }
}

function compileOnly(createQueryCompiler: () => QueryCompiler): Dialect {
  return {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler,
  };
}

export function compileOnlyKysely<DB>(dialect: WarehouseDialect): Kysely<DB> {
  return new Kysely<DB>({
    dialect: compileOnly(() =>
      dialect === 'duckdb' ? new DuckDbQueryCompiler() : new SnowflakeQueryCompiler(),
    ),
  });
}
