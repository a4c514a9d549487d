import { readFile, stat } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
import { glob } from 'tinyglobby';
import type { IngestItem } from '#contracts';

/** Files the CLI can read: JSON/JSONL documents, and the file kinds ingestion extracts. */
const FILE_KINDS = ['.txt', '.md', '.markdown', '.html', '.htm', '.pdf', '.docx', '.pptx', '.xlsx', '.csv'];
const JSON_KINDS = ['.json', '.jsonl'];

export class InputError extends Error {}

/** Expands files, directories and globs into the files to ingest, sorted and without duplicates. */
export async function expandPaths(inputs: string[]): Promise<string[]> {
  const files = new Set<string>();
  for (const input of inputs) {
    const info = await stat(input).catch(() => null);
    if (info?.isFile()) {
      files.add(resolve(input));
    } else if (info?.isDirectory()) {
      const found = await glob(['**/*'], { cwd: input, absolute: true, onlyFiles: true });
      for (const f of found)
        if ([...FILE_KINDS, ...JSON_KINDS].includes(extname(f).toLowerCase())) files.add(f);
    } else {
      const found = await glob([input], { absolute: true, onlyFiles: true });
      if (found.length === 0) throw new InputError(`no file matches ${input}`);
      for (const f of found) files.add(f);
    }
  }
  return [...files].sort();
}

/** An http(s) URL given where files are: a page or sitemap the ingestion worker fetches. */
export const isUrl = (input: string) => /^https?:\/\//i.test(input);

export function urlDocument(url: string): IngestItem {
  return { id: url, url, metadata: {} };
}

/** Reads one file into ingest items: each JSON(L) record is a document; any other file is one. */
export async function readDocuments(file: string): Promise<IngestItem[]> {
  const ext = extname(file).toLowerCase();
  if (ext === '.jsonl') {
    const lines = (await readFile(file, 'utf8')).split('\n');
    const out: IngestItem[] = [];
    lines.forEach((line, i) => {
      if (line.trim()) out.push(toItem(parseJson(line, `${file}:${i + 1}`), `${file}:${i + 1}`));
    });
    return out;
  }
  if (ext === '.json') {
    const value = parseJson(await readFile(file, 'utf8'), file);
    const records = Array.isArray(value)
      ? value
      : Array.isArray(value?.documents)
        ? value.documents
        : [value];
    return records.map((r: unknown, i: number) => toItem(r, `${file}[${i}]`));
  }
  const bytes = await readFile(file);
  return [
    {
      id: basename(file),
      metadata: { filename: basename(file) },
      file: { name: basename(file), contentBase64: bytes.toString('base64') },
    },
  ];
}

function parseJson(text: string, where: string): any {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InputError(`${where}: not valid JSON (${(error as Error).message})`);
  }
}

/** `{id,text,title,metadata}`, or BEIR's `{_id,title,text,metadata}`. */
function toItem(record: any, where: string): IngestItem {
  const id = record?.id ?? record?._id;
  if (typeof record?.text !== 'string' || (typeof id !== 'string' && typeof id !== 'number')) {
    throw new InputError(`${where}: a document needs "id" (or "_id") and "text"`);
  }
  const metadata = record.metadata && typeof record.metadata === 'object' ? record.metadata : {};
  const title = typeof record.title === 'string' && record.title.trim() ? record.title : undefined;
  return { id: String(id), text: record.text, ...(title ? { title } : {}), metadata };
}
