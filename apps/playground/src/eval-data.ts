/**
 * Reading an evaluation set in the browser: JSON or JSONL questions with the ids of the documents that
 * should come back (`{"query","relevant":["id",…]}`, or graded `{"id":2}`), or a BEIR folder's files
 * (`queries.jsonl`, `qrels/<split>.tsv`, and optionally `corpus.jsonl` to upload first).
 */
export interface EvalQuery {
  id: string;
  text: string;
  relevant: Map<string, number>;
}

export interface EvalSet {
  queries: EvalQuery[];
  corpus: { id: string; title?: string; text: string }[];
}

export const MAX_QUERIES = 500;

export class EvalSetError extends Error {}

/** A JSON value as text: strings and numbers as they are, anything else empty. */
const str = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');

/** A JSON document (an array, `{"queries": [...]}` or one object), else JSON Lines. */
function lines(text: string, file: string): Record<string, unknown>[] {
  const trimmed = text.trim();
  let whole: unknown;
  try {
    whole = JSON.parse(trimmed);
  } catch {
    whole = undefined;
  }
  if (whole !== undefined) {
    const list = Array.isArray(whole) ? whole : ((whole as { queries?: unknown }).queries ?? [whole]);
    if (!Array.isArray(list)) throw new EvalSetError(`${file}: expected an array of questions`);
    return list as Record<string, unknown>[];
  }
  return trimmed
    .split(/\r?\n/)
    .map((l, i) => [l.trim(), i + 1] as const)
    .filter(([l]) => l.length > 0)
    .map(([l, n]) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        throw new EvalSetError(`${file} line ${n}: not JSON`);
      }
    });
}

function relevantOf(q: Record<string, unknown>): Map<string, number> | undefined {
  const given = q.relevant ?? q.expected ?? q.expectedDocumentIds ?? q.documents;
  if (Array.isArray(given)) return new Map(given.map((id) => [String(id), 1]));
  if (given && typeof given === 'object')
    return new Map(Object.entries(given as Record<string, unknown>).map(([id, g]) => [id, Number(g)]));
  return undefined;
}

/** Files as picked: their names decide how each is read. */
export function parseEvalFiles(files: { name: string; text: string }[]): EvalSet {
  const byName = (re: RegExp) => files.filter((f) => re.test(f.name));
  const corpusFile = byName(/(^|\/)corpus\.jsonl?$/)[0];
  const queriesFile = byName(/(^|\/)queries\.jsonl?$/)[0];
  const qrelsFiles = byName(/\.tsv$/);
  const corpus = corpusFile
    ? lines(corpusFile.text, corpusFile.name).map((d) => ({
        id: str(d._id ?? d.id),
        text: str(d.text),
        ...(typeof d.title === 'string' && d.title && { title: d.title }),
      }))
    : [];
  let queries: EvalQuery[];
  if (queriesFile && qrelsFiles.length > 0) {
    const qrels = new Map<string, Map<string, number>>();
    for (const f of qrelsFiles)
      for (const line of f.text.split(/\r?\n/).slice(1)) {
        const [qid, did, score] = line.trim().split(/\t/);
        if (!qid || !did) continue;
        if (!qrels.has(qid)) qrels.set(qid, new Map());
        qrels.get(qid)!.set(did, Number(score ?? 1));
      }
    queries = lines(queriesFile.text, queriesFile.name)
      .map((q) => ({
        id: str(q._id ?? q.id),
        text: str(q.text),
        relevant: qrels.get(str(q._id ?? q.id)),
      }))
      .filter((q): q is EvalQuery => q.relevant !== undefined && q.relevant.size > 0);
  } else {
    const others = files.filter((f) => f !== corpusFile && f !== queriesFile && !qrelsFiles.includes(f));
    if (others.length === 0)
      throw new EvalSetError(
        corpusFile || queriesFile
          ? 'a BEIR set needs queries.jsonl and a qrels .tsv file'
          : 'no questions: give a JSON/JSONL file, or a BEIR folder’s queries.jsonl and qrels',
      );
    queries = others.flatMap((f) =>
      lines(f.text, f.name).map((q, i) => {
        const text = q.query ?? q.question ?? q.text;
        const relevant = relevantOf(q);
        if (typeof text !== 'string' || !text.trim())
          throw new EvalSetError(`${f.name} question ${i + 1}: no "query" text`);
        if (!relevant || relevant.size === 0)
          throw new EvalSetError(`${f.name} question ${i + 1}: no "relevant" document ids`);
        return { id: str(q.id ?? q._id) || String(i + 1), text, relevant };
      }),
    );
  }
  if (queries.length === 0) throw new EvalSetError('no question has a judged document');
  if (queries.length > MAX_QUERIES)
    throw new EvalSetError(
      `${queries.length} questions: the playground runs up to ${MAX_QUERIES} (use npx ragnest eval)`,
    );
  return { queries, corpus };
}
