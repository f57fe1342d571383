import { buildService } from '../helpers/processes.ts';
import { compileTestFixtures } from '../../test/helpers/compiled-fixtures.ts';

/**
 * The tests that run Switchboard as a process run what `npm start` runs: the build in dist/.
 * Built once here (incremental, so a second run is quick) rather than by each test file; the
 * fixture servers are compiled here too (test/helpers/compiled-fixtures.ts).
 */
export default async function setup(): Promise<void> {
  buildService();
  await compileTestFixtures();
}
