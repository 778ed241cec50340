/**
 * The JSON Schema of what `--json` prints (report.schema.json), generated from the TypeScript types
 * the CLI prints (lambdas/cli/json-documents.ts) with ts-json-schema-generator: the types stay the
 * one source, their doc comments become the descriptions. `npm run schema` writes it; a test keeps
 * it current.
 *
 * The schema is open (an object may carry fields it does not name), as the report's promise is:
 * fields are added, never renamed or removed, so a script validating with this schema keeps
 * working with later versions. The tests validate real outputs against a closed copy
 * (`closedSchema`), so that no field is printed without being in the types.
 */
import { createGenerator } from 'ts-json-schema-generator';

export const REPORT_SCHEMA_FILE = 'report.schema.json';

export function reportJsonSchema(): Record<string, unknown> {
  const schema = createGenerator({
    path: 'lambdas/cli/json-documents.ts',
    tsconfig: 'tsconfig.json',
    type: 'JsonDocument',
    expose: 'export',
    topRef: true,
    jsDoc: 'extended',
    additionalProperties: true,
    skipTypeCheck: true,
    sortProps: true,
  }).createSchema('JsonDocument');
  return {
    $schema: schema.$schema,
    title: 'rs-cert-watchdog --json output',
    description:
      'What check --json, renew --json and report --json print: a report (CheckJsonReport, RenewJsonReport) or, when the command fails, an error (JsonError). Objects may carry fields added by later versions.',
    ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== '$schema')),
  };
}

/** A copy in which no object may carry a field the types do not name. */
export function closedSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closedSchema);
  if (typeof schema !== 'object' || schema === null) return schema;
  const copy = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, closedSchema(v)]));
  if (copy.type === 'object' && copy.properties && copy.additionalProperties === undefined)
    copy.additionalProperties = false;
  return copy;
}
