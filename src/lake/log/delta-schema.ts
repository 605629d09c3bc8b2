/**
 * Delta table schemas as the log holds them: the metaData action's `schemaString`, Spark StructType
 * JSON. How those types map to DuckDB and how writers declare columns is the table API's
 * (`table/columns.ts`).
 */

export type DeltaType =
  | string
  | { readonly type: 'struct'; readonly fields: readonly DeltaField[] }
  | { readonly type: 'array'; readonly elementType: DeltaType; readonly containsNull: boolean }
  | {
      readonly type: 'map';
      readonly keyType: DeltaType;
      readonly valueType: DeltaType;
      readonly valueContainsNull: boolean;
    };

export interface DeltaField {
  readonly name: string;
  readonly type: DeltaType;
  readonly nullable: boolean;
  readonly metadata: Record<string, unknown>;
}

export interface DeltaSchema {
  readonly type: 'struct';
  readonly fields: readonly DeltaField[];
}

export function parseSchema(schemaString: string): DeltaSchema {
  return JSON.parse(schemaString) as DeltaSchema;
}

export function schemaToString(schema: DeltaSchema): string {
  return JSON.stringify(schema);
}

export function isPrimitive(type: DeltaType): type is string {
  return typeof type === 'string';
}
