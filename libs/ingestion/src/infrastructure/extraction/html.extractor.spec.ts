import { describe, expect, it } from 'vitest';
import { UnreadableFileError } from './extraction.errors.js';
import { extractHtml } from './html.extractor.js';

const utf8 = (html: string): Uint8Array => new TextEncoder().encode(html);
const extract = (html: string) => extractHtml(utf8(html));

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>  Caf&eacute; &amp;   Co  </title>
  <style>body { color: red }</style>
  <script>var markup = "<p>not prose</p>";</script>
</head>
<body>
  <nav><a href="/">Home</a> | <a href="/about">About</a></nav>
  <h1>Welcome to the <em>Caf&eacute;</em></h1>
  <p>Read the <a href="https://example.com/docs">documentation</a> first.<img src="logo.png" alt="Logo"> It&#39;s 5 &lt; 6&nbsp;&nbsp;now.</p>
  <h2>Menu Items</h2>
  <ul><li>Espresso</li><li>Latte</li></ul>
  <table>
    <thead><tr><th>Drink</th><th>Price</th></tr></thead>
    <tbody><tr><td>Espresso</td><td>2.50</td></tr><tr><td>Latte</td><td>3.20</td></tr></tbody>
  </table>
  <svg><title>cup icon</title><path d="M0 0"/></svg>
  <noscript>Please enable JavaScript.</noscript>
  <script>document.write('tracking');</script>
  <p>Line one<br>Line two</p>
</body>
</html>`;

describe('extractHtml', () => {
  it('keeps the visible prose, one block per paragraph', () => {
    expect(extract(PAGE).text).toBe(
      [
        'Home | About',
        'Welcome to the Café',
        "Read the documentation first. It's 5 < 6 now.",
        'Menu Items',
        '* Espresso\n* Latte',
        'Drink Price\nEspresso 2.50\nLatte 3.20',
        'Line one\nLine two',
      ].join('\n\n'),
    );
  });

  it('takes the title from <title>, with entities decoded and whitespace collapsed', () => {
    expect(extract(PAGE).title).toBe('Café & Co');
  });

  it('drops link targets and images, keeping link text', () => {
    const { text } = extract(
      '<p>See <a href="https://example.com/a?b=c">the guide</a> <img src="x.png" alt="diagram"> here.</p>',
    );
    expect(text).toBe('See the guide here.');
    expect(text).not.toMatch(/example\.com|\[|diagram/);
  });

  it('drops scripts, styles and other non-prose elements', () => {
    const { text } = extract(
      '<p>Kept</p><script>alert(1)</script><style>p{}</style><template><p>t</p></template><iframe src="x">frame</iframe><noscript>ns</noscript>',
    );
    expect(text).toBe('Kept');
  });

  it('keeps the case of headings', () => {
    expect(extract('<h1>Mixed Case</h1><h3>Sub heading</h3><p>x</p>').text).toBe(
      'Mixed Case\n\nSub heading\n\nx',
    );
  });

  it('falls back to the first non-empty <h1> for the title', () => {
    const result = extract(
      '<body><p>intro</p><h1>  </h1><h1>Main <img src="a.png"> Heading</h1><h1>Other</h1></body>',
    );
    expect(result.title).toBe('Main Heading');
  });

  it('prefers <title> to an earlier <h1>', () => {
    expect(extract('<h1>Heading</h1><title>Document</title>').title).toBe('Document');
  });

  it('has no title when there is neither <title> nor <h1>', () => {
    const result = extract('<p>Just a paragraph.</p>');
    expect(result).toEqual({ text: 'Just a paragraph.' });
  });

  it('reads a fragment without <body>, leaving a bare <title> out of the text', () => {
    expect(extract('<title>Fragment</title><p>Hello <b>there</b></p>')).toEqual({
      text: 'Hello there',
      title: 'Fragment',
    });
  });

  it('decodes named, decimal and hexadecimal entities', () => {
    expect(extract('<p>&copy; &#169; &#xA9; &hellip; &mdash; &euro;</p>').text).toBe('© © © … — €');
  });

  it('decodes in the charset a <meta> declares', () => {
    const latin1 = Uint8Array.from('<meta charset="ISO-8859-1"><p>Caf\xe9 cr\xe8me</p>', (c) =>
      c.charCodeAt(0),
    );
    expect(extractHtml(latin1).text).toBe('Café crème');
    const httpEquiv = Uint8Array.from(
      '<meta http-equiv="Content-Type" content="text/html; charset=windows-1252"><p>\x93quoted\x94</p>',
      (c) => c.charCodeAt(0),
    );
    expect(extractHtml(httpEquiv).text).toBe('\u201cquoted\u201d');
  });

  it('decodes as UTF-8 when the declared charset is unknown', () => {
    expect(extract('<meta charset="no-such-charset"><p>Grüße</p>').text).toBe('Grüße');
  });

  it('rejects bytes that are not valid in the encoding, and binary content', () => {
    expect(() => extractHtml(new Uint8Array([0x3c, 0x70, 0x3e, 0xff, 0xfe, 0xfd]))).toThrow(
      UnreadableFileError,
    );
    expect(() => extract('<p>a\u0000b</p>')).toThrow(/binary/);
  });

  it('does not wrap long lines', () => {
    const sentence = 'word '.repeat(60).trim();
    expect(extract(`<p>${sentence}</p>`).text).toBe(sentence);
  });
});
