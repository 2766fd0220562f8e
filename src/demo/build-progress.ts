// A progress bar for the one-time build of the sandbox's tools:
// scripts/build-sandbox-tools.sh first says what it will build
// ("[build] plan: kube-apiserver etcd ..."), then each step's start and end
// ("[build] building etcd 3.6.17", "[build] built etcd in 28s"). Each step has
// an estimated length on 2 cores from a clean cache (its module downloads
// included), so the bar moves with time inside a step and jumps at its end.
// Pure: the caller passes the lines and the clock.

/** Estimated seconds per step, measured on a 2-core machine with an empty cache. */
const ESTIMATES: Readonly<Record<string, number>> = {
  'kube-apiserver': 340,
  'kube-controller-manager': 100,
  kubectl: 25,
  etcd: 30,
  prometheus: 150,
  'gateway-api': 3,
  istio: 2,
  traefik: 5,
  smi: 2,
  helm: 90,
  kustomize: 30,
};
const UNKNOWN_STEP_ESTIMATE = 60;

const PREFIX = '[build] ';

function estimateOf(step: string): number {
  return ESTIMATES[step] ?? UNKNOWN_STEP_ESTIMATE;
}

export class BuildProgress {
  #plan: string[] = [];
  #finished = new Set<string>();
  #current: string | undefined;
  #currentStartedAt = 0;
  #done = false;

  /** Whether a build is under way (a cached build announces no plan). */
  get active(): boolean {
    return this.planned && !this.#done;
  }

  /** Whether anything is being built at all: a fully cached run has no plan, so no bar to show. */
  get planned(): boolean {
    return this.#plan.length > 0;
  }

  /** Feeds one line of the build's output; true when it was a build line. */
  onLine(line: string, now: number): boolean {
    if (!line.startsWith(PREFIX)) return false;
    const text = line.slice(PREFIX.length);
    const plan = /^plan: (.+)$/.exec(text);
    const starts = /^(?:building|fetching) (\S+) /.exec(text);
    const ends = /^(?:built (\S+) in |copied (\S+) )/.exec(text);
    if (plan?.[1]) {
      this.#plan = plan[1].split(/\s+/);
    } else if (starts?.[1] && this.#plan.includes(starts[1])) {
      this.#finishCurrent();
      this.#current = starts[1];
      this.#currentStartedAt = now;
    } else if (ends) {
      const step = ends[1] ?? ends[2];
      if (step) this.#finished.add(step);
      if (step === this.#current) this.#current = undefined;
    } else if (text.startsWith('all sandbox tools ready')) {
      this.#done = true;
    }
    return true;
  }

  #finishCurrent(): void {
    if (this.#current) this.#finished.add(this.#current);
    this.#current = undefined;
  }

  #total(): number {
    return this.#plan.reduce((s, step) => s + estimateOf(step), 0);
  }

  /** 0..1: the finished steps, plus the current one's share of its estimate (at most 95% of it). */
  fraction(now: number): number {
    if (this.#done) return 1;
    const total = this.#total();
    if (total === 0) return 0;
    const finished = [...this.#finished].filter((s) => this.#plan.includes(s)).reduce((s, step) => s + estimateOf(step), 0);
    const current = this.#current ? Math.min((now - this.#currentStartedAt) / 1000, estimateOf(this.#current) * 0.95) : 0;
    return Math.min(1, (finished + current) / total);
  }

  /** Seconds left by the estimates. */
  secondsLeft(now: number): number {
    return Math.max(0, Math.round((1 - this.fraction(now)) * this.#total()));
  }

  /** "[██████░░░░░░░░░░░░░░]  31%  building kube-apiserver, about 4m50s left" */
  render(now: number, width = 20): string {
    const f = this.fraction(now);
    const filled = Math.round(f * width);
    const left = this.secondsLeft(now);
    const eta = left >= 60 ? `${Math.floor(left / 60)}m${String(left % 60).padStart(2, '0')}s` : `${left}s`;
    const step = this.#done ? 'done' : this.#current ? `building ${this.#current}` : 'starting';
    return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${String(Math.round(f * 100)).padStart(3)}%  ${step}${this.#done ? '' : `, about ${eta} left`}`;
  }
}
