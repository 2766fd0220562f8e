// Entry point of the detached supervisor process: `node supervisor-main.ts NAME DIR OCTET`.
import { runSupervisor } from './supervisor.ts';

const [name, dir, octet] = process.argv.slice(2);
if (name === undefined || dir === undefined || octet === undefined) {
  process.stderr.write('usage: supervisor-main.ts NAME DIR POD_OCTET\n');
  process.exit(2);
}
await runSupervisor(name, dir, Number(octet));
