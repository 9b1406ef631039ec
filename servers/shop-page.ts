// The shop's product page at https://www.geektime.test/ (seed §4 and §6 in one page): the seed's
// course at the seed's price, its pictures from the CDN (another origin, as a real shop serves its
// static files), and a button that places the seed's order with POST /purchaseOrder.
//
// The button's script is a file of its own (/shop.js), so the page can say with its
// Content-Security-Policy that no inline script runs. The order carries an Idempotency-Key made
// once per page load: pressing the button twice, or a retry after a lost answer, is one order.

/** The seed's order, byte for byte as the chapter shows it. */
export const SEED_ORDER = { order: { date: '2018-07-01', className: '趣谈网络协议', Author: '刘超', price: '68' } };

/** The product pictures (servers/cdn/origin-content.ts draws them): name, size, alt text. */
export const PICTURES = [
  { name: 'phone-thumb.png', width: 120, height: 120, alt: '缩略图 (thumbnail)' },
  { name: 'phone.png', width: 640, height: 480, alt: '商品图 (product picture)' },
  { name: 'phone-large.png', width: 1024, height: 768, alt: '大图 (full size)' },
] as const;

/**
 * The product page. `pictures`: where the pictures come from ('' for the same origin, as the
 * CDN's own copy of the page has them; "https://static.geektime.test" for the shop's). `buy`:
 * the order button and its script (the shop's page), or a note saying where orders go.
 */
export function productPage(pictures: string, buy: boolean): { html: string; csp: string } {
  const [thumb, main, large] = PICTURES;
  const img = (p: (typeof PICTURES)[number], extra = '') => `<img src="${pictures}/images/${p.name}" width="${p.width}" height="${p.height}" alt="${p.alt}"${extra}>`;
  const order = buy
    ? `<p>The pictures come from the CDN (${pictures}); this page and the order from the shop.</p>
<p><button id="buy" type="button">购买 · Buy</button></p>
<pre id="result" aria-live="polite"></pre>
<script src="/shop.js"></script>`
    : '<p>下单：<code>POST https://www.geektime.test/purchaseOrder</code></p>';
  const html = `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>趣谈网络协议 · 极客时间</title>
<style>
  body { font: 18px/1.5 sans-serif; max-width: 680px; margin: 2em auto; padding: 0 1em; color: #222; }
  .price { font-size: 1.6em; color: #c0392b; }
  img { max-width: 100%; height: auto; }
  button { font-size: 1.2em; padding: .4em 1.4em; }
  pre { white-space: pre-wrap; background: #f4f4f4; padding: .8em; }
</style>
</head>
<body>
<p>${img(thumb)} 极客时间 · 专栏</p>
<h1>趣谈网络协议</h1>
<p>作者：刘超</p>
<p class="price">¥68</p>
${img(main)}
<details>
<summary>查看大图 (full size, over 1 MB)</summary>
${img(large, ' loading="lazy"')}
</details>
${order}
</body>
</html>
`;
  // Only this shop's script, only this shop for the order, pictures only from where they are.
  const csp = `default-src 'none'; script-src 'self'; connect-src 'self'; img-src ${pictures || "'self'"}; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
  return { html, csp };
}

/** The button's script: one POST /purchaseOrder with the seed's JSON, the answer shown as it came. */
export const SHOP_SCRIPT = `'use strict';
const order = ${JSON.stringify(SEED_ORDER)};
// One key per page load (RFC 4122 UUID from the browser's CSPRNG): a second press is a retry.
const key = crypto.randomUUID();
const result = document.getElementById('result');
document.getElementById('buy').addEventListener('click', async () => {
  result.textContent = 'POST /purchaseOrder …';
  try {
    const res = await fetch('/purchaseOrder', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify(order),
    });
    const lines = ['HTTP ' + res.status + (res.headers.get('idempotent-replayed') ? ' (replayed: the same order again)' : '')];
    for (const name of ['location', 'x-served-by']) if (res.headers.get(name)) lines.push(name + ': ' + res.headers.get(name));
    lines.push('', await res.text());
    result.textContent = lines.join('\\n');
    result.dataset.status = String(res.status);
  } catch (err) {
    result.textContent = 'The order did not reach the shop: ' + err.message;
    result.dataset.status = 'error';
  }
});
`;
