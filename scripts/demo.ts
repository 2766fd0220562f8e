// `npm run demo`: Weir's job end to end on the sandbox. Starts the sandbox,
// creates a Git repository on its Git server seeded from examples/demo/,
// runs the controller, and plays the story (src/demo/story.ts): v2 promoted
// by analysis, v3 rejected and reverted in Git. A live view on a terminal,
// one line per event otherwise; exit 0 only if the story played out.
//
//   npm run demo [-- --name NAME] [--keep]   play it (--keep: leave sandbox and controller running)
//   npm run demo -- [--name NAME] --down     stop the demo's controller and the sandbox
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { describeKubeError } from '../src/cluster/errors.ts';
import { BuildProgress } from '../src/demo/build-progress.ts';
import { DemoCluster } from '../src/demo/cluster.ts';
import { startDemoController, stopDemoController } from '../src/demo/controller-process.ts';
import { formatEvent, type DemoEvent, type Snapshot } from '../src/demo/events.ts';
import { DemoRepository } from '../src/demo/repository.ts';
import { ACTS, DEMO_NAMESPACE, DEMO_ROLLOUT, readDemoExample } from '../src/demo/seed.ts';
import { runStory } from '../src/demo/story.ts';
import { exploreLines, summaryLines, type StoryRecord } from '../src/demo/summary.ts';
import { LiveRegion, renderLiveView } from '../src/demo/view.ts';
import { createSandboxRepository, instanceDir, sandboxDown, sandboxStatus, sandboxUp } from '../src/sandbox/index.ts';

const USAGE = `usage: npm run demo [-- --name NAME] [--keep] | npm run demo -- [--name NAME] --down
  --name NAME   the sandbox to use (default "default")
  --keep        leave the sandbox and the controller running at the end, to explore
  --down        stop the demo's controller and the sandbox`;

let values: { name: string; keep: boolean; down: boolean; help: boolean };
try {
  ({ values } = parseArgs({
    options: {
      name: { type: 'string', default: 'default' },
      keep: { type: 'boolean', default: false },
      down: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
  process.exit(2);
}
if (values.help) {
  process.stdout.write(USAGE + '\n');
  process.exit(0);
}

const say = (line: string): void => {
  process.stdout.write(line + '\n');
};

if (values.down) {
  const pid = await stopDemoController(instanceDir(values.name));
  say(pid === undefined ? 'no demo controller was running' : `stopped the demo controller (pid ${pid})`);
  await sandboxDown(values.name, say);
  process.exit(0);
}

const tty = process.stdout.isTTY;
const startedAt = Date.now();
const abort = new AbortController();
const onSignal = (): void => {
  process.stderr.write('\ninterrupted: cleaning up\n');
  abort.abort(new Error('interrupted'));
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

/** Sandbox start-up: build lines become a bar on a terminal; everything else is printed. */
function sandboxProgress(): { progress: (line: string) => void; done: () => void } {
  const build = new BuildProgress();
  let timer: NodeJS.Timeout | undefined;
  const drawBar = (): void => {
    process.stdout.write(`\r\x1b[K  ${build.render(Date.now())}`);
  };
  return {
    progress(line) {
      if (build.onLine(line, Date.now())) {
        if (!build.planned) say(line); // everything cached: the lines say so, a bar would not
        else if (!tty) say(`${line}  ${build.render(Date.now())}`);
        else if (!build.active) {
          clearInterval(timer);
          drawBar();
          process.stdout.write('\n');
        } else {
          timer ??= setInterval(drawBar, 1000);
          drawBar();
        }
        return;
      }
      if (tty && build.active) {
        if (line.includes('still building')) return; // the bar says it
        process.stdout.write('\r\x1b[K');
      }
      say(line);
    },
    done() {
      clearInterval(timer);
    },
  };
}

let startedSandbox = false;
let controllerStarted = false;
let repository: DemoRepository | undefined;
let record: StoryRecord | undefined;
let exitCode: number;
try {
  // A controller a previous demo left running (--keep) belongs to the previous story.
  if ((await sandboxStatus(values.name)).running) await stopDemoController(instanceDir(values.name));
  say(`Weir demo: starting the sandbox "${values.name}" (real etcd, kube-apiserver, Prometheus, Git server on loopback)`);
  const progress = sandboxProgress();
  const up = await sandboxUp({ name: values.name, progress: progress.progress, signal: abort.signal }).finally(progress.done);
  startedSandbox = up.started;
  const { state } = up;
  say(`sandbox ready: API server ${state.apiServerUrl}, Prometheus ${state.prometheusUrl}, Git ${state.gitUrl}`);

  const kc = new KubeConfig();
  kc.loadFromFile(state.kubeconfig);
  const cluster = new DemoCluster(kc);
  await cluster.installCrds();
  await cluster.freshNamespace(DEMO_NAMESPACE);
  const webhookSecret = randomBytes(24).toString('hex');
  const controller = await startDemoController({ sandboxDir: state.dir, kubeconfig: state.kubeconfig, namespace: DEMO_NAMESPACE, webhookSecret });
  controllerStarted = true;
  say(`controller running: pid ${controller.pid}, ${controller.url} (log ${controller.logFile})`);
  const repositoryUrl = await createSandboxRepository(state, `demo-${Date.now().toString(36)}`, { webhook: { url: `${controller.url}/hooks/git`, secret: webhookSecret } });
  say(`repository ${repositoryUrl}: every push is announced to the controller's /hooks/git (signed)`);
  repository = await DemoRepository.create(repositoryUrl);

  const region = tty ? new LiveRegion(process.stdout) : undefined;
  const recent: string[] = [];
  let latest: Snapshot = { runs: [] };
  let act = 'starting';
  let commit: { sha: string; message: string } | undefined;
  const redraw = (): void => {
    if (!region) return;
    const rows = process.stdout.rows || 40;
    const fixed = renderLiveView({ act, snapshot: latest, events: [], elapsedMs: Date.now() - startedAt, ...(commit ? { commit } : {}) }, process.stdout.columns || 100).length;
    const room = Math.max(3, rows - fixed - 1);
    const lines = renderLiveView({ act, snapshot: latest, events: recent.slice(-room), elapsedMs: Date.now() - startedAt, ...(commit ? { commit } : {}) }, process.stdout.columns || 100);
    // A region taller than the screen cannot be redrawn in place (the cursor cannot go above the top).
    region.draw(lines.slice(0, Math.max(1, rows - 1)));
  };
  const onEvent = (e: DemoEvent): void => {
    if (e.type === 'act') act = `act ${e.index}/${e.total}: ${e.title}`;
    if (e.type === 'pushed') commit = { sha: e.commit, message: e.message };
    const line = formatEvent(e, startedAt);
    if (region) {
      recent.push(line);
      redraw();
    } else {
      say(line);
    }
  };
  if (!tty) say(`playing ${ACTS.length + 1} acts, each a commit pushed to ${repositoryUrl}`);
  record = await runStory({
    cluster,
    repository,
    example: await readDemoExample(),
    prometheusUrl: state.prometheusUrl,
    onEvent,
    onSnapshot: (s) => {
      latest = s;
      redraw();
    },
    signal: abort.signal,
  });
  redraw(); // the final state, not the last poll's
  region?.release();
  if (abort.signal.aborted) record.failure = 'interrupted';
  say('');
  for (const line of summaryLines(record)) say(line);
  say('');
  for (const line of exploreLines({
    sandbox: values.name,
    namespace: DEMO_NAMESPACE,
    rollout: DEMO_ROLLOUT,
    kubeconfig: state.kubeconfig,
    kubectl: state.kubectl,
    prometheusUrl: state.prometheusUrl,
    repositoryUrl,
    controllerUrl: controller.url,
    controllerLog: controller.logFile,
    kept: values.keep && !abort.signal.aborted,
  })) say(line);
  exitCode = record.ok && !abort.signal.aborted ? 0 : 1;
} catch (err) {
  process.stderr.write(`demo failed: ${describeKubeError(err)}\n`);
  exitCode = 1;
} finally {
  await repository?.dispose();
  if (!values.keep || abort.signal.aborted || record === undefined) {
    if (controllerStarted) await stopDemoController(instanceDir(values.name)).catch(() => undefined);
    if (startedSandbox) await sandboxDown(values.name, () => undefined).catch(() => undefined);
    else if (!values.keep) say(`the sandbox "${values.name}" was running before the demo and keeps running (stop it with: npm run demo --${values.name === 'default' ? '' : ` --name ${values.name}`} --down)`);
  }
}
process.exit(abort.signal.aborted ? 130 : exitCode);
