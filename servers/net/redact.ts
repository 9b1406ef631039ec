// What a log may say of a request target. An order's URL is its capability (`?token=…`, see
// servers/order-service.ts), and a log is read by more people than the one who placed the order.

/**
 * The target with the value of every query parameter named `token` replaced by `…`. Names are
 * compared as the app reads them, percent-decoded (`%74oken` is `token` too), and case-insensitively,
 * so no spelling of the name gets the capability into a log.
 */
export function withoutToken(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const hash = url.indexOf('#', q);
  const query = url.slice(q + 1, hash < 0 ? undefined : hash);
  const redacted = query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const rawName = eq < 0 ? pair : pair.slice(0, eq);
      let name = rawName;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      } catch {
        // not valid percent-encoding: compare it as it is
      }
      return name.trim().toLowerCase() === 'token' ? `${rawName}=…` : pair;
    })
    .join('&');
  return `${url.slice(0, q + 1)}${redacted}${hash < 0 ? '' : url.slice(hash)}`;
}
