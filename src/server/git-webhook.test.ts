import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { normalizeRepoUrl, payloadRepositoryUrls, verifyWebhook } from './git-webhook.ts';

const body = Buffer.from(JSON.stringify({ repository: { clone_url: 'https://git.example/team/apps.git' } }));
const sign = (secret: string, b: Buffer = body): string => `sha256=${createHmac('sha256', secret).update(b).digest('hex')}`;

describe('verifyWebhook', () => {
  it("accepts GitHub's X-Hub-Signature-256 for the right secret", () => {
    assert.deepEqual(verifyWebhook({ 'x-hub-signature-256': sign('s3cret') }, body, 's3cret'), { ok: true, provider: 'github' });
  });
  it('refuses a wrong secret, a changed body, and a truncated signature', () => {
    assert.equal(verifyWebhook({ 'x-hub-signature-256': sign('other') }, body, 's3cret').ok, false);
    assert.equal(verifyWebhook({ 'x-hub-signature-256': sign('s3cret') }, Buffer.from(`${body.toString()} `), 's3cret').ok, false);
    assert.equal(verifyWebhook({ 'x-hub-signature-256': sign('s3cret').slice(0, 20) }, body, 's3cret').ok, false);
  });
  it("accepts GitLab's token only when equal", () => {
    assert.deepEqual(verifyWebhook({ 'x-gitlab-token': 's3cret' }, body, 's3cret'), { ok: true, provider: 'gitlab' });
    assert.equal(verifyWebhook({ 'x-gitlab-token': 's3cre' }, body, 's3cret').ok, false);
  });
  it('refuses an unsigned request', () => {
    assert.deepEqual(verifyWebhook({}, body, 's3cret'), { ok: false, reason: 'no X-Hub-Signature-256 or X-Gitlab-Token header' });
  });
});

describe('payload URLs', () => {
  it('reads GitHub and GitLab payloads', () => {
    assert.deepEqual(payloadRepositoryUrls({ repository: { clone_url: 'a', html_url: 'b' } }), ['a', 'b']);
    assert.deepEqual(payloadRepositoryUrls({ project: { git_http_url: 'c' } }), ['c']);
    assert.deepEqual(payloadRepositoryUrls('x'), []);
  });
  it('normalises URLs: credentials, host case, .git and trailing slashes', () => {
    assert.equal(normalizeRepoUrl('https://user:pw@Git.Example/team/apps.git/'), 'https://git.example/team/apps');
    assert.equal(normalizeRepoUrl('https://git.example/team/apps'), 'https://git.example/team/apps');
  });
});
