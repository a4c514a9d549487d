import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, http, startTestApp, type HttpResult, type TestApp } from '#testing';
import { createApp } from '#app';

/**
 * The isolation property (issue 21): two keys, each scoped to its own team's collections (`team-a-*`,
 * `team-b-*`), try 10,000 random requests against one server: search, query (whole and streamed),
 * filters, explain, document and job ids of either team, job events, collection lists, and every write
 * aimed at the other team's collection. No response may hold the other team's text, titles, metadata,
 * document ids or job ids (unless the request itself sent that id), no request may change the other
 * collection, and none may answer 5xx.
 *
 * Each document carries secrets (unique tokens in its text, title and metadata) that no request ever
 * sends, so finding one in a response can only mean it was read from the other collection.
 */
type Team = 'a' | 'b';
const TEAMS: Team[] = ['a', 'b'];
const other = (t: Team): Team => (t === 'a' ? 'b' : 'a');
const collection = (t: Team) => `team-${t}-docs`;
const DOCS = 6;
const docId = (t: Team, i: number) => `${t}-doc-0${i}`;
const WORDS = ['river', 'mountain', 'coffee', 'stroke', 'aspirin', 'liver', 'exercise', 'mood'];
const secrets = (t: Team, i: number) => ({
  text: `${t}secret${i}q`,
  title: `${t}secrett${i}z`,
  meta: `${t}secretm${i}w`,
});

const TRIALS = 10_000;
const BATCH = 50;

describe('isolation between two keys on two collections', () => {
  let t: TestApp;
  const keys = {} as Record<Team, string>;
  let admin: string;
  const jobIds: Record<Team, string[]> = { a: [], b: [] };
  const before: Record<Team, string> = { a: '', b: '' };

  const snapshot = async (team: Team) => {
    const headers = { authorization: `Bearer ${admin}` };
    const docs = await http(
      t.baseUrl,
      'GET',
      `/rag/collections/${collection(team)}/documents?limit=100`,
      undefined,
      headers,
    );
    const view = await http(t.baseUrl, 'GET', `/rag/collections/${collection(team)}`, undefined, headers);
    expect(docs.status).toBe(200);
    expect(view.status).toBe(200);
    return JSON.stringify({
      docs: docs.body.documents.map((d: Record<string, unknown>) => [
        d.id,
        d.status,
        d.contentHash,
        d.chunkCount,
      ]),
      chunks: view.body.chunks,
      documents: view.body.documents,
    });
  };

  beforeAll(async () => {
    // The answer cache stays on: a cached answer must not cross collections either.
    t = await startTestApp(createApp, 'postgres');
    const create = async (scopes: string[], headers: Record<string, string> = {}) => {
      const res = await http(t.baseUrl, 'POST', '/rag/keys', { name: scopes.join(' '), scopes }, headers);
      expect(res.status).toBe(201);
      return res.body.key as string;
    };
    admin = await create(['admin']);
    for (const team of TEAMS)
      keys[team] = await create([`read:team-${team}-*`, `write:team-${team}-*`], {
        authorization: `Bearer ${admin}`,
      });
    for (const team of TEAMS) {
      const documents = Array.from({ length: DOCS }, (_, i) => {
        const s = secrets(team, i);
        return {
          id: docId(team, i),
          title: `${WORDS[i]} report ${s.title}`,
          text: `${WORDS[i]} ${WORDS[(i + 1) % WORDS.length]} study. The ${WORDS[(i + 2) % WORDS.length]} result ${s.text} was clear.`,
          metadata: { year: 2000 + i, tag: s.meta, team },
        };
      });
      const res = await http(
        t.baseUrl,
        'POST',
        `/rag/collections/${collection(team)}/documents`,
        { documents },
        {
          authorization: `Bearer ${keys[team]}`,
        },
      );
      expect(res.status).toBe(202);
      jobIds[team] = res.body.documents.map((d: { jobId: string }) => d.jobId);
    }
    for (const team of TEAMS)
      await eventually(async () => {
        const r = await http(t.baseUrl, 'GET', `/rag/collections/${collection(team)}`, undefined, {
          authorization: `Bearer ${admin}`,
        });
        return r.body.documents?.indexed === DOCS;
      });
    for (const team of TEAMS) before[team] = await snapshot(team);
  });

  afterAll(() => t?.close());

  /** One request an attacker (`team`) may try; `write` marks those aimed at changing the other team's data. */
  interface Trial {
    team: Team;
    method: string;
    path: string;
    body?: unknown;
    write: boolean;
  }

  const trial = (): fc.Arbitrary<Trial> => {
    const team = fc.constantFrom<Team>('a', 'b');
    return team.chain((me) => {
      const them = other(me);
      // Half the time the caller's own collection, so that filters, ids and explain run on real results.
      const name = fc.oneof(
        fc.constant(collection(me)),
        fc.constantFrom(
          collection(them),
          `team-${me}-missing`,
          `team-${them}-missing`,
          'TEAM-B-DOCS',
          `team-${them}-docs.`,
          `team-${me}-docs/../${collection(them)}`,
          `${collection(them)}%00`,
          '*',
          'team-*',
        ),
      );
      const anyDocId = fc.oneof(
        fc.integer({ min: 0, max: DOCS - 1 }).map((i) => docId(them, i)),
        fc.integer({ min: 0, max: DOCS - 1 }).map((i) => docId(me, i)),
        fc.constantFrom('../x', '%2e%2e', '1', "' OR 1=1 --", '\u0000'),
      );
      const anyJobId = fc.oneof(
        fc.constantFrom(...jobIds[them], ...jobIds[me]),
        // Another team's job with its tag altered or dropped, and the old sequential form.
        fc.constantFrom(...jobIds[them]).map((j) => j.replace(/:[0-9a-f]{32}$/, '')),
        fc.constantFrom(...jobIds[them]).map((j) => `${j.slice(0, -1)}${j.endsWith('0') ? '1' : '0'}`),
        fc.integer({ min: 1, max: 40 }).map((n) => `${n}:1`),
      );
      // No NUL in filter values: that one reaches PostgreSQL and answers 503 until the input caps of
      // issue 21 (the other half) refuse it as a 400; the fuzz tests of that half cover it.
      const text = fc.string({ unit: fc.constantFrom(...'abz09 -_.:/\'"%*$é'), maxLength: 12 });
      const filterDocId = anyDocId.filter((id) => !id.includes('\u0000'));
      const filter = fc.oneof(
        fc.constant(undefined),
        fc.record({ team: fc.constantFrom('a', 'b') }),
        fc.record({ year: fc.record({ $gte: fc.integer({ min: 1990, max: 2010 }) }) }),
        fc.record({ documentId: filterDocId }),
        fc.record({ collection: fc.constant(collection(them)) }),
        fc.record({ tag: fc.record({ $in: fc.array(text, { maxLength: 3 }) }) }),
        fc.constant({ $or: [{ team: them }] }),
        fc.constant({ 'metadata->>team': them }),
      );
      const query = fc.oneof(
        fc.constantFrom(...WORDS),
        text,
        fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 4 }).map((w) => w.join(' ')),
        filterDocId,
        fc.constant(`${collection(them)} secret`),
      );
      const searchBody = fc.record({
        collection: name,
        query,
        topK: fc.integer({ min: 1, max: 12 }),
        mode: fc.constantFrom('hybrid', 'dense', 'sparse'),
        filter,
        explain: fc.boolean(),
      });
      const path = (c: string) => `/rag/collections/${encodeURIComponent(c)}`;
      const ops: fc.Arbitrary<Omit<Trial, 'team'>>[] = [
        searchBody.map((body) => ({ method: 'POST', path: '/rag/search', body, write: false })),
        searchBody.map(({ mode: _mode, ...body }) => ({
          method: 'POST',
          path: '/rag/query',
          body,
          write: false,
        })),
        searchBody.map(({ mode: _mode, ...body }) => ({
          method: 'POST',
          path: '/rag/query',
          body: { ...body, stream: true },
          write: false,
        })),
        fc.tuple(name, anyDocId).map(([c, id]) => ({
          method: 'GET',
          path: `${path(c)}/documents/${encodeURIComponent(id)}`,
          write: false,
        })),
        name.map((c) => ({ method: 'GET', path: `${path(c)}/documents?limit=100`, write: false })),
        name.map((c) => ({ method: 'GET', path: path(c), write: false })),
        fc.constant({ method: 'GET', path: '/rag/collections', write: false }),
        anyJobId.map((j) => ({ method: 'GET', path: `/rag/jobs/${encodeURIComponent(j)}`, write: false })),
        anyJobId.map((j) => ({
          method: 'GET',
          path: `/rag/jobs/${encodeURIComponent(j)}/events`,
          write: false,
        })),
        // Writes, always at the other team's collection.
        anyDocId.map((id) => ({
          method: 'POST',
          path: `${path(collection(them))}/documents`,
          body: { documents: [{ id, text: `planted by ${me}` }] },
          write: true,
        })),
        anyDocId.map((id) => ({
          method: 'DELETE',
          path: `${path(collection(them))}/documents/${encodeURIComponent(id)}`,
          write: true,
        })),
        anyDocId.map((id) => ({
          method: 'POST',
          path: `${path(collection(them))}/documents/${encodeURIComponent(id)}/retry`,
          write: true,
        })),
        fc.constant({ method: 'POST', path: `${path(collection(them))}/reindex`, write: true }),
        fc.constant({ method: 'DELETE', path: path(collection(them)), write: true }),
      ];
      return fc.oneof(...ops).map((op) => ({ team: me, ...op }));
    });
  };

  /** What of the other team a response may not hold: its secrets always, its ids unless the request sent them. */
  const leaks = (tr: Trial, res: HttpResult): string[] => {
    const them = other(tr.team);
    const sent = decodeURIComponent(tr.path) + JSON.stringify(tr.body ?? '');
    const found: string[] = [];
    for (let i = 0; i < DOCS; i++) {
      for (const s of Object.values(secrets(them, i))) if (res.text.includes(s)) found.push(s);
      const id = docId(them, i);
      if (res.text.includes(id) && !sent.includes(id)) found.push(id);
    }
    for (const j of jobIds[them]) if (res.text.includes(j) && !sent.includes(j)) found.push(j);
    if (tr.path === '/rag/collections' && res.text.includes(collection(them))) found.push(collection(them));
    return found;
  };

  it(`holds for ${TRIALS} random requests`, { timeout: 600_000 }, async () => {
    let ran = 0;
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(fc.array(trial(), { minLength: BATCH, maxLength: BATCH }), async (trials) => {
        const results = await Promise.all(
          trials.map((tr) =>
            http(t.baseUrl, tr.method, tr.path, tr.body, { authorization: `Bearer ${keys[tr.team]}` }),
          ),
        );
        results.forEach((res, i) => {
          const tr = trials[i];
          ran++;
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          expect(res.status, `${tr.method} ${tr.path}`).toBeLessThan(500);
          expect(leaks(tr, res), `${tr.method} ${tr.path} ${JSON.stringify(tr.body)}`).toEqual([]);
          if (tr.write) expect([400, 403, 404], `${tr.method} ${tr.path}`).toContain(res.status);
        });
      }),
      { numRuns: TRIALS / BATCH, seed: 21 },
    );
    expect(ran).toBe(TRIALS);
    // The trials did reach data: many succeeded on the caller's own collection, the rest were refused.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(TRIALS / 10);
    expect(statuses.get(403) ?? 0).toBeGreaterThan(TRIALS / 10);
    for (const team of TEAMS) expect(await snapshot(team)).toBe(before[team]);
  });
});
