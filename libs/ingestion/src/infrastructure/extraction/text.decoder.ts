/**
 * Owns turning a text file's bytes into a string, refusing what is not text: bytes invalid in the
 * encoding, or NUL characters, which text never holds and binary files nearly always do.
 */
import { UnreadableFileError } from './extraction.errors.js';

/**
 * Decodes with the encoding named by a byte order mark if there is one, else with `encoding` (a WHATWG
 * label that the caller knows to be supported). The byte order mark is not part of the result.
 */
export function decodeText(bytes: Uint8Array, encoding = 'utf-8'): string {
  const decoder = new TextDecoder(byteOrderMarkEncoding(bytes) ?? encoding, { fatal: true });
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch (error) {
    throw new UnreadableFileError(`The file is not valid ${decoder.encoding.toUpperCase()} text`, { cause: error });
  }
  if (text.includes('\u0000')) {
    throw new UnreadableFileError('The file contains NUL characters: it looks like a binary file, not text');
  }
  return text;
}

function byteOrderMarkEncoding(bytes: Uint8Array): string | undefined {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return 'utf-8';
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
  return undefined;
}
