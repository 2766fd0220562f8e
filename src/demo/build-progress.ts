// A progress bar for the one-time Kubernetes build: scripts/build-kubernetes.sh
// says which phase it is in ("[build-kubernetes] building kube-apiserver ...",
// "built kube-apiserver in 212s"); each phase has an estimated length on 2
// cores, so the bar moves with time inside a phase and jumps at its end.
// Pure: the caller passes the lines and the clock.

interface Phase {
  name: string;
  /** A line that starts the phase. */
  starts: RegExp;
  /** Estimated seconds on 2 cores. */
  estimate: number;
}

const PHASES: readonly Phase[] = [
  { name: "fetching Debian's kubernetes source", starts: /\[build-kubernetes\] (adding a deb-src|installing build tools|building Kubernetes|fetching)/, estimate: 60 },
  { name: 'building kube-apiserver', starts: /\[build-kubernetes\] building kube-apiserver/, estimate: 240 },
  { name: 'building kube-controller-manager', starts: /\[build-kubernetes\] building kube-controller-manager/, estimate: 75 },
  { name: 'building kubectl', starts: /\[build-kubernetes\] building kubectl/, estimate: 45 },
];
const TOTAL = PHASES.reduce((s, p) => s + p.estimate, 0);

export class BuildProgress {
  #phase = -1;
  #phaseStartedAt = 0;
  #done = false;

  /** Whether a build is under way (a cached build prints no phase line). */
  get active(): boolean {
    return this.#phase >= 0 && !this.#done;
  }

  /** Feeds one line of the build's output; true when it was a build line. */
  onLine(line: string, now: number): boolean {
    if (!line.startsWith('[build-kubernetes]')) return false;
    if (line.startsWith('[build-kubernetes] cached in ')) {
      this.#done = true;
      return true;
    }
    const index = PHASES.findIndex((p) => p.starts.test(line));
    if (index > this.#phase) {
      this.#phase = index;
      this.#phaseStartedAt = now;
    }
    return true;
  }

  /** 0..1: the phases before the current one, plus the current one's share of its estimate (at most 95% of it). */
  fraction(now: number): number {
    if (this.#done) return 1;
    if (this.#phase < 0) return 0;
    const before = PHASES.slice(0, this.#phase).reduce((s, p) => s + p.estimate, 0);
    const current = PHASES[this.#phase]?.estimate ?? 0;
    const inPhase = Math.min((now - this.#phaseStartedAt) / 1000, current * 0.95);
    return (before + inPhase) / TOTAL;
  }

  /** Seconds left by the estimates (never below the rest of the current phase's 5%). */
  secondsLeft(now: number): number {
    return Math.max(0, Math.round((1 - this.fraction(now)) * TOTAL));
  }

  /** "[██████░░░░░░░░░░░░░░]  31%  building kube-apiserver, about 4m50s left" */
  render(now: number, width = 20): string {
    const f = this.fraction(now);
    const filled = Math.round(f * width);
    const left = this.secondsLeft(now);
    const eta = left >= 60 ? `${Math.floor(left / 60)}m${String(left % 60).padStart(2, '0')}s` : `${left}s`;
    const phase = this.#done ? 'done' : (PHASES[this.#phase]?.name ?? 'starting');
    return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${String(Math.round(f * 100)).padStart(3)}%  ${phase}${this.#done ? '' : `, about ${eta} left`}`;
  }
}
