// Pod addresses on loopback: each pod gets its own 127.B.x.y from the
// instance's /16, so many pods can listen on the same port.

export class PodIpAllocator {
  readonly prefix: string;
  readonly #inUse = new Set<string>();
  #next = 2;

  /** `secondOctet` picks the /16: 127.<secondOctet>.0.0/16. */
  constructor(secondOctet: number) {
    if (!Number.isInteger(secondOctet) || secondOctet < 1 || secondOctet > 254) {
      throw new Error(`pod address octet must be 1..254, got ${secondOctet}`);
    }
    this.prefix = `127.${secondOctet}.`;
  }

  get cidr(): string {
    return `${this.prefix}0.0/16`;
  }

  contains(ip: string): boolean {
    return ip.startsWith(this.prefix) && /^127\.\d+\.\d+\.\d+$/.test(ip);
  }

  /** Marks an address (e.g. from a pod's existing status) as taken; false if it is not ours or already taken. */
  reserve(ip: string): boolean {
    if (!this.contains(ip) || this.#inUse.has(ip)) return false;
    this.#inUse.add(ip);
    return true;
  }

  allocate(): string {
    // The counter cycles through 2 .. 254*256+254; one full cycle visits every
    // usable address (last octet 2..254) once, wherever it starts.
    for (let tries = 0; tries <= 254 * 256 + 252; tries++) {
      const n = this.#next;
      this.#next = n >= 254 * 256 + 254 ? 2 : n + 1;
      const hi = Math.floor(n / 256);
      const lo = n % 256;
      if (lo < 2 || lo > 254) continue;
      const ip = `${this.prefix}${hi}.${lo}`;
      if (!this.#inUse.has(ip)) {
        this.#inUse.add(ip);
        return ip;
      }
    }
    throw new Error(`no free pod address left in ${this.cidr}`);
  }

  release(ip: string): void {
    this.#inUse.delete(ip);
  }
}
