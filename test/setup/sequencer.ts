import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Files that run for minutes, mostly waiting on child processes and timers. Started first, they
 * run beside the rest of the suite on the other worker; started last (vitest's default order on a
 * fresh clone puts larger files first), they ran alone at the end and added their whole length.
 */
const startFirst = ['test/processes/soak.test.ts', 'test/faults/database-restart.test.ts', 'test/webhooks/webhook-database-outage.test.ts'];

export class LongRunnersFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (file: TestSpecification) => {
      const index = startFirst.findIndex((name) => file.moduleId.endsWith(name));
      return index === -1 ? startFirst.length : index;
    };
    return sorted
      .map((file, index) => ({ file, index }))
      .sort((a, b) => rank(a.file) - rank(b.file) || a.index - b.index)
      .map(({ file }) => file);
  }
}
