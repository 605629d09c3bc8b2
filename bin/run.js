#!/usr/bin/env node
import { execute } from '@oclif/core';

// The AWS SDK warns on every run under Node 20 that its 2027 releases will need Node 22; cron and
// CI logs must stay quiet, so the notice is off unless the user asks for it (see README).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

await execute({ dir: import.meta.url });
