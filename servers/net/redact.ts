// What a log may say of a request target. An order's URL is its capability (`?token=…`, see
// servers/order-service.ts), and a log is read by more people than the one who placed the order.

/** The target with every `token` query value replaced by `…`. */
export function withoutToken(url: string): string {
  return url.replace(/([?&]token=)[^&#]*/gi, '$1…');
}
