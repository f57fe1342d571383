import { applyEnvFileOrExit } from './env-file.ts';
import { main } from './main.ts';

// Before main() reads the configuration: a `.env` fills in what the environment leaves unset.
applyEnvFileOrExit();
await main();
