#!/usr/bin/env node
// The `weir` command (also installed as `kubectl-weir`). Node 24 runs the
// TypeScript sources directly.
import '../src/cli/main.ts';
