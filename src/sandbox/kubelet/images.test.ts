import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEMO_IMAGE_NAME, isDemoImage, parseImage } from './images.ts';

const DIGEST = 'sha256:4c2d1d8e0a3b6f7e9c1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70';

describe('parseImage', () => {
  const cases: [image: string, name: string, tag: string][] = [
    ['weir-demo:v2', 'weir-demo', 'v2'],
    ['weir-demo', 'weir-demo', 'latest'],
    ['registry.local:5000/team/weir-demo:v3', 'weir-demo', 'v3'],
    ['registry.local:5000/team/weir-demo', 'weir-demo', 'latest'],
    ['registry.local:5000/weir-demo', 'weir-demo', 'latest'],
    ['localhost/weir-demo:1.2.3-rc.1', 'weir-demo', '1.2.3-rc.1'],
    ['docker.io/library/nginx:1.27', 'nginx', '1.27'],
    [`weir-demo@${DIGEST}`, 'weir-demo', 'latest'],
    [`weir-demo:v2@${DIGEST}`, 'weir-demo', 'v2'],
    [`registry.local:5000/team/weir-demo@${DIGEST}`, 'weir-demo', 'latest'],
    [`registry.local:5000/team/weir-demo:v4@${DIGEST}`, 'weir-demo', 'v4'],
  ];
  for (const [image, name, tag] of cases) {
    it(`parses ${image}`, () => {
      assert.deepEqual(parseImage(image), { name, tag });
    });
  }
});

describe('isDemoImage', () => {
  it('uses the name weir-demo', () => {
    assert.equal(DEMO_IMAGE_NAME, 'weir-demo');
  });

  for (const image of ['weir-demo:v1', 'weir-demo', 'registry.local:5000/team/weir-demo:v3', `ghcr.io/acme/weir-demo@${DIGEST}`, `weir-demo:v2@${DIGEST}`]) {
    it(`is true for ${image}`, () => {
      assert.equal(isDemoImage(image), true);
    });
  }

  for (const image of ['weir-demo-other:v1', 'my-weir-demo:v1', 'weir-demo2', 'weir-demo/other:v1', 'weir-demo:5000/app:v1', 'registry.local:5000/weir-demo-x:v1', 'nginx:1.27']) {
    it(`is false for ${image}`, () => {
      assert.equal(isDemoImage(image), false);
    });
  }
});
