// Writes config.schema.json from the zod schema (npm run schema). A test keeps it up to date.
import { writeFileSync } from 'node:fs';
import { configJsonSchema } from '../lambdas/domain/config/schema';

writeFileSync('config.schema.json', `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
