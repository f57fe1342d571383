// The CLI as compiled into dist/ (what the tests' global setup and the bench build first):
// the same code bin/switchboard.js runs from the TypeScript sources, without compiling them
// again in every child process, which took about a second per command on a busy 2-core machine.
const { runCli } = await import('../../dist/src/cli/index.js');
process.exitCode = await runCli(process.argv.slice(2));
