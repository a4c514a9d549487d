import { describe, expect, it } from 'vitest';
import { UnreadableFileError } from './extraction.errors.js';
import { decodeText } from './text.decoder.js';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

function utf16(text: string, littleEndian: boolean): Uint8Array {
  const bytes = new Uint8Array(2 + text.length * 2);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, 0xfeff, littleEndian);
  for (let i = 0; i < text.length; i++) view.setUint16(2 + i * 2, text.charCodeAt(i), littleEndian);
  return bytes;
}

describe('decodeText', () => {
  it('decodes UTF-8', () => {
    expect(decodeText(utf8('Grüße, 世界 🌍'))).toBe('Grüße, 世界 🌍');
  });

  it('strips a UTF-8 byte order mark', () => {
    expect(decodeText(new Uint8Array([0xef, 0xbb, 0xbf, ...utf8('hello')]))).toBe('hello');
  });

  it('follows a UTF-16 byte order mark in either byte order', () => {
    expect(decodeText(utf16('Grüße', true))).toBe('Grüße');
    expect(decodeText(utf16('Grüße', false))).toBe('Grüße');
  });

  it('decodes with the given encoding when there is no byte order mark', () => {
    expect(decodeText(new Uint8Array([0x63, 0x61, 0x66, 0xe9]), 'windows-1252')).toBe('café');
  });

  it('decodes the printable characters of windows-1252 between 0x80 and 0x9f', () => {
    const bytes = new Uint8Array([0x93, 0x51, 0x94, 0x20, 0x80, 0x35, 0x20, 0x96, 0x20, 0x99, 0x20, 0x9f]);
    expect(decodeText(bytes, 'windows-1252')).toBe('\u201cQ\u201d \u20ac5 \u2013 \u2122 \u0178');
    expect(decodeText(bytes, 'latin1')).toBe('\u201cQ\u201d \u20ac5 \u2013 \u2122 \u0178');
  });

  it('rejects bytes that are not valid UTF-8', () => {
    const latin1 = new Uint8Array([0x63, 0x61, 0x66, 0xe9]);
    expect(() => decodeText(latin1)).toThrow(UnreadableFileError);
    expect(() => decodeText(latin1)).toThrow('The file is not valid UTF-8 text');
  });

  it('keeps the decoder error as the cause', () => {
    try {
      decodeText(new Uint8Array([0xff, 0x00, 0xc3]));
      expect.unreachable();
    } catch (error) {
      expect((error as Error).cause).toBeInstanceOf(TypeError);
    }
  });

  it('rejects binary content that happens to be valid UTF-8', () => {
    const binary = new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00]);
    expect(() => decodeText(binary)).toThrow(
      'The file contains NUL characters: it looks like a binary file, not text',
    );
  });

  it('decodes an empty file to an empty string', () => {
    expect(decodeText(new Uint8Array())).toBe('');
  });
});
