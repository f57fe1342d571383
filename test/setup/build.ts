import { buildService } from '../../scripts/lib/processes.ts';

/**
 * The tests that run Switchboard as a process run what `npm start` runs: the build in dist/.
 * Built once here (incremental, so a second run is quick) rather than by each test file.
 */
export default function setup(): void {
  buildService();
}
