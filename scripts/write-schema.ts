// Writes config.schema.json from the zod schema, and report.schema.json (what --json prints) from
// the CLI's TypeScript types (npm run schema). Tests keep both up to date.
import { writeFileSync } from 'node:fs';
import { configJsonSchema } from '../lambdas/domain/config/schema';
import { REPORT_SCHEMA_FILE, reportJsonSchema } from './report-schema';

writeFileSync('config.schema.json', `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
writeFileSync(REPORT_SCHEMA_FILE, `${JSON.stringify(reportJsonSchema(), null, 2)}\n`);
